"""Shared measuring helpers: paired ratios with a confidence interval, fitted exponents, peak RSS.

* ``median_ci(samples)``: the median and a distribution-free confidence
  interval for it from order statistics. For n independent samples the
  number below the true median is Binomial(n, 1/2); the interval
  ``(x_(k), x_(n+1-k))`` (1-based, sorted) covers the median with
  probability ``1 - 2 P(B <= k - 1)``, and k is the largest rank whose
  coverage is still >= ``level`` (n >= 6 reaches 95%; below, min-max).
* ``exponent(sizes, values)``: a in value ~ size^a, least squares in log-log.
* ``peak_rss_mib(call)``: how far this process's resident set rises above
  where it stood before ``call()`` (Linux: the peak, VmHWM, is reset through
  ``/proc/self/clear_refs`` first, so an earlier, larger peak does not hide
  it). Run it in a pass of its own, never inside a timed block: reading and
  resetting the counters costs time.
"""

import math
import time

import numpy as np


def median_ci(samples, level=0.95):
    """(median, (low, high), coverage): a distribution-free CI for the median.

    With fewer than 6 samples no interval reaches 95%: the result is then
    (min, max) with its smaller coverage (94% at 5), which the caller reports.
    """
    x = np.sort(np.asarray(samples, dtype=float))
    n = len(x)

    def coverage(k):  # P(x_(k) <= median <= x_(n+1-k))
        return 1.0 - 2.0 * sum(math.comb(n, i) for i in range(k)) / 2.0**n

    if n < 2:
        raise ValueError(
            "Received an invalid value for `samples`, expected at least 2 samples. "
            f"Received: {n} samples"
        )
    k = 1
    while k + 1 <= n // 2 and coverage(k + 1) >= level:
        k += 1
    return float(np.median(x)), (float(x[k - 1]), float(x[n - k])), coverage(k)


def exponent(sizes, values):
    """a in value ~ size^a, least squares in log-log."""
    return float(
        np.polyfit(np.log(np.asarray(sizes, float)), np.log(np.asarray(values, float)), 1)[0]
    )


def _status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def peak_rss_mib(call):
    """MiB the resident set rises above its level before ``call()`` (None where unmeasurable).

    Linux only: needs a writable ``/proc/self/clear_refs`` to reset VmHWM.
    """
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        before = _status_kib("VmRSS")
    except OSError:
        return None
    call()
    return (_status_kib("VmHWM") - before) / 1024


def paired_times(calls, repeats):
    """{name: [wall seconds]} over ``repeats`` rounds; the order of the calls alternates.

    Round r runs the calls in order if r is even and reversed if odd
    (ABBA...), so that a drift in machine load falls on both sides alike;
    each round's times form one paired sample.
    """
    names = list(calls)
    times = {name: [] for name in names}
    cpu = {name: [] for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            start, start_cpu = time.perf_counter(), time.process_time()
            calls[name]()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return times, cpu
