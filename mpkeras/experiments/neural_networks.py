"""Chapter 1 of the notes, neural networks: experiments for claims N1-N7."""

import dataclasses

import keras
import numpy as np

from mpkeras import data, plotting
from mpkeras.experiments.registry import register
from mpkeras.experiments.results import Results
from mpkeras.experiments.training import StepBudget, TrainConfig
from mpkeras.models import Perceptron, build_mlp, compose_affine


def train_perceptron(x_train, train_inputs, epochs, learning_rate, context, tag="perceptron", figure=None):
    """Fit a :class:`Perceptron` with Rosenblatt's rule under the run's callbacks.

    Returns the model and its number of updates (mistakes) over all epochs.
    """
    perceptron = Perceptron(learning_rate=learning_rate, name=tag)
    perceptron.build((None, x_train.shape[1]))  # BackupAndRestore needs built weights.
    perceptron.compile()
    perceptron.fit(
        train_inputs,
        epochs=epochs,
        callbacks=context.callbacks(tag, figure=figure),
        verbose=context.verbose,
    )
    return perceptron, int(perceptron.updates.numpy())


@dataclasses.dataclass
class XorConfig:
    """Settings of the ``xor`` experiment (claim N2).

    Attributes:
        dataset: the XOR truth table, ``toy2d/xor``.
        perceptron_epochs: passes of Rosenblatt's rule over the four points.
        perceptron_learning_rate: eta in theta <- theta + eta (y - yhat) x.
        hidden: widths of the MLP's hidden layers (one layer for N2).
        activation: the hidden non-linearity.
        train: the MLP's gradient-descent budget.
    """

    dataset: str = "toy2d/xor"
    perceptron_epochs: int = 50
    perceptron_learning_rate: float = 1.0
    hidden: list[int] = dataclasses.field(default_factory=lambda: [8])
    activation: str = "tanh"
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(epochs=100, batch_size=4, learning_rate=0.1)
    )


@register("xor", XorConfig)
def xor(config, context):
    """N2: the perceptron cannot solve XOR; an MLP with one hidden layer can.

    No line separates {(0,0), (1,1)} from {(0,1), (1,0)}, so any perceptron
    gets at least one of the four points wrong (accuracy <= 0.75) and
    Rosenblatt's rule never stops updating. One hidden layer,
    yhat = sigma(W_2 sigma(W_1 x + b_1) + b_2), bends the boundary.
    """
    x, y = data.load_arrays(config.dataset, split="train")
    train_inputs = data.load(config.dataset, split="train", batch_size=config.train.batch_size, seed=context.seed)
    test_inputs = data.load(config.dataset, split="test", batch_size=config.train.batch_size)

    def boundary(title):
        def draw(model):
            fig, axes = plotting.figure()
            plotting.decision_boundary(axes[0, 0], plotting.batch_predict(model), x, y, title)
            return fig

        return draw

    perceptron, updates = train_perceptron(
        x, train_inputs, config.perceptron_epochs, config.perceptron_learning_rate, context,
        figure=boundary("Perceptron"),
    )
    perceptron_accuracy = perceptron.evaluate(test_inputs, verbose=0, return_dict=True)["accuracy"]

    mlp = build_mlp((x.shape[1],), hidden=config.hidden, activation=config.activation, output="sigmoid")
    mlp.compile(
        optimizer=config.train.make_optimizer(),
        loss="binary_crossentropy",
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
    )
    mlp.fit(
        train_inputs,
        epochs=config.train.epochs,
        callbacks=context.callbacks("mlp", figure=boundary("MLP"), figure_every=20),
        verbose=context.verbose,
    )
    mlp_metrics = mlp.evaluate(test_inputs, verbose=0, return_dict=True)

    fig, axes = plotting.figure(ncols=2)
    plotting.decision_boundary(axes[0, 0], plotting.batch_predict(perceptron), x, y,
                               f"Perceptron: accuracy {perceptron_accuracy:.2f}")
    plotting.decision_boundary(axes[0, 1], plotting.batch_predict(mlp), x, y,
                               f"MLP {config.hidden}: accuracy {mlp_metrics['accuracy']:.2f}")
    context.save_figure("decision_boundaries", fig)

    return Results(
        metrics={
            "perceptron_accuracy": float(perceptron_accuracy),
            # Rosenblatt's rule only updates on mistakes: at least one update
            # per pass means it never converged.
            "perceptron_updates_per_epoch": updates / config.perceptron_epochs,
            "mlp_accuracy": float(mlp_metrics["accuracy"]),
            "mlp_loss": float(mlp_metrics["loss"]),
        },
        model=mlp,
        extra_models={"perceptron": perceptron},
    )


