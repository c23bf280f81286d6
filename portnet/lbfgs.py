"""L-BFGS over a flat parameter vector, written once against the array API standard.

Nocedal & Wright, *Numerical Optimization* (2nd ed.): the search direction
``d = −H·g`` by the two-loop recursion (Algorithm 7.4) from the last ``m`` pairs
``s_k = x_{k+1} − x_k``, ``y_k = g_{k+1} − g_k`` with ``H_0 = γ·I``, ``γ = sᵀy / yᵀy`` of
the latest pair (7.20); the step ``α`` by a line search that ends where the strong Wolfe
conditions hold (Algorithms 3.5 and 3.6, "zoom", with cubic interpolation, quadratic or
bisection where the cubic fails)::

    f(x + α·d) ≤ f(x) + c₁·α·∇fᵀd          |∇f(x + α·d)ᵀd| ≤ c₂·|∇fᵀd|

Where there is no such point (at a kink of ReLU's the slope can jump past ``c₂·|∇fᵀd|`` on
both sides), the search is tried again along ``−g`` with the memory cleared, and that one
ends at the lowest point with sufficient decrease it found, as SciPy's line search ends on
its warnings.

The vectors stay on their device; the line search reads two scalars per evaluation of the
objective (``f`` and ``∇fᵀd``) and an iteration one or two more (``max|g|``, ``yᵀy``), as
SciPy's L-BFGS-B does.  Its choices where the book leaves them open are SciPy's: the
first trial step ``1/‖d‖₂`` when the memory is empty, else 1; a pair is kept only where
``sᵀy > ε·(−sᵀg)``; a failed line search is retried once from the steepest descent with
the memory cleared.  The stopping rules are SciPy's too (:func:`stop_reason`).

Everything here is a pure function: ``value_and_grad(x) -> (f, g)`` is the objective
(:func:`objective` makes one of a network's cost), ``read`` turns a 0-d array into a
Python float (``float``, or a backend's explicit transfer).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, NamedTuple

from ._checks import InvalidOptionError, integer, real
from ._namespace import array_namespace
from .network import Layer, Network, Params, cost_and_gradients

Array = Any
Objective = Callable[[Array], tuple[Any, Array]]
Read = Callable[[Any], float]

__all__ = [
    "FTOL",
    "GTOL",
    "LBFGS",
    "MAX_FUN",
    "Memory",
    "Result",
    "State",
    "Step",
    "flatten",
    "iterate",
    "line_search",
    "minimize",
    "objective",
    "remember",
    "shapes_of",
    "start",
    "stop_reason",
    "two_loop",
    "unflatten",
]

#: SciPy's L-BFGS-B defaults: ``factr=1e7`` times float64's machine epsilon, ``gtol``,
#: ``maxfun``
FTOL = 1e7 * 2.220446049250313e-16
GTOL = 1e-5
MAX_FUN = 15_000
#: the largest step the line search tries (SciPy's for an unbounded problem)
MAX_STEP = 1e10


@dataclasses.dataclass(frozen=True)
class LBFGS:
    """L-BFGS's settings (``portnet.optimizers.lbfgs()``; ``optimizer="lbfgs"`` is the default).

    Parameters
    ----------
    memory : int
        Pairs ``(s, y)`` kept (SciPy's ``maxcor``, scikit-learn's 10).
    max_line_search : int
        Evaluations of the objective one line search may make (SciPy's ``maxls``).
    c1, c2 : float
        The Wolfe constants, ``0 < c1 < c2 < 1`` (those of SciPy's L-BFGS-B line search).
    """

    memory: int = 10
    max_line_search: int = 20
    c1: float = 1e-3
    c2: float = 0.9

    name = "lbfgs"

    def __post_init__(self) -> None:
        object.__setattr__(self, "memory", integer("lbfgs memory", self.memory))
        steps = integer("lbfgs max_line_search", self.max_line_search)
        object.__setattr__(self, "max_line_search", steps)
        c1, c2 = (real(f"lbfgs {k}", getattr(self, k), above=True) for k in ("c1", "c2"))
        if not c1 < c2 < 1:
            raise InvalidOptionError(f"lbfgs needs 0 < c1 < c2 < 1, got c1={c1}, c2={c2}")
        object.__setattr__(self, "c1", c1)
        object.__setattr__(self, "c2", c2)


class Memory(NamedTuple):
    """The last pairs, oldest first, with ``rho_i = 1 / s_iᵀy_i`` and ``gamma`` (``H_0 = γ·I``)."""

    s: tuple[Array, ...] = ()
    y: tuple[Array, ...] = ()
    rho: tuple[float, ...] = ()
    gamma: float = 1.0


class Step(NamedTuple):
    """What a line search did: ``alpha`` along ``d`` from ``f0`` (slope ``slope0 = gᵀd``)
    to ``f`` (slope ``slope``), in ``evaluations`` calls; ``accepted``: the step was taken
    (the strong Wolfe conditions hold there, or, with ``fallback``, sufficient decrease;
    otherwise the iterate stays)."""

    alpha: float
    f0: float
    slope0: float
    f: float
    slope: float
    evaluations: int
    accepted: bool


class State(NamedTuple):
    """An iterate: ``x``, ``f = f(x)``, ``g = ∇f(x)``, ``gmax = max|g|``; the memory; the
    iterations and evaluations so far; the last line search (``step``, None at the start)
    and ``f_before``, ``f`` of the iterate before."""

    x: Array
    f: float
    g: Array
    gmax: float
    memory: Memory
    iteration: int
    evaluations: int
    step: Step | None = None
    f_before: float | None = None


class _Point(NamedTuple):
    alpha: float
    f: float
    slope: float
    x: Array
    g: Array


# -- a network's parameters as one vector -----------------------------------------------------
def shapes_of(params: Params) -> tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]:
    """The shapes of every layer's ``W`` and ``b`` (what :func:`unflatten` needs)."""
    return tuple((tuple(W.shape), tuple(b.shape)) for W, b in params)


def flatten(params: Params) -> Array:
    """``[vec(W_1), b_1, vec(W_2), b_2, ...]``: one 1-D array (a copy)."""
    xp = array_namespace(params[0].W)
    return xp.concat([xp.reshape(p, (-1,)) for layer in params for p in layer])


def unflatten(x: Array, shapes: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]) -> Params:
    """The inverse of :func:`flatten`: per-layer ``(W, b)`` of ``shapes``."""
    xp, at, layers = array_namespace(x), 0, []
    for shape_W, shape_b in shapes:
        n_W, n_b = math.prod(shape_W), math.prod(shape_b)
        W = xp.reshape(x[at : at + n_W], shape_W)
        b = xp.reshape(x[at + n_W : at + n_W + n_b], shape_b)
        layers.append(Layer(W, b))
        at += n_W + n_b
    return tuple(layers)


def objective(
    x: Array,
    X: Array,
    Y: Array,
    w: Array | None = None,
    *,
    net: Network,
    shapes: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...],
    gradients: Callable[..., tuple[Any, Params]] = cost_and_gradients,
) -> tuple[Array, Array]:
    """The cost ``J(x)`` (0-d) of the network ``unflatten(x, shapes)`` on ``(X, Y)`` (``w``:
    the samples' weights) and its gradient, flat (``gradients``:
    :func:`portnet.network.cost_and_gradients` or a backend's way of running it)."""
    weights = {} if w is None else {"w": w}
    J, grads = gradients(unflatten(x, shapes), X, Y, net, **weights)
    return J, flatten(grads)


