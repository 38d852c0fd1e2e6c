"""Segmentation IoU helpers (F3): per-class IoU against a hand count and MeanIoU."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.metrics import per_class_iou
from mpkeras.metrics.segmentation import confusion_matrix, evaluate_iou


def test_per_class_iou_by_hand():
    y_true = np.array([[0, 0, 1, 1], [2, 2, 2, 0]])
    y_pred = np.array([[0, 1, 1, 1], [2, 2, 0, 0]])
    # class 0: TP 2 (0,0),(1,3); FP 1 (1,2); FN 1 (0,1) -> 2/4
    # class 1: TP 2; FP 1 (0,1); FN 0 -> 2/3
    # class 2: TP 2; FP 0; FN 1 -> 2/3
    np.testing.assert_allclose(per_class_iou(y_true, y_pred, 3), [0.5, 2 / 3, 2 / 3])


def test_per_class_iou_accepts_scores_and_marks_absent_classes():
    y_true = np.array([[0, 1], [1, 0]])
    scores = np.zeros((2, 2, 3), "float32")
    scores[..., 0] = [[0.9, 0.1], [0.2, 0.8]]
    scores[..., 1] = 1 - scores[..., 0]
    iou = per_class_iou(y_true, scores, 3)
    np.testing.assert_allclose(iou[:2], [1.0, 1.0])
    assert np.isnan(iou[2])  # class 2 never occurs


def test_mean_of_per_class_iou_equals_keras_mean_iou():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, size=(3, 8, 8))
    scores = rng.normal(size=(3, 8, 8, 4)).astype("float32")
    metric = keras.metrics.MeanIoU(4, sparse_y_pred=False)
    metric.update_state(y_true, scores)
    np.testing.assert_allclose(
        np.nanmean(per_class_iou(y_true, scores, 4)), float(metric.result()), rtol=1e-6
    )


def test_evaluate_iou_over_a_dataset():
    rng = np.random.default_rng(1)
    images = rng.normal(size=(6, 4, 4, 1)).astype("float32")
    masks = (images[..., 0] > 0).astype("int32")
    # A "model" that thresholds perfectly: scores from the image itself.
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Lambda(lambda x: tf.concat([-x, x], axis=-1))]
    )
    data = tf.data.Dataset.from_tensor_slices((images, masks)).batch(4)
    result = evaluate_iou(model, data, 2)
    assert result["mean_iou"] == pytest.approx(1.0)
    assert result["per_class_iou"] == [1.0, 1.0]
    assert np.sum(result["confusion"]) == masks.size


def test_bad_input():
    with pytest.raises(ValueError, match="num_classes"):
        per_class_iou([0, 1], [0, 1], 0)
    with pytest.raises(ValueError, match="y_pred"):
        per_class_iou([0, 1], np.zeros((2, 3), "float32"), 2)  # scores of the wrong width
    with pytest.raises(ValueError, match="same pixels"):
        confusion_matrix([0, 1, 1], [0, 1], 2)
