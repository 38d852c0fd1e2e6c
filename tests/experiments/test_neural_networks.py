"""Chapter-1 experiments perceptron (N1), linear_collapse (N6), universal_approximation (N7).

Default tests run each experiment on a tiny budget and check the structure of
what it hands back (metrics, figures, models that reload with the same
predictions). Whether the claims hold is checked by the specs' expectations:
the slow tests run each spec's --quick budget and require every one to hold.
"""

import numpy as np
import pytest
from mpkeras_experiments.neural_networks import universal_approximation

from mpkeras import specs
from mpkeras.saving import load_model

TINY = {
    "perceptron": ["max_epochs=3"],
    "linear_collapse": [
        "train_size=256",
        "test_size=128",
        "hidden=[4, 4]",
        "train.epochs=2",
        "train.steps_per_epoch=5",
    ],
    "universal_approximation": [
        "widths=[2, 4, 8]",
        "train_size=256",
        "grid_points=[101, 11]",
        "train.epochs=1",
        "train.steps_per_epoch=5",
        "deep_hidden=[3, 3]",
        "comparison_train.epochs=1",
        "comparison_train.steps_per_epoch=5",
    ],
}
FIGURES = {
    "perceptron": {"decision_boundary.png"},
    "linear_collapse": {"fits.png"},
    "universal_approximation": {"fits_m1.png", "max_error_vs_width.png", "deep_vs_shallow.png"},
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_tiny_run_has_metrics_figures_and_reloadable_models(name, tiny_runs, finite):
    outcome = tiny_runs[name]
    trained_models = outcome.models
    metrics = outcome.results["metrics"]
    for expectation in specs.load(name).expectations:
        assert expectation.metric in metrics, expectation.metric
    assert all(finite(v) for v in metrics.values()), metrics
    assert {p.name for p in (outcome.run_dir / "figures").glob("*.png")} == FIGURES[name]
    assert any((outcome.run_dir / "logs").rglob("events.out.tfevents.*"))
    assert {p.stem for p in outcome.model_paths} == set(trained_models)
    x = np.random.default_rng(0).uniform(size=(64, 2)).astype("float32")
    for path in outcome.model_paths:
        trained = trained_models[path.stem]
        inputs = (
            x[:, :1] if path.stem == "universal_approximation" else x
        )  # its main model is m = 1
        np.testing.assert_allclose(
            np.asarray(load_model(path)(inputs)), np.asarray(trained(inputs)), rtol=1e-6, atol=1e-6
        )


def test_perceptron_metrics_are_consistent(tiny_runs):
    metrics = tiny_runs["perceptron"].results["metrics"]
    assert metrics["novikoff_bound"] == pytest.approx((metrics["radius"] / metrics["margin"]) ** 2)
    assert metrics["updates_over_bound"] == pytest.approx(
        metrics["updates"] / metrics["novikoff_bound"]
    )
    # The max-margin separator is at least as good as the data's own.
    assert metrics["margin"] >= metrics["data_separator_margin"] > 0


def test_linear_collapse_is_exact_whatever_the_training(tiny_runs):
    metrics = tiny_runs["linear_collapse"].results["metrics"]
    # N6 holds for any weights: even after 10 steps the net is one affine map,
    # and no affine map beats least squares on the training points.
    assert metrics["collapse_relative_error"] < 1e-4
    assert metrics["deep_linear_over_least_squares"] >= 1 - 1e-6


def test_universal_approximation_metric_shapes(tiny_runs):
    metrics = tiny_runs["universal_approximation"].results["metrics"]
    assert metrics["widths"] == [2, 4, 8]
    for m in (1, 2):
        assert len(metrics[f"max_error_m{m}"]) == 3
        assert -1 <= metrics[f"spearman_m{m}"] <= 1
    # deep [3, 3] (centring has no weights) vs shallow [8], both on 2 inputs.
    assert metrics["deep_params"] == (2 * 3 + 3) + (3 * 3 + 3) + (3 + 1)
    assert metrics["shallow_params"] == (2 * 8 + 8) + (8 + 1)


def test_dense_grid_covers_the_cube_corners_included():
    assert universal_approximation.dense_grid(2, 3).shape == (9, 2)
    np.testing.assert_allclose(universal_approximation.dense_grid(1, 3).ravel(), [0, 0.5, 1])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_quick_run_meets_every_expectation(name, tmp_path, run_quick):
    outcome = run_quick(name, tmp_path)
    failed = [row for row in outcome.results["expectations"] if not row["holds"]]
    assert not failed, failed


def test_spec_data_names_the_configs_default_dataset():
    """`mpkeras list` shows a spec's `data` without importing the experiment;
    it must agree with the config's dataset default (the source of truth)."""
    import mpkeras_experiments as experiments

    for name in specs.available():
        spec = specs.load(name)
        config = experiments.get(spec.experiment).config_class()
        if hasattr(config, "dataset"):
            assert spec.default_dataset == config.dataset, name
