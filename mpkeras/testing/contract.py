"""What every contract shares: its aspects, the skips with reasons, the report."""

import traceback
from pathlib import Path

from mpkeras.testing.comparison import brief, first_line
from mpkeras.testing.reloads import FreshProcessReloads

ASPECTS = (
    "reference",
    "symbolic",
    "tf_function",
    "jit_compile",
    "unknown_sizes",
    "odd_sizes",
    "output_shape",
    "config",
    "saving",
    "fit",
    "mixed_bfloat16",
)
# Losses and metrics have no call of their own to trace: they get these.
LOSS_ASPECTS = ("config", "saving", "fit")
METRIC_ASPECTS = ("config", "saving", "fit")


def check_skip(skip, allowed):
    skip = dict(skip or {})
    for aspect, reason in skip.items():
        if aspect not in allowed:
            raise ValueError(
                f"Received an invalid value for `skip`, expected aspects from {allowed}. "
                f"Received: skip={skip!r}"
            )
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(
                "Received an invalid value for `skip`, expected a reason string for "
                f"every skipped aspect. Received: skip={{{aspect!r}: {reason!r}}}"
            )
    return skip


class Contract:
    """Runs the aspects of one subject, collecting failures instead of stopping."""

    aspects = ASPECTS

    def __init__(self, name, skip, reloads, rtol, atol):
        self.name = name
        self.skip = check_skip(skip, self.aspects)
        self.reloads = reloads
        self.rtol, self.atol = rtol, atol
        self.report = {}
        self.failures = []

    def setup(self):
        """Build the subject; a failure here fails every aspect."""

    def _failure(self, aspect, error):
        detail = brief(error) if isinstance(error, AssertionError) else first_line(error)
        where = traceback.extract_tb(error.__traceback__)[-1]
        name = self.name or "model"
        return f"{name}: {aspect}: {detail} [{Path(where.filename).name}:{where.lineno}]"

    def run(self):
        try:
            self.setup()
        except Exception as error:  # noqa: BLE001 -- reported as the contract's failure
            raise AssertionError(
                "contract failure: " + self._failure("build (first eager call)", error)
            ) from error
        own_reloads = self.reloads is None and "saving" not in self.skip
        if own_reloads:
            self.reloads = FreshProcessReloads()
        for aspect in self.aspects:
            if aspect in self.skip:
                self.report[aspect] = f"skipped: {self.skip[aspect]}"
                continue
            try:
                result = getattr(self, f"check_{aspect}")()
                self.report[aspect] = result or "ok"
            except Exception as error:  # noqa: BLE001 -- every failure is reported
                self.failures.append(self._failure(aspect, error))
                self.report[aspect] = "FAILED"
        if own_reloads and self.reloads.entries:
            try:
                self.reloads.check()
                self.report["saving"] = "ok (reloaded in a fresh process)"
            except AssertionError as error:
                self.failures.append(f"{self.name}: saving: {error}")
                self.report["saving"] = "FAILED"
        if self.failures:
            raise AssertionError(
                f"{len(self.failures)} contract failure(s):\n" + "\n".join(self.failures)
            )
        return self.report
