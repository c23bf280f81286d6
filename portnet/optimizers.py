"""Optimisers as pure ``init``/``update`` pairs, and learning-rate schedules.

Constructors are cached: the same arguments give the same (equal, hashable) object, so a
compiled training step is reused across calls to ``train``.

The shape is optax's: ``state = opt.init(params)``, then every step
``updates, state = opt.update(grads, state, params)`` and
``params = apply_updates(params, updates)`` (or both at once: ``params, state =
opt.step(params, grads, state)``).  States are named tuples of arrays; nothing is
mutated (JAX arrays are immutable), so the whole step can be ``jax.jit``-compiled.  Written
once against the array API standard; no backend is imported.

- :func:`sgd`: ``θ ← θ − α·g`` (the seeds' gradient descent).
- :func:`momentum`: ``v ← β·v + g``; ``θ ← θ − α·v``, or with ``nesterov=True``
  ``θ ← θ − α·(g + β·v)`` (PyTorch's and optax's convention); with
  ``rate_in_velocity=True`` ``v ← β·v − α·g``; ``θ ← θ + v``, or ``θ ← θ + β·v − α·g``
  (Sutskever et al. 2013, scikit-learn's).
- :func:`adam`: ``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g²``,
  ``θ ← θ − α·m̂/(√v̂ + ε)`` with ``m̂ = m/(1−β₁ᵗ)``, ``v̂ = v/(1−β₂ᵗ)``; with
  ``eps_hat=True`` ``θ ← θ − αₜ·m/(√v + ε̂)``, ``αₜ = α·√(1−β₂ᵗ)/(1−β₁ᵗ)`` (the paper's
  efficient form, scikit-learn's and Keras').
- :func:`lbfgs`: L-BFGS (:mod:`portnet.lbfgs`), full batch, its steps found by a line
  search: not an ``init``/``update`` pair, its settings only (the training loop runs it).

A learning rate ``α`` is a float or a schedule of the step count ``t = 0, 1, ...``:
:func:`constant`, :func:`inverse_scaling` (``α₀/(t+1)^p``), :func:`exponential_decay`
(``α₀·r^(t/s)``).  A *held* schedule keeps the rate in the optimiser state, where the
training loop sets it at every epoch's end (``log_every="epoch"``): :func:`adaptive`
(divided when training stops improving, scikit-learn's "adaptive") and
``inverse_scaling(α₀, p, per="sample")`` (``α₀/(s+1)^p``, ``s`` the samples trained on,
scikit-learn's "invscaling").
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from array_api_compat import device as device_of

from ._checks import InvalidOptionError, integer, real
from ._namespace import array_namespace
from .lbfgs import LBFGS
from .network import Layer, Network, Params, cost_and_gradients, update_parameters

Array = Any

__all__ = [
    "DEFAULT_LEARNING_RATES",
    "OPTIMIZERS",
    "AdamState",
    "MomentumState",
    "Optimizer",
    "SGDState",
    "Schedule",
    "adam",
    "adaptive",
    "apply_updates",
    "constant",
    "exponential_decay",
    "get_optimizer",
    "inverse_scaling",
    "lbfgs",
    "momentum",
    "sgd",
    "train_step",
    "with_rate",
]


# -- learning-rate schedules --------------------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    """A learning rate as a function of the step count ``t`` (a 0-d array, 0 at the first step).

    A *held* schedule (``held=True``) is not a function of ``t``: the rate is a 0-d array of
    the optimiser state (``state.rate``, starting at ``options[0]``'s value), which the
    training loop sets on the host at every epoch's end to ``fn(rate, seen)`` (``seen``:
    the samples trained on so far); when the stopping rule fires, ``plateau(rate)`` gives
    the rate to go on with instead of stopping, or None to stop.
    """

    name: str
    fn: Callable[..., Array | float] = field(repr=False)
    options: tuple[tuple[str, float], ...] = ()
    held: bool = False
    plateau: Callable[[float], float | None] | None = field(default=None, repr=False)

    def __call__(self, count: Array) -> Array | float:
        return self.fn(count)


def _positive(name: str, value: float) -> float:
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    return real(name, float(value) if number else value, above=True)


@functools.cache
def constant(learning_rate: float) -> Schedule:
    """``α(t) = α₀``."""
    lr = _positive("learning_rate", learning_rate)
    return Schedule("constant", lambda count: lr, (("learning_rate", lr),))


@functools.cache
def inverse_scaling(
    learning_rate: float, power: float = 0.5, *, per: str = "step", start: int = 0
) -> Schedule:
    """``α(t) = α₀ / (t + 1)^power``, ``t`` the steps taken.

    ``per="sample"``: a held schedule (needs ``log_every="epoch"``), scikit-learn's
    "invscaling": ``α₀`` for the first epoch, then at every epoch's end
    ``α₀ / (s + 1)^power`` with ``s`` the samples trained on, ``start`` of them before
    this run (``power`` may be 0).
    """
    lr = _positive("learning_rate", learning_rate)
    if per == "step":
        p = _positive("power", power)
        return Schedule(
            "inverse_scaling",
            lambda count: lr / (count + 1) ** p,
            (("learning_rate", lr), ("power", p)),
        )
    if per != "sample":
        raise InvalidOptionError(f"inverse_scaling per must be 'step' or 'sample', got {per!r}")
    p = real("power", float(power) if isinstance(power, numbers.Real) else power)
    first = integer("start", start, minimum=0)
    return Schedule(
        "inverse_scaling_per_sample",
        lambda rate, seen: lr / (first + seen + 1) ** p,
        (("learning_rate", lr), ("power", p), ("start", float(first))),
        held=True,
    )


@functools.cache
def adaptive(learning_rate: float, *, factor: float = 5.0, min_rate: float = 1e-6) -> Schedule:
    """A held schedule (needs ``log_every="epoch"``), scikit-learn's "adaptive": ``α₀``
    until the stopping rule fires (``tol``, ``n_iter_no_change``); then, instead of
    stopping, the rate is divided by ``factor`` and patience starts again, unless it is
    already at most ``min_rate``, when training stops."""
    lr, f = _positive("learning_rate", learning_rate), _positive("factor", factor)
    floor = _positive("min_rate", min_rate)
    return Schedule(
        "adaptive",
        lambda rate, seen: rate,
        (("learning_rate", lr), ("factor", f), ("min_rate", floor)),
        held=True,
        plateau=lambda rate: None if rate <= floor else rate / f,
    )


@functools.cache
def exponential_decay(learning_rate: float, rate: float, steps: int = 1) -> Schedule:
    """``α(t) = α₀ · rate^(t / steps)``."""
    lr, r, s = _positive("learning_rate", learning_rate), _positive("rate", rate), steps
    s = _positive("steps", s)
    return Schedule(
        "exponential_decay",
        lambda count: lr * r ** (count / s),
        (("learning_rate", lr), ("rate", r), ("steps", s)),
    )


def _fraction(name: str, value: float) -> float:
    """``value``, a real number in [0, 1), as a Python float: a NumPy scalar kept as it is
    would set the dtype of the state it multiplies (``np.float64(0.9) * float32`` is float64)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise InvalidOptionError(f"{name} must be in [0, 1), got {value!r}")
    return float(value)