# -- N1: the perceptron convergence theorem --------------------------------


class _StopWhenNoMistakes(keras.callbacks.Callback):
    """Stop ``fit`` after an epoch in which Rosenblatt's rule made no update.

    The perceptron's training ``accuracy`` is its online accuracy (each
    example judged before its own update), so 1.0 means a mistake-free pass:
    the weights did not move and never will again.
    """

    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("accuracy", 0.0) >= 1.0:
            self.model.stop_training = True


def augment_with_one(x):
    """``(x, 1)``: the bias folded into the weights, theta = (w, b) (N1)."""
    x = np.asarray(x, dtype=np.float64)
    return np.concatenate([x, np.ones((len(x), 1))], axis=1)


def augmented_margin(u, x, y):
    """gamma = min_i (2 y_i - 1) <u, (x_i, 1)> / ||u||, the margin of separator ``u``.

    Positive exactly when ``u`` separates the labelled points.
    """
    u = np.asarray(u, dtype=np.float64)
    signs = 2.0 * np.asarray(y, dtype=np.float64).ravel() - 1.0
    return float(np.min(signs * (augment_with_one(x) @ u)) / np.linalg.norm(u))


def max_margin_separator(x, y, start):
    """The unit u maximising the margin of the augmented points (hard-margin SVM
    without a separate intercept): minimise ||v||^2 s.t. (2y_i - 1) <v, (x_i, 1)> >= 1,
    then u = v / ||v|| and gamma = 1 / ||v||. ``start`` must be a separator.
    """
    from scipy.optimize import minimize

    z = augment_with_one(x) * (2.0 * np.asarray(y, dtype=np.float64).ravel() - 1.0)[:, None]
    v0 = np.asarray(start, dtype=np.float64) / augmented_margin(start, x, y) / np.linalg.norm(start)
    solution = minimize(
        lambda v: 0.5 * v @ v,
        v0,
        jac=lambda v: v,
        constraints=[{"type": "ineq", "fun": lambda v: z @ v - 1.0, "jac": lambda v: z}],
        method="SLSQP",
        options={"maxiter": 500, "ftol": 1e-12},
    )
    v = solution.x if solution.success else v0
    return v / np.linalg.norm(v)


@dataclasses.dataclass
class PerceptronConfig:
    """Settings of the ``perceptron`` experiment (claim N1).

    Attributes:
        dataset: linearly separable points with a known margin, ``toy2d/blobs``.
        max_epochs: passes of Rosenblatt's rule at most; training stops
            earlier, after the first pass without a mistake.
        learning_rate: eta; from zero weights it only rescales them, so the
            number of updates does not depend on it.
        batch_size: examples per ``train_step`` (the rule still visits them
            one by one; a batch is a unit of work).
        figure_every: epochs between decision-boundary images in TensorBoard.
    """

    dataset: str = "toy2d/blobs"
    max_epochs: int = 100
    learning_rate: float = 1.0
    batch_size: int = 200
    figure_every: int = 1


def _draw_line(ax, normal, offset, x, **style):
    """The line {p : normal . p + offset = 0} across the x-range of ``x``."""
    low, high = x[:, 0].min() - 0.5, x[:, 0].max() + 0.5
    if abs(normal[1]) > 1e-12:
        xs = np.array([low, high])
        ax.plot(xs, -(normal[0] * xs + offset) / normal[1], **style)
    else:
        ax.axvline(-offset / normal[0], **style)


