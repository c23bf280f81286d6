"""Activation functions, each defined beside its derivative (course notes, seeds 000–003).

Every function here is written once against the array API standard: the namespace comes
from the argument (``array_namespace(z)``) and nothing imports a backend.  The derivative
takes both the pre-activation ``z`` and the activation ``a = g(z)``, so that sigmoid and
tanh can reuse ``a`` as the course does (``σ' = a(1-a)``, ``tanh' = 1-a²``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from array_api_compat import is_writeable_array

from ._namespace import array_namespace, clips_by_maximum, into, tanh_of

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
    """An activation ``g`` with its derivative.

    Parameters
    ----------
    name : str
        Registry name (``"tanh"``, ``"leaky_relu"``, ...).
    forward : callable
        ``a = forward(z)``, elementwise, shape preserved.
    derivative : callable
        ``g'(z) = derivative(z, a)`` where ``a = forward(z)``.
    options : dict
        Keyword options the activation was built with (e.g. ``{"slope": 0.01}``).
    backward : callable, optional
        ``dZ = backward(dA, z, a)``, ``dA * derivative(z, a)`` (up to rounding), allowed to
        overwrite ``dA`` and ``a`` (backpropagation hands it a temporary nobody else holds,
        and a hidden activation it no longer needs) to save allocations on large batches.
        Default: that product, in place where writable.
    backward_outer : callable, optional
        ``dZ = backward_outer(col, row, z, a)``, ``(col * row) * derivative(z, a)`` (up to
        rounding) for ``col`` of shape ``(n, 1)`` and ``row`` ``(1, m)``, allowed to
        overwrite ``a``. Default: ``backward(col * row, z, a)``.
    forward_into : callable, optional
        ``a = forward_into(z)``, ``forward(z)`` (the same numbers) allowed to write into
        ``z``, which backpropagation then hands back as ``z`` holding ``a``: only for an
        activation whose ``derivative`` and ``backward`` read ``a`` alone. Default:
        ``forward``.
    derivative_into : callable, optional
        ``g' = derivative_into(a)``, ``derivative(z, a)`` (the same numbers) read from ``a``
        alone and allowed to write into ``a``: then the default ``backward`` is
        ``dA * derivative_into(a)`` and the default ``backward_outer`` is
        ``(derivative_into(a) * row) * col`` (the outer product is never made), neither
        allocating where the library writes in place.
    """

    name: str
    forward: Callable[[Array], Array] = field(repr=False)
    derivative: Callable[[Array, Array], Array] = field(repr=False)
    options: tuple[tuple[str, float], ...] = ()
    backward: Callable[[Array, Array, Array], Array] | None = field(default=None, repr=False)
    backward_outer: Callable[[Array, Array, Array, Array], Array] | None = field(
        default=None, repr=False
    )
    forward_into: Callable[[Array], Array] | None = field(default=None, repr=False)
    derivative_into: Callable[[Array], Array] | None = field(default=None, repr=False)

    def __call__(self, z: Array) -> Array:
        return self.forward(z)

    def activate(self, z: Array) -> Array:
        """``g(z)`` of a hidden layer's pre-activation ``z``, a fresh array read afterwards
        only by :meth:`backprop`: written into ``z``'s memory where the activation and the
        array library allow it (see ``forward_into``), saving an allocation per layer."""
        if self.forward_into is not None:
            return self.forward_into(z)
        return self.forward(z)

    def backprop(self, dA: Array, z: Array, a: Array) -> Array:
        """``dA ∘ g'(z)``, reusing the memory of ``dA`` (and of ``a``, with a custom
        ``backward``) where the array library allows it: neither is read afterwards."""
        if self.backward is not None:
            return self.backward(dA, z, a)
        if self.derivative_into is not None:
            return mul_into(dA, self.derivative_into(a))
        return mul_into(dA, self.derivative(z, a))

    def backprop_outer(self, col: Array, row: Array, z: Array, a: Array) -> Array:
        """``(col · row) ∘ g'(z)``: :meth:`backprop` of the outer product ``dA = col · row``
        (``col`` is ``(n, 1)``, ``row`` is ``(1, m)``: a layer with a single unit), which a
        custom ``backward_outer`` may compute without making ``dA`` (reusing ``a``), as
        the default does for an activation with ``derivative_into``."""
        if self.backward_outer is not None:
            return self.backward_outer(col, row, z, a)
        if self.derivative_into is not None:
            # ((g'·row)·col): the outer product is never made, g' and the result are a's
            # memory, laid out as a (torch, (64, 8192) float32: the row-major outer product
            # times a samples-first g' took 1.5 ms); bit for bit (col·row)·g' where g' is 0
            # or 1 (ReLU), up to rounding elsewhere
            return mul_into(mul_into(self.derivative_into(a), row), col)
        return self.backprop(col * row, z, a)


# In-place arithmetic on temporaries nobody else holds, where the array library allows writing
# (NumPy, CuPy, torch, array-api-strict; not JAX, whose arrays are immutable): the standard's
# in-place operators save an allocation and a pass over memory on large batches. The numbers
# are the same either way.
def _writable(fresh: Array) -> bool:
    """Whether ``fresh``, the new result of an operation, may be written in place.

    For such results the answer depends only on the array library, so it is asked once per
    array type (``is_writeable_array`` costs microseconds, a visible share of a small step).
    """
    kind = type(fresh)
    found = _WRITABLE.get(kind)
    if found is None:
        found = _WRITABLE.setdefault(kind, is_writeable_array(fresh))
    return found


_WRITABLE: dict[type, bool] = {}


def add_into(fresh: Array, other: Array) -> Array:
    """``fresh + other``, written into ``fresh`` (a new result nobody else holds) if allowed."""
    if _writable(fresh):
        fresh += other
        return fresh
    return fresh + other


def mul_into(fresh: Array, other: Array) -> Array:
    """``fresh * other``, written into ``fresh`` (a new result nobody else holds) if allowed."""
    if _writable(fresh):
        fresh *= other
        return fresh
    return fresh * other


# -- sigmoid: σ(z) = 1 / (1 + e^{-z});  σ'(z) = σ(z)(1 - σ(z)) --------------------------------
def _sigmoid(z: Array) -> Array:
    # exp(-z) overflows for z below about -log(max float): there σ(z) is below 1/max float,
    # so -z is capped just under that limit (σ then gives ~1e-308 in float64, ~1e-38 in
    # float32, instead of 0 and an overflow warning); everywhere else this is the course's
    # formula, accurate to a few ulp for any sign of z.  The cap spelt minimum or clip,
    # whichever the library runs faster.
    xp = array_namespace(z)
    limit = _exp_limit(xp, z.dtype)
    capped = xp.minimum(-z, limit) if clips_by_maximum(xp) else xp.clip(-z, max=limit)
    return 1 / (1 + xp.exp(capped))


@functools.cache
def _exp_limit(xp: Any, dtype: Any) -> float:
    """A little under log(largest finite number of ``dtype``): exp of it is finite."""
    return math.log(float(xp.finfo(dtype).max)) - 1.0


def _sigmoid_derivative(z: Array, a: Array) -> Array:
    return a * (1 - a)


def _sigmoid_backward(dA: Array, z: Array, a: Array) -> Array:
    # dA·a(1 − a) as dA·a − (dA·a)·a, the same operations (so the same rounding) whether
    # written in place or not; in place, the dead activation ``a`` holds (dA·a)·a: no
    # temporary at all
    if not _writable(dA):
        u = dA * a
        return u - u * a
    dA *= a  # u = dA·a
    a *= dA  # u·a
    dA -= a
    return dA


# -- tanh: tanh'(z) = 1 - tanh²(z) ---------------------------------------------------------------
def _tanh(z: Array) -> Array:
    # the library's tanh, or where it is slow (torch's CPU) a precise faster form: tanh_of
    return tanh_of(z, writable=False)


def _tanh_into(z: Array) -> Array:
    # tanh' = 1 − a² reads a alone: z may hold a
    return tanh_of(z, writable=_writable(z))


def _tanh_derivative(z: Array, a: Array) -> Array:
    return 1 - a * a


def _tanh_backward(dA: Array, z: Array, a: Array) -> Array:
    # dA(1 − a²) as dA − (a·a)·dA, the same operations (so the same rounding) whether written
    # in place or not; in place, the dead activation ``a`` holds (a·a)·dA: no temporary at
    # all (on torch, each (m, n) temporary is a fresh mmap at large m: page faults)
    if not _writable(dA):
        return dA - (a * a) * dA
    a *= a
    a *= dA
    dA -= a
    return dA


def _tanh_backward_outer(col: Array, row: Array, z: Array, a: Array) -> Array:
    # (col·row)(1 − a²), dA = col·row an outer product (a single output unit: col is Wᵀ,
    # (n, 1), row is dZ, (1, m)), as ((a·a − 1)·(−row))·col: the (n, m) outer product is never
    # made, and in place the dead activation ``a`` is the only (n, m) array written (NumPy,
    # (1024, 8192) float32: 40 → 14 ms); the same operations whether in place or not
    if not _writable(a):
        return ((a * a - 1) * (-row)) * col
    a *= a
    a -= 1
    a *= -row
    a *= col
    return a


# -- ReLU: max(0, z);  derivative 1 where z > 0, else 0 (0 at z = 0, as in seed 003) --------------
def _relu(z: Array, **out: Array) -> Array:
    # max(z, 0), not where(z > 0, z, 0): one pass over memory and no mask (on a (8192, 256)
    # float32 array NumPy's where takes ~8× as long, torch's ~13×); spelt maximum or clip,
    # whichever the library runs faster
    xp = array_namespace(z)
    return xp.maximum(z, 0, **out) if clips_by_maximum(xp) else xp.clip(z, min=0, **out)


def _relu_into(z: Array) -> Array:
    # the derivative reads a alone (a > 0 exactly where z > 0): z may hold a
    return into(_relu, z, writable=_writable(z))


def _relu_derivative(z: Array, a: Array) -> Array:
    xp = array_namespace(a)
    return xp.astype(a > 0, a.dtype)  # a = max(z, 0) > 0 exactly where z > 0


def _relu_derivative_into(a: Array) -> Array:
    # [a > 0] in a's dtype, as _relu_derivative, written into the dead activation a as 0 and
    # 1 where the library takes out= (NumPy, CuPy, torch): no boolean array and no copy of
    # it (torch, (256, 8192) float32 samples-first: the backward pass 3.6 → 1.5 ms, torch's
    # own threshold_backward 1.3; the cast alone had taken longer than the rest)
    xp = array_namespace(a)
    mask = into(lambda x, **out: xp.greater(x, 0, **out), a, writable=_writable(a))
    return mask if mask.dtype == a.dtype else xp.astype(mask, a.dtype)


# -- leaky ReLU: z if z > 0 else slope·z;  derivative 1 or slope ---------------------------------
def _leaky_relu(z: Array, *, slope: float, **out: Array) -> Array:
    # for 0 ≤ slope < 1, max(z, slope·z) is z where z > 0 and slope·z elsewhere: no mask
    return array_namespace(z).maximum(z, slope * z, **out)


def _leaky_relu_into(z: Array, *, slope: float) -> Array:
    # the derivative reads a alone: z may hold a
    return into(functools.partial(_leaky_relu, slope=slope), z, writable=_writable(z))


def _leaky_relu_derivative(z: Array, a: Array, *, slope: float) -> Array:
    # a = max(z, slope·z) > 0 exactly where z > 0 (slope ≥ 0): reads a alone, as activate needs
    xp = array_namespace(a)
    return xp.astype(a > 0, a.dtype) * (1 - slope) + slope


def _leaky_relu_derivative_into(a: Array, *, slope: float) -> Array:
    # [a > 0]·(1 − slope) + slope, the operations of _leaky_relu_derivative (the same
    # numbers), in a's memory where allowed
    return add_into(mul_into(_relu_derivative_into(a), 1 - slope), slope)


# -- identity: the regression output; derivative 1 -----------------------------------------------
def _identity(z: Array) -> Array:
    return z


def _identity_derivative(z: Array, a: Array) -> Array:
    return array_namespace(z).ones_like(z)


sigmoid = Activation("sigmoid", _sigmoid, _sigmoid_derivative, backward=_sigmoid_backward)
tanh = Activation(
    "tanh",
    _tanh,
    _tanh_derivative,
    backward=_tanh_backward,
    backward_outer=_tanh_backward_outer,
    forward_into=_tanh_into,
)
relu = Activation(
    "relu",
    _relu,
    _relu_derivative,
    forward_into=_relu_into,
    derivative_into=_relu_derivative_into,
)
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
        lambda z: _leaky_relu(z, slope=slope),
        lambda z, a: _leaky_relu_derivative(z, a, slope=slope),
        options=(("slope", slope),),
        forward_into=lambda z: _leaky_relu_into(z, slope=slope),
        derivative_into=lambda a: _leaky_relu_derivative_into(a, slope=slope),
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
        raise ValueError(
            f"unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)} "
            "or a portnet.activations.Activation"
        )
    return ACTIVATIONS[activation](**options)
