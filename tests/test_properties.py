"""Property-based tests (hypothesis): random architectures, activations, dtypes and batch
sizes keep the gradient right, the probabilities in [0, 1] and the saved model exact."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import portnet
from portnet import activations, losses, network
from portnet.network import Layer, Network

from .test_math import ACTIVATIONS, LOSSES, flatten, numeric_gradient


@st.composite
def problems(draw):
    sizes = [draw(st.integers(1, 5))]
    sizes += draw(st.lists(st.integers(1, 6), max_size=3))
    loss = draw(st.sampled_from(LOSSES))
    sizes.append(1 if loss == "binary_crossentropy" else draw(st.integers(2, 4)))
    m = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**16))
    return sizes, draw(st.sampled_from(ACTIVATIONS)), loss, m, seed


@settings(max_examples=40, deadline=None, derandomize=True)
@given(problems(), st.floats(0.0, 1.0))
def test_backpropagation_matches_finite_differences(problem, l2):
    sizes, activation, loss, m, seed = problem
    rng = np.random.default_rng(seed)
    params = tuple(
        Layer(rng.normal(size=(n_out, n_in)), rng.normal(size=n_out) * 0.1)
        for n_in, n_out in itertools.pairwise(sizes)
    )
    X = rng.normal(size=(m, sizes[0]))
    k = sizes[-1]
    if loss == "squared_error":
        Y = rng.normal(size=(m, k))
    elif loss == "categorical_crossentropy":
        Y = np.eye(k)[rng.integers(0, k, m)]
    else:
        Y = rng.integers(0, 2, (m, 1)).astype(float)
    net = Network(activations.get_activation(activation), losses.get_loss(loss), l2)
    _, grads = network.cost_and_gradients(params, X, Y, net)
    # ReLU-type units have a kink at 0: a finite difference straddling it is not the
    # derivative, so examples with a hidden pre-activation that close to 0 are rejected
    if activation in ("relu", "leaky_relu"):
        _, cache = network.forward(params, X, net)
        assume(all(np.min(np.abs(Z)) > 1e-4 for _, Z in cache[:-1]))
    numeric = numeric_gradient(params, X, Y, net)
    np.testing.assert_allclose(flatten(grads), numeric, rtol=1e-5, atol=1e-7)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    hidden=st.lists(st.integers(1, 6), max_size=3),
    activation=st.sampled_from(ACTIVATIONS),
    dtype=st.sampled_from(["float32", "float64"]),
    batch_size=st.one_of(st.none(), st.integers(1, 50)),
    classes=st.integers(2, 4),
    seed=st.integers(0, 2**16),
)
def test_probabilities_and_the_saved_model(
    tmp_path_factory, hidden, activation, dtype, batch_size, classes, seed
):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 3)).astype(dtype)
    y = rng.integers(0, classes, 60)
    if np.unique(y).size < 2:
        y[:2] = [0, 1]
    model = portnet.train(
        X,
        y,
        hidden=tuple(hidden),
        activation=activation,
        batch_size=batch_size,
        iterations=30,
        learning_rate=0.5,
        log_every=10,
        seed=seed,
    )
    P = model.predict_proba(X)
    assert P.shape == (60, np.unique(y).size)
    assert np.all((P >= 0) & (P <= 1))
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-5)
    path = tmp_path_factory.mktemp("m") / "m.npz"
    loaded = portnet.load(model.save(path))
    for (W, b), (W0, b0) in zip(loaded.params, model.params, strict=True):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
    np.testing.assert_array_equal(loaded.predict_proba(X), P)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.history == model.history
