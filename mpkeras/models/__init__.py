"""Model builders and `keras.Model` subclasses, one concept per module."""

from mpkeras.models.mlp import build_mlp, compose_affine
from mpkeras.models.perceptron import Perceptron

__all__ = ["Perceptron", "build_mlp", "compose_affine"]
