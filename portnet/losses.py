"""Output layers and their losses, each defined beside its gradient.

A :class:`Loss` pairs the output activation with the cost ``J`` averaged over the ``m``
samples and with ``dJ/dZ_L``, the gradient with respect to the output pre-activation
(the start of backpropagation).  For every loss here the output activation is the
canonical link, so ``dJ/dZ_L = (A_L - Y) / m`` (seed 004: ``dZ2 = A2 - Y``): sigmoid with
binary cross-entropy (one or several independent 0/1 outputs), softmax with categorical
cross-entropy (one-hot targets), identity with squared error, the exponential with the
Poisson deviance (counts and rates).

With sample weights ``w`` (``(m,)``, non-negative, not all zero) the average over samples
is the weighted one, ``m`` becoming ``Σw`` (scikit-learn's MLP)::

    J = (1/Σw)·Σ_i w_i·L_i             dJ/dZ_L = w ∘ (A_L − Y) / Σw

which is the unweighted ``J`` and ``(A_L − Y)/m`` when every ``w_i`` is 1 (bit for bit:
``(a − y)·1/m``); an integer ``w_i`` counts sample ``i`` ``w_i`` times, a zero drops it.

Written once against the array API standard; no backend is imported.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._checks import InvalidOptionError
from ._namespace import array_namespace
from .activations import Activation, exp_limit, identity, sigmoid

Array = Any

__all__ = [
    "LOSSES",
    "Loss",
    "binary_crossentropy",
    "categorical_crossentropy",
    "get_loss",
    "poisson",
    "softmax",
    "squared_error",
    "takes_weights",
]


@dataclass(frozen=True)
class Loss:
    """A loss with its output activation.

    Parameters
    ----------
    name : str
        Registry name.
    output : Activation
        Activation of the last layer (``A_L = output(Z_L)``).
    value : callable
        ``J = value(z, y)``: 0-d array, the cost averaged over samples; ``z`` and ``y`` are
        ``(m, k)``.  ``value(z, y, w=w)``: the average weighted by ``w`` ``(m,)`` (a loss
        that takes no ``w`` trains without sample weights only).
    gradient : callable
        ``dJ/dZ_L = gradient(z, a, y)``, shape ``(m, k)``, where ``a = output(z)``;
        ``gradient(z, a, y, w=w)``: that of the weighted average.
    """

    name: str
    output: Activation
    value: Callable[[Array, Array], Array] = field(repr=False)
    gradient: Callable[[Array, Array, Array], Array] = field(repr=False)


def takes_weights(loss: Loss) -> bool:
    """Whether ``loss``'s value and gradient take sample weights (a keyword ``w``)."""
    return all(_has_keyword(f, "w") for f in (loss.value, loss.gradient))


def _has_keyword(f: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):  # no signature to read (a builtin): assume it does not
        return False
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in parameters)


def _over_samples(e: Array, w: Array | None) -> Array:  # e: (m, k) or (m,) -> ()
    """The average over samples of ``e``'s per-sample sums: ``(1/m)·Σ_i Σ_k e_ik``, or with
    weights ``(1/Σw)·Σ_i w_i·Σ_k e_ik``."""
    xp = array_namespace(e)
    if w is None:
        return xp.sum(e) / e.shape[0]
    return xp.sum(e * (w[:, None] if e.ndim == 2 else w)) / xp.sum(w)


def _canonical_gradient(z: Array, a: Array, y: Array, w: Array | None = None) -> Array:
    # dJ/dZ_L = (A_L − Y)/m, or w ∘ (A_L − Y)/Σw: every loss here has its output activation
    # as canonical link.  z, a, y: (m, k); w: (m,) -> (m, k)
    if w is None:
        return (a - y) / z.shape[0]
    return (a - y) * w[:, None] / array_namespace(w).sum(w)


# -- sigmoid + binary cross-entropy ------------------------------------------------------------
# J = -(1/m) Σ [y log σ(z) + (1-y) log(1-σ(z))]  =  (1/m) Σ [log(1 + e^z) - z·y]
# The right-hand form is taken from the logits, log(1 + e^z) = logaddexp(0, z) being computed
# stably (max(z,0) + log1p(e^{-|z|})): no log(0), no overflow, finite for |z| = 1e4 in
# float32 and float64.
def _bce_value(z: Array, y: Array, w: Array | None = None) -> Array:  # z, y: (m, k) -> ()
    xp = array_namespace(z, y)
    return _over_samples(xp.logaddexp(0.0, z) - z * y, w)


