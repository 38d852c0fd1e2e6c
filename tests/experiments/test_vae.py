"""Chapter-5b experiments vae_digits (A4, A5), beta_vae_sprites and constrained_beta_vae (A6).

Default tests run each experiment on a tiny budget and check what it hands
back (every metric the spec's expectations name, the figures, models that
reload). Whether the claims hold is checked by the specs' expectations
(`mpkeras reproduce --quick`); the slow test runs the quick budgets.
"""

import math

import numpy as np
import pytest
from mpkeras_experiments.vae.beta_vae_sprites import factor_observations

from mpkeras import runner, specs
from mpkeras.saving import load_model

TINY = {
    "vae_digits": [
        "train.epochs=1",
        "hidden=[8]",
        "num_samples=5",
        "test_examples=40",
        "figure_examples=4",
        "interpolation_steps=3",
    ],
    "constrained_beta_vae": [
        "train.epochs=2",
        "final_epochs=1",
        "hidden=[8]",
        "deltas=[5.0, 15.0]",
    ],
    "beta_vae_sprites": [
        # No dataset: the quick budget's in-memory grid.
        "train.epochs=1",
        "hidden=[8]",
        "score_examples=300",
        "betavae_batch=4",
        "betavae_train=20",
        "betavae_eval=20",
        "traversal_dims=2",
    ],
}
FIGURES = {
    "vae_digits": {"samples.png", "reconstructions.png", "interpolation.png"},
    "constrained_beta_vae": {"beta_trajectory.png"},
    "beta_vae_sprites": {"traversals_beta1.png", "traversals_beta4.png", "scores_vs_beta.png"},
}


# Slow: `mpkeras reproduce --quick`, CI's first command, runs every experiment
# with its figures and expectations; this adds the reload checks (pytest -m slow).
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_tiny_run_has_metrics_figures_and_reloadable_models(name, tiny_runs):
    outcome = tiny_runs[name]
    metrics = outcome.results["metrics"]
    for expectation in specs.load(name).expectations:
        assert expectation.metric in metrics, expectation.metric
        if expectation.other:
            assert expectation.other in metrics, expectation.other
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in metrics.values()), metrics
    assert {p.name for p in (outcome.run_dir / "figures").glob("*.png")} == FIGURES[name]
    assert any((outcome.run_dir / "logs").rglob("events.out.tfevents.*"))
    assert {p.stem for p in outcome.model_paths} == set(outcome.models)
    for key, model in outcome.models.items():
        path = next(p for p in outcome.model_paths if p.stem == key)
        loaded = load_model(path)
        assert float(loaded.beta.numpy()) == float(model.beta.numpy())
        x = np.zeros((2,) + tuple(model.encoder.inputs[0].shape[1:]), "float32")
        np.testing.assert_allclose(
            loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
        )


def test_A4_digits_elbo_and_log_likelihood_in_nats(tiny_runs):
    metrics = tiny_runs["vae_digits"].results["metrics"]
    # Negative log-likelihoods of 64 binary pixels: between 0 and 64 log 2... and more for a bad model.
    assert metrics["test_elbo"] < 0 and metrics["test_log_likelihood"] < 0
    assert metrics["test_kl"] >= 0


def test_A6_constrained_run_reports_each_delta(tiny_runs):
    metrics = tiny_runs["constrained_beta_vae"].results["metrics"]
    for tag, delta in (("delta5", 5.0), ("delta15", 15.0)):
        assert metrics[f"kl_relative_error_{tag}"] == pytest.approx(
            abs(metrics[f"final_kl_{tag}"] / delta - 1.0)
        )
        assert metrics[f"final_beta_{tag}"] >= 0.0


def test_factor_observations_full_grid_is_rendered():
    images, factors = factor_observations("sprites/full", 5, seed=0)
    assert images.shape == (5, 64, 64, 1) and factors.shape == (5, 5)
    assert set(np.unique(images)) <= {0.0, 1.0} and images.sum() > 0
    again, _ = factor_observations("sprites/full", 5, seed=0)
    np.testing.assert_array_equal(images, again)


def test_the_sprite_factors_are_the_data_registry_s():
    from mpkeras_experiments.vae import beta_vae_sprites

    from mpkeras import data

    assert beta_vae_sprites.SPRITE_FACTORS is data.registry.SPRITE_FACTORS


def test_one_beta_replaces_the_list_of_betas():
    _, _, config = runner.resolve("beta_vae_sprites", overrides=["beta=16"])
    assert config.trained_betas == [16.0]
    assert runner.resolve("beta_vae_sprites")[2].trained_betas == [1.0, 4.0]


def test_bad_config_is_refused_before_training():
    with pytest.raises(ValueError, match="betas"):
        runner.resolve("beta_vae_sprites", overrides=["betas=[-1.0]"])
    with pytest.raises(ValueError, match="`beta` must be a number >= 0"):
        runner.resolve("beta_vae_sprites", overrides=["beta=-1"])
    with pytest.raises(ValueError, match="final_epochs"):
        runner.resolve("constrained_beta_vae", overrides=["final_epochs=500"])
    with pytest.raises(ValueError, match="interpolation_steps"):
        runner.resolve("vae_digits", overrides=["interpolation_steps=2"])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_quick_budget_expectations_hold(name, tmp_path, run_quick):
    outcome = run_quick(name, tmp_path)
    failed = [e for e in outcome.results["expectations"] if not e["holds"]]
    assert not failed, failed


def test_A4_vae_digits_runs_on_binarized_mnist_with_mock_data(tmp_path, run_quick):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=16):
        outcome = run_quick(
            "vae_digits", tmp_path, ["dataset=binarized_mnist", *TINY["vae_digits"]]
        )
    metrics = outcome.results["metrics"]
    assert all(math.isfinite(v) for v in metrics.values()), metrics
    assert tuple(outcome.models["vae_digits"].decoder.output_shape) == (None, 28, 28, 1)
