"""The beta sweep of claim A6 as a figure: MIG and BetaVAE score against beta over seeds.

Reads the ``summary.json`` of

    mpkeras sweep beta_vae_sprites --set "betas=[1],[2],[4],[8],[16]" --seeds 3 --quick

(one trained beta per point) and draws, per score, every seed's value and
their mean against beta on a log-2 axis. :func:`beta_trend` gives the
numbers the figure is read by: per seed, the Spearman rank correlation of
the MIG with beta and the ratio of the largest beta's MIG to the
smallest's.

    python -m mpkeras_experiments.beta_sweep_figure SWEEP_DIR/summary.json OUT.png

Several summaries (sweeps over other betas on the same seeds, e.g. ``--set
beta=1,4`` and ``--set beta=2,8,16``) are merged into one sweep
(:func:`merge_summaries`): each model is seeded from (seed, beta) alone, so
a point does not depend on the sweep it ran in.
"""

import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

_SCORES = (("mig", "MIG"), ("betavae_score", "BetaVAE score"))


def _beta(point):
    """The one beta a sweep point trained: its ``beta`` setting, or ``betas`` of one (``"[4]"``)."""
    settings = point["settings"]
    if "beta" in settings:
        return float(settings["beta"])
    if "betas" not in settings:
        raise ValueError(
            "Received an invalid value for `summary`, expected the summary.json of a sweep "
            f"over beta (--set beta=1,2,4). Received: settings={settings}"
        )
    text = str(settings["betas"]).strip()
    values = json.loads(text) if text.startswith("[") else [float(text)]
    if len(values) != 1:
        raise ValueError(
            "Received an invalid value for `summary`, expected a sweep with one beta per "
            f"point (--set beta=1,2,4). Received: betas={text}"
        )
    return float(values[0])


def _values(point, key, beta):
    """Per-seed values of score ``key``: named ``mig`` or, before the single-beta names, ``mig_beta4``."""
    metrics = point["metrics"]
    for name in (key, f"{key}_beta{beta:g}".replace(".", "_")):
        if name in metrics:
            return np.array(metrics[name]["values"], dtype=float)
    raise ValueError(
        f"Received an invalid value for `summary`: point {point['name']} has no metric "
        f"{key!r}. Received metrics: {sorted(metrics)}"
    )


def merge_summaries(summaries):
    """One summary holding the points of every summary in ``summaries``; a beta twice is refused."""
    points, seen = [], {}
    for summary in summaries:
        for point in summary["points"]:
            beta = _beta(point)
            if beta in seen:
                raise ValueError(
                    "Received an invalid value for `summaries`: beta "
                    f"{beta:g} is in two of them ({seen[beta]} and {point['name']})"
                )
            seen[beta] = point["name"]
            points.append(point)
    return {"spec": summaries[0].get("spec", "beta_vae_sprites"), "points": points}


def sweep_table(summary):
    """``(betas, seeds, {score: array (num_betas, num_seeds)})`` sorted by beta."""
    points = sorted(summary["points"], key=_beta)
    if len(points) < 2:
        raise ValueError(
            "Received an invalid value for `summary`, expected a sweep over two or more "
            f"betas. Received: {len(points)} point(s)"
        )
    seeds = points[0]["seeds"]
    if any(point["seeds"] != seeds for point in points):
        raise ValueError(
            "Received an invalid value for `summary`: its points ran on different seeds "
            f"({[point['seeds'] for point in points]}); resume the sweep to finish them"
        )
    betas = np.array([_beta(point) for point in points])
    table = {
        key: np.stack([_values(p, key, b) for p, b in zip(points, betas)]) for key, _ in _SCORES
    }
    return betas, list(seeds), table


def beta_trend(summary):
    """Per seed: Spearman's rho of MIG against beta, and MIG(max beta) / MIG(min beta)."""
    betas, seeds, table = sweep_table(summary)
    mig = table["mig"]
    return {
        seed: {
            "spearman": float(spearmanr(betas, mig[:, i]).statistic),
            "ratio": float(mig[-1, i] / mig[0, i]) if mig[0, i] > 0 else float("inf"),
        }
        for i, seed in enumerate(seeds)
    }


def sweep_figure(summary):
    """MIG and BetaVAE score against beta: each seed (thin) and the mean with min-max bars."""
    from mpkeras import plotting

    betas, seeds, table = sweep_table(summary)
    fig, axes = plotting.figure(ncols=2, size=3.5)
    for ax, (key, label) in zip(axes[0], _SCORES):
        values = table[key]
        for i, seed in enumerate(seeds):
            ax.plot(betas, values[:, i], "-", color="0.7", linewidth=0.8, label=f"seed {seed}")
        mean = values.mean(axis=1)
        # Clipped: when every seed agrees, mean - min is -1e-17, which matplotlib refuses.
        spread = np.clip(np.stack([mean - values.min(axis=1), values.max(axis=1) - mean]), 0, None)
        ax.errorbar(betas, mean, yerr=spread, fmt="none", ecolor="C0", capsize=3)
        ax.plot(betas, mean, "o-", color="C0", label="mean, min-max")
        ax.set_xscale("log", base=2)
        ax.set_xticks(betas, [f"{b:g}" for b in betas])
        ax.set_xlabel("beta")
        ax.set_ylabel(label)
    axes[0, 0].legend(fontsize="x-small")
    fig.suptitle(f"{summary.get('spec', 'beta_vae_sprites')}: seeds {', '.join(map(str, seeds))}")
    return fig


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        raise SystemExit(
            "usage: python -m mpkeras_experiments.beta_sweep_figure SUMMARY.json "
            "[SUMMARY.json ...] OUT.png"
        )
    summary = merge_summaries([json.loads(Path(a).read_text()) for a in argv[:-1]])
    sweep_figure(summary).savefig(argv[-1], dpi=100, bbox_inches="tight")
    for seed, trend in beta_trend(summary).items():
        print(f"seed {seed}: Spearman {trend['spearman']:+.2f}, MIG ratio {trend['ratio']:.2f}")


if __name__ == "__main__":
    main()
