"""Progress of long work: epochs of each experiment, examples of a dataset being written.

A loop over experiments (``mpkeras reproduce``, ``mpkeras sweep``) shows, in
a terminal, one line per experiment updated in place while it trains::

    [3/27] beta_vae_sprites  beta4 |######    | 12/30 epochs [00:20<00:30]

(the fit's tag, the epochs done of its total, its elapsed time and an
estimate of the time left, from the mean time per epoch so far). The line
is cleared when the experiment ends, where the caller prints its own
result line; when stdout is not a terminal nothing is drawn, so a log gets
exactly the caller's one line per experiment. The bars are tqdm's.

Usage, in the loop::

    progress = ExperimentProgress(len(names))  # before output is redirected
    for index, name in enumerate(names, start=1):
        with progress.experiment(index, name):
            outcome = runner.run(name, ...)  # every context.fit feeds the line
        report(f"[{index}/{len(names)}] {name} ...")

``RunContext.callbacks`` adds :func:`fit_callbacks` to every fit, which
is empty outside ``progress.experiment``. For an iterable of known length
(examples written by a dataset builder) use :func:`track`.
"""

import contextlib
import contextvars
import functools
import os
import sys
import time

from mpkeras import validation

_ACTIVE = contextvars.ContextVar("mpkeras_progress_line", default=None)

BAR_FORMAT = "{desc} |{bar:20}| {n_fmt}/{total_fmt} epochs [{elapsed}<{remaining}]"
"""The line of one fit; :func:`fitted_line` narrows the bar (and the description) to the terminal."""

_MIN_BAR = 8


