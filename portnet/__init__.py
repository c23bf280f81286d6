"""portnet: fully-connected networks written once against the array API standard.

The same forward, backward and update equations (Andrew Ng's course notes) train on
NumPy, CuPy, JAX, PyTorch and array-api-strict.
"""

from __future__ import annotations

from . import activations, datasets, init, losses, network, optimizers
from ._backend import BACKENDS
from .model import History, Model
from .network import Layer, Network
from .serialization import load
from .training import DivergenceError, train

__version__ = "0.1.0"

__all__ = [
    "BACKENDS",
    "DivergenceError",
    "History",
    "Layer",
    "Model",
    "Network",
    "activations",
    "datasets",
    "init",
    "load",
    "losses",
    "network",
    "optimizers",
    "train",
]