def _perceptron_figure(model, x, y, u, gamma, title):
    fig, axes = plotting.figure(size=5.0)
    ax = axes[0, 0]
    plotting.decision_boundary(ax, plotting.batch_predict(model), x, y, title)
    # The reference separator and its margin band |<u, (x, 1)>| < gamma: Novikoff's gamma.
    _draw_line(ax, u[:2], u[2], x, color="#238b45", linestyle="-", linewidth=1, label="max-margin u")
    for side in (-1, 1):
        _draw_line(ax, u[:2], u[2] - side * gamma, x, color="#238b45", linestyle="--", linewidth=0.8)
    ax.set_xlim(x[:, 0].min() - 0.5, x[:, 0].max() + 0.5)
    ax.set_ylim(x[:, 1].min() - 0.5, x[:, 1].max() + 0.5)
    ax.legend(loc="upper right", fontsize="small")
    return fig


@register("perceptron", PerceptronConfig)
def perceptron(config, context):
    """N1: Rosenblatt's rule converges on separable data within (R / gamma)^2 updates.

    The perceptron (zero initial weights) learns by theta <- theta + eta (y - yhat) x
    on mistakes, with x = (x, 1) augmented so theta = (w, b). On linearly
    separable data it stops making mistakes after finitely many updates:
    Novikoff's theorem bounds their number by (R / gamma)^2, where
    R = max_i ||(x_i, 1)|| over the training points and gamma is the margin
    min_i (2 y_i - 1) <u, (x_i, 1)> of any unit-norm separator u. We take the
    better of the data's own separator (the metadata normal, bias 0) and the
    max-margin separator of the augmented points, and check both separate.
    """
    x, y = data.load_arrays(config.dataset, split="train")
    x_test, y_test = data.load_arrays(config.dataset, split="test")
    normal = np.asarray(data.info(config.dataset).metadata["normal"], dtype=np.float64)

    u_data = np.append(normal, 0.0)
    gamma_data = augmented_margin(u_data, x, y)
    if not gamma_data > 0:
        raise ValueError(f"The metadata normal does not separate {config.dataset}: margin {gamma_data}")
    u_best = max_margin_separator(x, y, start=u_data)
    gamma_best = augmented_margin(u_best, x, y)
    u, gamma = (u_best, gamma_best) if gamma_best > gamma_data else (u_data, gamma_data)
    radius = float(np.linalg.norm(augment_with_one(x), axis=1).max())
    bound = (radius / gamma) ** 2

    train_inputs = data.load(config.dataset, split="train", batch_size=config.batch_size, seed=context.seed)
    model = Perceptron(learning_rate=config.learning_rate, name="perceptron")
    model.build((None, x.shape[1]))  # BackupAndRestore needs built weights.
    model.compile()
    model.fit(
        train_inputs,
        epochs=config.max_epochs,
        callbacks=[
            *context.callbacks(
                "perceptron",
                figure=lambda m: _perceptron_figure(m, x, y, u, gamma, "Perceptron"),
                figure_every=config.figure_every,
            ),
            _StopWhenNoMistakes(),
        ],
        verbose=context.verbose,
    )
    updates = int(model.updates.numpy())
    train_accuracy = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)["accuracy"]
    test_accuracy = model.evaluate(x_test, y_test, batch_size=len(x_test), verbose=0, return_dict=True)["accuracy"]
    learned = np.append(model.kernel.numpy().ravel(), model.bias.numpy().ravel())

    context.save_figure(
        "decision_boundary",
        _perceptron_figure(model, x, y, u, gamma,
                           f"{updates} updates <= (R/gamma)^2 = {bound:.0f}\n"
                           f"R = {radius:.2f}, gamma = {gamma:.3f}, test accuracy {test_accuracy:.2f}"),
    )
    return Results(
        metrics={
            "train_accuracy": float(train_accuracy),
            "test_accuracy": float(test_accuracy),
            "updates": updates,
            "radius": radius,
            "margin": gamma,
            "data_separator_margin": gamma_data,
            "novikoff_bound": bound,
            "updates_over_bound": updates / bound,
            # The learned theta separates the training points too: its margin is positive.
            "learned_margin": augmented_margin(learned, x, y) if np.any(learned) else 0.0,
        },
        model=model,
    )


