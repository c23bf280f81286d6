"""Checks for the pieces users write: an activation, a loss, an optimiser, a backend's Ops.

    from portnet.testing import check_activation, check_loss, check_ops, check_optimizer

    check_activation(my_activation)   # raises AssertionError naming every problem found
    check_loss(my_loss)
    check_optimizer(my_optimizer)
    check_ops(MyOps(xp))              # a new backend's Ops against the plain one

The course's gradient checking, as a tool: each check runs the piece on every installed
backend (NumPy, JAX, torch, array-api-strict, Dask; CuPy where a GPU is usable) in float32
and float64, and compares it with independent references:

- its derivative or gradient against central finite differences of its own forward pass or
  value (NumPy, float64), and against automatic differentiation (``jax.grad``,
  ``torch.autograd``) where those are installed;
- every backend's numbers against NumPy float64 (tolerances scaled by the dtype's
  precision);
- what comes back stays in the input's namespace, dtype and device; the input is not
  written to (read-only NumPy input works);
- nothing reads back to the host: run on array-api-strict's ``Device("device1")``, which
  refuses any conversion to the host, where array-api-strict is installed.

Each returns the list of what it checked (one line a backend × dtype) and raises
``AssertionError`` listing every problem when one is found.  portnet's own activations,
losses and optimisers pass them (``tests/test_testing.py``).
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import array_api_compat as aac
import numpy as np

from ._backend import BACKENDS, Backend, resolve_backend, to_numpy
from ._trees import tree_leaves as _tree_leaves
from .activations import ACTIVATIONS, Activation, get_activation
from .losses import LOSSES, Loss, get_loss, softmax, takes_weights
from .network import Layer, Network, cost_and_gradients
from .ops import Ops
from .optimizers import Optimizer, apply_updates

__all__ = ["check_activation", "check_loss", "check_ops", "check_optimizer"]

DTYPES = ("float32", "float64")
#: the pre-activations an activation is checked at: both signs, away from 0 (where ReLU-type
#: functions have their kink and finite differences mean nothing)
Z = np.concatenate([np.linspace(-4, -0.05, 20), np.linspace(0.05, 4, 20)]).reshape(8, 5)
#: the step of the central differences (float64): error ~h² from the function, ~ε/h from rounding
H = 1e-6


class _Found:
    """What a check saw: the lines it checked, the problems it found."""

    def __init__(self, what: str) -> None:
        self.what, self.checked, self.problems = what, [], []

    def expect(self, ok: bool, problem: str) -> bool:
        if not ok:
            self.problems.append(problem)
        return ok

    def close(self, got: Any, want: np.ndarray, where: str, *, rtol: float, atol: float) -> None:
        got = np.asarray(to_numpy(got), dtype=np.float64)
        if got.shape != want.shape:
            self.problems.append(f"{where}: shape {got.shape}, expected {want.shape}")
            return
        err = np.abs(got - want) - rtol * np.abs(want)
        worst = np.unravel_index(np.argmax(err), err.shape) if err.size else None
        if worst is not None and not err[worst] <= atol:  # NaN counts as a problem
            self.problems.append(
                f"{where}: {float(got[worst]):.9g} at index {tuple(map(int, worst))}, "
                f"expected {float(want[worst]):.9g} (rtol {rtol:.0e}, atol {atol:.0e})"
            )

    def result(self) -> list[str]:
        if self.problems:
            listed = "\n".join(f"- {p}" for p in self.problems)
            raise AssertionError(f"{self.what}: {len(self.problems)} problem(s)\n{listed}")
        return self.checked


def _backends(backends: Sequence[str] | None) -> list[Backend]:
    """The backends to check on: those of ``backends`` (default: all) usable here."""
    found = []
    for name in backends if backends is not None else BACKENDS:
        module = "dask" if name == "dask" else name
        if importlib.util.find_spec(module) is None:
            continue
        try:
            found.append(resolve_backend(name))
        except (ImportError, RuntimeError, ValueError):  # CuPy without a GPU, say
            continue
    return found


def _tolerance(dtype: str) -> tuple[float, float]:
    """(rtol, atol) against float64 references: a few hundred ulp of ``dtype``."""
    eps = float(np.finfo(dtype).eps)
    return 256 * eps, 256 * eps


def _kept(found: _Found, out: Any, like: Any, where: str) -> bool:
    """Whether ``out`` is in ``like``'s namespace, dtype and device (said if not)."""
    if not found.expect(
        aac.is_array_api_obj(out) and aac.array_namespace(out) is aac.array_namespace(like),
        f"{where}: returned a {type(out).__module__}.{type(out).__name__}, not an array of "
        f"the input's namespace ({type(like).__module__}.{type(like).__name__})",
    ):
        return False
    same_dtype = found.expect(
        out.dtype == like.dtype, f"{where}: dtype {out.dtype}, expected {like.dtype}"
    )
    same_device = found.expect(
        aac.device(out) == aac.device(like),
        f"{where}: on device {aac.device(out)!r}, expected {aac.device(like)!r}",
    )
    return same_dtype and same_device


