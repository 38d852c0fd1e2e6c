"""File descriptor 2 through a filter process that drops chosen lines.

C++ libraries write to file descriptor 2 directly, so a Python-level filter
(``sys.stderr``, ``logging``) never sees their lines. Here fd 2 becomes a pipe
to a small child process that passes every line on to the real stderr except
those its rules drop. A child, not a thread: if this process dies (a C++
abort, ``kill -9``), the child still drains the pipe, so the last words
before a crash are never lost. Nothing here imports TensorFlow.

Rules (a dict):

- ``min_level``: drop C++ log records (absl's ``I0102 12:00:00.000 123 file.cc:1] ...``
  or TensorFlow's ``2026-01-02 12:00:00.000: I file.cc:1] ...``) whose
  severity (I=0, W=1, E=2) is below it; F(atal) records are always kept.
- ``drop``: regular expressions; a line matching one is dropped.
- ``drop_after``: ``[trigger, pattern]`` pairs; a line matching ``pattern`` is
  dropped once some line (kept or not) has matched ``trigger``.

Lines are passed on as they complete; a partial line that cannot be dropped
is passed on at once (progress bars), one that might be waits at most 0.2 s.
"""

import contextlib
import json
import os
import subprocess
import sys

_CHILD = r"""
import json, os, re, select, signal, sys

# Ctrl-C is for the parent: keep draining until it closes the pipe.
signal.signal(signal.SIGINT, signal.SIG_IGN)
# absl: "I0102 12:00:00.000 1234 file.cc:12]" (before absl::InitializeLog the
# seconds count from the epoch: "00:00:1796154207.80"); TensorFlow's own sink.
RECORD = re.compile(
    r"^(?:([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+\s+\S+:\d+\]"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: ([IWEF]) \S+:\d+\])")
LEVELS = {"I": 0, "W": 1, "E": 2, "F": 3}


def emit(data):
    while data:
        try:
            data = data[os.write(1, data):]
        except OSError:  # the reader went away: nothing more to show
            sys.exit(0)


try:
    rules = json.loads(sys.argv[1])
    min_level = min(int(rules.get("min_level", 0)), 3)  # F(atal) records are always kept
    drop = [re.compile(p) for p in rules.get("drop", ())]
    drop_after = [[re.compile(t), re.compile(p), False] for t, p in rules.get("drop_after", ())]
except Exception:  # never hide stderr because a rule is broken: copy it all
    while chunk := os.read(0, 65536):
        emit(chunk)
    sys.exit(0)


def keep(raw):
    line = raw.decode("utf-8", "replace")
    for rule in drop_after:
        if rule[0].search(line):
            rule[2] = True
    record = RECORD.match(line)
    if record and LEVELS[record.group(1) or record.group(2)] < min_level:
        return False
    if any(p.search(line) for p in drop):
        return False
    return not any(seen and p.search(line) for _, p, seen in drop_after)


def may_be_dropped(start):
    # Whether a line that starts so could still be dropped once complete.
    return len(start) <= 8192 and (start[:1] in (b"I", b"W", b"E", b"F") or start[:1].isdigit())


pending, passthrough = b"", False
while True:
    ready = select.select([0], [], [], 0.2 if pending else None)[0]
    if not ready:  # a partial line waited long enough: show it
        emit(pending)
        pending, passthrough = b"", True
        continue
    chunk = os.read(0, 65536)
    if not chunk:
        break
    *lines, tail = (pending + chunk).split(b"\n")
    pending = b""
    for line in lines:
        if passthrough or keep(line):
            emit(line + b"\n")
        passthrough = False
    if tail:
        if passthrough or not may_be_dropped(tail):
            emit(tail)
            passthrough = True
        else:
            pending = tail
emit(pending)
"""


class StderrFilter:
    """Route fd 2 through a filter child process between :meth:`start` and :meth:`stop`."""

    def __init__(self, rules):
        self.rules = rules
        self._saved = None
        self._child = None

    @property
    def active(self):
        return self._child is not None

    def start(self):
        # POSIX only: the child waits on the pipe with select(), which works
        # on pipes only there.
        if self.active or not sys.executable or os.name != "posix":
            return self
        _flush()
        saved = os.dup(2)
        read, write = os.pipe()
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _CHILD, json.dumps(self.rules)],
                stdin=read,
                stdout=saved,
                stderr=saved,
                close_fds=True,
            )
        except OSError:  # cannot start a process: leave stderr as it is
            for fd in (read, write, saved):
                os.close(fd)
            return self
        os.close(read)
        os.dup2(write, 2)
        os.close(write)
        self._saved = saved
        return self

    def stop(self):
        """Put the real stderr back; the child passes on what is left and exits."""
        if not self.active:
            return
        _flush()
        os.dup2(self._saved, 2)  # the pipe's last write end in this process closes
        os.close(self._saved)
        child, self._child, self._saved = self._child, None, None
        try:
            # Processes started meanwhile may hold the pipe open; do not hang on them.
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextlib.contextmanager
def filtered_stderr(rules):
    """Inside: fd 2 goes through a filter process with ``rules``."""
    stream = StderrFilter(rules).start()
    try:
        yield stream
    finally:
        stream.stop()


def _flush():
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or replaced stream
            stream.flush()