# -- N6: without a non-linearity an MLP is one affine map -------------------


def regression_target(x):
    """f(x) = sin(2 pi x_1) cos(pi x_2) + x_1 x_2 on [0, 1]^2: smooth, far from affine."""
    return np.sin(2 * np.pi * x[:, 0]) * np.cos(np.pi * x[:, 1]) + x[:, 0] * x[:, 1]


def mse(model, x, y):
    """Mean squared error of ``model`` on ``(x, y)``, computed directly (float64)."""
    prediction = keras.ops.convert_to_numpy(model(x.astype("float32"), training=False)).astype(np.float64)
    return float(np.mean((prediction.reshape(y.shape) - y) ** 2))


@dataclasses.dataclass
class LinearCollapseConfig:
    """Settings of the ``linear_collapse`` experiment (claim N6).

    Attributes:
        train_size: points drawn uniformly from [0, 1]^2 to fit.
        test_size: fresh points for the collapse check and the test MSE.
        hidden: widths of the hidden layers of both networks.
        nonlinear_activation: the activation of the comparison network.
        train: the gradient-descent budget of each network.
    """

    train_size: int = 2048
    test_size: int = 1024
    hidden: list[int] = dataclasses.field(default_factory=lambda: [32, 32, 32])
    nonlinear_activation: str = "tanh"
    train: StepBudget = dataclasses.field(
        default_factory=lambda: StepBudget(epochs=10, steps_per_epoch=200, batch_size=2048, learning_rate=1e-2)
    )


@register("linear_collapse", LinearCollapseConfig)
def linear_collapse(config, context):
    """N6: an MLP without non-linearities collapses to one affine map.

    Data: x uniform on [0, 1]^2 (a NumPy Generator seeded by the run's seed),
    y = f(x) = sin(2 pi x_1) cos(pi x_2) + x_1 x_2. A deep MLP with identity
    activations computes x W_1 ... W_k + b for the (W, b) of
    ``compose_affine``: (a) its outputs equal that affine map, (b) trained on
    f it fits no better than the least-squares affine fit, while (c) the same
    architecture with a non-linearity fits f far better.
    """
    rng = np.random.default_rng([context.seed, 6])
    x = rng.uniform(size=(config.train_size, 2))
    x_test = rng.uniform(size=(config.test_size, 2))
    y, y_test = regression_target(x), regression_target(x_test)

    # The best any affine map can do: ordinary least squares on (x, 1).
    design = augment_with_one(x)
    coefficients = np.linalg.lstsq(design, y, rcond=None)[0]
    least_squares_mse = float(np.mean((design @ coefficients - y) ** 2))
    least_squares_test_mse = float(np.mean((augment_with_one(x_test) @ coefficients - y_test) ** 2))

    def fitted(activation, tag):
        model = build_mlp((2,), hidden=config.hidden, activation=activation, output="linear", name=tag)
        config.train.compile(model)
        config.train.fit(model, x, y, context, tag)
        return model

    deep_linear = fitted("linear", "deep_linear")
    nonlinear = fitted(config.nonlinear_activation, "nonlinear")

    weight, bias = compose_affine(deep_linear)
    network_out = keras.ops.convert_to_numpy(deep_linear(x_test.astype("float32"))).astype(np.float64)
    affine_out = x_test.astype("float32").astype(np.float64) @ weight + bias
    collapse_error = float(np.max(np.abs(network_out - affine_out)) / np.max(np.abs(affine_out)))

    deep_linear_mse, nonlinear_mse = mse(deep_linear, x, y), mse(nonlinear, x, y)

    fig, axes = plotting.figure(ncols=4, size=3.2)
    side = np.linspace(0, 1, 101)
    grid = np.stack(np.meshgrid(side, side), axis=-1).reshape(-1, 2)
    panels = [
        ("target f", regression_target(grid)),
        ("least-squares affine", augment_with_one(grid) @ coefficients),
        (f"deep linear {config.hidden}", keras.ops.convert_to_numpy(deep_linear(grid.astype("float32")))),
        (f"{config.nonlinear_activation} {config.hidden}",
         keras.ops.convert_to_numpy(nonlinear(grid.astype("float32")))),
    ]
    low, high = panels[0][1].min(), panels[0][1].max()
    for ax, (title, values) in zip(axes[0], panels):
        image = ax.imshow(np.asarray(values).reshape(101, 101), origin="lower", extent=(0, 1, 0, 1),
                          vmin=low, vmax=high, cmap="viridis")
        ax.set_title(title, fontsize="small")
        ax.set_xlabel("$x_1$")
    axes[0, 0].set_ylabel("$x_2$")
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8)
    context.save_figure("fits", fig)

    return Results(
        metrics={
            "collapse_relative_error": collapse_error,
            "least_squares_mse": least_squares_mse,
            "deep_linear_mse": deep_linear_mse,
            "nonlinear_mse": nonlinear_mse,
            "deep_linear_over_least_squares": deep_linear_mse / least_squares_mse,
            "nonlinear_over_least_squares": nonlinear_mse / least_squares_mse,
            "least_squares_test_mse": least_squares_test_mse,
            "deep_linear_test_mse": mse(deep_linear, x_test, y_test),
            "nonlinear_test_mse": mse(nonlinear, x_test, y_test),
        },
        model=deep_linear,
        extra_models={"nonlinear": nonlinear},
    )


