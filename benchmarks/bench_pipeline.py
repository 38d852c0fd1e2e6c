"""Benchmark: is the ``mpkeras.data`` input pipeline ever the bottleneck?

Trains the same small model for the same number of steps fed (a) by
``mpkeras.data.load`` and (b) by the same data held in memory as tensors
(``model.fit(x, y)``): the digits MLP (batch 32) and the sprites/small conv
autoencoder (batch 64), each on 25%, 50% and 100% of the train split.

* Ratio rows: throughput a/b. Both models are warmed up; then ``--repeats``
  rounds each time one ``fit`` of both feeds, the order alternating (ABBA),
  and each round's t_b / t_a is one paired sample. The row gives the median
  of the samples; ``spread`` is a distribution-free confidence interval for
  that median from order statistics (about 96% for 9 rounds;
  ``benchmarks.measure.median_ci``), so a reader sees how far noise alone
  moves it. The full split's row carries the target (median >= 0.95); the
  smaller splits are reported (they feed the exponent).
* Exponent rows: a in process CPU time ~ examples^a over the three sizes,
  for both feeds: moving data costs about a = 1; the target is that the
  pipeline grows no faster than in-memory tensors (a <= baseline's + 0.2).
* ``peak_mib``: how far one more ``fit`` raises the resident set (VmHWM reset
  before it, ``benchmarks.measure.peak_rss_mib``), load / tensors, in a pass
  of its own after the timing.

Where ``load()`` loses to ``fit(x, y)``: once per pass, not per step.
tf.data instantiates every function of a pipeline again at each new iterator
(about 3 ms, plus about 0.1 ms an op; a stateful one 1-2 ms more), and each
example through a per-example op (cache read, shuffle, zip, unbatch) costs
about 2 us (2-core AMD EPYC, TensorFlow 2.21). ``load()`` needs a function
at each pass to count it: the order and the noise are functions of (seed,
pass), and ``set_epoch`` moves the count. The first design shuffled the
cached examples themselves and zipped the pass index to each: on the digits
train split alone (40 batches of 32, median of 30 interleaved passes), 14.5
ms to the first batch and 28 ms of CPU a pass, against 12.2 and 21.5 ms for
Keras's array adapter (what ``fit(x, y)`` builds). A split that fits in
memory now shuffles its positions and gathers each batch
(``mpkeras.data.pipeline._gathered_passes``; the same batches bit for bit),
and carries the pass index only where the per-batch map draws random
numbers: 4 ms less CPU a pass on digits and 6.7 ms less on sprites/small; in
``fit``, 1.126 times the first design's throughput on digits (CI
1.045-1.196, 21 rounds) and 1.020 on sprites/small (CI 0.938-1.169). Tried
and dropped: the whole split gathered in each pass's order by one function
per pass (first batch 21 ms); a ``scan`` carrying the pass index, with a
gather per batch (15.8 ms); a reshuffling ``shuffle`` with no pass function
(fit ratio 1.06 against 0.90), which cannot honour ``set_epoch``.

Also prints how long each offline builder takes to prepare, and the time and
peak memory (VmHWM / ru_maxrss of a subprocess) of preparing ``sprites/full``
(target < 2 GB).

Usage::

    python benchmarks/bench_pipeline.py            # everything (~10 min)
    python benchmarks/bench_pipeline.py --no-full  # skip sprites/full
    python benchmarks/bench_pipeline.py --only-full
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

try:
    from benchmarks import measure
except ImportError:  # run as a script from benchmarks/
    import measure

# (dataset, model, batch size, epochs per timed fit): a block is about 0.5-1 s.
CASES = (("digits", "mlp", 32, 8), ("sprites/small", "conv_ae", 64, 2))
PERCENTS = (25, 50, 100)  # of the train split: the three sizes of the exponent


def offline_builders():
    """Every offline builder config except sprites/full (timed on its own)."""
    from mpkeras.data import registry

    return [
        name
        for name in registry.names()
        if registry.resolve(name)[0].source == "offline" and name != "sprites/full"
    ]


_FULL_CHILD = """
import resource, sys, time
import tensorflow_datasets as tfds
tfds.disable_progress_bar()
import mpkeras.data as data
start = time.perf_counter()
data.prepare("sprites/full", data_dir=sys.argv[1])
seconds = time.perf_counter() - start
# VmHWM is this process's own peak RSS. ru_maxrss can also include the RSS
# the parent had when it forked us, so it is only a fallback.
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open("/proc/self/status") as status:
        peak_kib = int(next(l for l in status if l.startswith("VmHWM")).split()[1])