# -- identity + squared error: J = ½·mean_i ‖ŷ_i − y_i‖² (seed 003: ½‖z_L − y‖²) ----------------
def _se_value(z: Array, y: Array, w: Array | None = None) -> Array:  # z, y: (m, k) -> ()
    r = z - y
    return _over_samples(r * r, w) / 2  # (Σ r²/m)/2 rounds as Σ r²/(2m): halving is exact


# -- softmax + categorical cross-entropy (multiclass) ------------------------------------------
# softmax(z)_k = e^{z_k − max z} / Σ_j e^{z_j − max z}, row by row;
# J = (1/m) Σ_i [logsumexp(z_i) − Σ_k y_ik z_ik]  for one-hot rows y_i (Σ_k y_ik = 1).
# Shifting by the row maximum keeps every exponent ≤ 0: finite at |z| = 1e4.
def _logsumexp(z: Array) -> Array:  # (m, k) -> (m, 1)
    xp = array_namespace(z)
    top = xp.max(z, axis=1, keepdims=True)
    return top + xp.log(xp.sum(xp.exp(z - top), axis=1, keepdims=True))


def _softmax(z: Array) -> Array:  # (m, k) -> (m, k), rows sum to 1
    xp = array_namespace(z)
    e = xp.exp(z - xp.max(z, axis=1, keepdims=True))  # (not exp(z − logsumexp z): that loses
    return e / xp.sum(e, axis=1, keepdims=True)  # digits in float32 when |z| is large)


def _softmax_derivative(z: Array, a: Array) -> Array:
    raise TypeError(
        "softmax has no elementwise derivative; it is only available as the output layer "
        "of categorical_crossentropy, whose gradient is (A - Y)/m"
    )


def _cce_value(z: Array, y: Array, w: Array | None = None) -> Array:  # z, y: (m, k) -> ()
    xp = array_namespace(z, y)
    return _over_samples(_logsumexp(z)[:, 0] - xp.sum(z * y, axis=1), w)  # of (m,)


# -- exp + half the Poisson deviance (counts, rates; y >= 0): the log link ---------------------
# J = (1/m) Σ [e^z − y·z + y·log y − y]  (y·log y = 0 at y = 0): the deviance's half, 0 when
# e^z = y, as scikit-learn's "poisson"; dJ/dz = (e^z − y)/m
def _exp(z: Array) -> Array:
    xp = array_namespace(z)
    return xp.exp(xp.minimum(z, exp_limit(xp, z.dtype)))  # capped: the largest finite e^z


def _exp_derivative(z: Array, a: Array) -> Array:
    return a


def _poisson_value(z: Array, y: Array, w: Array | None = None) -> Array:  # z, y: (m, k) -> ()
    xp = array_namespace(z, y)
    positive = y > 0
    y_log_y = xp.where(positive, y * xp.log(xp.where(positive, y, xp.ones_like(y))), 0.0)
    return _over_samples(_exp(z) - y * z + y_log_y - y, w)


exp = Activation("exp", _exp, _exp_derivative)
softmax = Activation("softmax", _softmax, _softmax_derivative)

binary_crossentropy = Loss("binary_crossentropy", sigmoid, _bce_value, _canonical_gradient)
categorical_crossentropy = Loss(
    "categorical_crossentropy", softmax, _cce_value, _canonical_gradient
)
squared_error = Loss("squared_error", identity, _se_value, _canonical_gradient)
poisson = Loss("poisson", exp, _poisson_value, _canonical_gradient)

LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (binary_crossentropy, categorical_crossentropy, squared_error, poisson)
}


def get_loss(loss: str | Loss) -> Loss:
    """Return the :class:`Loss` named ``loss`` (or ``loss`` itself)."""
    if isinstance(loss, Loss):
        return loss
    if not isinstance(loss, str) or loss not in LOSSES:
        raise InvalidOptionError(
            f"unknown loss {loss!r}; expected one of {sorted(LOSSES)}, 'auto' "
            "or a portnet.losses.Loss"
        )
    return LOSSES[loss]
