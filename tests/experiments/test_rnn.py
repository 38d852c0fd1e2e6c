"""Chapter-4 experiments: vanishing_exploding (R3), adding_problem (R4),
gradient_clipping (R5), sequence_modes (R2, R6), sentiment (R2, remote data).

Default tests run each experiment on a tiny budget and check what it hands
back (metrics named by the spec, figures, models that reload). Whether the
claims hold is checked by the specs' expectations (`mpkeras reproduce
--quick`); the slow tests run each offline spec's --quick budget.
"""

import math

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mpkeras import specs
from mpkeras.saving import load_model

TINY = {
    "vanishing_exploding": ["steps=6", "batch_size=2", "units=4", "radii=[0.5, 1.5]"],
    "adding_problem": [
        "lengths=[10]",
        "units=4",
        "copy_length=10",
        "train.epochs=1",
        "train.steps_per_epoch=3",
        "train.batch_size=16",
        "copy_train.epochs=1",
        "copy_train.steps_per_epoch=2",
        "copy_train.batch_size=16",
    ],
    # A huge unclipped step: the loss becomes NaN in the first epoch.
    "gradient_clipping": [
        "units=4",
        "epochs=2",
        "steps_per_epoch=5",
        "batch_size=16",
        "learning_rate=100.0",
        "momentum=0.0",
    ],
    "sequence_modes": [
        "units=4",
        "train.epochs=1",
        "train.steps_per_epoch=2",
        "train.batch_size=16",
    ],
}
FIGURES = {
    "vanishing_exploding": {"gradient_norms.png"},
    "adding_problem": {"adding_mse.png"},
    "gradient_clipping": {"clipping_losses.png"},
    "sequence_modes": {"sequence_modes.png"},
    "sentiment": {"sentiment_accuracy.png"},
}


# Slow: `mpkeras reproduce --quick`, CI's first command, runs every experiment
# with its figures and expectations; this adds the reload checks (pytest -m slow).
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_tiny_run_has_metrics_figures_and_reloadable_models(name, tiny_runs, finite):
    outcome = tiny_runs[name]
    metrics = outcome.results["metrics"]
    for expectation in specs.load(name).expectations:
        assert expectation.metric in metrics, expectation.metric
    assert all(finite(v) for v in metrics.values()), metrics
    assert {p.name for p in (outcome.run_dir / "figures").glob("*.png")} == FIGURES[name]
    assert {p.stem for p in outcome.model_paths} == set(outcome.models)
    for path in outcome.model_paths:
        model = outcome.models[path.stem]
        x = np.random.default_rng(0).uniform(size=(3, *model.input_shape[1:])).astype("float32")
        np.testing.assert_allclose(
            np.asarray(load_model(path)(x)), np.asarray(model(x)), rtol=1e-5, atol=1e-6
        )


def test_vanishing_exploding_linear_slopes_are_log_radius(tiny_runs):
    # R3 with act' = 1 and an orthogonal W_h scaled to r: ||dh_T/dh_k|| = r^(T-k).
    metrics = tiny_runs["vanishing_exploding"].results["metrics"]
    assert metrics["slope_linear_r050"] == pytest.approx(math.log(0.5), abs=1e-4)
    assert metrics["slope_linear_r150"] == pytest.approx(math.log(1.5), abs=1e-4)
    assert metrics["linear_min_slope_above_threshold"] == metrics["slope_linear_r150"]


def test_adding_problem_metric_names(tiny_runs):
    metrics = tiny_runs["adding_problem"].results["metrics"]
    assert metrics["shortest_length"] == metrics["longest_length"] == 10
    assert metrics["lstm_mse_longest"] == metrics["lstm_mse_t10"]
    assert metrics["elman_to_lstm_mse_longest"] == pytest.approx(
        metrics["elman_mse_t10"] / metrics["lstm_mse_t10"]
    )
    assert 0 <= metrics["lstm_copy_accuracy"] <= 1  # TINY keeps the copy task
    assert metrics["baseline_mse"] == pytest.approx(1 / 6)


def test_gradient_clipping_records_divergence_instead_of_failing(tiny_runs):
    # The unclipped fit diverged (NaN); the run still completed and recorded
    # it, and the clipped run from the same weights stayed finite.
    outcome = tiny_runs["gradient_clipping"]
    metrics = outcome.results["metrics"]
    assert metrics["unclipped_nan"] == 1.0 and metrics["unclipped_diverged"] == 1.0
    assert "unclipped_test_mse" not in metrics
    assert metrics["clipped_nan"] == 0.0 and math.isfinite(metrics["clipped_test_mse"])
    assert set(outcome.models) == {"gradient_clipping"}


def test_sequence_modes_baselines(tiny_runs):
    metrics = tiny_runs["sequence_modes"].results["metrics"]
    assert metrics["many_to_one_baseline_accuracy"] == pytest.approx(0.1, abs=0.02)
    assert metrics["stacked_many_to_one_parameters"] > metrics["many_to_one_parameters"]
    for mode in ("one_to_many", "one_to_one", "encoder_decoder"):
        assert metrics[f"{mode}_baseline_mse"] > 0


def test_sentiment_with_mock_data(tmp_path, run_quick):
    with tfds.testing.mock_data(num_examples=8):
        outcome = run_quick(
            "sentiment",
            tmp_path,
            [
                "vocabulary_size=50",
                "sequence_length=12",
                "adapt_batches=2",
                "embedding_dim=4",
                "units=4",
                "batch_size=4",
                "epochs=1",
            ],
        )
    metrics = outcome.results["metrics"]
    assert 0 <= metrics["test_accuracy"] <= 1 and 0 <= metrics["majority_accuracy"] <= 1
    assert {p.name for p in (outcome.run_dir / "figures").glob("*.png")} == FIGURES["sentiment"]
    reloaded = load_model(outcome.model_paths[0])
    reviews = np.array(["a great film", "terrible and boring"])
    np.testing.assert_allclose(
        np.asarray(reloaded(reviews)), np.asarray(outcome.models["sentiment"](reviews)), rtol=1e-5
    )


def test_sentiment_without_data_is_unavailable_not_failed(tmp_path, monkeypatch, run_quick):
    from mpkeras.data import DatasetUnavailableError, remote

    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setattr(remote, "host_reachable", lambda *args, **kwargs: False)
    with pytest.raises(DatasetUnavailableError):
        run_quick("sentiment", tmp_path, ["epochs=1"])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_quick_run_meets_every_expectation(name, tmp_path, run_quick):
    outcome = run_quick(name, tmp_path)
    failed = [row for row in outcome.results["expectations"] if not row["holds"]]
    assert not failed, failed