# -- N7: universal approximation --------------------------------------------


def approximation_target(x):
    """The smooth targets of the width sweep on [0, 1]^m (m = 1 or 2).

    m = 1: f(x) = sin(2 pi x) + 0.5 sin(6 pi x) + |x - 1/3|
    m = 2: f(x) = sin(2 pi x_1) cos(pi x_2) + |x_1 + x_2 - 1|

    Two frequencies plus a kink: continuous but not smooth, so the error keeps
    falling over the whole width range instead of hitting float32 precision
    at N ~ 32 as it does for a smooth f.
    """
    if x.shape[1] == 1:
        t = x[:, 0]
        return np.sin(2 * np.pi * t) + 0.5 * np.sin(6 * np.pi * t) + np.abs(t - 1.0 / 3.0)
    return np.sin(2 * np.pi * x[:, 0]) * np.cos(np.pi * x[:, 1]) + np.abs(x[:, 0] + x[:, 1] - 1.0)


def ripple_target(x):
    """The harder target of the depth comparison: radial ripples
    f(x) = cos(6 pi ||x - (1/2, 1/2)||) on [0, 1]^2. A sum of ridge functions
    sigma(w^T x + b) needs many terms for a radial function; a deeper network
    can compute ||x - c|| first and then a function of one variable.
    """
    return np.cos(6 * np.pi * np.linalg.norm(x - 0.5, axis=1))


def dense_grid(m, points_per_side):
    """A regular grid of [0, 1]^m, corners included, shape (points_per_side^m, m)."""
    side = np.linspace(0.0, 1.0, points_per_side)
    return np.stack(np.meshgrid(*[side] * m, indexing="ij"), axis=-1).reshape(-1, m)


def predict_in_chunks(model, x, chunk=8192):
    """``model(x)`` as float64 NumPy, a large grid cut into graph-sized pieces."""
    x = x.astype("float32")
    return np.concatenate(
        [keras.ops.convert_to_numpy(model(x[i:i + chunk], training=False)) for i in range(0, len(x), chunk)]
    ).astype(np.float64)


def spearman(a, b):
    """Spearman's rank correlation of two sequences without ties."""
    ranks = [np.argsort(np.argsort(np.asarray(v))) for v in (a, b)]
    return float(np.corrcoef(*ranks)[0, 1])


def count_params(layers):
    return int(sum(np.prod(w.shape) for layer in layers for w in layer.weights))


