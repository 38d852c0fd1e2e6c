"""Chapter-3 experiments unet_shapes (F3) and upsampling_compare (F1, F3).

Default tests run each experiment on a tiny budget and check what it hands
back; whether the claims hold is checked by the specs' expectations (the
slow tests run each --quick budget and require every one to hold).
"""

import math

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mpkeras import specs

TINY = {
    "unet_shapes": [
        "train.epochs=1",
        "train_examples=32",
        "test_examples=8",
        "depth=1",
        "base_filters=2",
        "image_size=[32, 32]",
        "figure_examples=2",
    ],
    "upsampling_compare": [
        "train.epochs=1",
        "train_examples=16",
        "test_examples=8",
        "depth=1",
        "base_filters=2",
        "image_size=[16, 16]",
        "figure_examples=2",
        "methods=['transpose']",
    ],
}
FIGURES = {
    "unet_shapes": {"test_predictions.png"},
    "upsampling_compare": {"predictions.png", "mean_iou.png"},
}


# Slow: `mpkeras reproduce --quick`, CI's first command, runs every experiment
# with its figures and expectations; this adds the reload checks (pytest -m slow).
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_tiny_run_has_metrics_figures_and_models(name, tiny_runs, finite):
    outcome = tiny_runs[name]
    metrics = outcome.results["metrics"]
    for expectation in specs.load(name).expectations:
        assert expectation.metric in metrics, expectation.metric
        if expectation.other is not None:
            assert expectation.other in metrics
    assert all(finite(v) for v in metrics.values() if not isinstance(v, list)), metrics
    assert {p.name for p in (outcome.run_dir / "figures").glob("*.png")} == FIGURES[name]
    assert {p.stem for p in outcome.model_paths} == set(outcome.models)
    assert name in outcome.models


def test_f3_unet_shapes_logs_iou_and_a_figure_every_epoch(tiny_runs):
    outcome = tiny_runs["unet_shapes"]
    metrics = outcome.results["metrics"]
    assert 0.0 <= metrics["test_mean_iou"] <= 1.0
    per_class = metrics["test_per_class_iou"]
    assert len(per_class) == 4
    assert metrics["test_iou_background"] == per_class[0]
    # MeanIoU averages the classes that occur.
    present = [v for v in per_class if not math.isnan(v)]
    assert metrics["test_mean_iou"] == pytest.approx(np.mean(present), abs=1e-6)
    # Input / true mask / prediction images in TensorBoard (FigureLogger).
    assert list((outcome.run_dir / "logs" / "unet" / "images").rglob("events.out.tfevents.*"))
    assert outcome.models["unet_shapes"].output_shape == (None, 32, 32, 4)


def test_f1_upsampling_compare_reports_every_variant(tiny_runs):
    metrics = tiny_runs["upsampling_compare"].results["metrics"]
    for key in ("transpose", "no_skips"):
        assert 0.0 <= metrics[f"{key}_mean_iou"] <= 1.0
        assert metrics[f"{key}_parameters"] > 0
        assert metrics[f"{key}_step_ms"] > 0
    assert metrics["no_skips_parameters"] < metrics["transpose_parameters"]
    assert metrics["skip_gain"] == pytest.approx(
        metrics["transpose_mean_iou"] - metrics["no_skips_mean_iou"]
    )


def test_unet_shapes_runs_on_oxford_pets_under_mock_data(tmp_path, run_quick):
    with tfds.testing.mock_data(num_examples=8):
        outcome = run_quick(
            "unet_shapes",
            tmp_path,
            [
                "dataset=oxford_iiit_pet",
                "train.epochs=1",
                "depth=1",
                "base_filters=2",
                "figure_examples=2",
                "train.batch_size=4",
            ],
        )
    metrics = outcome.results["metrics"]
    assert len(metrics["test_per_class_iou"]) == 3  # pet, background, border
    assert 0.0 <= metrics["test_mean_iou"] <= 1.0
    assert {"test_iou_pet", "test_iou_background", "test_iou_border"} <= set(metrics)


def test_dihedral_augment_turns_image_and_mask_together():
    import tensorflow as tf
    from mpkeras_experiments.fcn._common import dihedral_augment

    rng = np.random.default_rng(0)
    images = rng.random((64, 8, 8, 3)).astype("float32")
    masks = (images[..., 0] > 0.5).astype("int32")
    augment = dihedral_augment(3)
    out_images, out_masks = (
        np.asarray(t) for t in augment(tf.constant(5, tf.int64), (images, masks))
    )
    again = augment(tf.constant(5, tf.int64), (images, masks))
    np.testing.assert_array_equal(out_images, again[0])  # stateless: same batch index, same draw
    # The mask was computed from channel 0, so it must still match it.
    np.testing.assert_array_equal(out_masks, (out_images[..., 0] > 0.5).astype("int32"))
    used = set()
    for image, turned in zip(images, out_images):
        candidates = [np.rot90(image, k % 4, axes=(0, 1)) for k in range(8)]
        candidates[4:] = [c[:, ::-1] for c in candidates[4:]]
        matches = [k for k, c in enumerate(candidates) if np.array_equal(c, turned)]
        assert matches, "each output is one of the 8 symmetries of its input"
        used.add(matches[0])
    # 64 uniform draws from 8 symmetries miss one with probability < 8 (7/8)^64 = 1.6e-3.
    assert used == set(range(8))
    other = np.asarray(augment(tf.constant(6, tf.int64), (images, masks))[0])
    assert not np.array_equal(other, out_images)
    with pytest.raises(ValueError, match="square"):
        augment(tf.constant(0, tf.int64), (images[:, :, :4], masks[:, :, :4]))


def test_bad_config_is_rejected_before_any_work(tmp_path, run_quick):
    for name, override in [
        ("unet_shapes", "upsampling=bilinear"),
        ("unet_shapes", "depth=0"),
        ("unet_shapes", "image_size=[32]"),
        ("upsampling_compare", "methods=['bicubic']"),
        ("upsampling_compare", "methods=[]"),
        ("unet_shapes", "dice_weight=-1.0"),
    ]:
        with pytest.raises(ValueError):
            run_quick(name, tmp_path / override.split("=")[0], [override])
    with pytest.raises(ValueError, match="square"):
        run_quick("unet_shapes", tmp_path / "augment", ["augment=true", "image_size=[32, 16]"])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_quick_budget_meets_every_expectation(name, tmp_path, run_quick):
    outcome = run_quick(name, tmp_path)
    failed = [e for e in outcome.results["expectations"] if not e["holds"]]
    assert not failed, failed
