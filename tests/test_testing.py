"""portnet.testing: portnet's own activations, losses and optimisers pass the public checks
on every installed backend, and each kind of broken piece a user might write is caught,
named."""

from __future__ import annotations

import array_api_compat as aac
import numpy as np
import pytest

from portnet import activations, losses, optimizers, testing
from portnet.activations import Activation
from portnet.losses import Loss
from portnet.ops import Ops
from portnet.optimizers import Optimizer, SGDState

from .conftest import needs_one_of, on

# the checks run on every installed backend: each session checks its own beside NumPy's
EVERY_BACKEND = pytest.mark.backends("jax", "torch", "array_api_strict", "dask")


@EVERY_BACKEND
@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
def test_portnets_activations_pass(name):
    checked = testing.check_activation(activations.get_activation(name))
    assert any(line.startswith("numpy float32: ") for line in checked)
    assert any(line.startswith("numpy float64: ") for line in checked)


@EVERY_BACKEND
@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_portnets_losses_pass(name):
    checked = testing.check_loss(losses.LOSSES[name])
    assert any(line.startswith("numpy float64: ") for line in checked)
    assert "numpy float64: weighted value (as repeated samples) and gradient" in checked


def test_a_weighted_gradient_that_ignores_the_weights_is_caught():
    bce = losses.binary_crossentropy
    unweighted = Loss(  # takes w, but its gradient divides by m and ignores the weights
        "bce-w", bce.output, bce.value, lambda z, a, y, w=None: bce.gradient(z, a, y)
    )
    text = _problems(testing.check_loss, unweighted, backends=["numpy"])
    assert "numpy float64: weighted gradient vs finite differences: " in text


@EVERY_BACKEND
@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
def test_portnets_optimizers_pass(name):
    checked = testing.check_optimizer(optimizers.get_optimizer(name, None))
    assert any(line.startswith("numpy float64: 3 steps") for line in checked)


@EVERY_BACKEND
def test_every_installed_backend_is_checked():
    checked = testing.check_activation(activations.tanh)
    for backend in ("jax", "torch", "array_api_strict", "dask"):
        if _installed(backend):
            assert any(line.startswith(f"{backend} float32: ") for line in checked), backend
    if _installed("array_api_strict"):  # the device that refuses host conversion
        assert any(line.startswith("array_api_strict device1 float64: ") for line in checked)
    if _installed("torch"):
        assert "derivative against torch autodiff, float64" in checked


def _installed(name):
    import importlib.util

    return importlib.util.find_spec("dask" if name == "dask" else name) is not None


def _xp(z):
    return aac.array_namespace(z)


def _problems(check, piece, **options) -> str:
    with pytest.raises(AssertionError) as info:
        check(piece, **options)
    return str(info.value)


# -- what is caught ------------------------------------------------------------------------------
def test_a_wrong_derivative_is_caught_against_finite_differences():
    wrong = Activation("tanh-wrong", activations.tanh.forward, lambda z, a: 1 - a)
    text = _problems(testing.check_activation, wrong, backends=["numpy"])
    assert text.startswith("activation 'tanh-wrong': ")
    assert "numpy float64: derivative vs finite differences: 1.9993293 at index (0, 0)" in text
    assert "expected 0.00134095" in text


# a conversion to NumPy shows only on a backend besides NumPy: one at least
@needs_one_of("jax", "torch", "array_api_strict", "dask")
def test_a_forward_that_leaves_the_namespace_is_caught():
    to_numpy = Activation("tanh-numpy", lambda z: np.tanh(np.asarray(z)), lambda z, a: 1 - a * a)
    text = _problems(testing.check_activation, to_numpy)
    if _installed("array_api_strict"):  # device1 refuses the conversion: a host read
        assert "array_api_strict device1 float32: forward: raised RuntimeError" in text
    if _installed("torch"):
        assert (
            "torch float32: forward: returned a numpy.ndarray, not an array of the input's" in text
        )


def _to_float64(z):
    xp = _xp(z)
    return xp.astype(xp.tanh(z), xp.float64)


def _doubling(z):
    z *= 2.0  # writes the caller's array
    return _xp(z).tanh(z / 2)


@pytest.mark.parametrize(
    ("forward", "said"),
    [
        (_to_float64, "numpy float32: forward: dtype float64, expected float32"),
        (_doubling, "numpy float64: forward: raised ValueError: output array is read-only"),
    ],
    ids=["changes-the-dtype", "writes-its-input"],
)
def test_a_forward_that_breaks_the_contract_is_caught(forward, said):
    wrong = Activation("tanh-broken", forward, lambda z, a: 1 - a * a)
    assert said in _problems(testing.check_activation, wrong, backends=["numpy"])


