"""Chapter-2 experiments cnn_digits (C7) and explicit_vs_autodiff (C4).

(Not test_cnn.py: the tests directories have no __init__.py, so a basename
must be unique across tests/, and tests/models/test_cnn.py exists.)

Default tests run each experiment on a tiny budget and check what it hands
back (metrics, figures, TensorBoard events, reloadable models); whether the
claims hold is checked by the specs' expectations under
`mpkeras reproduce --quick`, and by the slow tests below.
"""

import math

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mpkeras import specs
from mpkeras.saving import load_model

TINY = {
    "cnn_digits": [
        "filters=[4, 8]",
        "train.epochs=1",
        "train.batch_size=128",
        "figure_every=1",
        "shift=0.125",
        "max_misclassified=8",
    ],
    "explicit_vs_autodiff": ["filters=[4]", "train.epochs=1", "train.batch_size=128"],
}
FIGURES = {
    "cnn_digits": {"confusion_matrix.png", "misclassified.png"},
    "explicit_vs_autodiff": {"loss_curves.png"},
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_tiny_run_has_metrics_figures_events_and_models(name, tiny_runs, finite):
    outcome = tiny_runs[name]
    metrics = outcome.results["metrics"]
    for expectation in specs.load(name).expectations:
        assert expectation.metric in metrics, expectation.metric
    assert all(finite(v) for v in metrics.values()), metrics
    assert {p.name for p in (outcome.run_dir / "figures").glob("*.png")} == FIGURES[name]
    assert any((outcome.run_dir / "logs").rglob("events.out.tfevents.*"))
    x = np.random.default_rng(0).random((4, 8, 8, 1), dtype=np.float32)
    for path in outcome.model_paths:
        model = load_model(path)
        original = outcome.models[path.stem]
        assert model.predict(x, verbose=0).shape == (4, 10)
        np.testing.assert_allclose(
            model.predict(x, verbose=0), original.predict(x, verbose=0), rtol=1e-6
        )


def test_cnn_digits_metrics_are_consistent_C7(tiny_runs):
    metrics = tiny_runs["cnn_digits"].results["metrics"]
    assert metrics["test_examples"] == 360
    assert metrics["misclassified"] == round((1 - metrics["test_accuracy"]) * 360)
    # C6: K*K*C_in*C_out + C_out per conv layer.
    assert metrics["conv_params"] == [3 * 3 * 1 * 4 + 4, 3 * 3 * 4 * 8 + 8]
    logs = tiny_runs["cnn_digits"].run_dir / "logs" / "cnn"
    # Loss/accuracy scalars per epoch, and the confusion matrix as an image.
    for part in ("train", "validation", "images"):
        assert any((logs / part).glob("events.out.tfevents.*")), part


def test_explicit_vs_autodiff_tiny_run_agrees_C4(tiny_runs):
    metrics = tiny_runs["explicit_vs_autodiff"].results["metrics"]
    assert metrics["steps"] == math.ceil(1257 / 128)
    assert metrics["max_rel_gradient_difference"] < 1e-4
    assert metrics["max_abs_loss_difference"] < 1e-4
    assert metrics["max_abs_weight_difference"] < 1e-4


def test_cnn_digits_runs_on_mnist_under_mock_data(tmp_path, run_quick):
    with tfds.testing.mock_data(num_examples=40):
        outcome = run_quick(
            "cnn_digits",
            tmp_path,
            ["dataset=mnist", "filters=[4]", "train.epochs=1", "max_misclassified=4"],
        )
    metrics = outcome.results["metrics"]
    assert metrics["test_examples"] == 40
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert metrics["conv_params"] == [3 * 3 * 1 * 4 + 4]
    assert {p.name for p in (outcome.run_dir / "figures").glob("*.png")} == FIGURES["cnn_digits"]


def test_bad_config_is_rejected_before_any_work(tmp_path, run_quick):
    for override in ["dropout=1.5", "filters=[]", "shift=0.7", "padding=full", "conv=torch"]:
        with pytest.raises(ValueError):
            run_quick("cnn_digits", tmp_path / override.split("=")[0], [override])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_quick_budget_meets_every_expectation(name, tmp_path, run_quick):
    outcome = run_quick(name, tmp_path)
    failed = [e for e in outcome.results["expectations"] if not e["holds"]]
    assert not failed, failed
