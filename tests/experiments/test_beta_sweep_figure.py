"""The beta-sweep figure of claim A6 (experiments/beta_sweep_figure.py), on made-up summaries."""

import numpy as np
import pytest
from mpkeras_experiments.beta_sweep_figure import beta_trend, sweep_figure, sweep_table


def _summary(values, plain_names=True, seeds=(0, 1, 2)):
    """A sweep summary.json with one point per beta; values[beta] = (mig per seed, score per seed)."""
    points = []
    for beta, (mig, score) in values.items():
        tag = "" if plain_names else f"_beta{beta:g}"
        points.append(
            {
                "name": f"betas-{beta:g}",
                "settings": {"betas": f"[{beta:g}]"},
                "seeds": list(seeds),
                "metrics": {
                    f"mig{tag}": {"values": list(mig)},
                    f"betavae_score{tag}": {"values": list(score)},
                },
            }
        )
    return {"spec": "beta_vae_sprites", "points": points[::-1]}  # any order on disk


RISING = {
    1: ([0.05, 0.02, 0.04], [0.7, 0.7, 0.7]),
    4: ([0.10, 0.03, 0.02], [0.8, 0.7, 0.8]),
    16: ([0.20, 0.06, 0.08], [0.9, 0.8, 0.9]),
}


@pytest.mark.parametrize("plain_names", [True, False])
def test_table_is_sorted_by_beta_and_reads_both_metric_names(plain_names):
    betas, seeds, table = sweep_table(_summary(RISING, plain_names))
    np.testing.assert_array_equal(betas, [1.0, 4.0, 16.0])
    assert seeds == [0, 1, 2]
    np.testing.assert_allclose(table["mig"][:, 2], [0.04, 0.02, 0.08], rtol=0, atol=0)


def test_trend_is_spearman_per_seed_and_the_end_ratio():
    trend = beta_trend(_summary(RISING))
    # Seed 0 and 1 rise monotonically (rho 1); seed 2 goes 0.04, 0.02, 0.08: ranks 2, 1, 3.
    np.testing.assert_allclose(
        [trend[s]["spearman"] for s in (0, 1, 2)], [1.0, 1.0, 0.5], atol=1e-12
    )
    np.testing.assert_allclose([trend[s]["ratio"] for s in (0, 1, 2)], [4.0, 3.0, 2.0], rtol=1e-12)


def test_figure_draws_mean_and_each_seed_against_beta():
    fig = sweep_figure(_summary(RISING))
    mig_axis, score_axis = fig.axes[:2]
    assert mig_axis.get_xscale() == "log"
    lines = mig_axis.get_lines()
    seeds = [line for line in lines if line.get_label().startswith("seed")]
    assert len(seeds) == 3
    np.testing.assert_allclose(seeds[1].get_ydata(), [0.02, 0.03, 0.06])
    mean = [line for line in lines if line.get_label() == "mean, min-max"]
    np.testing.assert_allclose(mean[0].get_ydata(), [0.11 / 3, 0.05, 0.34 / 3], rtol=1e-12)
    assert score_axis.get_ylabel() == "BetaVAE score"


def test_a_point_with_two_betas_or_unequal_seeds_is_refused():
    two = _summary(RISING)
    two["points"][0]["settings"]["betas"] = "[1, 4]"
    with pytest.raises(ValueError, match="one beta per"):
        sweep_table(two)
    unequal = _summary(RISING)
    unequal["points"][0]["seeds"] = [0, 1]
    with pytest.raises(ValueError, match="different seeds"):
        sweep_table(unequal)
    other = _summary(RISING)
    for point in other["points"]:
        point["settings"] = {"hidden": "[8]"}
    with pytest.raises(ValueError, match="sweep over beta "):
        sweep_table(other)
    with pytest.raises(ValueError, match="two or more"):
        sweep_table({"points": _summary(RISING)["points"][:1]})


def test_a_sweep_over_the_single_beta_setting_reads_the_same():
    summary = _summary(RISING)
    for point in summary["points"]:
        point["settings"] = {"beta": point["settings"]["betas"].strip("[]")}
    betas, seeds, table = sweep_table(summary)
    expected_betas, expected_seeds, expected = sweep_table(_summary(RISING))
    np.testing.assert_array_equal(betas, expected_betas)
    assert seeds == expected_seeds
    for key in expected:
        np.testing.assert_array_equal(table[key], expected[key])
