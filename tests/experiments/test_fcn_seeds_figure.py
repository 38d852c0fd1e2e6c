"""The upsampling_compare seeds figure (experiments/seeds_figure.py), on made-up results."""

import numpy as np
import pytest
from mpkeras_experiments.seeds_figure import seeds_figure, seeds_table


def _results(per_seed):
    return [
        {
            "seed": seed,
            "metrics": {f"{k}_mean_iou": v for k, v in values.items()} | {"skip_gain": 0.1},
        }
        for seed, values in per_seed.items()
    ]


RUNS = _results(
    {
        0: {"no_skips": 0.52, "transpose": 0.62, "nearest": 0.60},
        1: {"no_skips": 0.51, "transpose": 0.60, "nearest": 0.58},
        2: {"no_skips": 0.53, "transpose": 0.58, "nearest": 0.62},
    }
)


def test_table_puts_methods_first_and_no_skips_last():
    models, seeds, values = seeds_table(RUNS)
    assert models == ["transpose", "nearest", "no_skips"]
    assert seeds == [0, 1, 2]
    np.testing.assert_allclose(values[0], [0.62, 0.60, 0.58], rtol=0, atol=0)


def test_figure_bars_are_the_means_over_seeds():
    ax = seeds_figure(RUNS).axes[0]
    heights = [patch.get_height() for patch in ax.patches]
    np.testing.assert_allclose(heights, [0.60, 0.60, 0.52], rtol=1e-12)
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(dots) == 3  # one per seed


def test_runs_of_different_models_are_refused():
    mixed = RUNS[:2] + _results({2: {"no_skips": 0.5, "transpose": 0.6}})
    with pytest.raises(ValueError, match="same models"):
        seeds_table(mixed)
    with pytest.raises(ValueError, match="one or more"):
        seeds_table([])