# -- the direction -----------------------------------------------------------------------------
def two_loop(g: Array, memory: Memory) -> Array:
    """``H·g`` (Algorithm 7.4): ``H`` the L-BFGS inverse-Hessian approximation of ``memory``."""
    pairs = list(zip(memory.s, memory.y, memory.rho, strict=True))  # oldest first
    q, alphas = g, []
    for s, y, rho in reversed(pairs):  # newest to oldest
        a = rho * (s @ q)  # α_i = ρ_i·s_iᵀq (0-d, left on the device)
        q = q - a * y
        alphas.append(a)
    r = memory.gamma * q  # H_0·q
    for (s, y, rho), a in zip(pairs, reversed(alphas), strict=True):  # oldest to newest
        b = rho * (y @ r)  # β = ρ_i·y_iᵀr
        r = r + (a - b) * s
    return r


def remember(memory: Memory, step: Step, s: Array, y: Array, *, size: int, read: Read) -> Memory:
    """``memory`` with the pair ``(s, y)`` of an accepted step (its oldest dropped beyond
    ``size``), unchanged where ``sᵀy ≤ ε·(−sᵀg)`` (SciPy's test: too little curvature to
    trust); ``sᵀy`` and ``−sᵀg`` come from the step's slopes, ``yᵀy`` is read."""
    sy = step.alpha * (step.slope - step.slope0)
    eps = array_namespace(s).finfo(s.dtype).eps
    if not sy > eps * (-step.alpha * step.slope0):
        return memory
    yy = read(y @ y)
    keep = slice(max(0, len(memory.s) + 1 - size), None)
    return Memory(
        (*memory.s, s)[keep], (*memory.y, y)[keep], (*memory.rho, 1.0 / sy)[keep], sy / yy
    )


