"""The runner's two kinds of failure: bad input, found before any work, and a failed run."""


class RunError(ValueError):
    """The run cannot start as asked (bad run directory, bad resume, bad option, ...).

    Raised before any work: nothing was run and nothing is left on disk. The
    CLI shows the message as one line and exits with code 2.
    """


class RunFailed(RuntimeError):
    """The run started but could not finish: the loss diverged, a premise was
    violated, or the experiment raised (its traceback is in ``error.log``)."""
