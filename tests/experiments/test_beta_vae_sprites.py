"""beta_vae_sprites' quick design: an identifiable, asymmetric sub-grid, per-model seeds, restarts."""

import numpy as np
import pytest
from mpkeras_experiments.vae import _sprite_grids as sprite_grids
from mpkeras_experiments.vae._sprite_grids import (
    GRIDS,
    grid_batches,
    grid_size,
    model_seed,
    render_grid,
)

from mpkeras import runner, specs
from mpkeras.data.builders.sprites import FULL_VALUES, render
from mpkeras.data.registry import SPRITE_FACTORS

# Not named TINY: tests/experiments modules use that name for {spec: overrides} (test_execution_flags).
TINY_OVERRIDES = [
    "train.epochs=1",
    "hidden=[8]",
    "betavae_batch=4",
    "betavae_train=20",
    "betavae_eval=20",
    "traversal_dims=2",
]


@pytest.fixture(scope="module", params=sorted(GRIDS))
def grid(request):
    images, factors = render_grid(request.param)
    return request.param, images, factors


def test_grid_images_are_the_builders_at_those_indices(grid):
    name, images, factors = grid
    assert images.shape == (grid_size(name), 64, 64, 1)
    assert images.dtype == np.float32
    # Every combination once: a full factorial grid, so the scores can use all of it.
    assert len(np.unique(factors, axis=0)) == len(factors)
    for row in np.random.default_rng(0).choice(len(images), 5, replace=False):
        values = [FULL_VALUES[f][GRIDS[name][f][i]] for f, i in zip(SPRITE_FACTORS, factors[row])]
        np.testing.assert_array_equal(images[row], render(*values).astype(np.float32))


def test_every_grid_image_is_distinct(grid):
    # Identifiable factors: no two factor combinations render the same image
    # (sprites/small's 0 / 90 / 180 / 270 degrees render a square four times alike).
    _, images, _ = grid
    flat = images.reshape(len(images), -1)
    assert len(np.unique(flat, axis=0)) == len(images)


def test_x_and_y_spread_differently(grid):
    # Equal spreads make the code's (x, y) plane rotation-symmetric (see _sprite_grids).
    name, _, _ = grid
    x = FULL_VALUES["x_position"][GRIDS[name]["x_position"]]
    y = FULL_VALUES["y_position"][GRIDS[name]["y_position"]]
    assert np.var(x) > 2 * np.var(y)


def test_render_grid_names_the_grids_on_a_typo():
    with pytest.raises(ValueError, match="expected one of"):
        render_grid("asymetric")


def test_model_seed_is_a_function_of_seed_beta_restart():
    assert model_seed(2, 4.0) == model_seed(2, 4, 0)
    seeds = {model_seed(s, b, r) for s in (0, 1, 2) for b in (1, 2, 4, 8, 16) for r in (0, 1)}
    assert len(seeds) == 30
    assert all(0 <= s < 2**31 for s in seeds)


def test_grid_batches_shuffle_per_epoch_as_a_function_of_seed():
    images = np.arange(10, dtype=np.float32).reshape(10, 1)
    train = grid_batches(images, 3, seed=5, repeats=2)
    assert int(train.cardinality()) == 6  # 2 passes x 3 full batches of 3
    first = np.concatenate([x for x, _ in train.as_numpy_iterator()]).ravel()
    second = np.concatenate([x for x, _ in train.as_numpy_iterator()]).ravel()
    again = grid_batches(images, 3, seed=5, repeats=2)
    np.testing.assert_array_equal(
        np.concatenate([x for x, _ in again.as_numpy_iterator()]).ravel(), first
    )
    assert not np.array_equal(first, second)  # epoch 1 is another order
    # Each pass is 9 distinct images of the 10 (the partial batch dropped).
    for one in (first[:9], first[9:]):
        assert len(set(one)) == 9
    for x, y in train.take(1).as_numpy_iterator():
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["grid=upright"], "grid"),
        (["grid=asymmetric_upright", "dataset=sprites/small"], "sprites/full"),
        (["restarts=0"], "restarts"),
        (["grid_repeats=0"], "grid_repeats"),
    ],
)
def test_bad_settings_are_refused(overrides, message):
    with pytest.raises(specs.SpecError, match=message):
        runner.resolve("beta_vae_sprites", overrides=overrides)


def test_quick_budget_trains_on_an_in_memory_grid():
    _, _, config = runner.resolve("beta_vae_sprites", quick=True)
    assert config.grid in GRIDS
    assert config.dataset == "sprites/full"
    assert sprite_grids.grid_size(config.grid) <= config.score_examples  # scored on all of it


@pytest.mark.slow
def test_a_beta_model_does_not_depend_on_the_betas_before_it(run_quick, tmp_path):
    grid = ["grid=asymmetric_upright", *TINY_OVERRIDES]
    both = run_quick("beta_vae_sprites", tmp_path / "both", [*grid, "betas=[1.0, 4.0]"])
    alone = run_quick("beta_vae_sprites", tmp_path / "alone", [*grid, "beta=4"])
    for key in ("mig", "betavae_score", "kl", "reconstruction"):
        np.testing.assert_allclose(
            both.results["metrics"][f"{key}_beta4"],
            alone.results["metrics"][key],
            rtol=1e-5,
            err_msg=key,
        )


@pytest.mark.slow
def test_restarts_report_the_mean_of_their_models(run_quick, tmp_path):
    grid = ["grid=asymmetric_upright", *TINY_OVERRIDES, "beta=4"]
    one = run_quick("beta_vae_sprites", tmp_path / "one", [*grid, "restarts=1"])
    two = run_quick("beta_vae_sprites", tmp_path / "two", [*grid, "restarts=2"])
    # Restart 0 is the same model in both runs, so restart 1's value is
    # 2 * mean - restart 0's: another model, another KL.
    first, mean = one.results["metrics"]["kl"], two.results["metrics"]["kl"]
    assert abs((2 * mean - first) - first) > 1e-3
    assert 0.0 <= two.results["metrics"]["mig"] <= 1.0


def _sweep(betas, seeds=(0, 1, 2)):
    """A sweep summary.json of one point per beta, MIG = beta / 100 + seed / 1000."""
    return {
        "spec": "beta_vae_sprites",
        "points": [
            {
                "name": f"beta-{b:g}",
                "settings": {"beta": b},
                "seeds": list(seeds),
                "metrics": {
                    "mig": {"values": [b / 100 + s / 1000 for s in seeds]},
                    "betavae_score": {"values": [0.7] * len(seeds)},
                },
            }
            for b in betas
        ],
    }


def test_sweeps_over_other_betas_merge_into_one():
    # Models are seeded from (seed, beta) alone, so `--set beta=1,4` and
    # `--set beta=2,8,16` together are the sweep over all five.
    from mpkeras_experiments.beta_sweep_figure import beta_trend, merge_summaries, sweep_table

    merged = merge_summaries([_sweep([1.0, 4.0]), _sweep([2.0, 8.0, 16.0])])
    betas, seeds, table = sweep_table(merged)
    np.testing.assert_array_equal(betas, [1, 2, 4, 8, 16])
    np.testing.assert_allclose(table["mig"][:, 2], [0.012, 0.022, 0.042, 0.082, 0.162])
    np.testing.assert_allclose(beta_trend(merged)[0]["spearman"], 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="beta 4 is in two"):
        merge_summaries([merged, _sweep([4.0])])