@pytest.mark.backends("jax")  # its autodiff reference, where installed
def test_a_loss_gradient_off_by_its_mean_is_caught():
    bce = losses.binary_crossentropy
    summed = Loss("bce-summed", bce.output, bce.value, lambda z, a, y: a - y)  # no 1/m
    text = _problems(testing.check_loss, summed, backends=["numpy"])
    assert "numpy float64: gradient vs finite differences: " in text
    if _installed("jax"):
        assert "gradient vs jax autodiff: " in text


def test_a_loss_whose_value_is_not_0_d_is_caught():
    se = losses.squared_error
    per_sample = Loss(
        "se-per-sample", se.output, lambda z, y: _xp(z).sum((z - y) ** 2, axis=1) / 2, se.gradient
    )
    text = _problems(testing.check_loss, per_sample, backends=["numpy"])
    assert "numpy float64: value of shape (6,), expected () (a 0-d array)" in text


def test_an_optimizer_that_mutates_its_parameters_is_caught():
    def init(params):
        return SGDState(_xp(params[0].W).zeros(()))

    def update(grads, state, params):
        params[0].W[...] -= 0.1 * grads[0].W  # writes the caller's parameters
        return tuple(type(g)(0 * g.W, 0 * g.b) for g in grads), SGDState(state.count + 1)

    mutating = Optimizer("mutating", init, update, optimizers.constant(0.1))
    text = _problems(testing.check_optimizer, mutating, backends=["numpy"])
    assert "numpy float64: raised ValueError: output array is read-only" in text


def test_an_optimizer_with_a_python_number_in_its_state_is_caught():
    """A state leaf that is not an array (a Python int) cannot travel with the parameters
    (jax.jit, checkpoints, CUDA graphs): caught as leaving the namespace."""

    def init(params):
        return SGDState(0)

    def update(grads, state, params):
        return tuple(type(g)(-0.1 * g.W, -0.1 * g.b) for g in grads), SGDState(state.count + 1)

    counting = Optimizer("python-count", init, update, optimizers.constant(0.1))
    text = _problems(testing.check_optimizer, counting, backends=["numpy"])
    assert "numpy float32: step 1: returned a builtins.int, not an array of the input's" in text


# -- check_ops: a backend's Ops against the plain one -----------------------------------------
@pytest.mark.parametrize("run", [False, True], ids=["stateless", "run"])
@pytest.mark.parametrize("backend", ["numpy", "cupy", "torch"])  # those with an Ops of their own
def test_portnets_own_ops_pass(backend, run):
    ops = on(backend).ops(run=run)
    checked = testing.check_ops(ops)
    assert checked == [
        f"{backend} float32: two steps of 60 nets",
        f"{backend} float64: two steps of 60 nets",
    ]


def test_check_ops_holds_an_ops_to_the_plain_numbers_bit_for_bit_when_asked():
    """NumPy's Ops sums over samples as a product (its stated difference): within the
    default tolerance, not bit for bit."""
    from portnet.backends.numpy import NumpyOps

    text = _problems(testing.check_ops, NumpyOps(np_xp()), exact=True)
    assert "(rtol 0e+00, atol 0e+00)" in text


def np_xp():
    return aac.array_namespace(np.empty(0))


class _WrongSum(Ops):
    def sum_samples(self, dZ):
        return self.xp.sum(dZ, axis=1) * 1.001


class _WritesW(Ops):
    def linear(self, W, A, b):
        W *= 1.0  # the caller's parameters
        return super().linear(W, A, b)


def _reusing_ops():
    from portnet.backends.numpy import NumpyOps

    class Reusing(NumpyOps):  # every product into the first workspace array of its shape
        def product(self, a, b):
            self._slot = 0
            return super().product(a, b)

    return Reusing(np_xp(), workspace=True)


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda: _WrongSum(np_xp()), "step 1: result 2:"),
        (lambda: _WritesW(np_xp()), "raised ValueError: output array is read-only"),
        (_reusing_ops, "(4, 4, 3), step 1: result 1:"),
    ],
    ids=["a-wrong-sum", "a-write-into-the-parameters", "memory-reused-within-a-pass"],
)
def test_check_ops_catches_a_broken_ops(make, said):
    assert said in _problems(testing.check_ops, make())
