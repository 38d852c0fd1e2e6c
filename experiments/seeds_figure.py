"""upsampling_compare over seeds as a figure: each model's test mean IoU, mean and spread (F1, F3).

Reads the ``results.json`` of one run per seed (``mpkeras reproduce --seeds
3`` keeps them as ``upsampling_compare/seed-S/results.json``) and draws, per
model the runs trained (each upsampling method with skips, and the U-Net
without skips), every seed's test mean IoU as a dot and the mean with a
min-max bar. At --quick the runs train the transposed convolution with and
without skips; the full budget trains all four methods.

    python -m mpkeras_experiments.seeds_figure OUT.png RUN_DIR/results.json ...
"""

import json
import sys
from pathlib import Path

import numpy as np

_SUFFIX = "_mean_iou"


def seeds_table(results):
    """``(models, seeds, array (num_models, num_seeds))`` of test mean IoU from per-seed results."""
    if not results:
        raise ValueError("Received an invalid value for `results`, expected one or more runs.")
    names = [set(k for k in r["metrics"] if k.endswith(_SUFFIX)) for r in results]
    if any(n != names[0] for n in names) or not names[0]:
        raise ValueError(
            "Received an invalid value for `results`, expected runs that trained the same "
            f"models. Received models per run: {[sorted(n) for n in names]}"
        )
    # The upsampling methods first (in the runs' own order), no_skips last.
    models = [k[: -len(_SUFFIX)] for k in results[0]["metrics"] if k.endswith(_SUFFIX)]
    models = [m for m in models if m != "no_skips"] + (["no_skips"] if "no_skips" in models else [])
    values = np.array([[r["metrics"][m + _SUFFIX] for r in results] for m in models], dtype=float)
    return models, [r.get("seed") for r in results], values


def seeds_figure(results):
    """Test mean IoU per model: each seed a dot, the mean a bar with min-max whiskers."""
    from mpkeras import plotting

    models, seeds, values = seeds_table(results)
    fig, axes = plotting.figure(size=4.0)
    ax = axes[0, 0]
    x = np.arange(len(models))
    mean = values.mean(axis=1)
    spread = np.clip(np.stack([mean - values.min(axis=1), values.max(axis=1) - mean]), 0, None)
    ax.bar(x, mean, color=["tab:gray" if m == "no_skips" else "tab:blue" for m in models])
    ax.errorbar(x, mean, yerr=spread, fmt="none", ecolor="k", capsize=4)
    for j in range(values.shape[1]):
        ax.plot(
            x,
            values[:, j],
            "o",
            color="tab:orange",
            markersize=4,
            label="one seed" if j == 0 else None,
        )
    ax.set_xticks(x, models, rotation=30)
    ax.set_ylabel("test mean IoU")
    ax.set_ylim(0, 1)
    ax.legend(fontsize="x-small", loc="upper right")
    ax.set_title(f"seeds {', '.join(map(str, seeds))}: mean, min-max", fontsize="small")
    return fig


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        raise SystemExit(
            "usage: python -m mpkeras_experiments.seeds_figure OUT.png RESULTS.json ..."
        )
    results = [json.loads(Path(path).read_text()) for path in argv[1:]]
    seeds_figure(results).savefig(argv[0], dpi=100, bbox_inches="tight")
    models, seeds, values = seeds_table(results)
    for model, row in zip(models, values):
        print(f"{model}: " + ", ".join(f"seed {s} {v:.3f}" for s, v in zip(seeds, row)))


if __name__ == "__main__":
    main()
