"""Activation functions, each written beside its derivative (course notes, seeds 000–003).

Every function here is written once against the array API standard: the namespace comes
from the argument and nothing imports a backend.  The derivative takes both the
pre-activation ``z`` and the activation ``a = g(z)``, so that sigmoid and tanh reuse ``a``
as the course does (``σ' = a(1−a)``, ``tanh' = 1−a²``).  How a library computes them
faster (in place, in blocks) is its :class:`portnet.ops.Ops`' business, not theirs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._checks import InvalidOptionError
from ._namespace import array_namespace

Array = Any

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "get_activation",
    "identity",
    "leaky_relu",
    "relu",
    "sigmoid",
    "tanh",
]


@dataclass(frozen=True)
class Activation:
    """An activation ``g``, elementwise, with its derivative.

    Parameters
    ----------
    name : str
        Registry name (``"tanh"``, ``"leaky_relu"``, ...).
    forward : callable
        ``a = forward(z)``, elementwise, shape preserved.
    derivative : callable
        ``g'(z) = derivative(z, a)`` where ``a = forward(z)``.
    options : tuple of (str, float)
        Options the activation was built with (e.g. ``(("slope", 0.01),)``).
    """

    name: str
    forward: Callable[[Array], Array] = field(repr=False)
    derivative: Callable[[Array, Array], Array] = field(repr=False)
    options: tuple[tuple[str, float], ...] = ()

    def __call__(self, z: Array) -> Array:
        return self.forward(z)


# -- sigmoid: σ(z) = 1 / (1 + e^{-z});  σ'(z) = σ(z)(1 − σ(z)) --------------------------------
def _sigmoid(z: Array) -> Array:
    # e^{-z} overflows for z below about −log(max float), where σ(z) is below 1/max float:
    # −z is capped just under that limit (σ then gives ~1e-308 in float64, ~1e-38 in
    # float32, not 0 and an overflow warning)
    xp = array_namespace(z)
    return 1 / (1 + xp.exp(xp.minimum(-z, exp_limit(xp, z.dtype))))


@functools.cache
def exp_limit(xp: Any, dtype: Any) -> float:
    """A little under log(largest finite number of ``dtype``): exp of it is finite."""
    return math.log(float(xp.finfo(dtype).max)) - 1.0


def _sigmoid_derivative(z: Array, a: Array) -> Array:
    return a * (1 - a)


# -- tanh: tanh'(z) = 1 − tanh²(z) ---------------------------------------------------------------
def _tanh(z: Array) -> Array:
    return array_namespace(z).tanh(z)


def _tanh_derivative(z: Array, a: Array) -> Array:
    return 1 - a * a


# -- ReLU: max(0, z);  derivative 1 where z > 0, else 0 (0 at z = 0, as in seed 003) --------------
def _relu(z: Array) -> Array:
    return array_namespace(z).maximum(z, 0)


def _relu_derivative(z: Array, a: Array) -> Array:
    return array_namespace(a).astype(a > 0, a.dtype)  # a = max(z, 0) > 0 exactly where z > 0


# -- leaky ReLU: z if z > 0 else slope·z;  derivative 1 or slope ---------------------------------
def _leaky_relu(z: Array, *, slope: float) -> Array:
    return array_namespace(z).maximum(z, slope * z)  # 0 ≤ slope < 1: z where z > 0, else slope·z


def _leaky_relu_derivative(z: Array, a: Array, *, slope: float) -> Array:
    # a > 0 exactly where z > 0 (slope ≥ 0): read from a, as from z
    return array_namespace(a).astype(a > 0, a.dtype) * (1 - slope) + slope


# -- identity: the regression output; derivative 1 -----------------------------------------------
def _identity(z: Array) -> Array:
    return z


def _identity_derivative(z: Array, a: Array) -> Array:
    return array_namespace(z).ones_like(z)


sigmoid = Activation("sigmoid", _sigmoid, _sigmoid_derivative)
tanh = Activation("tanh", _tanh, _tanh_derivative)
relu = Activation("relu", _relu, _relu_derivative)
identity = Activation("identity", _identity, _identity_derivative)


def leaky_relu(slope: float = 0.01) -> Activation:
    """Leaky ReLU with the given negative-side ``slope`` (default 0.01, as in the course)."""
    slope = float(slope)
    if not 0 <= slope < 1:
        raise ValueError(f"leaky_relu slope must be in [0, 1), got {slope!r}")
    return _leaky_relu_activation(slope)


@functools.cache  # the same slope gives the same object: equal, and one jax.jit cache entry
def _leaky_relu_activation(slope: float) -> Activation:
    return Activation(
        "leaky_relu",
        functools.partial(_leaky_relu, slope=slope),
        functools.partial(_leaky_relu_derivative, slope=slope),
        options=(("slope", slope),),
    )


ACTIVATIONS: dict[str, Callable[..., Activation]] = {
    "sigmoid": lambda: sigmoid,
    "tanh": lambda: tanh,
    "relu": lambda: relu,
    "leaky_relu": leaky_relu,
    "identity": lambda: identity,
}


def get_activation(activation: str | Activation, **options: float) -> Activation:
    """Return the :class:`Activation` named ``activation`` (or ``activation`` itself).

    ``options`` are passed to the constructor, e.g. ``get_activation("leaky_relu", slope=0.1)``.
    """
    if isinstance(activation, Activation):
        if options:
            raise TypeError("options can only be given with an activation name")
        return activation
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise InvalidOptionError(
            f"unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)} "
            "or a portnet.activations.Activation"
        )
    return ACTIVATIONS[activation](**options)


def builtin(g: Activation) -> str | None:
    """``g``'s registry name if ``g`` is portnet's own activation of that name and options
    (the same functions: a faster :class:`portnet.ops.Ops` knows how to run those, a model
    file can name it), else None."""
    make = ACTIVATIONS.get(g.name)
    try:
        return g.name if make is not None and make(**dict(g.options)) == g else None
    except (TypeError, ValueError):
        return None