def _calls(found: _Found, where: str, fn: Callable[[], Any]) -> Any:
    """``fn()``, or None with the exception it raised said as a problem."""
    try:
        return fn()
    except Exception as exc:  # the user's code: any error is a finding
        found.problems.append(f"{where}: raised {type(exc).__name__}: {exc}")
        return None


def _read_only(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


def _autodiff(tool: str, f: Callable[[Any], Any], x: np.ndarray) -> np.ndarray | None:
    """d Σf(x) / dx in float64 by ``jax.grad`` or ``torch.autograd`` (None: not installed,
    or JAX without x64, where float64 is not available)."""
    if importlib.util.find_spec(tool) is None:
        return None
    if tool == "jax":
        import jax
        import jax.numpy as jnp

        if not jax.config.jax_enable_x64:
            return None
        return np.asarray(jax.grad(lambda v: jnp.sum(f(v)))(jnp.asarray(x)))
    import torch

    t = torch.tensor(x, requires_grad=True)
    torch.sum(f(t)).backward()
    return t.grad.numpy()


def _central_differences(f: Callable[[np.ndarray], Any], x: np.ndarray) -> np.ndarray:
    """d f / dx_i for scalar-valued ``f`` (or the elementwise derivative of an elementwise
    ``f``, from one evaluation a side), float64."""
    grad = np.empty_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += H
        down[i] -= H
        grad[i] = (np.sum(to_numpy(f(up))) - np.sum(to_numpy(f(down)))) / (2 * H)
    return grad


def _places(backends: Sequence[str] | None, dtypes: Sequence[str]) -> Iterator[tuple]:
    """``(label, backend, dtype)`` for every installed backend × dtype it has, then
    array-api-strict's ``device1`` (which refuses host conversion: the no-host-read check)."""
    places = [(be.name, be) for be in _backends(backends)]
    strict = backends is None or "array_api_strict" in backends
    if strict and importlib.util.find_spec("array_api_strict") is not None:
        places.append(
            ("array_api_strict device1", resolve_backend("array_api_strict", device="device1"))
        )
    for label, be in places:
        for dtype in dtypes:
            try:
                yield f"{label} {dtype}", be, be.dtype(dtype)
            except ValueError:  # float64 where the backend has none (JAX without x64)
                continue


def check_activation(
    activation: Activation, *, backends: Sequence[str] | None = None, dtypes=DTYPES
) -> list[str]:
    """Check ``activation``'s ``forward`` and ``derivative(z, a)`` on every installed backend.

    Its derivative is compared with central finite differences of its forward pass and with
    automatic differentiation (JAX, torch), at 40 points of both signs away from 0; every
    backend × dtype with NumPy float64; results keep the input's namespace, dtype and device;
    the input is not written to (a read-only NumPy array works); nothing reads back to the
    host (array-api-strict's ``device1``).  Returns what was checked; raises
    ``AssertionError`` listing the problems.
    """
    g, found = activation, _Found(f"activation {activation.name!r}")
    z = resolve_backend("numpy").asarray(_read_only(Z))
    a = _calls(found, "numpy float64: forward", lambda: g.forward(z))
    d = (
        None
        if a is None
        else _calls(found, "numpy float64: derivative", lambda: g.derivative(z, a))
    )
    if d is None:
        return found.result()
    want_a = np.asarray(to_numpy(a), dtype=np.float64)
    want_d = _central_differences(g.forward, Z)
    found.close(d, want_d, "numpy float64: derivative vs finite differences", rtol=1e-6, atol=1e-8)
    for tool in ("jax", "torch"):
        grad = _calls(found, f"{tool} autodiff", lambda t=tool: _autodiff(t, g.forward, Z))
        if grad is not None:
            found.close(d, grad, f"derivative vs {tool} autodiff", rtol=1e-10, atol=1e-12)
            found.checked.append(f"derivative against {tool} autodiff, float64")
    for where, be, dtype in _places(backends, dtypes):
        _activation_on(found, g, where, be, dtype, want_a, want_d)
    return found.result()


def _activation_on(
    found: _Found,
    g: Activation,
    where: str,
    be: Backend,
    dtype: Any,
    want_a: np.ndarray,
    want_d: np.ndarray,
) -> None:
    rtol, atol = _tolerance(_dtype_name(dtype))
    z = be.asarray(Z, dtype)
    a = _calls(found, f"{where}: forward", lambda: g.forward(z))
    d = None if a is None else _calls(found, f"{where}: derivative", lambda: g.derivative(z, a))
    if d is None or not all(
        [_kept(found, a, z, f"{where}: forward"), _kept(found, d, z, f"{where}: derivative")]
    ):
        return
    found.close(a, want_a, f"{where}: forward vs NumPy float64", rtol=rtol, atol=atol)
    found.close(
        d, want_d, f"{where}: derivative vs finite differences", rtol=rtol, atol=max(atol, 1e-8)
    )
    unchanged = np.asarray(Z.astype(_dtype_name(dtype)), dtype=np.float64)
    found.close(z, unchanged, f"{where}: its input, after the calls", rtol=0, atol=0)
    found.checked.append(f"{where}: forward and derivative (namespace, dtype, device, values)")


def _dtype_name(dtype: Any) -> str:
    return str(getattr(dtype, "name", dtype)).rpartition(".")[2]


#: the logits and targets a loss is checked at: 6 samples of 3 outputs, one-hot targets
#: (valid for sigmoid outputs with binary cross-entropy, softmax with categorical
#: cross-entropy and squared error alike)
LOGITS = np.random.default_rng(7).standard_normal((6, 3)) * 2
TARGETS = np.eye(3)[[0, 2, 1, 1, 0, 2]]


def check_loss(
    loss: Loss,
    *,
    y: np.ndarray | None = None,
    backends: Sequence[str] | None = None,
    dtypes=DTYPES,
) -> list[str]:
    """Check ``loss``'s ``value(z, y)`` and ``gradient(z, a, y)`` (``a = output(z)``) on
    every installed backend.

    Its gradient is compared with central finite differences of its value with respect to
    ``z`` and with automatic differentiation; every backend × dtype with NumPy float64; the
    value is a 0-d array and everything keeps the input's namespace, dtype and device; the
    inputs are not written to; nothing reads back to the host.  A loss that takes sample
    weights (``w=``: :func:`portnet.losses.takes_weights`) is checked weighted too, in
    NumPy float64: its weighted value against the repeated samples, its gradient against
    that value's finite differences.  ``y``: targets of shape ``(6, 3)`` (default: one-hot
    rows).  Returns what was checked; raises ``AssertionError`` listing the problems.
    """
    found = _Found(f"loss {loss.name!r}")
    Y = TARGETS if y is None else np.asarray(y, dtype=np.float64)
    numpy = resolve_backend("numpy")
    z, yy = numpy.asarray(_read_only(LOGITS)), numpy.asarray(_read_only(Y))
    J = _calls(found, "numpy float64: value", lambda: loss.value(z, yy))
    a = _calls(found, "numpy float64: output", lambda: loss.output.forward(z))
    dz = (
        None
        if a is None
        else _calls(found, "numpy float64: gradient", lambda: loss.gradient(z, a, yy))
    )
    if J is None or dz is None:
        return found.result()
    if not found.expect(
        getattr(J, "shape", None) == (),
        f"numpy float64: value of shape {getattr(J, 'shape', None)}, expected () (a 0-d array)",
    ):
        return found.result()
    value = lambda v: loss.value(v, numpy.asarray(Y))  # noqa: E731
    want_J, want_dz = float(to_numpy(J)), _central_differences(value, LOGITS)
    found.close(dz, want_dz, "numpy float64: gradient vs finite differences", rtol=1e-6, atol=1e-9)
    if takes_weights(loss):
        _weighted_loss(found, loss, numpy, Y)
    for tool in ("jax", "torch"):
        grad = _calls(
            found, f"{tool} autodiff", lambda t=tool: _autodiff(t, _value_of(loss, Y), LOGITS)
        )
        if grad is not None:
            found.close(dz, grad, f"gradient vs {tool} autodiff", rtol=1e-10, atol=1e-12)
            found.checked.append(f"gradient against {tool} autodiff, float64")
    for where, be, dtype in _places(backends, dtypes):
        _loss_on(found, loss, where, be, dtype, Y, want_J, want_dz)
    return found.result()


#: the sample weights a loss that takes them is checked with: integers, a zero among them
WEIGHTS = np.array([2.0, 0.0, 1.0, 3.0, 1.0, 1.0])


def _weighted_loss(found: _Found, loss: Loss, numpy: Backend, Y: np.ndarray) -> None:
    """``loss``'s weighted value and gradient (NumPy float64): the value that of the samples
    repeated as many times as their weights, the gradient the value's finite differences."""
    where = "numpy float64: weighted"
    z, yy, w = (numpy.asarray(_read_only(a)) for a in (LOGITS, Y, WEIGHTS))
    J = _calls(found, f"{where} value", lambda: loss.value(z, yy, w=w))
    a = loss.output.forward(z)
    dz = _calls(found, f"{where} gradient", lambda: loss.gradient(z, a, yy, w=w))
    if J is None or dz is None:
        return
    counts = WEIGHTS.astype(int)
    repeated = loss.value(*(numpy.asarray(np.repeat(v, counts, axis=0)) for v in (LOGITS, Y)))
    found.close(J, np.asarray(to_numpy(repeated)), f"{where} value vs repeated samples",
                rtol=1e-12, atol=1e-14)  # fmt: skip
    value = lambda v: loss.value(v, numpy.asarray(Y), w=numpy.asarray(WEIGHTS))  # noqa: E731
    found.close(dz, _central_differences(value, LOGITS), f"{where} gradient vs finite "
                "differences", rtol=1e-6, atol=1e-9)  # fmt: skip
    found.checked.append(f"{where} value (as repeated samples) and gradient")


def _value_of(loss: Loss, Y: np.ndarray) -> Callable[[Any], Any]:
    """``z -> loss.value(z, Y)``, ``Y`` put in ``z``'s namespace, dtype and device."""

    def value(z: Any) -> Any:
        return loss.value(z, aac.array_namespace(z).asarray(Y, dtype=z.dtype, device=aac.device(z)))

    return value


def _loss_on(
    found: _Found,
    loss: Loss,
    where: str,
    be: Backend,
    dtype: Any,
    Y: np.ndarray,
    want_J: float,
    want_dz: np.ndarray,
) -> None:
    rtol, atol = _tolerance(_dtype_name(dtype))
    z, y = be.asarray(LOGITS, dtype), be.asarray(Y, dtype)
    J = _calls(found, f"{where}: value", lambda: loss.value(z, y))
    a = _calls(found, f"{where}: output", lambda: loss.output.forward(z))
    dz = None if a is None else _calls(found, f"{where}: gradient", lambda: loss.gradient(z, a, y))
    if J is None or dz is None:
        return
    kept = [
        _kept(found, J, z, f"{where}: value"),
        _kept(found, a, z, f"{where}: output"),
        _kept(found, dz, z, f"{where}: gradient"),
    ]
    if not all(kept):
        return
    found.expect(J.shape == (), f"{where}: value of shape {tuple(J.shape)}, expected ()")
    found.close(J, np.asarray(want_J), f"{where}: value vs NumPy float64", rtol=rtol, atol=atol)
    found.close(
        dz, want_dz, f"{where}: gradient vs finite differences", rtol=rtol, atol=max(atol, 1e-9)
    )
    for name, given, host in (("z", z, LOGITS), ("y", y, Y)):
        unchanged = np.asarray(host.astype(_dtype_name(dtype)), dtype=np.float64)
        found.close(given, unchanged, f"{where}: its input {name}, after the calls", rtol=0, atol=0)
    found.checked.append(f"{where}: value, output and gradient (namespace, dtype, device, values)")


#: the parameters an optimiser is checked on (a 2-3-1 network) and the gradients of its 3 steps
#: (read-only: an optimiser that writes its inputs fails loudly)
_RNG = np.random.default_rng(11)
PARAMS = (
    Layer(_read_only(_RNG.standard_normal((3, 2))), _read_only(_RNG.standard_normal(3))),
    Layer(_read_only(_RNG.standard_normal((1, 3))), _read_only(_RNG.standard_normal(1))),
)
GRADS = tuple(
    tuple(
        Layer(_read_only(_RNG.standard_normal(W.shape)), _read_only(_RNG.standard_normal(b.shape)))
        for W, b in PARAMS
    )
    for _ in range(3)
)


def _host_tree(tree: Any) -> list[np.ndarray]:
    return [np.asarray(to_numpy(leaf), dtype=np.float64) for leaf in _tree_leaves(tree)]


def _optimize(opt: Optimizer, be: Backend, dtype: Any, step: Callable | None = None):
    """``opt``'s three steps from :data:`PARAMS` with :data:`GRADS` on ``be``: the
    parameters and state after each, and the placed inputs (to check they are unchanged)."""

    def place(tree: Any) -> tuple[Layer, ...]:  # NumPy: the read-only arrays themselves
        own = (lambda a: a) if be.name == "numpy" else np.array
        return tuple(Layer(be.asarray(own(W), dtype), be.asarray(own(b), dtype)) for W, b in tree)

    params, grads = place(PARAMS), [place(g) for g in GRADS]
    state, after = opt.init(params), []
    step = opt.step if step is None else step
    for g in grads:
        params, state = step(params, g, state)
        after.append((params, state))
    return after, (place(PARAMS), params, grads)


def check_optimizer(
    optimizer: Optimizer, *, backends: Sequence[str] | None = None, dtypes=DTYPES
) -> list[str]:
    """Check ``optimizer``'s ``init`` and ``step`` (and ``update`` beside a custom ``apply``)
    on every installed backend: three steps of a 2-3-1 network's parameters with fixed
    gradients give NumPy float64's numbers on every backend × dtype (and under ``jax.jit``);
    parameters and state keep the namespace, dtype and device and the state its structure;
    the inputs are not written to (read-only NumPy arrays work); nothing reads back to the
    host.  Returns what was checked; raises ``AssertionError`` listing the problems.
    """
    found = _Found(f"optimizer {optimizer.name!r}")
    numpy = resolve_backend("numpy")
    ran = _calls(found, "numpy float64", lambda: _optimize(optimizer, numpy, np.float64))
    if ran is None:
        return found.result()
    want = [_host_tree(p) + _host_tree(s) for p, s in ran[0]]
    if optimizer.apply is not None:  # step's shortcut against update + apply_updates

        def by_update(p: Any, g: Any, s: Any) -> Any:
            updates, s = optimizer.update(g, s, p)
            return apply_updates(p, updates), s

        other = _calls(
            found,
            "update + apply_updates",
            lambda: _optimize(optimizer, numpy, np.float64, by_update),
        )
        if other is not None:
            _same_steps(found, "numpy float64, update + apply_updates", other[0], want, 1e-15, 0)
    for where, be, dtype in _places(backends, dtypes):
        _optimizer_on(found, optimizer, where, be, dtype, want)
    return found.result()


def _same_steps(found: _Found, where: str, after: list, want: list, rtol: float, atol: float):
    """Each step's parameters and state leaves against ``want``'s (NumPy float64)."""
    for t, ((params, state), expected) in enumerate(zip(after, want, strict=True), start=1):
        got = _host_tree(params) + _host_tree(state)
        if not found.expect(
            len(got) == len(expected),
            f"{where}: step {t} has {len(got)} parameter and state arrays, NumPy {len(expected)}",
        ):
            return
        for i, (g, w) in enumerate(zip(got, expected, strict=True)):
            found.close(
                g, w, f"{where}: step {t}, array {i} (parameters, then state)", rtol=rtol, atol=atol
            )


def _optimizer_on(
    found: _Found, opt: Optimizer, where: str, be: Backend, dtype: Any, want: list
) -> None:
    rtol, atol = _tolerance(_dtype_name(dtype))
    ran = _calls(found, where, lambda: _optimize(opt, be, dtype))
    if ran is None:
        return
    after, (given, _, grads) = ran
    like = given[0].W
    structures = {_structure(state) for _, state in after}
    found.expect(len(structures) == 1, f"{where}: the state changes structure between steps")
    for t, tree in enumerate(after, start=1):
        if not all(_kept(found, leaf, like, f"{where}: step {t}") for leaf in _tree_leaves(tree)):
            return
    _same_steps(found, where, after, want, rtol, atol)
    for name, placed, host in (("params", given, PARAMS), ("grads", tuple(grads), GRADS)):
        for g, w in zip(_host_tree(placed), _host_tree(host), strict=True):
            unchanged = np.asarray(w.astype(_dtype_name(dtype)), dtype=np.float64)
            found.close(g, unchanged, f"{where}: its input {name}, after the steps", rtol=0, atol=0)
    if be.name == "jax":  # pure, static in structure: it compiles and gives the same numbers
        import jax

        compiled = _calls(
            found, f"{where} under jax.jit", lambda: _optimize(opt, be, dtype, jax.jit(opt.step))
        )
        if compiled is not None:
            _same_steps(found, f"{where} under jax.jit", compiled[0], want, rtol, atol)
    found.checked.append(f"{where}: 3 steps (namespace, dtype, device, structure, values)")


def _structure(tree: Any) -> Any:
    """A tree's shape: its node types and arity, leaves as their shapes."""
    if isinstance(tree, tuple):
        return (type(tree), tuple(_structure(t) for t in tree))
    return tuple(getattr(tree, "shape", ()))


#: the networks an Ops is checked on: no hidden layer, one, and three (two of equal widths: a
#: run's memory must hold one array per product of a pass, not one per shape)
OPS_HIDDEN = ((), (4,), (4, 4, 3))


def check_ops(ops: Ops, *, dtypes: Sequence[str] = DTYPES, exact: bool = False) -> list[str]:
    """Check ``ops``, an :class:`portnet.ops.Ops` of a new backend (or a faster one of an
    existing backend), against the plain Ops of its namespace on the same inputs.

    Two successive training steps (:func:`portnet.network.cost_and_gradients`, the second
    from other parameters) for every portnet activation × loss × 0, 1 and 3 hidden layers ×
    L2, in each dtype, and every operation alone (``linear``, ``activate``, ``output``,
    ``backprop`` through a layer of several units and of one, ``sum_samples``): the plain
    numbers (bit for bit with ``exact``, else within a few hundred ulp: an Ops may sum in
    another order), in the input's namespace, dtype and device; the first step's results
    unchanged by the second (memory an Ops reuses is never handed out); the caller's
    arrays unchanged (read-only on NumPy).  Returns what was checked; raises
    ``AssertionError`` listing the problems.
    """
    found = _Found(f"ops {type(ops).__name__}")
    be = _calls(found, "its namespace", lambda: resolve_backend(ops.xp))
    if be is None:
        return found.result()
    for name in dtypes:
        try:
            dtype = be.dtype(name)
        except ValueError:  # float64 where the backend has none (JAX without x64)
            continue
        where = f"{be.name} {name}"
        tolerance = (0.0, 0.0) if exact else _tolerance(name)
        for activation, loss, hidden in itertools.product(ACTIVATIONS, LOSSES, OPS_HIDDEN):
            net = Network(get_activation(activation), get_loss(loss), 0.3 if hidden else 0.0)
            _ops_steps(found, ops, be, dtype, net, hidden, f"{where} {activation}-{loss}-{hidden}",
                       tolerance)  # fmt: skip
        _ops_each(found, ops, be, dtype, where, tolerance)
        found.checked.append(f"{where}: two steps of {len(ACTIVATIONS) * len(LOSSES) * 3} nets")
    return found.result()


def _ops_problem(be: Backend, dtype: Any, net: Network, hidden: tuple[int, ...], seed: int):
    """X, Y and parameters of a small problem on ``be`` (NumPy: read-only), and their host
    numbers, in that order."""
    rng = np.random.default_rng(seed)
    k = 1 if net.loss.name == "binary_crossentropy" else 3
    sizes = (3, *hidden, k)
    host = [rng.standard_normal((9, 3))]
    if net.loss.name == "squared_error":
        host.append(rng.standard_normal((9, k)))
    else:
        host.append(np.eye(k)[rng.integers(0, k, 9)] if k > 1 else rng.integers(0, 2, (9, 1)) * 1.0)
    for n_in, n_out in itertools.pairwise(sizes):
        host += [rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)]
    own = _read_only if be.name == "numpy" else np.array
    placed = [be.asarray(own(a), dtype) for a in host]
    params = tuple(Layer(placed[i], placed[i + 1]) for i in range(2, len(placed), 2))
    return placed[0], placed[1], params, host