def _schedule(learning_rate: float | Schedule) -> Schedule:
    """A schedule as it is; a real number (Python's or NumPy's) as :func:`constant`'s."""
    if isinstance(learning_rate, Schedule):
        return learning_rate
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real):
        raise InvalidOptionError(
            "learning_rate must be a number or a portnet.optimizers schedule "
            f"(constant, inverse_scaling, exponential_decay), got {learning_rate!r}"
        )
    return constant(_positive("learning_rate", learning_rate))


# -- optimisers -----------------------------------------------------------------------------------
class Optimizer(NamedTuple):
    """A pure optimiser: ``init(params)`` gives a state; ``update(grads, state, params)``
    gives ``(updates, new_state)``; :meth:`step` gives the new parameters at once.

    ``apply(params, grads, state)``, optional, is :meth:`step` written directly: the same
    numbers as ``update`` then :func:`apply_updates`, with less Python per step (a visible
    share of a small network's step on NumPy).
    """

    name: str
    init: Callable[[Params], Any]
    update: Callable[[Params, Any, Params], tuple[Params, Any]]
    learning_rate: Schedule
    apply: Callable[[Params, Params, Any], tuple[Params, Any]] | None = None

    def step(self, params: Params, grads: Params, state: Any) -> tuple[Params, Any]:
        """``(new_params, new_state)``: :attr:`update`, then :func:`apply_updates`."""
        if self.apply is not None:
            return self.apply(params, grads, state)
        updates, state = self.update(grads, state, params)
        return apply_updates(params, updates), state


class SGDState(NamedTuple):
    count: Array  # 0-d, steps taken
    rate: Array | None = None  # 0-d, the learning rate of a held schedule (else None)


class MomentumState(NamedTuple):
    count: Array
    velocity: Params
    rate: Array | None = None


class AdamState(NamedTuple):
    count: Array
    mu: Params  # first moment
    nu: Params  # second moment
    rate: Array | None = None