except (OSError, StopIteration):
    pass
print(f"RESULT {seconds:.1f} {peak_kib}")
"""


def prepare_times(data_dir):
    """Seconds to prepare each offline builder config (TensorFlow already loaded)."""
    import tensorflow_datasets as tfds

    import mpkeras.data as data

    tfds.disable_progress_bar()
    times = {}
    for name in offline_builders():
        start = time.perf_counter()
        data.prepare(name, data_dir=data_dir)
        times[name] = time.perf_counter() - start
    return times


def prepare_full(data_dir):
    """(seconds, peak RSS in MiB) of preparing sprites/full in a subprocess.

    Run before this process loads TensorFlow, so that the child is forked
    from a small parent.
    """
    out = subprocess.run(
        [sys.executable, "-c", _FULL_CHILD, data_dir],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = [ln for ln in out.splitlines() if ln.startswith("RESULT")][-1]
    seconds, peak_kib = line.split()[1:]
    return float(seconds), int(peak_kib) / 1024


def _model(kind, input_shape):
    import keras

    keras.utils.set_random_seed(1234)
    inputs = keras.Input(input_shape)
    if kind == "mlp":
        h = keras.layers.Flatten()(inputs)
        h = keras.layers.Dense(64, activation="relu")(h)
        outputs = keras.layers.Dense(10)(h)
        model = keras.Model(inputs, outputs)
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    else:  # small convolutional autoencoder
        h = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)
        h = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(h)
        h = keras.layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(h)
        outputs = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same")(h)
        model = keras.Model(inputs, outputs)
        model.compile("adam", keras.losses.BinaryCrossentropy(from_logits=True))
    return model


def _feeds(name, kind, data_dir, split, batch_size, epochs):
    """({"load": fit(), "tensors": fit()}, examples, steps): each fit runs `epochs` epochs."""
    import tensorflow as tf

    import mpkeras.data as data

    x, y = data.load_arrays(name, split=split, data_dir=data_dir)
    x, y = tf.constant(x), tf.constant(y)
    dataset = data.load(name, split=split, batch_size=batch_size, data_dir=data_dir, seed=0)
    models = {feed: _model(kind, x.shape[1:]) for feed in ("load", "tensors")}
    feeds = {
        # load() reshuffles each pass itself; shuffle=False only silences Keras's warning.
        "load": lambda: models["load"].fit(dataset, epochs=epochs, shuffle=False, verbose=0),
        "tensors": lambda: models["tensors"].fit(
            x, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0
        ),
    }
    for fit in feeds.values():
        fit()  # Warm-up: traces the train function and fills load()'s cache.
    return feeds, len(x), epochs * int(np.ceil(len(x) / batch_size))


def throughput(name, kind, data_dir, split, batch_size, epochs, repeats):
    """One size: paired block times of both feeds, the ratio's median and CI, peak RSS.

    Each round times one `fit` of each feed (the order alternates, ABBA), and
    its throughput ratio load/tensors = t_tensors / t_load is one sample.
    Step rates on this 2-core machine come in clusters (about 17, 21 and 28
    steps/s for the conv model, whatever the feed), so single pairs can differ
    by 40%: the row reports the median of the paired ratios and an order
    statistic confidence interval for it.
    """
    feeds, examples, steps = _feeds(name, kind, data_dir, split, batch_size, epochs)
    times, cpu = measure.paired_times(feeds, repeats)
    ratios = np.array(times["tensors"]) / np.array(times["load"])
    median, ci, coverage = measure.median_ci(ratios)
    # Separate pass: the peak RSS one more fit adds, for each feed.
    peak = tuple(measure.peak_rss_mib(feeds[feed]) for feed in ("load", "tensors"))
    return {
        "examples": examples,
        "steps": steps,
        "rate": {feed: steps / float(np.median(t)) for feed, t in times.items()},
        "cpu": {feed: float(np.median(t)) for feed, t in cpu.items()},
        "ratio": median,
        "ci": ci,
        "coverage": coverage,
        "peak_mib": peak,
    }


def _throughput_rows(name, kind, batch_size, epochs, data_dir, repeats):
    """A ratio row per size (the full split carries the target) and an exponent row."""
    rows, results = [], []
    for percent in PERCENTS:
        split = "train" if percent == 100 else f"train[:{percent}%]"
        got = throughput(name, kind, data_dir, split, batch_size, epochs, repeats)
        results.append(got)
        full = percent == 100
        low, high = got["ci"]
        rows.append(
            {
                "benchmark": f"fit {name} {split} ({got['examples']} examples, {kind}, batch "
                f"{batch_size}, {epochs} epochs): load() / in-memory tensors (throughput; median "
                f"of {repeats} paired ratios, spread = {got['coverage']:.0%} CI)",
                "ours": f"{got['rate']['load']:.1f} steps/s",
                "baseline": f"{got['rate']['tensors']:.1f} steps/s",
                "ratio": got["ratio"],
                "target": ">= 0.95" if full else "reported",
                "holds": got["ratio"] >= 0.95 if full else None,
                "spread": (low, high),
                "peak_mib": got["peak_mib"],
            }
        )
        print(
            f"{name:14s} {split:12s} {got['steps']:4d} steps: load {got['rate']['load']:6.1f}, "
            f"tensors {got['rate']['tensors']:6.1f} steps/s (medians); ratio {got['ratio']:.3f} "
            f"[{low:.3f}, {high:.3f}] ({got['coverage']:.0%} CI); peak RSS +"
            f"{_mib(got['peak_mib'][0])} / +{_mib(got['peak_mib'][1])} MiB",
            flush=True,
        )
    examples = [got["examples"] for got in results]
    a_load = measure.exponent(examples, [got["cpu"]["load"] for got in results])
    a_tensors = measure.exponent(examples, [got["cpu"]["tensors"] for got in results])
    print(f"{name}: CPU time ~ examples^a, load a={a_load:.2f}, tensors a={a_tensors:.2f}")
    rows.append(
        {
            "benchmark": f"fit {name} ({kind}) CPU time ~ examples^a ({len(PERCENTS)} sizes, "
            f"{'/'.join(map(str, examples))}; baseline in-memory tensors)",
            "ours": f"a={a_load:.2f}",
            "baseline": f"a={a_tensors:.2f}",
            "ratio": a_load,
            "target": f"a <= {a_tensors + 0.2:.2f} (baseline + 0.2)",
            "holds": a_load <= a_tensors + 0.2,
            "spread": None,
        }
    )
    return rows


def _mib(value):
    return "-" if value is None else f"{value:.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-full", action="store_true", help="skip sprites/full")
    parser.add_argument("--only-full", action="store_true", help="only sprites/full")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    rows = []

    with tempfile.TemporaryDirectory() as data_dir:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, data_dir={data_dir}")
        if not args.no_full:
            print("\n== sprites/full (737,280 images), prepared in a subprocess ==")
            seconds, peak_mib = prepare_full(data_dir)
            print(
                f"prepare time {seconds:.0f} s, peak memory {peak_mib:.0f} MiB (target < 2048 MiB)"
            )
            rows.append(
                {
                    "benchmark": "prepare sprites/full (737,280 images): peak memory / 2 GiB",
                    "ours": f"{peak_mib:.0f} MiB peak, {seconds:.0f} s",
                    "baseline": "2048 MiB",
                    "ratio": peak_mib / 2048,
                    "target": "< 1",
                    "holds": peak_mib < 2048,
                    "spread": (peak_mib / 2048, peak_mib / 2048),
                }
            )
        if args.only_full:
            return rows
        import tensorflow as tf

        print(f"tensorflow {tf.__version__}")

        print("\n== prepare time per builder ==")
        for name, seconds in prepare_times(data_dir).items():
            print(f"{name:16s} {seconds:7.2f} s")

        print("\n== throughput: load() vs in-memory tensors (same model, same steps) ==")
        for name, kind, batch_size, epochs in CASES:
            rows += _throughput_rows(name, kind, batch_size, epochs, data_dir, args.repeats)
    return rows


if __name__ == "__main__":
    main()
