"""What an experiment function hands back to the runner, and the premises it checks."""

import dataclasses


@dataclasses.dataclass
class Results:
    """The outcome of one experiment.

    Attributes:
        metrics: name -> number (or list of numbers); expectations in the spec
            refer to these names, so they are part of the experiment's API.
        model: the main trained model, saved as ``saved_models/<spec>.keras``.
        extra_models: further models, saved as ``<spec>_<key>.keras``.
    """

    metrics: dict
    model: object = None
    extra_models: dict = dataclasses.field(default_factory=dict)


class PremiseError(RuntimeError):
    """A premise of the experiment does not hold, so its claims cannot be tested."""


def premise(condition, message):
    """Stop the run unless ``condition`` holds.

    A premise is what an experiment needs to be meaningful and what holds by
    construction when the code is right: the data is separable, the deep net
    has no more parameters than the shallow one, least squares is optimal.
    Such statements cannot fail as claims, so they are not expectations in
    the claims table; if one is violated the experiment itself is wrong, and
    the run fails with ``message``.
    """
    if not condition:
        raise PremiseError(f"Premise violated: {message}")
