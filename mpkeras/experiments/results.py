"""What an experiment function hands back to the runner."""

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