def _leaves(result: tuple[Any, Any]) -> list[Any]:
    """A step's cost and gradients, as a list of arrays."""
    return [result[0], *_tree_leaves(result[1])]


def _ops_steps(found, ops, be, dtype, net, hidden, where, tolerance) -> None:
    """Two steps with ``ops`` against the plain Ops; the first's results kept; inputs kept."""
    first = None
    for seed in (1, 2):
        X, Y, params, host = _ops_problem(be, dtype, net, hidden, seed)
        step = functools.partial(cost_and_gradients, params, X, Y, net)
        got = _calls(found, where, lambda step=step: step(ops=ops))
        if got is None or not all(_kept(found, a, X, where) for a in _leaves(got)):
            return
        want = _leaves(step(ops=Ops(be.xp)))
        for i, (g, w) in enumerate(zip(_leaves(got), want, strict=True)):
            found.close(g, np.asarray(to_numpy(w), dtype=np.float64),
                        f"{where}, step {seed}: result {i}", rtol=tolerance[0],
                        atol=tolerance[1])  # fmt: skip
        for i, (given, h) in enumerate(zip([X, Y, *_tree_leaves(params)], host, strict=True)):
            unchanged = h.astype(_dtype_name(dtype)).astype(np.float64)
            found.close(given, unchanged, f"{where}: its input {i} after the step", rtol=0, atol=0)
        if first is None:
            first = (got, [np.asarray(to_numpy(a), dtype=np.float64) for a in _leaves(got)])
    result, copies = first
    for i, (a, copy) in enumerate(zip(_leaves(result), copies, strict=True)):
        found.close(a, copy, f"{where}: step 1's result {i}, after step 2", rtol=0, atol=0)


