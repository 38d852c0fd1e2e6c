"""mpkeras._stderr_filter: fd 2 through a child process that drops chosen lines."""

import os
import select
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _start(code):
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": ROOT},
    )


def test_a_partial_line_that_may_be_dropped_is_shown_after_a_moment_not_at_its_end():
    # A progress bar ("Extracting... 10%\r") must not wait for a newline.
    proc = _start("""
        import os, time
        from mpkeras._stderr_filter import filtered_stderr
        with filtered_stderr({"min_level": 2}):
            os.write(2, b"Extracting")
            time.sleep(1.5)
            os.write(2, b" done\\n")
    """)
    received = b""
    while b"Extracting" not in received:
        select.select([proc.stderr], [], [], 10)
        chunk = os.read(proc.stderr.fileno(), 1024)
        assert chunk, received
        received += chunk
    assert b"done" not in received  # shown while the writer still sleeps
    rest = proc.communicate(timeout=60)[1]
    assert (received + rest).decode() == "Extracting done\n"


def test_broken_rules_hide_nothing():
    proc = _start("""
        import os
        from mpkeras._stderr_filter import filtered_stderr
        with filtered_stderr({"min_level": "not a number"}):
            os.write(2, b"I0000 00:00:1796154207.801494    8978 port.cc:153] kept\\n")
    """)
    _, stderr = proc.communicate(timeout=60)
    assert stderr.decode().endswith("port.cc:153] kept\n"), stderr