def _map(f: Callable[..., Array], *trees: Params) -> Params:
    """Apply ``f`` to matching arrays of parameter-shaped tuples."""
    if len(trees) == 1:  # the common cases spelled out: this runs twice or more every step
        return tuple(Layer(f(p.W), f(p.b)) for p in trees[0])
    if len(trees) == 2:
        return tuple(Layer(f(p.W, q.W), f(p.b, q.b)) for p, q in zip(*trees, strict=True))
    return tuple(
        Layer(f(*(t.W for t in ls)), f(*(t.b for t in ls))) for ls in zip(*trees, strict=True)
    )


def _zeros_like(params: Params) -> Params:
    return _map(lambda p: array_namespace(p).zeros_like(p), params)


def _count(params: Params) -> Array:
    W = params[0].W
    xp = array_namespace(W)
    return xp.zeros((), dtype=W.dtype, device=device_of(W))


def _held(params: Params, schedule: Schedule) -> Array | None:
    """A held schedule's starting rate, a 0-d array beside the parameters (else None)."""
    if not schedule.held:
        return None
    W = params[0].W
    return array_namespace(W).asarray(schedule.options[0][1], dtype=W.dtype, device=device_of(W))


def _rate(schedule: Schedule, state: Any) -> Array | float:
    """The learning rate of this step: the state's for a held schedule, else the schedule's."""
    return state.rate if schedule.held else schedule(state.count)


def with_rate(state: Any, rate: float) -> Any:
    """``state`` with its held learning rate set to ``rate`` (a host number), where and in
    the dtype the state keeps it."""
    held = state.rate
    xp = array_namespace(held)
    return state._replace(rate=xp.asarray(rate, dtype=held.dtype, device=device_of(held)))


def apply_updates(params: Params, updates: Params) -> Params:
    """``θ + Δθ`` for every parameter (a new tuple; nothing is mutated)."""
    return _map(lambda p, u: p + u, params, updates)


@functools.cache
def sgd(learning_rate: float | Schedule = 1.2) -> Optimizer:
    """Plain (full- or mini-batch) gradient descent: ``Δθ = −α·g``."""
    schedule = _schedule(learning_rate)

    def init(params: Params) -> SGDState:
        return SGDState(_count(params), _held(params, schedule))

    def update(grads: Params, state: SGDState, params: Params) -> tuple[Params, SGDState]:
        lr = _rate(schedule, state)  # a Python float for a constant rate
        return _map(lambda g: -lr * g, grads), state._replace(count=state.count + 1)

    def apply(params: Params, grads: Params, state: SGDState) -> tuple[Params, SGDState]:
        # θ − α·g: the same numbers as θ + (−α·g) (negation is exact)
        theta = update_parameters(params, grads, _rate(schedule, state))
        return theta, state._replace(count=state.count + 1)

    return Optimizer("sgd", init, update, schedule, apply)


@functools.cache
def momentum(
    learning_rate: float | Schedule = 0.1,
    *,
    beta: float = 0.9,
    nesterov: bool = False,
    rate_in_velocity: bool = False,
) -> Optimizer:
    """Heavy-ball momentum: ``v ← β·v + g``; ``Δθ = −α·v`` (Nesterov: ``−α·(g + β·v)``).

    ``rate_in_velocity=True``: ``v ← β·v − α·g``; ``Δθ = v`` (Nesterov: ``β·v − α·g``), the
    form of Sutskever et al. (2013) and scikit-learn, where a changed rate scales only the
    new gradients (the same steps as the default for a constant rate).
    """
    schedule = _schedule(learning_rate)
    beta = _fraction("momentum beta", beta)

    def init(params: Params) -> MomentumState:
        return MomentumState(_count(params), _zeros_like(params), _held(params, schedule))

    def update(grads: Params, state: MomentumState, params: Params) -> tuple[Params, MomentumState]:
        lr = _rate(schedule, state)  # a Python float for a constant rate
        if rate_in_velocity:
            velocity = _map(lambda v, g: beta * v - lr * g, state.velocity, grads)
            updates = (
                _map(lambda v, g: beta * v - lr * g, velocity, grads) if nesterov else velocity
            )
        else:
            velocity = _map(lambda v, g: beta * v + g, state.velocity, grads)
            if nesterov:
                updates = _map(lambda v, g: -lr * (g + beta * v), velocity, grads)
            else:
                updates = _map(lambda v: -lr * v, velocity)
        return updates, state._replace(count=state.count + 1, velocity=velocity)

    return Optimizer("nesterov" if nesterov else "momentum", init, update, schedule)