def fitted_line(description, epochs, columns):
    """``(description, bar_format)`` of a line that fits in ``columns`` - 1 characters.

    The counts and the time left are what the line is for: where the line
    is too wide, the bar narrows (from 20 down to 8 characters), then the
    description loses its middle (``[3/27] beta-4_..._seed-0  vae``).
    Widths assume elapsed and remaining times under 100 hours.
    """
    count = len(str(epochs)) if epochs is not None else 1
    # " |" + bar + "| " + "N/N epochs " + "[HH:MM:SS<HH:MM:SS]"
    fixed = 4 + 2 * count + len(" epochs ") + len("[00:00:00<00:00:00]")
    room = columns - 1 - fixed
    width = max(_MIN_BAR, min(20, room - len(description)))
    if len(description) > room - width:
        keep = max(room - width - 3, 2)
        description = (
            description[: keep - keep // 2] + "..." + description[len(description) - keep // 2 :]
        )
    return description, BAR_FORMAT.replace("{bar:20}", f"{{bar:{width}}}")


def _terminal_stream(stream):
    """``(stream, owned)``: ``stream``, or a private copy of stdout's file
    descriptor as it is now when stdout is a terminal (``owned`` True).

    The copy keeps pointing at the terminal while ``runner.output_to``
    sends descriptors 1 and 2 to an experiment's log file. A stdout that is
    not a terminal, or has no descriptor (``click.testing.CliRunner``'s), is
    returned as it is: nothing is drawn on it.
    """
    if stream is not None:
        return stream, False
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # io.UnsupportedOperation is an OSError
        return sys.stdout, False
    if not os.isatty(fd):
        return sys.stdout, False
    sys.stdout.flush()
    return os.fdopen(os.dup(fd), "w", buffering=1, closefd=True), True


def _size(stream):
    """``{"ncols", "nrows"}`` of the terminal for tqdm; 80 x 24 where it reports none
    (a pseudo-terminal without a size reports 0 x 0, and tqdm then draws nothing)."""
    try:
        columns, lines = os.get_terminal_size(stream.fileno())
    except (AttributeError, ValueError, OSError):
        columns = lines = 0
    return {"ncols": columns if columns > 0 else 80, "nrows": lines if lines > 0 else 24}


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class ExperimentProgress:
    """Per-experiment progress lines for a loop over ``total`` experiments.

    Args:
        total: how many experiments the loop runs (the N of ``[i/N]``).
        stream: where the lines go; default a copy of stdout's file
            descriptor taken now (see the module docstring).
        terminal: draw the lines (True) or not (False); default whether
            ``stream`` is a terminal.
    """

    def __init__(self, total, stream=None, terminal=None):
        self.total = validation.positive_int(total, "total")
        self.stream, self._owned = _terminal_stream(stream)
        self.terminal = _is_terminal(self.stream) if terminal is None else bool(terminal)

    @contextlib.contextmanager
    def experiment(self, index, name):
        """While inside, every ``context.fit`` updates experiment ``index``'s line.

        Yields:
            The :class:`ExperimentLine` (its ``fits`` counts the fits seen).
        """
        if not validation.is_int(index) or not 1 <= index <= self.total:
            raise validation.invalid("index", f"an integer from 1 to {self.total}", index)
        line = ExperimentLine(f"[{index}/{self.total}] {name}", self.stream, self.terminal)
        token = _ACTIVE.set(line)
        try:
            yield line
        finally:
            _ACTIVE.reset(token)
            line.close()

    def close(self):
        """Close the stream if it is the copy of stdout made for this object."""
        if self._owned:
            self.stream.close()
            self._owned = False


class ExperimentLine:
    """One experiment's line: the current fit's epochs done of its total.

    Fed by :class:`EpochProgress` (one per fit); drawn with a tqdm bar that
    is reset at every fit and cleared on :meth:`close`.
    """

    def __init__(self, label, stream, terminal):
        self.label = label
        self.stream = stream
        self.terminal = terminal
        self.fits = 0
        self.epochs_done = 0
        self._bar = None

    def begin_fit(self, tag, epochs):
        """A fit of ``epochs`` epochs called ``tag`` starts."""
        self.fits += 1
        size = _size(self.stream)  # read at every fit: the terminal may have been resized
        description, bar_format = fitted_line(
            f"{self.label}  {tag}" if tag else self.label, epochs, size["ncols"]
        )
        if self._bar is None:
            from tqdm import tqdm

            # smoothing=0: the estimate is the mean time per epoch of this fit.
            self._bar = tqdm(
                total=epochs,
                desc=description,
                file=self.stream,
                leave=False,
                smoothing=0,
                mininterval=0,
                bar_format=bar_format,
                disable=not self.terminal,
                **size,
            )
        else:
            self._bar.bar_format = bar_format
            self._bar.ncols, self._bar.nrows = size["ncols"], size["nrows"]
            self._bar.set_description_str(description, refresh=False)
            self._bar.reset(total=epochs)

    def resume_at(self, epoch):
        """The fit restarts at ``epoch`` (BackupAndRestore): those epochs count as done
        but not in the time estimate."""
        if self._bar is not None and epoch > self._bar.n:
            self._bar.initial = self._bar.n = epoch
            self._bar.refresh()

    def epoch_done(self, epoch):
        """Epoch ``epoch`` (0-based) of the current fit has ended."""
        self.epochs_done += 1
        if self._bar is not None and epoch + 1 > self._bar.n:
            self._bar.update(epoch + 1 - self._bar.n)

    def close(self):
        """Clear the line (the caller prints the experiment's result line)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        with contextlib.suppress(ValueError, OSError):
            self.stream.flush()


@functools.cache
def _callback_class():
    import keras

    class EpochProgress(keras.callbacks.Callback):
        """Feed an :class:`ExperimentLine` from ``fit``: one update per epoch.

        Args:
            line: the experiment's line.
            tag: the fit's name, shown on the line.
        """

        def __init__(self, line, tag=None):
            super().__init__()
            self.line = line
            self.tag = tag
            self._first = True

        def on_train_begin(self, logs=None):
            self._first = True
            self.line.begin_fit(self.tag, self.params.get("epochs"))

        def on_epoch_begin(self, epoch, logs=None):
            if self._first and epoch > 0:
                self.line.resume_at(epoch)
            self._first = False

        def on_epoch_end(self, epoch, logs=None):
            self.line.epoch_done(epoch)

    return EpochProgress


def epoch_progress(line, tag=None):
    """The Keras callback that feeds ``line`` (an :class:`ExperimentLine`) from one ``fit``."""
    return _callback_class()(line, tag)


def current_line():
    """The :class:`ExperimentLine` of the experiment in progress, or None outside one."""
    return _ACTIVE.get()


def fit_callbacks(tag=None):
    """The callbacks one ``fit`` called ``tag`` adds for the experiment line in
    progress (``ExperimentProgress.experiment``): none outside one."""
    line = _ACTIVE.get()
    return [] if line is None else [epoch_progress(line, tag)]


def track(iterable, total, desc, unit="examples", stream=None):
    """Iterate over ``iterable`` with a progress bar of ``total`` items (tqdm's).

    In a terminal (``stream``, default stderr) the bar shows the count, the
    rate and the time left; elsewhere it is silent and one line is written
    at the end: ``desc: N examples in T s``.

    Example, in a dataset builder::

        for key, example in track(self._generate_examples(), total, "sprites/full"):
            ...
    """
    total = validation.non_negative_int(total, "total")
    stream = sys.stderr if stream is None else stream
    return _tracked(iterable, total, desc, unit, stream)


def _tracked(iterable, total, desc, unit, stream):
    from tqdm import tqdm

    terminal = _is_terminal(stream)
    started = time.perf_counter()
    count = 0
    with tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=f" {unit}",
        file=stream,
        disable=not terminal,
        mininterval=0.5,
        # Line 0, here: the place of tqdm bars of other libraries (TFDS's own,
        # held back while mpkeras prepares) is no concern of this one.
        position=0,
        **_size(stream),
    ) as bar:
        for item in bar:
            count += 1
            yield item
    if not terminal:
        stream.write(f"{desc}: {count} {unit} in {time.perf_counter() - started:.1f} s\n")
        stream.flush()
