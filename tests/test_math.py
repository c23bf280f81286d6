"""The seed equations: activation derivatives and backpropagation against independent references.

- central finite differences (NumPy, float64) for every activation × loss × depth × L2;
  (each library's faster Ops is held to the plain one's numbers in tests/test_ops.py)
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

from portnet import activations, losses, network
from portnet.network import Layer, Network

from .conftest import host, needs, on

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
    elif loss == "poisson":
        Y = rng.poisson(2.0, (7, k)).astype(np.float64)  # counts, zeros among them
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


# -- backpropagation vs automatic differentiation, on every backend ------------------------------
@functools.cache
def autodiff_reference(tool: str, activation, loss, depth, l2) -> np.ndarray:
    """d cost / d θ by automatic differentiation of the forward pass, float64."""
    params, X, Y, net = problem(activation, loss, depth, l2)
    if tool == "jax":
        import jax
        import jax.numpy as jnp

        jparams = tuple(Layer(jnp.asarray(W), jnp.asarray(b)) for W, b in params)
        grads = jax.grad(network.cost)(jparams, jnp.asarray(X), jnp.asarray(Y), net)
    else:
        import torch

        tparams = tuple(
            Layer(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
            for W, b in params
        )
        network.cost(tparams, torch.tensor(X), torch.tensor(Y), net).backward()
        grads = tuple(Layer(W.grad, b.grad) for W, b in tparams)
    return flatten(grads)


@pytest.mark.parametrize("tool", [pytest.param(t, marks=needs(t)) for t in ("jax", "torch")])
@pytest.mark.parametrize(("activation", "loss", "depth", "l2"), CONFIGS)
def test_gradients_match_autodiff(backend, dtype, tool, activation, loss, depth, l2):
    """Against the autodiff reference (``tool``: needed, so the test runs in its session
    too)."""
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