@functools.cache
def adam(
    learning_rate: float | Schedule = 0.001,
    *,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_hat: bool = False,
) -> Optimizer:
    """Adam (Kingma & Ba), with bias correction: ``Δθ = −α·m̂/(√v̂ + ε)``.

    ``eps_hat=True``: ``Δθ = −αₜ·m/(√v + ε̂)`` with ``αₜ = α·√(1−β₂ᵗ)/(1−β₁ᵗ)``, the
    paper's efficient form (its ε̂, scikit-learn's and Keras' epsilon): ε is added before
    the bias correction, so it weighs ``√(1−β₂ᵗ)`` times as much.
    """
    schedule = _schedule(learning_rate)
    b1, b2 = _fraction("adam b1", b1), _fraction("adam b2", b2)
    eps = _positive("eps", eps)

    def init(params: Params) -> AdamState:
        return AdamState(
            _count(params), _zeros_like(params), _zeros_like(params), _held(params, schedule)
        )

    def update(grads: Params, state: AdamState, params: Params) -> tuple[Params, AdamState]:
        lr = _rate(schedule, state)  # a Python float for a constant rate
        t = state.count + 1
        mu = _map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
        nu = _map(lambda v, g: b2 * v + (1 - b2) * (g * g), state.nu, grads)
        c1, c2 = 1 - b1**t, 1 - b2**t  # bias corrections, 0-d arrays
        xp = array_namespace(t)
        if eps_hat:
            rate = lr * xp.sqrt(c2) / c1  # αₜ

            def step(m: Array, v: Array) -> Array:
                return -rate * m / (xp.sqrt(v) + eps)

        else:

            def step(m: Array, v: Array) -> Array:
                return -lr * (m / c1) / (xp.sqrt(v / c2) + eps)

        return _map(step, mu, nu), state._replace(count=t, mu=mu, nu=nu)

    return Optimizer("adam", init, update, schedule)


@functools.cache
def lbfgs(*, memory: int = 10, max_line_search: int = 20) -> LBFGS:
    """L-BFGS (:mod:`portnet.lbfgs`) keeping ``memory`` pairs, a line search making at most
    ``max_line_search`` evaluations; ``optimizer="lbfgs"`` is ``lbfgs()``."""
    return LBFGS(memory, max_line_search)


OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "sgd": sgd,
    "momentum": momentum,
    "nesterov": lambda learning_rate: momentum(learning_rate, nesterov=True),
    "adam": adam,
}
#: ``train(..., learning_rate=None)``: the course's 1.2 for SGD, common defaults otherwise
DEFAULT_LEARNING_RATES = {"sgd": 1.2, "momentum": 0.1, "nesterov": 0.1, "adam": 0.001}


def get_optimizer(
    optimizer: str | Optimizer | LBFGS, learning_rate: float | Schedule | None
) -> Optimizer | LBFGS:
    """The optimiser named ``optimizer`` with ``learning_rate`` (its default when None)."""
    if isinstance(optimizer, LBFGS) or (isinstance(optimizer, str) and optimizer == "lbfgs"):
        if learning_rate is not None:
            raise InvalidOptionError(
                "optimizer='lbfgs' finds its steps by a line search: it takes no "
                f"learning_rate, got learning_rate={learning_rate!r}"
            )
        return lbfgs() if isinstance(optimizer, str) else optimizer
    if isinstance(optimizer, Optimizer):
        if learning_rate is not None:
            raise InvalidOptionError(
                "learning_rate was given twice: pass it to the optimizer object "
                f"(e.g. portnet.optimizers.{optimizer.name}(0.01)), not to train"
            )
        return optimizer
    if not isinstance(optimizer, str) or optimizer not in OPTIMIZERS:
        raise InvalidOptionError(
            f"unknown optimizer {optimizer!r}; expected one of {list(OPTIMIZERS)}, 'lbfgs' "
            "or a portnet.optimizers.Optimizer"
        )
    if learning_rate is None:
        learning_rate = DEFAULT_LEARNING_RATES[optimizer]
    return OPTIMIZERS[optimizer](learning_rate)


def train_step(
    params: Params,
    state: Any,
    X: Array,
    Y: Array,
    net: Network,
    optimizer: Optimizer,
    *,
    w: Array | None = None,
    with_cost: bool = True,
    gradients: Callable[..., tuple[Array | None, Params]] = cost_and_gradients,
) -> tuple[Params, Any, Array | None]:
    """One training step on the batch ``(X, Y)`` (``w``: its sample weights, or None):
    backpropagation, then the optimiser's update.

    Returns the new parameters, the new optimiser state and the cost at the *old* parameters
    on this batch (a 0-d array, left on the device; None with ``with_cost=False``).
    ``gradients`` computes them (:func:`portnet.network.cost_and_gradients`, or the backend's
    way of running it: on Dask, chunk by chunk).
    """
    J, grads = gradients(params, X, Y, net, w=w, with_cost=with_cost)
    params, state = optimizer.step(params, grads, state)
    return params, state, J
