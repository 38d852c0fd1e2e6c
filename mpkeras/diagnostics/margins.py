"""Margins of linear separators of augmented points (x, 1), for Novikoff's bound (N1).

The perceptron folds its bias into the weights, theta = (w, b), and sees
augmented points (x, 1). Novikoff's theorem bounds its number of updates by
(R / gamma)^2 with R = max_i ||(x_i, 1)|| and gamma the margin of any
unit-norm separator u of the augmented points.
"""

import numpy as np


def augment_with_one(x):
    """``(x, 1)``: each point with a trailing 1, so a bias is one more weight."""
    x = np.asarray(x, dtype=np.float64)
    return np.concatenate([x, np.ones((len(x), 1))], axis=1)


def augmented_margin(u, x, y):
    """gamma = min_i (2 y_i - 1) <u, (x_i, 1)> / ||u||, the margin of separator ``u``.

    Positive exactly when ``u`` separates the points labelled ``y`` in {0, 1}.
    """
    u = np.asarray(u, dtype=np.float64)
    signs = 2.0 * np.asarray(y, dtype=np.float64).ravel() - 1.0
    return float(np.min(signs * (augment_with_one(x) @ u)) / np.linalg.norm(u))


def max_margin_separator(x, y, C=1e6):
    """The unit u of largest margin on the augmented points (x_i, 1).

    A hard-margin linear SVM without a separate intercept (the bias is the
    last coordinate of u and counts in ||u||, as in Novikoff's bound):
    minimise ||v||^2 s.t. (2 y_i - 1) <v, (x_i, 1)> >= 1; u = v / ||v||.
    Solved by scikit-learn's LinearSVC with the hinge loss and a large ``C``
    (the soft margin's penalty; large C is the hard margin on separable data).
    """
    from sklearn.svm import LinearSVC

    svm = LinearSVC(
        C=C, loss="hinge", fit_intercept=False, tol=1e-10, max_iter=1_000_000, dual=True
    )
    svm.fit(augment_with_one(x), np.asarray(y).ravel())
    v = svm.coef_.ravel()
    return v / np.linalg.norm(v)
