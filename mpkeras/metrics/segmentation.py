"""Segmentation metrics: intersection over union per class (claim F3).

For class k, with TP/FP/FN counted over every pixel of every image,

    IoU_k = TP_k / (TP_k + FP_k + FN_k),

and the mean IoU averages IoU_k over the classes that occur (in the labels or
the predictions), exactly as `keras.metrics.MeanIoU` does; use that metric
for the mean (during training too) and these helpers for the per-class values.
"""

import keras
import numpy as np
import tensorflow as tf

from mpkeras import validation


def _labels(y, num_classes, name):
    """Integer labels from labels or per-class scores (argmax over the last axis)."""
    y = tf.convert_to_tensor(y)
    if y.dtype.is_floating:
        if y.shape.rank is None or y.shape[-1] != num_classes:
            raise ValueError(
                f"`{name}` holds floats, so it must be per-class scores with a last "
                f"axis of size num_classes={num_classes}. Received: {name} with "
                f"shape {tuple(y.shape)}"
            )
        y = tf.argmax(y, axis=-1)
    elif not y.dtype.is_integer:
        raise ValueError(
            f"`{name}` must hold integer labels or float scores. Received dtype {y.dtype.name}"
        )
    return tf.reshape(tf.cast(y, tf.int64), [-1])


def confusion_matrix(y_true, y_pred, num_classes):
    """(num_classes, num_classes) pixel counts, rows true class, columns predicted.

    Args:
        y_true: integer labels of any shape (e.g. (batch, H, W)).
        y_pred: integer labels of the same number of pixels, or float scores
            with a last axis of size `num_classes` (probabilities or logits).
        num_classes: number of classes K >= 1.

    Returns:
        An int64 np.ndarray.
    """
    num_classes = validation.positive_int(num_classes, "num_classes")
    true = _labels(y_true, num_classes, "y_true")
    pred = _labels(y_pred, num_classes, "y_pred")
    if true.shape[0] is not None and pred.shape[0] is not None and true.shape[0] != pred.shape[0]:
        raise ValueError(
            "`y_true` and `y_pred` must label the same pixels. Received "
            f"{true.shape[0]} and {pred.shape[0]} labels"
        )
    cm = tf.math.confusion_matrix(true, pred, num_classes=num_classes, dtype=tf.int64)
    return cm.numpy()


def iou_from_confusion(confusion):
    """IoU_k = TP_k / (TP_k + FP_k + FN_k) per class; NaN where a class never occurs."""
    confusion = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / np.where(union > 0, union, 1), np.nan)


def per_class_iou(y_true, y_pred, num_classes):
    """IoU of every class over all pixels: TP / (TP + FP + FN), NaN if absent.

    The mean over the non-NaN entries equals keras.metrics.MeanIoU's result
    on the same pixels.

    Example:

    >>> per_class_iou([[0, 0, 1, 1]], [[0, 1, 1, 1]], num_classes=2).tolist()
    [0.5, 0.6666666666666666]
    """
    return iou_from_confusion(confusion_matrix(y_true, y_pred, num_classes))


def evaluate_iou(model, dataset, num_classes):
    """Mean IoU (keras.metrics.MeanIoU) and per-class IoU of `model` on `dataset`.

    Args:
        model: maps images to per-class scores (batch, H, W, num_classes).
        dataset: yields (images, integer masks) batches.
        num_classes: number of classes.

    Returns:
        dict with "mean_iou" (float), "per_class_iou" (list of floats, NaN
        for classes absent from labels and predictions) and "confusion"
        (the accumulated confusion matrix as nested lists).
    """
    metric = keras.metrics.MeanIoU(num_classes, sparse_y_true=True, sparse_y_pred=False)
    for images, masks in dataset:
        scores = model(images, training=False)
        metric.update_state(masks, scores)
    confusion = np.asarray(metric.total_cm.numpy(), dtype=np.int64)
    return {
        "mean_iou": float(metric.result()),
        "per_class_iou": [float(v) for v in iou_from_confusion(confusion)],
        "confusion": confusion.tolist(),
    }
