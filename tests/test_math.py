"""The seed equations: activation derivatives and backpropagation against independent references.

- central finite differences (NumPy, float64) for every activation × loss × depth × L2;
- automatic differentiation of the forward pass (``jax.grad``, ``torch.autograd``) for the
  hand-written backward pass, run on every installed backend × dtype;
- the cross-entropy taken from the logits stays finite, without warnings, at |z| = 1e4.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from array_api_extra.testing import assert_close

from portnet import _namespace, activations, losses, network
from portnet.network import Layer, Network

from .conftest import host, on, require

ACTIVATIONS = tuple(activations.ACTIVATIONS)  # every registered one
LOSSES = tuple(losses.LOSSES)
DEPTHS = {0: (), 1: (4,), 3: (5, 4, 3)}
CONFIGS = [
    pytest.param(a, loss, d, l2, id=f"{a}-{loss}-depth{d}-l2={l2}")
    for a, loss, d, l2 in itertools.product(ACTIVATIONS, LOSSES, DEPTHS, (0.0, 0.7))
]


def problem(activation: str, loss: str, depth: int, l2: float):
    """A small random problem in float64 NumPy: params, X (7, 3), Y (7, k), network."""
    rng = np.random.default_rng(42)
    k = {"binary_crossentropy": 1, "categorical_crossentropy": 3}.get(loss, 2)
    sizes = (3, *DEPTHS[depth], k)
    params = tuple(
        Layer(rng.standard_normal((o, i)) * 0.8, rng.standard_normal(o) * 0.5)
        for i, o in itertools.pairwise(sizes)
    )
    X = rng.standard_normal((7, 3))
    if loss == "binary_crossentropy":
        Y = rng.integers(0, 2, (7, 1)).astype(np.float64)
    elif loss == "categorical_crossentropy":
        Y = np.eye(k)[rng.integers(0, k, 7)]  # one-hot rows
    else:
        Y = rng.standard_normal((7, k))
    leaky = activations.leaky_relu(0.1) if activation == "leaky_relu" else activation
    net = Network(activations.get_activation(leaky), losses.get_loss(loss), l2)
    return params, X, Y, net


def flatten(params) -> np.ndarray:
    return np.concatenate([np.ravel(host(p)) for layer in params for p in layer])


def unflatten(theta, like):
    out, i = [], 0
    for W, b in like:
        W_ = theta[i : i + W.size].reshape(W.shape)
        i += W.size
        out.append(Layer(W_, theta[i : i + b.size]))
        i += b.size
    return tuple(out)


# -- activations --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_derivative_matches_finite_differences(name: str):
    g = activations.get_activation(name)
    z = np.concatenate([np.linspace(-6, -0.05, 40), np.linspace(0.05, 6, 40)])
    h = 1e-6
    numeric = (g.forward(z + h) - g.forward(z - h)) / (2 * h)
    assert_close(g.derivative(z, g.forward(z)), numeric, rtol=1e-7, atol=1e-9)


def test_leaky_relu_slope_is_configurable():
    g = activations.leaky_relu(0.2)
    z = np.asarray([-2.0, -0.5, 0.5, 3.0])
    assert_close(g.forward(z), np.asarray([-0.4, -0.1, 0.5, 3.0]))
    assert_close(g.derivative(z, g.forward(z)), np.asarray([0.2, 0.2, 1.0, 1.0]))
    assert activations.get_activation("leaky_relu").options == (("slope", 0.01),)
    with pytest.raises(ValueError, match=r"slope must be in \[0, 1\), got 1.5"):
        activations.leaky_relu(1.5)


def test_activation_values_are_the_course_formulas(backend, dtype):
    """On every backend (each spells some of them its own way: ReLU as ``maximum`` or
    ``clip``), in its dtype."""
    be = on(backend)
    dt = be.dtype(dtype)
    z_host = np.linspace(-5, 5, 11)
    z = be.asarray(z_host, dt)
    expected = {
        "sigmoid": 1 / (1 + np.exp(-z_host)),
        "tanh": np.tanh(z_host),
        "relu": np.maximum(z_host, 0),
        "leaky_relu": np.where(z_host > 0, z_host, 0.01 * z_host),
        "identity": z_host,
    }
    rtol = 1e-13 if dtype == "float64" else 1e-6
    for name, value in expected.items():
        got = activations.get_activation(name)(z)
        assert type(got) is type(z), name
        assert got.dtype == dt, name
        assert_close(host(got), value, rtol=rtol, atol=rtol, err_msg=name)


@pytest.mark.parametrize("outer", [False, True], ids=["dA", "dA=col·row"])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_backprop_is_dA_times_the_derivative(backend, dtype, name: str, outer: bool):
    """``backprop(dA, z, a)`` and ``backprop_outer(col, row, z, a)`` (tanh's and sigmoid's
    written in place, into ``dA`` or the dead activation ``a``) give ``dA ∘ g'(z)``, in the
    backend's namespace and dtype, and leave ``z`` alone (only ``dA`` and ``a`` are theirs to
    overwrite)."""
    be = on(backend)
    dt = be.dtype(dtype)
    g = activations.get_activation(name)
    rng = np.random.default_rng(3)
    z_host = np.concatenate([np.linspace(-4, -0.05, 20), np.linspace(0.05, 4, 20)]).reshape(8, 5)
    col, row = rng.standard_normal((8, 1)), rng.standard_normal((1, 5))
    dA_host = col * row if outer else rng.standard_normal((8, 5))
    z = be.asarray(z_host, dt)
    a = g.forward(z)
    expected = host(be.asarray(dA_host, dt)) * host(g.derivative(z, a))
    if outer:
        got = g.backprop_outer(be.asarray(col, dt), be.asarray(row, dt), z, g.forward(z))
    else:
        got = g.backprop(be.asarray(dA_host, dt), z, g.forward(z))
    assert type(got) is type(z)
    assert got.dtype == dt
    assert got.shape == z.shape
    # float32: dA·(1 − a²) loses digits where tanh saturates, however it is written
    rtol = 1e-13 if dtype == "float64" else 1e-5
    assert_close(host(got), expected, rtol=rtol, atol=rtol)
    np.testing.assert_array_equal(host(z), host(be.asarray(z_host, dt)))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activate_is_forward_and_backprop_reads_a_alone(backend, dtype, name: str):
    """``activate(z)`` (a hidden layer's activation, tanh's written into ``z``) gives the
    numbers of ``forward(z)``, and backpropagation handed the ``z`` it may have overwritten
    still gives ``dA ∘ g'(z)`` of the original ``z``."""
    be = on(backend)
    dt = be.dtype(dtype)
    g = activations.get_activation(name)
    z_host = np.concatenate([np.linspace(-4, -0.05, 20), np.linspace(0.05, 4, 20)]).reshape(8, 5)
    dA_host = np.random.default_rng(4).standard_normal((8, 5))
    original = be.asarray(z_host, dt)
    expected = host(be.asarray(dA_host, dt)) * host(g.derivative(original, g.forward(original)))
    z = be.asarray(z_host, dt) + 0  # a fresh array, as the forward pass makes it
    a = g.activate(z)
    np.testing.assert_array_equal(host(a), host(g.forward(original)))
    if name in ("tanh", "relu", "leaky_relu"):  # no allocation: the point of activate
        if backend == "numpy":
            assert np.shares_memory(a, z)
        elif backend == "torch":
            assert a.data_ptr() == z.data_ptr()
    got = g.backprop(be.asarray(dA_host, dt), z, a)
    rtol = 1e-13 if dtype == "float64" else 1e-5
    assert_close(host(got), expected, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_relu_backprop_writes_its_derivative_into_a(backend, dtype, name: str):
    """ReLU's and leaky ReLU's backprop give ``dA ∘ g'(z)`` bit for bit, also at ``z = 0`` and
    ``-0.0`` (derivative 0, or the slope, as in seed 003), with their derivative built in the
    dead activation's memory where the library takes ``out=`` (NumPy, torch: no new array
    but the result, which is ``dA``'s); backprop_outer writes into that memory too."""
    be = on(backend)
    dt = be.dtype(dtype)
    g = activations.get_activation(name)
    z_host = np.array([[-3.0, -0.0, 0.0, 1e-30, 2.5], [0.5, -1e-30, 0.0, -2.0, 7.0]])
    dA_host = np.random.default_rng(5).standard_normal(z_host.shape)
    z = be.asarray(z_host, dt)
    a = g.forward(z)
    expected = host(be.asarray(dA_host, dt) * g.derivative(z, a))
    slope = dict(g.options).get("slope", 0.0)
    derivative = host(be.asarray(np.where(z_host > 0, 1.0, slope), dt))  # in the dtype
    np.testing.assert_array_equal(host(g.derivative(z, a)), derivative)
    dA = be.asarray(dA_host, dt)
    got = g.backprop(dA, z, a)
    np.testing.assert_array_equal(host(got), expected)
    if backend == "numpy":
        assert np.shares_memory(got, dA)
        np.testing.assert_array_equal(a, derivative)  # a held the derivative
    elif backend == "torch":
        assert got.data_ptr() == dA.data_ptr()
        np.testing.assert_array_equal(host(a), derivative)
    # dA = col·row (a single output unit): never made, the result written into a; ReLU's bit
    # for bit (its derivative is 0 or 1), leaky ReLU's up to rounding ((g'·row)·col)
    col, row = be.asarray(dA_host[:, :1], dt), be.asarray(dA_host[:1, :], dt)
    expected = host((col * row) * g.derivative(z, g.forward(z)))
    a = g.forward(z)
    got = g.backprop_outer(col, row, z, a)
    if name == "relu":
        np.testing.assert_array_equal(host(got), expected)
    else:
        assert_close(host(got), expected, rtol=1e-6 if dtype == "float32" else 1e-15)
    if backend == "numpy":
        assert np.shares_memory(got, a)
    elif backend == "torch":
        assert got.data_ptr() == a.data_ptr()


# -- large batches: the activations' passes block by block (NumPy) ------------------------------
def _tiny_blocks(monkeypatch: pytest.MonkeyPatch, block: int = 64) -> None:
    """Make every array "large": blocks of ``block`` bytes, nothing computed whole."""
    monkeypatch.setattr(_namespace, "BLOCK_BYTES", block)
    monkeypatch.setattr(_namespace, "TORCH_BLOCK_BYTES", block)
    monkeypatch.setattr(_namespace, "WHOLE_BYTES", 0)


def _in_place(col, row, z, a):  # writes into a, as tanh's backward_outer does
    a *= row
    a += col
    a *= z
    return a


def _fresh(col, row, z, a):  # makes a new array, as the default backprop does
    return (a * row + col) * z - 0.5


def _laid_out(be, host_array):
    """``host_array`` on backend ``be``, laid out in memory as the network lays out its
    ``(n, m)`` arrays there: samples-first (the transpose of a row-major array) on torch."""
    if _namespace.samples_first(be.xp):
        return be.asarray(np.ascontiguousarray(host_array.T)).T
    return be.asarray(host_array)


@pytest.mark.parametrize("blocking", ["numpy", "torch"])  # the libraries that run blocks
@pytest.mark.parametrize("f", [_in_place, _fresh], ids=["in-place", "new-array"])
@pytest.mark.parametrize(
    ("shape", "block"),
    [((7, 13), 64), ((7, 13), 8), ((1, 50), 64), ((50, 1), 64)],
    ids=["rows", "row-split-in-columns", "one-row", "one-column"],
)
def test_in_blocks_gives_the_same_numbers_bit_for_bit(monkeypatch, f, shape, block, blocking):
    """in_blocks cuts the (n, m) arguments into blocks (NumPy, a (7, 13) float64 array: rows
    of 104 bytes, two rows a 256-byte block, or a row in pieces of 8 bytes; torch, laid out
    samples-first: columns of 56 bytes, one column a block, or in pieces) and the
    broadcasting ones along with them: the very numbers of one call on the whole arrays."""
    require(blocking)
    be = on(blocking)
    rng = np.random.default_rng(5)
    n, m = shape
    col, row = rng.standard_normal((n, 1)), rng.standard_normal((1, m))
    z, a = rng.standard_normal(shape), rng.standard_normal(shape)
    expected = f(col, row, z.copy(), a.copy())
    col, row, z, a = (_laid_out(be, x) for x in (col, row, z, a))
    calls = []

    def counting(*args):
        calls.append(tuple(args[3].shape))
        return f(*args)

    _tiny_blocks(monkeypatch, block)
    got = _namespace.in_blocks(counting, col, row, z, a, into=3)
    np.testing.assert_array_equal(host(got), expected)
    assert len(calls) > 1  # it did cut
    assert sum(r * c for r, c in calls) == n * m  # every element once
    if _namespace.samples_first(be.xp):  # blocks of whole columns where a column fits
        assert all(r == n for r, _ in calls) or 8 * n > block
    else:  # blocks of whole rows where a row fits
        assert all(c == m for _, c in calls) or 8 * m > block
    assert (got is a) == (f is _in_place)  # in place: the result is a's memory
    if f is _fresh and n > 1 and m > 1:  # a new array, laid out as the inputs are
        assert _same_layout(got, a)


def _same_layout(x, y) -> bool:
    if hasattr(x, "stride"):  # torch
        return x.stride() == y.stride()
    return x.flags.c_contiguous == y.flags.c_contiguous


def test_in_blocks_computes_whole_elsewhere_and_for_small_arrays(backend, monkeypatch):
    be = on(backend)
    a = be.asarray(np.ones((6, 5)))
    calls = []

    def f(a):
        calls.append(a.shape)
        return a * 2

    _namespace.in_blocks(f, a, into=0)  # 240 bytes: under WHOLE_BYTES
    _tiny_blocks(monkeypatch)
    got = _namespace.in_blocks(f, a, into=0)
    np.testing.assert_array_equal(host(got), np.full((6, 5), 2.0))
    if backend == "numpy":  # whole while small, then rows of 40 bytes: a row a block
        assert calls == [(6, 5)] + [(1, 5)] * 6
    elif backend == "torch":  # columns of 48 bytes (samples-first in memory): one a block
        assert calls == [(6, 5)] + [(6, 1)] * 5
    else:  # whole both times
        assert calls == [(6, 5)] * 2


def test_in_blocks_computes_whole_on_a_torch_device_other_than_the_cpu():
    torch = pytest.importorskip("torch", reason="backend 'torch' is not installed")
    assert _namespace.block_bytes(torch.ones(2, 2)) == _namespace.TORCH_BLOCK_BYTES
    assert _namespace.block_bytes(torch.empty(2, 2, device="meta")) is None


# -- tanh where the library's own is slow (torch's CPU): expm1(2x) / (expm1(2x) + 2) ---------------
_SPECIAL = [0.0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, 1e-3, 0.5, 9.9, 10.0, 19.9, 20.5, 50.0, -50.0]
_SPECIAL += [400.0, -400.0, np.inf, -np.inf, np.nan]


def _tanh_problem(dtype, *, m=4096):
    """(64, m) values: normal samples × 3 (and some × 1e-6, near 0) and the special values."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((64, m)) * 3
    x[::2, ::2] *= 1e-6
    x[0, : len(_SPECIAL)] = _SPECIAL
    return x.astype(dtype)


@pytest.mark.parametrize("blocks", [False, True], ids=["whole", "in-blocks"])
@pytest.mark.parametrize("writable", [False, True], ids=["new-array", "in-place"])
def test_tanh_of_is_tanh_within_a_few_ulp(backend, dtype, monkeypatch, writable, blocks):
    """tanh_of, the activation's tanh (the library's, or on torch's CPU the expm1 form),
    within 3 ulp of tanh (long double; XLA's own: 5) on a 1 MiB float32 array and more;
    ±0, ±∞, NaN, overflow of exp(2x) and tiny values as tanh; written into ``x`` when
    ``writable``, ``x`` left alone otherwise; the same numbers whole and block by block."""
    be = on(backend)
    x_host = _tanh_problem(dtype)
    expected = np.tanh(x_host.astype(np.longdouble))
    x = _laid_out(be, x_host)  # in x_host's dtype
    assert x.dtype == be.dtype(dtype)
    whole = None
    if blocks:  # 64 KiB blocks, against the whole array
        whole = host(_namespace.tanh_of(be.xp.asarray(x, copy=True), writable=True))
        _tiny_blocks(monkeypatch, 64 * 1024)
    got = _namespace.tanh_of(x, writable=writable)
    assert type(got) is type(x)
    assert got.dtype == x.dtype
    got = host(got)
    if writable and _namespace._takes_out(be.xp):
        np.testing.assert_array_equal(host(x), got)  # written into x
    elif not writable:
        np.testing.assert_array_equal(host(x), x_host)  # x left alone
    if whole is not None:
        np.testing.assert_array_equal(got, whole)
    finite = np.isfinite(x_host)
    np.testing.assert_array_equal(got[~finite], np.tanh(x_host[~finite]))  # ±1, NaN
    np.testing.assert_array_equal(np.signbit(got), np.signbit(x_host))  # ±0 too
    ulp = np.spacing(np.abs(expected[finite]).astype(dtype))
    err = np.abs(got[finite].astype(np.longdouble) - expected[finite]) / ulp
    # the expm1 form: up to 2.5 ulp (the sum e + 2, the division and expm1's own); XLA's
    # tanh (a rational approximation): up to 4.6
    bound = 5 if backend == "jax" else 3
    assert err.max() <= bound, f"{err.max():.2f} ulp at x = {x_host[finite][np.argmax(err)]!r}"


def test_tanh_of_takes_the_expm1_form_only_for_large_torch_cpu_arrays(monkeypatch):
    """Where the expm1 form runs: torch's CPU, at least TANH_BY_EXPM1_BYTES, not tracked by
    autograd (it writes in place), nowhere else (NumPy's, JAX's tanh are fast)."""
    torch = pytest.importorskip("torch", reason="backend 'torch' is not installed")
    calls = []
    form = _namespace._tanh_by_expm1
    monkeypatch.setattr(_namespace, "_tanh_by_expm1", lambda x: calls.append(x.shape) or form(x))
    large = _namespace.TANH_BY_EXPM1_BYTES // 4  # float32 elements
    _namespace.tanh_of(torch.ones(large), writable=True)
    _namespace.tanh_of(torch.ones(large - 1), writable=True)
    _namespace.tanh_of(torch.ones(large, requires_grad=True), writable=False)
    _namespace.tanh_of(np.ones(large, dtype=np.float32), writable=True)
    assert calls == [(large,)]
    tracked = torch.linspace(-3, 3, large, requires_grad=True)
    _namespace.tanh_of(tracked, writable=False).sum().backward()  # autograd still works
    assert_close(tracked.grad, 1 - torch.tanh(tracked.detach()) ** 2)


@pytest.mark.parametrize("blocking", ["numpy", "torch"])
@pytest.mark.parametrize(("activation", "loss", "depth", "l2"), CONFIGS)
def test_backprop_in_blocks_gives_the_same_gradients_bit_for_bit(
    activation, loss, depth, l2, monkeypatch, blocking
):
    require(blocking)
    be = on(blocking)
    params, X, Y, net = problem(activation, loss, depth, l2)
    params = tuple(Layer(be.asarray(W), be.asarray(b)) for W, b in params)
    X, Y = be.asarray(X), be.asarray(Y)
    J, grads = network.cost_and_gradients(params, X, Y, net)
    _tiny_blocks(monkeypatch)
    J_blocks, grads_blocks = network.cost_and_gradients(params, X, Y, net)
    assert host(J_blocks) == host(J)
    np.testing.assert_array_equal(flatten(grads_blocks), flatten(grads))


# -- a training run's workspace: products written into arrays reused step after step ------------
def test_workspace_products_reuse_one_array_per_key_and_shape(backend, dtype):
    be = on(backend)
    rng = np.random.default_rng(3)
    a, b = (be.asarray(rng.standard_normal(s), be.dtype(dtype)) for s in ((5, 4), (4, 6)))
    ws = be.workspace()  # on torch, one that writes its products with torch.matmul itself
    if not _namespace.reuses_arrays(be.xp):
        assert ws is None
        assert be.run_gradients() is be.gradients  # no workspace where nothing is reused
        return
    assert isinstance(ws, _namespace.Workspace)
    first = ws.product(a, b, key="Z")
    np.testing.assert_array_equal(host(first), host(a @ b))  # the very numbers of a @ b
    again = ws.product(2 * a, b, key="Z")  # the same key and shape: the same memory
    np.testing.assert_array_equal(host(again), host((2 * a) @ b))
    other = ws.product(a, b, key="dA")  # another key: another array
    smaller = ws.product(a[:3], b, key="Z")  # another shape (a last, smaller batch)
    assert _same_memory(first, again)
    assert not _same_memory(first, other)
    assert not _same_memory(first, smaller)
    assert tuple(smaller.shape) == (3, 6)
    if dtype == "float32":  # two dtypes: a @ b itself, promoted
        wide = ws.product(a, be.asarray(host(b), be.dtype("float64")), key="Z")
        assert wide.dtype == be.dtype("float64")
    gradients = be.run_gradients()
    assert isinstance(gradients.keywords["workspace"], _namespace.Workspace)
    assert be.run_gradients().keywords["workspace"] is not gradients.keywords["workspace"]


def _same_memory(x, y) -> bool:
    if hasattr(x, "data_ptr"):  # torch
        return x.data_ptr() == y.data_ptr()
    return np.shares_memory(x, y)


@pytest.mark.parametrize("reusing", ["numpy", "torch"])  # reuses_arrays: the backends it serves
@pytest.mark.parametrize(("activation", "loss", "depth", "l2"), CONFIGS)
def test_backprop_with_a_workspace_gives_the_same_gradients_bit_for_bit(
    activation, loss, depth, l2, reusing
):
    """Gradients with a workspace are the very numbers of those without, and what one step
    returns is not overwritten by the next step (nothing returned lives in the workspace)."""
    require(reusing)
    be = on(reusing)
    params, X, Y, net = problem(activation, loss, depth, l2)
    params = tuple(Layer(be.asarray(W), be.asarray(b)) for W, b in params)
    X, Y = be.asarray(X), be.asarray(Y)
    other = tuple(Layer(2 * W, b - 1) for W, b in params)
    ws = be.workspace()  # as a training run's (torch: products by torch.matmul itself)
    J, grads = network.cost_and_gradients(params, X, Y, net, workspace=ws)
    kept = (host(J), flatten(grads))
    J_other, grads_other = network.cost_and_gradients(other, X, Y, net, workspace=ws)
    assert (host(J), flatten(grads).tolist()) == (kept[0], kept[1].tolist())
    J_ref, grads_ref = network.cost_and_gradients(params, X, Y, net)
    assert kept[0] == host(J_ref)
    np.testing.assert_array_equal(kept[1], flatten(grads_ref))
    J_ref, grads_ref = network.cost_and_gradients(other, X, Y, net)
    assert host(J_other) == host(J_ref)
    np.testing.assert_array_equal(flatten(grads_other), flatten(grads_ref))


# -- backpropagation vs finite differences --------------------------------------------------------
def numeric_gradient(params, X, Y, net, h=1e-6) -> np.ndarray:
    """d cost / d θ by central finite differences (flattened as :func:`flatten`)."""
    theta = flatten(params)
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        plus = network.cost(unflatten(theta + e, params), X, Y, net)
        minus = network.cost(unflatten(theta - e, params), X, Y, net)
        numeric[i] = (plus - minus) / (2 * h)
    return numeric


@pytest.mark.parametrize(("activation", "loss", "depth", "l2"), CONFIGS)
def test_gradients_match_finite_differences(activation, loss, depth, l2):
    params, X, Y, net = problem(activation, loss, depth, l2)
    J, grads = network.cost_and_gradients(params, X, Y, net)
    assert_close(flatten(grads), numeric_gradient(params, X, Y, net), rtol=1e-6, atol=1e-8)
    assert_close(J, network.cost(params, X, Y, net))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize(("activation", "loss", "depth", "l2"), CONFIGS)
def test_layers_are_laid_out_as_the_library_runs_them_with_the_same_numbers(
    backend, activation, loss, depth, l2, monkeypatch: pytest.MonkeyPatch
):
    """Every layer's ``(n, m)`` array is row-major on NumPy (as in the course) and
    samples-first in memory on torch (``_namespace.samples_first``: the transpose of a
    row-major ``(m, n)`` one), and the cost and gradients are those of the other layout's
    products up to rounding."""
    if backend != "numpy":
        pytest.importorskip(backend)
    be = on(backend)
    f64 = be.dtype("float64")
    params, X, Y, net = problem(activation, loss, depth, l2)
    params = tuple(Layer(be.asarray(W, f64), be.asarray(b, f64)) for W, b in params)
    X, Y = be.asarray(X, f64), be.asarray(Y, f64)

    def row_major(Z):
        return Z.flags.c_contiguous if backend == "numpy" else Z.is_contiguous()

    fast = backend == "numpy"  # whether row-major (n, m) is the fast layout
    _, cache = network._forward(params, X, net)
    for _, Z in cache:
        assert row_major(Z if fast else Z.T), Z.stride() if backend == "torch" else Z.strides
    J, grads = network.cost_and_gradients(params, X, Y, net)
    monkeypatch.setattr(network, "samples_first", lambda xp: fast)
    _, cache = network._forward(params, X, net)
    assert all(row_major(Z.T if fast else Z) for _, Z in cache)
    J_other, grads_other = network.cost_and_gradients(params, X, Y, net)
    assert_close(host(J), host(J_other), rtol=1e-14)
    assert_close(flatten(grads), flatten(grads_other), rtol=1e-13, atol=1e-15)


# -- backpropagation vs automatic differentiation, on every backend ------------------------------
@functools.cache
def autodiff_reference(tool: str, activation, loss, depth, l2) -> np.ndarray:
    """d cost / d θ by automatic differentiation of the forward pass, float64."""
    params, X, Y, net = problem(activation, loss, depth, l2)
    if tool == "jax":
        jax = pytest.importorskip("jax")
        import jax.numpy as jnp

        jparams = tuple(Layer(jnp.asarray(W), jnp.asarray(b)) for W, b in params)
        grads = jax.grad(network.cost)(jparams, jnp.asarray(X), jnp.asarray(Y), net)
    else:
        torch = pytest.importorskip("torch")
        tparams = tuple(
            Layer(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
            for W, b in params
        )
        network.cost(tparams, torch.tensor(X), torch.tensor(Y), net).backward()
        grads = tuple(Layer(W.grad, b.grad) for W, b in tparams)
    return flatten(grads)


@pytest.mark.parametrize("tool", ["jax", "torch"])
@pytest.mark.parametrize(("activation", "loss", "depth", "l2"), CONFIGS)
def test_gradients_match_autodiff(backend, dtype, tool, activation, loss, depth, l2):
    pytest.importorskip(tool, reason=f"{tool} (the autodiff reference) is not installed")
    reference = autodiff_reference(tool, activation, loss, depth, l2)
    params, X, Y, net = problem(activation, loss, depth, l2)
    be = on(backend)
    dt = be.dtype(dtype)
    bparams = tuple(Layer(be.asarray(W, dt), be.asarray(b, dt)) for W, b in params)
    _, grads = network.cost_and_gradients(bparams, be.asarray(X, dt), be.asarray(Y, dt), net)
    for W, b in grads:  # the gradients stay in the backend's namespace and dtype
        assert type(W) is type(bparams[0].W)
        assert W.dtype == dt
        assert b.dtype == dt
    rtol, atol = (1e-10, 1e-12) if dtype == "float64" else (2e-4, 2e-5)
    assert_close(flatten(grads), reference, rtol=rtol, atol=atol)


# -- numerical stability -------------------------------------------------------------------------
def test_cross_entropy_is_stable_at_huge_logits(backend, dtype):
    be = on(backend)
    xp, dt = be.xp, be.dtype(dtype)
    z = be.asarray([[1e4], [-1e4], [1e4], [-1e4], [0.0], [30.0]], dt)
    y = be.asarray([[1.0], [0.0], [0.0], [1.0], [1.0], [0.0]], dt)
    loss = losses.binary_crossentropy
    a = loss.output.forward(z)
    value = loss.value(z, y)
    grad = loss.gradient(z, a, y)
    assert bool(xp.all(xp.isfinite(a)))
    assert bool(xp.all((a >= 0) & (a <= 1)))
    assert bool(xp.all(xp.isfinite(grad)))
    # two samples cost 1e4 each (confidently wrong), two cost 0, then log 2 and ≈30
    expected = (2e4 + np.log(2) + 30 + np.log1p(np.exp(-30))) / 6
    assert be.read(value) == pytest.approx(expected, rel=1e-6)
    assert_close(host(grad), (host(a) - host(y)) / 6, rtol=1e-6, atol=1e-12)


def test_sigmoid_is_finite_and_accurate_at_the_extremes(backend, dtype):
    be = on(backend)
    dt = be.dtype(dtype)
    a = host(activations.sigmoid(be.asarray([-1e4, -800.0, 0.0, 800.0, 1e4], dt)))
    np.testing.assert_array_equal(a[2:], [0.5, 1.0, 1.0])
    # below about -log(max float) σ underflows; it is capped at ~1/max float instead of
    # overflowing exp: 0 to the cross-entropy and the gradient, and no warning
    tiny = 2 * np.finfo(dtype).tiny
    assert np.all((a[:2] >= 0) & (a[:2] <= tiny))
    z = np.array(
        [-80.0, -50.0, -20.0, -1.0, 1.0, 20.0, 50.0]
        if dtype == "float32"
        else [-700.0, -300.0, -50.0, -1.0, 1.0, 20.0, 50.0]
    )
    exact = np.exp(-np.logaddexp(0.0, -z))  # σ(z) in float64, accurately
    got = host(activations.sigmoid(be.asarray(z, dt)))
    np.testing.assert_allclose(got, exact, rtol=4 * np.finfo(dtype).eps)


def test_training_with_huge_logits_stays_finite(backend, dtype):
    """A first step from weights that put the logits at ~1e4 must not produce NaN/inf."""
    be = on(backend)
    dt = be.dtype(dtype)
    params = (Layer(be.asarray([[1e4, -1e4]], dt), be.asarray([0.0], dt)),)
    X = be.asarray([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dt)
    Y = be.asarray([[0.0], [1.0], [1.0]], dt)
    net = Network(activations.tanh, losses.binary_crossentropy)
    new, J = network.gradient_descent_step(params, X, Y, net, 0.1)
    assert np.isfinite(be.read(J))
    assert np.all(np.isfinite(host(new[0].W)))


def test_softmax_cross_entropy_is_stable_at_huge_logits(backend, dtype):
    be = on(backend)
    xp, dt = be.xp, be.dtype(dtype)
    z = be.asarray([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4], [0.0, 0.0, 0.0]], dt)
    y = be.asarray([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dt)
    loss = losses.categorical_crossentropy
    a = loss.output.forward(z)
    assert bool(xp.all(xp.isfinite(a)))
    np.testing.assert_allclose(host(xp.sum(a, axis=1)), 1.0, rtol=1e-6)
    # row 1 is wrong by 1e4, row 2 is a tie between two classes (log 2), row 3 is uniform (log 3)
    expected = (1e4 + np.log(2) + np.log(3)) / 3
    assert be.read(loss.value(z, y)) == pytest.approx(expected, rel=1e-6)
    assert_close(host(loss.gradient(z, a, y)), (host(a) - host(y)) / 3, rtol=1e-6, atol=1e-12)


def test_softmax_has_no_hidden_layer_derivative():
    with pytest.raises(TypeError, match="only available as the output layer"):
        losses.softmax.derivative(np.zeros((2, 3)), np.zeros((2, 3)))