# -- the step length ---------------------------------------------------------------------------
def _evaluate(value_and_grad: Objective, x: Array, d: Array, alpha: float, read: Read) -> _Point:
    x_new = x + alpha * d
    f, g = value_and_grad(x_new)
    return _Point(alpha, read(f), read(g @ d), x_new, g)


def _cubic(lo: _Point, hi: _Point) -> float | None:
    """The minimiser of the cubic through ``f`` and the slopes at ``lo`` and ``hi`` (N&W
    3.59), None where it has none (or the numbers are not finite)."""
    a, b = lo.alpha, hi.alpha
    d1 = lo.slope + hi.slope - 3 * (lo.f - hi.f) / (a - b)
    disc = d1 * d1 - lo.slope * hi.slope
    if not (math.isfinite(disc) and disc >= 0):
        return None
    d2 = math.copysign(math.sqrt(disc), b - a)
    denominator = hi.slope - lo.slope + 2 * d2
    if denominator == 0:
        return None
    return b - (b - a) * (hi.slope + d2 - d1) / denominator


def _quadratic(lo: _Point, hi: _Point) -> float | None:
    """The minimiser of the quadratic through ``f`` and the slope at ``lo`` and ``f`` at ``hi``."""
    h = hi.alpha - lo.alpha
    curvature = hi.f - lo.f - lo.slope * h
    if not (math.isfinite(curvature) and curvature > 0):
        return None
    return lo.alpha - lo.slope * h * h / (2 * curvature)


def _trial(lo: _Point, hi: _Point) -> float:
    """The next trial step inside ``(lo, hi)``: the cubic's minimiser if it lies in the
    middle 80 %, else the quadratic's if in the middle 80 %, else the midpoint."""
    left, right = sorted((lo.alpha, hi.alpha))
    margin = 0.1 * (right - left)
    for candidate in (_cubic(lo, hi), _quadratic(lo, hi)):
        if candidate is not None and left + margin <= candidate <= right - margin:
            return candidate
    return lo.alpha + 0.5 * (hi.alpha - lo.alpha)


def _zoom(
    evaluate: Callable[[float], _Point], lo: _Point, hi: _Point, origin: _Point, *,
    budget: int, config: LBFGS,
) -> tuple[_Point | None, int]:  # fmt: skip
    """Algorithm 3.6: a point of ``(lo, hi)`` where the strong Wolfe conditions hold
    (None if ``budget`` evaluations find none), and the evaluations made."""
    for used in range(1, budget + 1):
        alpha = _trial(lo, hi)
        if not min(lo.alpha, hi.alpha) < alpha < max(lo.alpha, hi.alpha):
            return None, used - 1  # the interval has shrunk below rounding
        point = evaluate(alpha)
        if not _armijo(point, origin, config) or not point.f < lo.f:
            hi = point
            continue
        if abs(point.slope) <= -config.c2 * origin.slope:
            return point, used
        if point.slope * (hi.alpha - lo.alpha) >= 0:
            hi = lo
        lo = point
    return None, budget


def _armijo(point: _Point, origin: _Point, config: LBFGS) -> bool:
    """Sufficient decrease (false for a non-finite ``f``)."""
    return point.f <= origin.f + config.c1 * point.alpha * origin.slope


def line_search(
    value_and_grad: Objective, x: Array, f: float, g: Array, d: Array, alpha: float, *,
    config: LBFGS, read: Read = float, fallback: bool = False,
) -> tuple[Step, Array, Array]:  # fmt: skip
    """Algorithm 3.5 from the trial step ``alpha``: the step info, and the new ``x`` and
    ``g``.  Where no step satisfying the strong Wolfe conditions is found within
    ``config.max_line_search`` evaluations (at a kink of ReLU's, there may be none), the
    lowest point with sufficient decrease if ``fallback`` (as SciPy's line search ends, on
    its warnings, at the best point it found), else ``x`` and ``g`` as given; as given too
    where ``d`` is not a descent direction."""
    origin = _Point(0.0, float(f), read(g @ d), x, g)
    found, used, best = None, 0, origin

    def evaluate(a: float) -> _Point:
        nonlocal best
        point = _evaluate(value_and_grad, x, d, a, read)
        if _armijo(point, origin, config) and point.f < best.f:
            best = point
        return point

    if origin.slope < 0:
        found, used = _bracket(evaluate, origin, alpha, config)
    end = found or (best if fallback else origin)
    step = Step(end.alpha, origin.f, origin.slope, end.f, end.slope, used, end is not origin)
    return step, end.x, end.g


