"""Every experiment's tiny budget under each execution flag the README offers.

The README's scale-out section offers ``--mixed-precision mixed_bfloat16``,
``--mixed-precision mixed_float16`` and ``--strategy mirrored`` for every
experiment. Each (experiment, flag) pair here runs the experiment's tiny
budget (the ``TINY`` overrides of its tests/experiments module, plus the two
experiments those modules run otherwise: xor and sentiment on mock data) in
a fresh process, as ``mpkeras run NAME --quick --set ... FLAG`` would, and
requires the run to finish with every metric its spec's expectations name,
each finite, and every key figure written. ``--strategy mirrored`` runs on
two logical CPU devices (as tests/test_distribute.py sets them up), so it
really has two replicas in sync.

A fresh process per pair: the mixed-precision policy and the logical devices
are process-wide, and a crash in one experiment must not hide the others.
The pairs are slow (about a minute each on 2 busy cores, one hour in all):
run them with ``-m slow``; the check that every experiment has a tiny
budget runs by default.
"""

import importlib.util
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mpkeras import specs

FLAGS = {
    "mixed_bfloat16": {"mixed_precision": "mixed_bfloat16"},
    "mixed_float16": {"mixed_precision": "mixed_float16"},
    "mirrored": {"strategy": "mirrored"},
}

# Experiments without a TINY entry in their test module (tiny budgets of the
# same size as the others'); sentiment's remote data is mocked.
EXTRA_TINY = {
    "xor": ["perceptron_epochs=3", "train.epochs=2"],
    "sentiment": [
        "vocabulary_size=50",
        "sequence_length=12",
        "adapt_batches=2",
        "embedding_dim=4",
        "units=4",
        "batch_size=4",
        "epochs=1",
    ],
}
MOCKED = {"sentiment"}


def _tiny_budgets():
    """spec name -> overrides: every tests/experiments module's TINY, and EXTRA_TINY."""
    budgets = dict(EXTRA_TINY)
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        module_spec = importlib.util.spec_from_file_location(f"_flags_{path.stem}", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        budgets.update(getattr(module, "TINY", {}))
    return budgets


TINY = _tiny_budgets()
EXPERIMENTS = sorted(specs.available())

_CHILD = textwrap.dedent(
    """
    import contextlib, json, pathlib, sys, traceback
    name, flag, options, overrides, root, mocked = json.loads(sys.argv[1])
    import tensorflow as tf
    if flag == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import tensorflow_datasets as tfds
    from mpkeras import runner

    mock = tfds.testing.mock_data(num_examples=8) if mocked else contextlib.nullcontext()
    out = {}
    try:
        with mock:
            outcome = runner.run(name, quick=True, overrides=overrides, run_dir=f"{root}/run",
                                 models_dir=f"{root}/models", verbose=0,
                                 report=lambda line: None, **options)
        out["metrics"] = outcome.results["metrics"]
        out["execution"] = outcome.results.get("execution")
        out["figures"] = sorted(p.stem for p in (outcome.run_dir / "figures").glob("*.png"))
    except BaseException as error:
        out["error"] = f"{type(error).__name__}: {error}"
        log = pathlib.Path(root) / "run" / "error.log"
        out["log"] = log.read_text()[-4000:] if log.exists() else traceback.format_exc()[-4000:]
    print("RESULT" + json.dumps(out, default=str))
    """
)


def _finite(value):
    values = value if isinstance(value, list) else [value]
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def test_every_experiment_has_a_tiny_budget():
    assert not set(EXPERIMENTS) - set(TINY), (
        f"no tiny budget for {sorted(set(EXPERIMENTS) - set(TINY))}: add one to the "
        "experiment's TINY dict in tests/experiments (or EXTRA_TINY here)"
    )


@pytest.mark.slow
@pytest.mark.parametrize("flag", sorted(FLAGS))
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_tiny_run_under_execution_flag(name, flag, tmp_path):
    if name not in TINY:
        pytest.fail(f"no tiny budget for {name!r}", pytrace=False)
    args = [name, flag, FLAGS[flag], TINY[name], str(tmp_path), name in MOCKED]
    env = {
        **os.environ,
        "CUDA_VISIBLE_DEVICES": "",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "KERAS_BACKEND": "tensorflow",
    }
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, (
        f"{name} under {flag}: the process died (rc {proc.returncode})\n{proc.stderr[-3000:]}"
    )
    out = json.loads(lines[-1][len("RESULT") :])
    assert "error" not in out, f"{name} under {flag}: {out['error']}\n{out['log']}"
    spec = specs.load(name)
    metrics = out["metrics"]
    missing = [e.metric for e in spec.expectations if e.metric not in metrics]
    assert not missing, f"{name} under {flag}: no metric {missing}"
    bad = {e.metric: metrics[e.metric] for e in spec.expectations if not _finite(metrics[e.metric])}
    assert not bad, f"{name} under {flag}: metrics not finite: {bad}"
    assert set(spec.figures) <= set(out["figures"]), (
        f"{name} under {flag}: key figures {sorted(set(spec.figures) - set(out['figures']))} "
        f"not written (wrote {out['figures']})"
    )
    for key, value in FLAGS[flag].items():
        assert out["execution"][key] == value, out["execution"]
