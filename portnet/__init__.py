"""portnet: fully-connected networks written once against the array API standard.

The same forward, backward and update equations (Andrew Ng's course notes) train on
NumPy, CuPy, JAX, PyTorch and array-api-strict.
"""

from __future__ import annotations

from . import activations, datasets, init, lbfgs, losses, network, optimizers
from ._backend import BACKENDS
from ._checks import InvalidOptionError
from ._history import History
from ._version import __version__
from .model import Model, load
from .network import Layer, Network
from .training import DivergenceError, TrainingInterrupted, train

__all__ = [
    "BACKENDS",
    "DivergenceError",
    "History",
    "InvalidOptionError",
    "Layer",
    "Model",
    "Network",
    "TrainingInterrupted",
    "__version__",
    "activations",
    "datasets",
    "init",
    "lbfgs",
    "load",
    "losses",
    "network",
    "optimizers",
    "train",
]