def _bracket(
    evaluate: Callable[[float], _Point], origin: _Point, alpha: float, config: LBFGS
) -> tuple[_Point | None, int]:
    """Algorithm 3.5's loop: steps doubling from ``alpha`` until one is acceptable or an
    interval holding one is found (then :func:`_zoom` within the evaluations left)."""
    previous, budget = origin, config.max_line_search
    for used in range(1, budget + 1):
        point = evaluate(alpha)
        if not _armijo(point, origin, config) or (used > 1 and not point.f < previous.f):
            lo, hi = previous, point
        elif abs(point.slope) <= -config.c2 * origin.slope:
            return point, used
        elif point.slope >= 0:
            lo, hi = point, previous
        elif alpha < MAX_STEP:
            previous, alpha = point, min(2 * alpha, MAX_STEP)
            continue
        else:
            return None, used
        found, more = _zoom(evaluate, lo, hi, origin, budget=budget - used, config=config)
        return found, used + more
    return None, budget


# -- iterations ----------------------------------------------------------------------------------
def _largest(g: Array, read: Read) -> float:
    xp = array_namespace(g)
    return read(xp.max(xp.abs(g)))


def start(value_and_grad: Objective, x: Array, *, read: Read = float) -> State:
    """The first iterate: ``f`` and ``g`` at ``x`` (one evaluation), an empty memory."""
    f, g = value_and_grad(x)
    return State(x, read(f), g, _largest(g, read), Memory(), 0, 1)


def iterate(
    value_and_grad: Objective, state: State, config: LBFGS = LBFGS(), *, read: Read = float
) -> State:
    """One iteration (Algorithm 7.5's body): the direction ``d = −H·g``, a line search
    along it, the pair ``(s, y)`` remembered.  Where the line search fails, it is tried
    again along ``−g`` with the memory cleared; where that fails too, the state comes
    back at the same iterate, its ``step`` not ``accepted`` (see :func:`stop_reason`)."""
    memory, evaluations = state.memory, state.evaluations
    while True:
        d = -two_loop(state.g, memory)
        alpha = 1.0
        if not memory.s:  # steepest descent: a first step of length 1 (SciPy's)
            norm = math.sqrt(read(d @ d))
            alpha = min(1.0 / norm, MAX_STEP) if norm > 0 else 1.0
        step, x, g = line_search(
            value_and_grad,
            state.x,
            state.f,
            state.g,
            d,
            alpha,
            config=config,
            read=read,
            fallback=not memory.s,
        )
        evaluations += step.evaluations
        if step.accepted or not memory.s:
            break
        memory = Memory()
    if not step.accepted:
        return state._replace(memory=memory, evaluations=evaluations, step=step)
    memory = remember(memory, step, step.alpha * d, g - state.g, size=config.memory, read=read)
    return State(
        x, step.f, g, _largest(g, read), memory, state.iteration + 1, evaluations, step, state.f
    )


def stop_reason(
    state: State, *, gtol: float = GTOL, ftol: float = FTOL, max_fun: int = MAX_FUN
) -> str | None:
    """Why to stop at ``state`` (SciPy's L-BFGS-B rules; the iteration count is the
    caller's): "line_search" (no step satisfying the Wolfe conditions, and along ``−g``
    none with sufficient decrease either), "tol" (``max|g| ≤ gtol``), "ftol" (``(f_k −
    f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) ≤ ftol``), "max_fun" (more than ``max_fun``
    evaluations); None to go on."""
    if state.step is not None and not state.step.accepted:
        return "line_search"
    if state.gmax <= gtol:
        return "tol"
    before, f = state.f_before, state.f
    if before is not None and before - f <= ftol * max(abs(before), abs(f), 1.0):
        return "ftol"
    if state.evaluations > max_fun:
        return "max_fun"
    return None


class Result(NamedTuple):
    """:func:`minimize`'s answer: the last iterate, the counts, why it stopped
    (:func:`stop_reason`'s, or "max_iter") and every iteration's line search."""

    x: Array
    f: float
    g: Array
    iterations: int
    evaluations: int
    reason: str
    steps: tuple[Step, ...]


def minimize(
    value_and_grad: Objective, x: Array, *, config: LBFGS = LBFGS(), gtol: float = GTOL,
    ftol: float = FTOL, max_iter: int = 15_000, max_fun: int = MAX_FUN, read: Read = float,
) -> Result:  # fmt: skip
    """Minimise ``value_and_grad``'s ``f`` from ``x`` (1-D) by L-BFGS, as
    ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` with these options does
    without bounds."""
    state, steps = start(value_and_grad, x, read=read), []
    while (reason := stop_reason(state, gtol=gtol, ftol=ftol, max_fun=max_fun)) is None:
        if state.iteration >= max_iter:
            reason = "max_iter"
            break
        state = iterate(value_and_grad, state, config, read=read)
        steps.append(state.step)
    return Result(
        state.x, state.f, state.g, state.iteration, state.evaluations, reason, tuple(steps)
    )