def _ops_each(found, ops, be, dtype, where, tolerance) -> None:
    """Each operation alone against the plain Ops', on fresh copies of the same inputs."""
    plain, (rtol, atol) = Ops(be.xp), tolerance
    rng = np.random.default_rng(5)
    z = be.asarray(Z, dtype)

    def fresh(a: Any) -> Any:
        return be.xp.asarray(a, copy=True)

    def same(name: str, call: Callable[[Ops], Any]) -> None:
        got = _calls(found, f"{where}: {name}", lambda: call(ops))
        if got is not None and _kept(found, got, z, f"{where}: {name}"):
            want = np.asarray(to_numpy(call(plain)), dtype=np.float64)
            found.close(got, want, f"{where}: {name}", rtol=rtol, atol=atol)

    W, b = (be.asarray(rng.standard_normal(s), dtype) for s in ((8, 6), (8,)))
    A = be.asarray(rng.standard_normal((6, 5)), dtype)
    same("linear", lambda o: o.linear(W, A, b))
    same("sum_samples", lambda o: o.sum_samples(fresh(z)))
    for g in (*(get_activation(a) for a in ACTIVATIONS), softmax):
        same(f"output {g.name}", lambda o, g=g: o.output(g, fresh(z)))
    for g in (get_activation(a) for a in ACTIVATIONS):
        same(f"activate {g.name}", lambda o, g=g: o.activate(g, fresh(z)))
        for n in (3, 1):  # a layer of several units, and of one (an outer product)
            Wn, dZ = (be.asarray(rng.standard_normal(s), dtype) for s in ((n, 8), (n, 5)))

            def backprop(o: Ops, g=g, Wn=Wn, dZ=dZ) -> Any:
                Zc = fresh(z)
                return o.backprop(g, Wn, dZ, Zc, o.activate(g, Zc))

            same(f"backprop {g.name}, {n} unit(s)", backprop)