def build_parallel_nets(m, hidden_layers, activation, name, centred=()):
    """Independent MLPs on one input, their outputs side by side in one model.

    ``hidden_layers[k]`` are the hidden widths of net k; net k is
    ``{name}_net{k}_hidden{i}`` ... ``{name}_net{k}_output`` and nothing is
    shared, so with a loss that is a mean over the output columns each net
    gets the gradient of its own loss (scaled by 1/K, which Adam's
    normalisation removes): one ``fit`` trains K separate networks, and pays
    Keras's per-fit and per-step overhead once. Nets whose index is in
    ``centred`` first map [0, 1]^m to [-1, 1]^m (a fixed affine map, no
    weights: the same function class, centred inputs for gradient descent).
    """
    inputs = keras.Input(shape=(m,), name=f"{name}_input")
    outputs = []
    for k, widths in enumerate(hidden_layers):
        h = inputs
        if k in centred:
            h = keras.layers.Rescaling(2.0, offset=-1.0, name=f"{name}_net{k}_centre")(h)
        for i, units in enumerate(widths):
            h = keras.layers.Dense(units, activation=activation, name=f"{name}_net{k}_hidden{i}")(h)
        outputs.append(keras.layers.Dense(1, name=f"{name}_net{k}_output")(h))
    merged = keras.layers.Concatenate(name=f"{name}_outputs")(outputs) if len(outputs) > 1 else outputs[0]
    return keras.Model(inputs, merged, name=name)


def spread_hidden_layer(layer, m, slope, rng):
    """Initialise one sigmoid layer so its units tile [0, 1]^m.

    Unit i gets a random direction d_i, a centre c_i uniform in the cube and a
    steepness |w_i| = slope * N^(1/m) * U(0.5, 1.5): sigma(w_i^T (x - c_i)) rises
    across a band about as wide as the spacing of N points in the cube.
    Keras's default (Glorot) init gives |w_i| ~ N^(-1/2) instead, so all units
    of a wide layer are nearly linear on [0, 1]^m and a wide net starts
    worse than a narrow one.
    """
    units = layer.units
    directions = rng.normal(size=(m, units))
    directions /= np.linalg.norm(directions, axis=0)
    kernel = directions * slope * units ** (1.0 / m) * rng.uniform(0.5, 1.5, size=units)
    centres = rng.uniform(size=(units, m))
    bias = -np.einsum("um,mu->u", centres, kernel)
    layer.set_weights([kernel.astype("float32"), bias.astype("float32")])


def least_squares_readout(hidden, output, x, y, ridge):
    """Set ``output`` to the ridge least-squares v, b of y ~ sum_i v_i h_i(x) + b.

    With the hidden layer fixed, g(x) = sum_i v_i sigma(w_i^T x + b_i) + b is
    linear in (v, b): its best fit in squared error is a linear solve.
    """
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in hidden.get_weights())
    features = keras.ops.convert_to_numpy(hidden.activation(x @ kernel + bias))
    features = np.concatenate([features, np.ones((len(x), 1))], axis=1)
    gram = features.T @ features + ridge * len(x) * np.eye(features.shape[1])
    solution = np.linalg.solve(gram, features.T @ y)
    output.set_weights([solution[:-1, None].astype("float32"), solution[-1:].astype("float32")])


@dataclasses.dataclass
class UniversalApproximationConfig:
    """Settings of the ``universal_approximation`` experiment (claim N7).

    Attributes:
        widths: the hidden widths N of the one-hidden-layer sigmoid nets.
        dims: the input dimensions m of the width sweep.
        train_size: training points uniform in [0, 1]^m, per m.
        grid_points: points per side of the dense grid the max error is taken
            on, per m (same order as ``dims``).
        slope: steepness scale of the spread initialisation.
        ridge: ridge weight (per example) of the least-squares readout.
        train: Adam fine-tuning budget of every width (one fit per m).
        deep_hidden: hidden widths of the deep net of the depth comparison.
        comparison_activation: activation of both nets in the comparison
            (tanh(z) = 2 sigmoid(2z) - 1: the same function class as sigmoid,
            but centred, which deep nets train better with).
        comparison_train: budget of the depth comparison (both nets, one fit).
        figure_every: epochs between TensorBoard figures.
    """

    widths: list[int] = dataclasses.field(default_factory=lambda: [2, 4, 8, 16, 32, 64, 128, 256])
    dims: list[int] = dataclasses.field(default_factory=lambda: [1, 2])
    train_size: int = 4096
    grid_points: list[int] = dataclasses.field(default_factory=lambda: [10001, 201])
    slope: float = 0.5
    ridge: float = 1e-8
    train: StepBudget = dataclasses.field(
        default_factory=lambda: StepBudget(epochs=10, steps_per_epoch=200, batch_size=256, learning_rate=1e-3)
    )
    deep_hidden: list[int] = dataclasses.field(default_factory=lambda: [16, 16, 16, 16])
    comparison_activation: str = "tanh"
    comparison_train: StepBudget = dataclasses.field(
        default_factory=lambda: StepBudget(epochs=10, steps_per_epoch=400, batch_size=256, learning_rate=1e-2)
    )
    figure_every: int = 5

    def __post_init__(self):
        if len(self.grid_points) != len(self.dims):
            raise ValueError(f"`grid_points` needs one entry per dim {self.dims}, got {self.grid_points}")
        if len(self.widths) < 2:
            raise ValueError(f"`widths` needs at least two widths to show a trend, got {self.widths}")


