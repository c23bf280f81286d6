"""Each library's own Ops (``portnet.backends``) against the plain one (``portnet.ops.Ops``).

The speed layer must give the plain operations' numbers: bit for bit, except where its
docstring states otherwise, each such difference tested against the plain operation with its
bound (a single unit's backpropagation as ``(g'·dZ)·Wᵀ``, within 4 ulp; NumPy's and CuPy's
sum over samples as a product; torch's products made as ``(Bᵀ·Aᵀ)ᵀ``, which BLAS may sum in
another order; torch's CPU tanh, within 3 ulp), and the
whole step held bit for bit to the plain Ops with just those differences.  It writes only
into arrays it made: inputs, read-only NumPy arrays among them, are left as they were.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portnet import activations, losses, network
from portnet.activations import builtin
from portnet.backends import _inplace
from portnet.network import Layer, Network
from portnet.ops import Ops

from .conftest import host, on
from .test_math import ACTIVATIONS, CONFIGS, flatten, problem

#: the backends with an Ops of their own (every other runs the plain one: checked below)
OWN_OPS = ("numpy", "cupy", "torch")
#: the libraries whose Ops sums over samples as the product dZ·1
SUMS_BY_PRODUCT = ("numpy", "cupy")
#: the configurations above, and layers of equal widths (a run's workspace keeps one array
#: per product of a pass, not one per shape)
EQUAL_WIDTHS = [
    pytest.param(a, "binary_crossentropy", "equal", 0.3, id=f"{a}-equal-widths")
    for a in ("tanh", "relu")
]


class ByProduct(Ops):
    """The plain Ops with NumPy's and CuPy's sum over samples: ``dZ·1`` (their Ops' stated
    difference), so that everything else can be held to the plain numbers bit for bit."""

    def sum_samples(self, dZ):
        return dZ @ self.xp.ones_like(dZ[0, :])


class Flipped(Ops):
    """The plain Ops with torch's products: ``(Bᵀ·Aᵀ)ᵀ`` (its Ops' stated difference)."""

    def product(self, a, b):
        return (b.T @ a.T).T


class OuterLast(Ops):
    """The plain Ops with a single unit's backpropagation through tanh, ReLU or leaky ReLU
    as ``(g'·dZ)·Wᵀ`` (the fast Ops' stated difference: the outer product never made)."""

    def backprop(self, g, W, dZ, Z, A):
        if W.shape[0] == 1 and builtin(g) in _inplace.OUTER:
            return (g.derivative(Z, A) * dZ) * W.T
        return super().backprop(g, W, dZ, Z, A)


def reference(backend: str, xp) -> Ops:
    """The plain Ops with the stated differences of ``backend``'s own."""
    base = {"torch": Flipped}.get(backend, ByProduct if backend in SUMS_BY_PRODUCT else Ops)
    return type("Reference", (OuterLast, base), {})(xp)


def read_only(x):
    """``x``, marked read-only where it is a NumPy array (no other library has the flag)."""
    if isinstance(x, np.ndarray):
        x.flags.writeable = False
    return x


def placed(be, dtype, activation, loss, depth, l2):
    """The test problem on backend ``be`` in ``dtype``, every input read-only on NumPy."""
    if depth == "equal":  # 3 → 4 → 4 → 4 → 1
        rng = np.random.default_rng(11)
        sizes = (3, 4, 4, 4, 1)
        params = tuple(
            Layer(rng.standard_normal((o, i)), rng.standard_normal(o) * 0.5)
            for i, o in itertools.pairwise(sizes)
        )
        X, Y = rng.standard_normal((9, 3)), rng.integers(0, 2, (9, 1)).astype(float)
        net = Network(activations.get_activation(activation), losses.get_loss(loss), l2)
    else:
        params, X, Y, net = problem(activation, loss, depth, l2)
    dt = be.dtype(dtype)
    params = tuple(
        Layer(read_only(be.asarray(W, dt)), read_only(be.asarray(b, dt))) for W, b in params
    )
    return params, read_only(be.asarray(X, dt)), read_only(be.asarray(Y, dt)), net


