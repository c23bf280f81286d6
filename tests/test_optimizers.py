"""Optimisers and schedules against hand-computed updates; mini-batches; backend agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest

import portnet
from portnet import network, optimizers
from portnet.agreement import TOLERANCE, flat_params, relative_difference
from portnet.network import Layer

from .conftest import host, on, skip_dask_minibatches

THETA0 = [0.5, -1.0, 0.25]  # W = [[0.5, -1.0]], b = [0.25]
GRADS = [[0.2, -0.4, 0.1], [-0.3, 0.1, 0.05], [0.05, 0.5, -0.2]]  # three steps' gradients


def as_params(be, dt, values):
    return (Layer(be.asarray([values[:2]], dt), be.asarray(values[2:], dt)),)


def run(be, dt, optimizer, steps=3):
    """Apply ``optimizer`` to the fixed gradients; return θ after each step as floats."""
    params = as_params(be, dt, THETA0)
    state = optimizer.init(params)
    seen = []
    for g in GRADS[:steps]:
        updates, state = optimizer.update(as_params(be, dt, g), state, params)
        params = optimizers.apply_updates(params, updates)
        seen.append(list(host(params[0].W)[0]) + list(host(params[0].b)))
    return seen


def reference(rule, steps=3):
    """The same updates computed by hand, one Python float at a time."""
    theta, memory, seen = list(THETA0), {}, []
    for t, g in enumerate(GRADS[:steps], start=1):
        theta = [
            rule(i, th, gi, t, memory) for i, (th, gi) in enumerate(zip(theta, g, strict=True))
        ]
        seen.append(theta)
    return seen


def sgd_rule(lr):
    return lambda i, th, g, t, mem: th - lr * g


def momentum_rule(lr, beta, nesterov):
    def rule(i, th, g, t, mem):
        v = beta * mem.get(i, 0.0) + g
        mem[i] = v
        return th - lr * ((g + beta * v) if nesterov else v)

    return rule


def adam_rule(lr, b1=0.9, b2=0.999, eps=1e-8):
    def rule(i, th, g, t, mem):
        m, v = mem.get(("m", i), 0.0), mem.get(("v", i), 0.0)
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        mem["m", i], mem["v", i] = m, v
        return th - lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)

    return rule


CASES = {
    "sgd": (optimizers.sgd(0.5), sgd_rule(0.5)),
    "momentum": (optimizers.momentum(0.3, beta=0.8), momentum_rule(0.3, 0.8, False)),
    "nesterov": (optimizers.momentum(0.3, beta=0.8, nesterov=True), momentum_rule(0.3, 0.8, True)),
    "adam": (optimizers.adam(0.1), adam_rule(0.1)),
    "sgd-invscaling": (
        optimizers.sgd(optimizers.inverse_scaling(0.5, power=0.5)),
        lambda i, th, g, t, mem: th - 0.5 / math.sqrt(t) * g,
    ),
    "sgd-exponential": (
        optimizers.sgd(optimizers.exponential_decay(0.5, 0.9, steps=2)),
        lambda i, th, g, t, mem: th - 0.5 * 0.9 ** ((t - 1) / 2) * g,
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_update_matches_hand_computation(backend, dtype, case):
    be = on(backend)
    optimizer, rule = CASES[case]
    got = run(be, be.dtype(dtype), optimizer)
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(got, reference(rule), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("case", CASES)
def test_step_gives_the_numbers_of_update_then_apply_updates(backend, dtype, case):
    """``Optimizer.step`` (plain SGD's written directly as θ − α·g) is bit for bit
    ``update`` followed by ``apply_updates``, and leaves its arguments alone."""
    be = on(backend)
    dt = be.dtype(dtype)
    optimizer, _ = CASES[case]
    params = as_params(be, dt, THETA0)
    start = flat_params(params)
    two_part = fused = (params, optimizer.init(params))
    for g in GRADS:
        grads = as_params(be, dt, g)
        given = flat_params(grads)
        updates, state = optimizer.update(grads, two_part[1], two_part[0])
        two_part = (optimizers.apply_updates(two_part[0], updates), state)
        fused = optimizer.step(fused[0], grads, fused[1])
        np.testing.assert_array_equal(flat_params(fused[0]), flat_params(two_part[0]))
        assert float(host(fused[1].count)) == float(host(two_part[1].count))
        np.testing.assert_array_equal(flat_params(grads), given)
    np.testing.assert_array_equal(flat_params(params), start)
    assert (optimizer.apply is not None) == case.startswith("sgd")


def test_update_is_pure(backend):
    be = on(backend)
    dt = be.dtype("float64")
    params = as_params(be, dt, THETA0)
    optimizer = optimizers.adam(0.1)
    state = optimizer.init(params)
    optimizer.update(as_params(be, dt, GRADS[0]), state, params)
    np.testing.assert_array_equal(flat_params(params), THETA0)
    assert float(host(state.count)) == 0.0  # the old state is untouched
    assert float(host(state.mu[0].W).max()) == 0.0


def test_sgd_train_step_is_the_seeds_gradient_descent_step():
    X, y = portnet.datasets.planar()
    model = portnet.train(X, y, iterations=0)
    Y = y[:, None].astype(float)
    sgd = optimizers.sgd(1.2)
    ours, _, J1 = optimizers.train_step(
        model.params, sgd.init(model.params), X, Y, model.network, sgd
    )
    seeds, J2 = network.gradient_descent_step(model.params, X, Y, model.network, 1.2)
    np.testing.assert_array_equal(flat_params(ours), flat_params(seeds))
    assert J1 == J2


def test_schedules_and_bad_options():
    assert optimizers.inverse_scaling(1.0, power=1.0)(np.float64(3.0)) == 0.25
    assert optimizers.exponential_decay(2.0, 0.5, steps=1)(np.float64(2.0)) == 0.5
    assert optimizers.constant(0.3)(np.float64(7.0)) == 0.3
    with pytest.raises(ValueError, match=r"learning_rate must be a finite number > 0, got -1.0"):
        optimizers.sgd(-1.0)
    with pytest.raises(ValueError, match=r"momentum beta must be in \[0, 1\), got 1.0"):
        optimizers.momentum(0.1, beta=1.0)
    with pytest.raises(TypeError, match=r"learning_rate must be a number or a portnet"):
        optimizers.sgd("fast")


# -- through train ------------------------------------------------------------------------------
X_PLANAR, Y_PLANAR = portnet.datasets.planar()

TRAINING = {  # optimiser options for train, each with mini-batches
    "sgd-batch64": dict(optimizer="sgd", learning_rate=0.5, batch_size=64),
    "sgd-invscaling-batch50": dict(
        optimizer="sgd", learning_rate=optimizers.inverse_scaling(1.0), batch_size=50
    ),
    "momentum-batch64": dict(optimizer="momentum", learning_rate=0.1, batch_size=64),
    "nesterov-full": dict(optimizer="nesterov", learning_rate=0.1),
    "adam-batch32": dict(optimizer="adam", learning_rate=0.01, batch_size=32),
    "adam-full-l2": dict(optimizer="adam", learning_rate=0.01, l2=0.5),
}


@pytest.mark.parametrize("config", TRAINING)
def test_every_optimiser_agrees_across_backends(backend, dtype, config):
    options = dict(hidden=(6,), iterations=100, log_every=20, dtype=dtype, **TRAINING[config])
    skip_dask_minibatches(backend, options)
    ours = portnet.train(X_PLANAR, Y_PLANAR, backend=backend, **options)
    ref = portnet.train(X_PLANAR, Y_PLANAR, backend="numpy", **options)
    assert relative_difference(ours.params, ref.params) <= TOLERANCE[dtype]
    np.testing.assert_allclose(ours.history.cost, ref.history.cost, rtol=TOLERANCE[dtype] * 10)


def test_optimisers_learn_the_flower():
    for name, lr in (("momentum", 0.3), ("nesterov", 0.3), ("adam", 0.02)):
        model = portnet.train(
            X_PLANAR, Y_PLANAR, optimizer=name, learning_rate=lr, iterations=3000, batch_size=64
        )
        assert model.score(X_PLANAR, Y_PLANAR) >= 0.88, name


def test_mini_batches_epochs_and_shuffling():
    options = dict(hidden=(4,), batch_size=100, learning_rate=0.5)
    model = portnet.train(X_PLANAR, Y_PLANAR, epochs=3, log_every=4, **options)
    assert model.n_steps == 12  # 3 epochs of ceil(400 / 100) batches
    assert model.history.step == [0, 4, 8, 12]
    again = portnet.train(X_PLANAR, Y_PLANAR, epochs=3, **options)
    np.testing.assert_array_equal(flat_params(model.params), flat_params(again.params))
    # another seed shuffles differently (and starts elsewhere)
    other = portnet.train(X_PLANAR, Y_PLANAR, epochs=3, seed=1, **options)
    assert relative_difference(other.params, model.params) > 1e-3
    # a batch as large as the data is the full batch, i.e. the seeds' gradient descent
    full = portnet.train(X_PLANAR, Y_PLANAR, iterations=20, learning_rate=0.5)
    big = portnet.train(X_PLANAR, Y_PLANAR, iterations=20, learning_rate=0.5, batch_size=10_000)
    np.testing.assert_array_equal(flat_params(full.params), flat_params(big.params))
    # the odd last batch of an epoch is used (400 = 3 x 128 + 16)
    odd = portnet.train(X_PLANAR, Y_PLANAR, epochs=2, batch_size=128, log_every=1)
    assert odd.n_steps == 8


def test_reshuffling_changes_the_batches_every_epoch(monkeypatch):
    seen = []
    original = optimizers.train_step

    def recording(params, state, X, Y, net, optimizer, **options):
        seen.append(np.asarray(X[:, 0]).copy())
        return original(params, state, X, Y, net, optimizer, **options)

    monkeypatch.setattr("portnet._loop.train_step", recording)
    portnet.train(X_PLANAR, Y_PLANAR, epochs=2, batch_size=200)
    first, second = np.concatenate(seen[:2]), np.concatenate(seen[2:])
    np.testing.assert_array_equal(np.sort(first), np.sort(X_PLANAR[:, 0]))  # each epoch: all
    np.testing.assert_array_equal(np.sort(second), np.sort(X_PLANAR[:, 0]))
    assert not np.array_equal(first, second)  # in another order


def test_optimizer_options_errors():
    with pytest.raises(ValueError, match=r"unknown optimizer 'rmsprop'; expected one of"):
        portnet.train(X_PLANAR, Y_PLANAR, optimizer="rmsprop", iterations=1)
    with pytest.raises(TypeError, match=r"learning_rate was given twice"):
        portnet.train(
            X_PLANAR, Y_PLANAR, optimizer=optimizers.adam(0.1), learning_rate=0.1, iterations=1
        )
    with pytest.raises(ValueError, match=r"give iterations or epochs, not both"):
        portnet.train(X_PLANAR, Y_PLANAR, iterations=5, epochs=2)
    with pytest.raises(ValueError, match=r"batch_size must be an integer >= 1, got 0"):
        portnet.train(X_PLANAR, Y_PLANAR, batch_size=0, iterations=1)
    with pytest.raises(ValueError, match=r"epochs must be an integer >= 1, got 0"):
        portnet.train(X_PLANAR, Y_PLANAR, epochs=0)