def _fits_figure(model, x_plot, widths, shown, title):
    fig, axes = plotting.figure(ncols=1, size=5.0)
    ax = axes[0, 0]
    predictions = predict_in_chunks(model, x_plot)
    ax.plot(x_plot[:, 0], approximation_target(x_plot), color="k", linewidth=2.5, label="f")
    for width in shown:
        ax.plot(x_plot[:, 0], predictions[:, widths.index(width)], linewidth=1.2, label=f"g, N={width}")
    ax.set_xlabel("x")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return fig


@register("universal_approximation", UniversalApproximationConfig)
def universal_approximation(config, context):
    """N7: one hidden sigmoid layer approximates continuous f on [0, 1]^m; deeper beats wider.

    The theorem: for a bounded, non-constant, continuous sigma there are N,
    v_i, w_i, b_i with |f(x) - g(x)| < eps on [0, 1]^m for
    g(x) = sum_i v_i sigma(w_i^T x + b_i). We fit g for m = 1, 2 and widths
    N = 2 ... 256 and measure the max error on a dense grid (corners
    included): it falls with N. Each g is fitted in two stages: the hidden
    units are spread over the cube (``spread_hidden_layer``), v by ridge least
    squares (the convex part, exact), then all weights are fine-tuned by Adam
    on the squared error. All widths of one m train in one ``fit`` of
    independent networks (``build_parallel_nets``).

    "In practice deeper beats wider": a deep net with no more parameters than
    the widest shallow one, both trained by Adam alone with the same budget
    (the shallow one from the spread init, its best start), gets a lower
    max error on a harder target, radial ripples (``ripple_target``).

    Data: points uniform in [0, 1]^m from a NumPy Generator seeded by the run's seed.
    """
    rng = np.random.default_rng([context.seed, 7])
    widths = list(config.widths)
    metrics = {"widths": widths}
    sweep_models = {}
    x_plot = dense_grid(1, 1001)
    shown = sorted({widths[0], widths[len(widths) // 3], widths[2 * len(widths) // 3], widths[-1]})

    for m, points in zip(config.dims, config.grid_points):
        name = f"sweep_m{m}"
        x = rng.uniform(size=(config.train_size, m))
        y = approximation_target(x)
        model = build_parallel_nets(m, [[n] for n in widths], "sigmoid", name)
        for k in range(len(widths)):
            hidden, output = model.get_layer(f"{name}_net{k}_hidden0"), model.get_layer(f"{name}_net{k}_output")
            spread_hidden_layer(hidden, m, config.slope, rng)
            least_squares_readout(hidden, output, x, y, config.ridge)
        grid = dense_grid(m, points)
        target = approximation_target(grid)[:, None]
        metrics[f"least_squares_max_error_m{m}"] = np.abs(predict_in_chunks(model, grid) - target).max(axis=0)

        # TensorBoard shows the fits as they train for m = 1 (a 2-D surface per width is too much).
        figure = (
            (lambda mdl: _fits_figure(mdl, x_plot, widths, shown, "One hidden sigmoid layer, m = 1"))
            if m == 1 else None
        )
        config.train.compile(model)
        config.train.fit(model, x, np.repeat(y[:, None], len(widths), axis=1), context, name,
                         figure=figure, figure_every=config.figure_every)
        errors = np.abs(predict_in_chunks(model, grid) - target).max(axis=0)
        metrics[f"max_error_m{m}"] = errors
        metrics[f"spearman_m{m}"] = spearman(widths, errors)
        metrics[f"error_ratio_m{m}"] = float(errors[-1] / errors[0])
        sweep_models[m] = model
        if m == 1:
            context.save_figure("fits_m1", _fits_figure(model, x_plot, widths, shown,
                                                        "One hidden sigmoid layer, m = 1"))

    # Deeper vs wider, on the harder target.
    x = rng.uniform(size=(config.train_size, 2))
    y = ripple_target(x)
    comparison = build_parallel_nets(2, [[widths[-1]], list(config.deep_hidden)],
                                     config.comparison_activation, "depth", centred=(1,))
    spread_hidden_layer(comparison.get_layer("depth_net0_hidden0"), 2, config.slope, rng)
    config.comparison_train.compile(comparison)
    config.comparison_train.fit(comparison, x, np.repeat(y[:, None], 2, axis=1), context, "depth")
    grid = dense_grid(2, config.grid_points[-1])
    predictions = predict_in_chunks(comparison, grid)
    shallow_error, deep_error = np.abs(predictions - ripple_target(grid)[:, None]).max(axis=0)
    shallow_params = count_params([l for l in comparison.layers if l.name.startswith("depth_net0_")])
    deep_params = count_params([l for l in comparison.layers if l.name.startswith("depth_net1_")])
    metrics.update(
        shallow_params=shallow_params,
        deep_params=deep_params,
        deep_over_shallow_params=deep_params / shallow_params,
        shallow_max_error=float(shallow_error),
        deep_max_error=float(deep_error),
        deep_over_shallow_max_error=float(deep_error / shallow_error),
        shallow_rms_error=float(np.sqrt(np.mean((predictions[:, 0] - ripple_target(grid)) ** 2))),
        deep_rms_error=float(np.sqrt(np.mean((predictions[:, 1] - ripple_target(grid)) ** 2))),
    )

    fig, axes = plotting.figure(ncols=2, size=4.5)
    for ax, m in zip(axes[0], config.dims):
        ax.loglog(widths, metrics[f"least_squares_max_error_m{m}"], "o--", color="0.6",
                  label="least-squares readout")
        ax.loglog(widths, metrics[f"max_error_m{m}"], "o-", color="#d94801", label="after Adam")
        ax.set_xlabel("hidden width N")
        ax.set_ylabel("max |f - g| on the grid")
        ax.set_title(f"m = {m}: Spearman {metrics[f'spearman_m{m}']:.2f}")
        ax.set_xticks(widths, [str(n) for n in widths])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    context.save_figure("max_error_vs_width", fig)

    side = config.grid_points[-1]
    fig, axes = plotting.figure(ncols=3, size=3.5)
    panels = [
        ("target: cos(6 pi |x - c|)", ripple_target(grid)),
        (f"shallow [{widths[-1]}], {shallow_params} params\nmax error {shallow_error:.2f}", predictions[:, 0]),
        (f"deep {config.deep_hidden}, {deep_params} params\nmax error {deep_error:.2f}", predictions[:, 1]),
    ]
    for ax, (title, values) in zip(axes[0], panels):
        ax.imshow(values.reshape(side, side).T, origin="lower", extent=(0, 1, 0, 1), vmin=-1.2, vmax=1.2,
                  cmap="RdBu_r")
        ax.set_title(title, fontsize="small")
        ax.set_xlabel("$x_1$")
    axes[0, 0].set_ylabel("$x_2$")
    context.save_figure("deep_vs_shallow", fig)

    return Results(
        metrics=metrics,
        model=sweep_models[config.dims[0]],
        extra_models={**{f"m{m}": model for m, model in sweep_models.items() if m != config.dims[0]},
                      "depth": comparison},
    )