def copies(*arrays) -> list[np.ndarray]:
    return [host(a).copy() for a in arrays]


@pytest.fixture
def plain_tanh(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch's tanh on the CPU for every size (its expm1 form is tested on its own)."""
    try:
        from portnet.backends import torch as torch_ops
    except ImportError:  # no torch here: nothing to set
        return
    monkeypatch.setattr(torch_ops, "TANH_BY_EXPM1_BYTES", np.inf)


@pytest.fixture
def tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every array "large": elementwise chains in blocks of 64 bytes, nothing whole."""
    from portnet.backends import numpy as numpy_ops

    monkeypatch.setattr(numpy_ops, "BLOCK_BYTES", 64)
    monkeypatch.setattr(_inplace, "WHOLE_BYTES", 0)
    try:
        from portnet.backends import torch as torch_ops
    except ImportError:
        return
    monkeypatch.setattr(torch_ops, "BLOCK_BYTES", 64)


def test_every_backend_runs_its_own_ops_or_the_plain_one(backend):
    """Every backend with an Ops of its own is held to the plain one here; stateless Ops
    are equal (one compiled step on JAX), a run's own are distinct."""
    be = on(backend)
    ops = be.ops()
    assert type(ops) is Ops or backend in OWN_OPS, (backend, ops)
    assert ops == be.ops()
    assert hash(ops) == hash(be.ops())
    run = be.ops(run=True)
    assert run.stateful == (run != be.ops(run=True))


@pytest.mark.parametrize("blocks", [False, True], ids=["whole", "in-blocks"])
@pytest.mark.parametrize("run", [False, True], ids=["stateless", "run"])
@pytest.mark.parametrize(("activation", "loss", "depth", "l2"), CONFIGS + EQUAL_WIDTHS)
@pytest.mark.parametrize("backend", OWN_OPS)
def test_a_step_gives_the_plain_numbers_bit_for_bit(
    request, backend, dtype, activation, loss, depth, l2, run, blocks, plain_tanh
):
    """The cost and every gradient of one step: the plain Ops' numbers, whole and block by
    block, with and without a run's workspace; the inputs (read-only on NumPy) unchanged."""
    if blocks:
        request.getfixturevalue("tiny_blocks")
    be = on(backend)
    params, X, Y, net = placed(be, dtype, activation, loss, depth, l2)
    before = copies(X, Y, *(p for layer in params for p in layer))
    J, grads = network.cost_and_gradients(params, X, Y, net, ops=reference(backend, be.xp))
    J_fast, grads_fast = network.cost_and_gradients(params, X, Y, net, ops=be.ops(run=run))
    assert host(J_fast) == host(J)
    np.testing.assert_array_equal(flatten(grads_fast), flatten(grads))
    for W, b in grads_fast:  # the backend's namespace, dtype and device
        assert type(W) is type(X)
        assert W.dtype == X.dtype
        assert b.dtype == X.dtype
    after = copies(X, Y, *(p for layer in params for p in layer))
    for was, now in zip(before, after, strict=True):
        np.testing.assert_array_equal(now, was)


@pytest.mark.parametrize(("activation", "loss", "depth", "l2"), CONFIGS[::5] + EQUAL_WIDTHS)
@pytest.mark.parametrize("backend", OWN_OPS)
def test_a_run_reuses_its_memory_and_never_returns_it(backend, activation, loss, depth, l2):
    """A run's Ops keeps one array per product of a pass (equal widths included), and what
    a step returns is not overwritten by the next step (nothing returned lives there)."""
    be = on(backend)
    params, X, Y, net = placed(be, "float64", activation, loss, depth, l2)
    other = tuple(Layer(2 * W, b - 1) for W, b in params)
    ops = be.ops(run=True)
    J, grads = network.cost_and_gradients(params, X, Y, net, ops=ops)
    kept = (host(J), flatten(grads))
    arrays = dict(getattr(ops, "_arrays", None) or {})
    J_other, grads_other = network.cost_and_gradients(other, X, Y, net, ops=ops)
    assert (host(J), flatten(grads).tolist()) == (kept[0], kept[1].tolist())
    if arrays:  # the second step wrote into the first step's arrays, made no new ones
        assert ops._arrays == arrays
        assert all(ops._arrays[k] is a for k, a in arrays.items())
    fresh = be.ops(run=True)
    J_ref, grads_ref = network.cost_and_gradients(other, X, Y, net, ops=fresh)
    assert host(J_other) == host(J_ref)
    np.testing.assert_array_equal(flatten(grads_other), flatten(grads_ref))


@pytest.mark.parametrize("backend", OWN_OPS)
def test_the_layers_are_laid_out_as_the_library_runs_them(backend, dtype):
    """Every layer's ``(n, m)`` array is row-major on NumPy and CuPy (as in the course) and
    samples-first in memory on torch (the transpose of a row-major ``(m, n)`` array)."""
    be = on(backend)
    params, X, _, net = placed(be, dtype, "tanh", "binary_crossentropy", 3, 0.0)
    _, cache = network.forward(params, X, net, be.ops())
    for _, Z in cache:
        assert Z.T.is_contiguous() if backend == "torch" else Z.flags.c_contiguous


# -- one operation at a time ---------------------------------------------------------------------
def _z(be, dt):
    """(8, 5) pre-activations away from ReLU's kink, with 0 and -0 in them."""
    z = np.concatenate([np.linspace(-4, -0.05, 20), np.linspace(0.05, 4, 20)]).reshape(8, 5)
    z[0, :2] = [0.0, -0.0]
    return be.asarray(z, dt)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("backend", OWN_OPS)
def test_activate_and_backprop_give_the_plain_numbers(backend, dtype, name, plain_tanh):
    """activate: ``g(Z)`` written into ``Z`` for the activations whose derivative reads
    ``A`` alone; backprop: ``(Wᵀ·dZ) ∘ g'(Z)`` from the ``Z`` that activate left, written
    into the product's memory, or, through a single unit (an outer product, never made
    whole), into ``A``'s; the plain numbers; ``W`` and ``dZ`` unchanged."""
    be = on(backend)
    dt = be.dtype(dtype)
    g = activations.get_activation(name)
    plain, ops = Ops(be.xp), be.ops()
    rng = np.random.default_rng(4)
    for n in (3, 1):  # a layer of 3 units, and of one (the outer product)
        W = read_only(be.asarray(rng.standard_normal((n, 8)), dt))
        dZ = read_only(be.asarray(rng.standard_normal((n, 5)), dt))
        A_plain = plain.activate(g, _z(be, dt))
        expected = host(plain.backprop(g, W, dZ, _z(be, dt), A_plain))
        Z = _z(be, dt) + 0  # a fresh array, as linear makes it
        A = ops.activate(g, Z)
        np.testing.assert_array_equal(host(A), host(A_plain))
        if name in ("tanh", "relu", "leaky_relu"):  # no allocation: the point of activate
            assert _same_memory(A, Z)
        before = copies(W, dZ)
        got = ops.backprop(g, W, dZ, Z, A)
        assert got.dtype == dt
        if n == 1 and name in _inplace.OUTER:  # (g'·dZ)·Wᵀ, written where A was: 4 ulp
            assert _same_memory(got, A)
            ulp = np.spacing(np.abs(expected).astype(dtype)).astype(np.float64)
            assert np.all(np.abs(host(got) - expected) <= 4 * ulp)
            if name == "relu":  # g' is 0 or 1: bit for bit
                np.testing.assert_array_equal(host(got), expected)
        else:
            np.testing.assert_array_equal(host(got), expected)
        for was, now in zip(before, copies(W, dZ), strict=True):
            np.testing.assert_array_equal(now, was)


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
@pytest.mark.parametrize("backend", OWN_OPS)
def test_relu_derivative_at_zero_is_the_course_one(backend, dtype, name):
    """0 (or the slope) at ``z = 0`` and ``-0.0``, as in seed 003, in the fast path too."""
    be = on(backend)
    dt = be.dtype(dtype)
    g = activations.get_activation(name)
    z_host = np.array([[-3.0, -0.0, 0.0, 1e-30, 2.5], [0.5, -1e-30, 0.0, -2.0, 7.0]])
    slope = dict(g.options).get("slope", 0.0)
    W = be.asarray(np.ones((3, 2)), dt)
    dZ = be.asarray(np.ones((3, 5)), dt)
    Z = be.asarray(z_host, dt) + 0
    got = be.ops().backprop(g, W, dZ, Z, be.ops().activate(g, Z))
    np.testing.assert_array_equal(host(got), 3 * np.where(z_host > 0, 1.0, slope).astype(dtype))


@pytest.mark.parametrize("m", [1, 7, 1000])
@pytest.mark.parametrize("backend", SUMS_BY_PRODUCT)
def test_the_sum_by_product_is_within_its_stated_bound(backend, dtype, m):
    """``dZ·1`` against the plain sum: within ``m·ε·Σ|dZ|`` (both sum the same terms)."""
    be = on(backend)
    dt = be.dtype(dtype)
    dZ_host = np.random.default_rng(m).standard_normal((6, m)) * 10.0 ** np.arange(-3, 3)[:, None]
    dZ = read_only(be.asarray(dZ_host, dt))
    got, plain = host(be.ops().sum_samples(dZ)), host(Ops(be.xp).sum_samples(dZ))
    exact = np.sum(host(dZ), axis=1)
    bound = m * np.finfo(dtype).eps * np.sum(np.abs(host(dZ)), axis=1)
    assert np.all(np.abs(got - exact) <= bound)
    assert np.all(np.abs(got - plain) <= 2 * bound)


@pytest.mark.parametrize("shape", [(1, 3, 7), (4, 3, 7), (5, 784, 300), (300, 1, 40)])
@pytest.mark.parametrize("backend", ["torch"])
def test_the_flipped_product_is_within_its_stated_bound(backend, dtype, shape):
    """torch's ``(Bᵀ·Aᵀ)ᵀ`` against the plain ``A·B``: the same sums, within
    ``k·ε·Σ_j |a_ij·b_jk|`` of each other (BLAS may add them in another order)."""
    be = on(backend)
    dt = be.dtype(dtype)
    n, k, m = shape
    rng = np.random.default_rng(k)
    a, b = (be.asarray(rng.standard_normal(s), dt) for s in ((n, k), (k, m)))
    got, plain = host(be.ops().product(a, b)), host(Ops(be.xp).product(a, b))
    bound = k * np.finfo(dtype).eps * (np.abs(host(a)) @ np.abs(host(b)))
    assert np.all(np.abs(got - plain) <= bound)


def _same_memory(x, y) -> bool:
    if hasattr(x, "data_ptr"):  # torch
        return x.data_ptr() == y.data_ptr()
    return np.shares_memory(x, y)


# -- block by block ------------------------------------------------------------------------------
def _in_place(col, row, z, a):  # writes into a, as the activations' kernels do
    a *= row
    a += col
    a *= z
    return a


def _fresh(col, row, z, a):  # makes a new array, as another activation's derivative does
    return (a * row + col) * z - 0.5


def _laid_out(be, ops, host_array):
    """``host_array`` laid out in memory as ``ops`` lays out its ``(n, m)`` arrays."""
    if ops.samples_first:
        return be.asarray(np.ascontiguousarray(host_array.T)).T
    return be.asarray(host_array)


@pytest.mark.parametrize("f", [_in_place, _fresh], ids=["in-place", "new-array"])
@pytest.mark.parametrize(
    ("shape", "block"),
    [((7, 13), 64), ((7, 13), 8), ((1, 50), 64), ((50, 1), 64)],
    ids=["rows", "row-split-in-columns", "one-row", "one-column"],
)
@pytest.mark.parametrize("backend", ["numpy", "torch"])  # the libraries that run blocks
def test_in_blocks_gives_the_same_numbers_bit_for_bit(backend, monkeypatch, f, shape, block):
    """in_blocks cuts the (n, m) arguments into blocks (NumPy, a (7, 13) float64 array: rows
    of 104 bytes, two rows a 256-byte block, or a row in pieces of 8 bytes; torch, laid out
    samples-first: columns of 56 bytes, one column a block, or in pieces) and the
    broadcasting ones along with them: the very numbers of one call on the whole arrays,
    written into the target's memory."""
    be = on(backend)
    ops = be.ops()
    rng = np.random.default_rng(5)
    n, m = shape
    col, row = rng.standard_normal((n, 1)), rng.standard_normal((1, m))
    z, a = rng.standard_normal(shape), rng.standard_normal(shape)
    expected = f(col, row, z.copy(), a.copy())
    col, row, z, a = (_laid_out(be, ops, x) for x in (col, row, z, a))
    calls = []

    def counting(*args):
        calls.append(tuple(args[3].shape))
        return f(*args)

    monkeypatch.setattr(type(ops), "block_bytes", lambda self, x: block)
    monkeypatch.setattr(_inplace, "WHOLE_BYTES", 0)
    got = ops.in_blocks(counting, col, row, z, a, into=3)
    np.testing.assert_array_equal(host(got), expected)
    assert got is a  # the target's memory
    assert len(calls) > 1  # it did cut
    assert sum(r * c for r, c in calls) == n * m  # every element once
    if ops.samples_first:  # blocks of whole columns where a column fits
        assert all(r == n for r, _ in calls) or 8 * n > block
    else:  # blocks of whole rows where a row fits
        assert all(c == m for _, c in calls) or 8 * m > block


@pytest.mark.parametrize("backend", OWN_OPS)
def test_in_blocks_computes_whole_where_the_library_or_the_size_says_so(backend, monkeypatch):
    be = on(backend)
    ops = be.ops()
    calls = []

    def f(a):
        calls.append(tuple(a.shape))
        return a * 2

    a = be.asarray(np.ones((6, 5)))
    ops.in_blocks(f, a, into=0)  # 240 bytes: under WHOLE_BYTES
    monkeypatch.setattr(_inplace, "WHOLE_BYTES", 0)
    got = ops.in_blocks(f, a, into=0)
    np.testing.assert_array_equal(host(got), np.full((6, 5), 2.0))
    if backend == "cupy":  # a GPU: whole, both times
        assert calls == [(6, 5)] * 2
    else:  # NumPy's 1 MiB and torch's 4 MiB blocks: this array is one block
        assert calls == [(6, 5)] * 2
        monkeypatch.setattr(type(ops), "block_bytes", lambda self, x: 48)
        calls.clear()
        ops.in_blocks(f, be.asarray(np.ones((6, 5))), into=0)
        assert calls == ([(6, 1)] * 5 if ops.samples_first else [(1, 5)] * 6)


@pytest.mark.parametrize("backend", ["torch"])
def test_torch_runs_whole_off_its_cpu(backend):
    import torch

    ops = on(backend).ops()
    from portnet.backends import torch as torch_ops

    assert ops.block_bytes(torch.ones(2, 2)) == torch_ops.BLOCK_BYTES
    assert ops.block_bytes(torch.empty(2, 2, device="meta")) is None


# -- torch's CPU tanh: expm1(2x) / (expm1(2x) + 2) -------------------------------------------------
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
@pytest.mark.parametrize("backend", OWN_OPS)
def test_tanh_is_tanh_within_a_few_ulp(backend, dtype, monkeypatch, blocks):
    """The Ops' tanh, written into ``Z`` (the library's, or on torch's CPU the expm1 form)
    within 3 ulp of tanh (long double) on a 1 MiB float32 array and more; ±0, ±∞, NaN,
    overflow of exp(2x) and tiny values as tanh; the same numbers whole and in blocks."""
    be = on(backend)
    ops = be.ops()
    x_host = _tanh_problem(dtype)
    expected = np.tanh(x_host.astype(np.longdouble))
    x = _laid_out(be, ops, x_host)
    whole = None
    if blocks:  # 64 KiB blocks, against the whole array
        whole = host(ops.tanh_(be.xp.asarray(x, copy=True)))
        monkeypatch.setattr(type(ops), "block_bytes", lambda self, x: 64 * 1024)
        monkeypatch.setattr(_inplace, "WHOLE_BYTES", 0)
    got = ops.activate(activations.tanh, x)
    assert _same_memory(got, x)
    got = host(got)
    if whole is not None:
        np.testing.assert_array_equal(got, whole)
    finite = np.isfinite(x_host)
    np.testing.assert_array_equal(got[~finite], np.tanh(x_host[~finite]))  # ±1, NaN
    np.testing.assert_array_equal(np.signbit(got), np.signbit(x_host))  # ±0 too
    ulp = np.spacing(np.abs(expected[finite]).astype(dtype))
    err = np.abs(got[finite].astype(np.longdouble) - expected[finite]) / ulp
    assert err.max() <= 3, f"{err.max():.2f} ulp at x = {x_host[finite][np.argmax(err)]!r}"


@pytest.mark.parametrize("backend", ["torch"])
def test_torch_takes_the_expm1_form_only_for_large_cpu_arrays(backend, monkeypatch):
    import torch

    from portnet.backends import torch as torch_ops

    calls = []
    form = torch_ops.tanh_by_expm1_
    monkeypatch.setattr(torch_ops, "tanh_by_expm1_", lambda x: calls.append(x.shape) or form(x))
    ops = on(backend).ops()
    large = torch_ops.TANH_BY_EXPM1_BYTES // 4  # float32 elements
    ops.tanh_(torch.ones(large))
    ops.tanh_(torch.ones(large - 1))
    assert calls == [(large,)]


# -- random architectures ------------------------------------------------------------------------
@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    widths=st.lists(st.integers(1, 5), min_size=1, max_size=5),
    activation=st.sampled_from(ACTIVATIONS),
    m=st.integers(1, 40),
    seed=st.integers(0, 2**16),
)
def test_numpy_ops_give_the_plain_numbers_for_any_architecture(widths, activation, m, seed):
    """NumPy's Ops, a run's, in tiny blocks, over two steps: the plain numbers (with its
    stated differences) for random layer widths (equal ones included) and batch sizes."""
    from portnet.backends import numpy as numpy_ops

    rng = np.random.default_rng(seed)
    sizes = (*widths, 1)
    params = tuple(
        Layer(read_only(rng.standard_normal((o, i))), read_only(rng.standard_normal(o)))
        for i, o in itertools.pairwise(sizes)
    )
    X = read_only(rng.standard_normal((m, sizes[0])))
    Y = read_only(rng.integers(0, 2, (m, 1)).astype(float))
    net = Network(activations.get_activation(activation), losses.binary_crossentropy, 0.1)
    be = on("numpy")
    ops = be.ops(run=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(numpy_ops, "BLOCK_BYTES", 16)
        patch.setattr(_inplace, "WHOLE_BYTES", 0)
        for step in (params, tuple(Layer(W * 0.5, b + 1) for W, b in params)):
            J, grads = network.cost_and_gradients(step, X, Y, net, ops=reference("numpy", be.xp))
            J_fast, grads_fast = network.cost_and_gradients(step, X, Y, net, ops=ops)
            assert J_fast == J
            np.testing.assert_array_equal(flatten(grads_fast), flatten(grads))
