"""The options of a training run, checked in one place (portnet._options.Options)."""

from __future__ import annotations

import dataclasses
import inspect
import re

import numpy as np
import pytest

import portnet
from portnet import activations
from portnet._backend import resolve_backend, to_numpy
from portnet._options import NAMES, Options

from .conftest import importable

X, Y = portnet.datasets.planar()


def test_train_documents_every_option_as_keyword_only():
    parameters = inspect.signature(portnet.train).parameters
    assert list(parameters)[:2] == ["X", "y"]
    assert tuple(list(parameters)[2:]) == NAMES
    defaults = {field.name: field.default for field in dataclasses.fields(Options)}
    for name in NAMES:
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters[name].default == defaults[name]
        documented = rf"^    (\w+, )*{name}(, \w+)* :"  # numpydoc: "    tol, n_iter_no_change :"
        assert re.search(documented, portnet.train.__doc__, re.MULTILINE), name


def test_options_are_normalised_frozen_and_checked_again_when_replaced():
    options = Options(hidden=5, activation="relu", callbacks=print, optimizer="adam")
    assert options.hidden == (5,)
    assert options.activation is activations.relu
    assert options.callbacks == (print,)
    assert options.rule.name == "adam"
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.l2 = 1.0  # type: ignore[misc]
    with pytest.raises(portnet.InvalidOptionError, match="l2 must be a finite number >= 0"):
        options.replace(l2=-1)


def test_an_unknown_option_names_the_closest_ones():
    with pytest.raises(portnet.InvalidOptionError) as caught:
        portnet.train(X, Y, hiden=3, lerning_rate=0.1)
    message = str(caught.value)
    assert "unknown options ['hiden', 'lerning_rate']" in message
    assert "'hiden': did you mean 'hidden'?" in message
    assert "'lerning_rate': did you mean 'learning_rate'?" in message
    with pytest.raises(portnet.InvalidOptionError, match="unknown option \\['colour'\\];"):
        portnet.train(X, Y, colour="red")


def test_an_invalid_option_is_a_value_and_a_type_error_before_the_data_is_read():
    """Caught as either (as scikit-learn's InvalidParameterError), and raised before the data
    is looked at (here, data that would fail its own check)."""
    bad_data = [[float("nan")]]
    for options, message in [
        ({"iterations": -1}, "iterations must be an integer >= 0, got -1"),
        ({"batch_size": 2.5}, "batch_size must be an integer >= 1, got 2.5"),
        ({"tol": "small"}, "tol must be a finite number >= 0, got 'small'"),
        ({"precision": "bf16"}, "precision must be one of ['highest', 'tf32'], got 'bf16'"),
        ({"hidden": "4"}, "each hidden layer size must be an integer >= 1, got '4'"),
        ({"checkpoint_every": 150}, "checkpoint_every must be a multiple of log_every (1000)"),
    ]:
        for kind in (ValueError, TypeError):
            with pytest.raises(kind) as caught:
                portnet.train(bad_data, [1], **options)
            assert isinstance(caught.value, portnet.InvalidOptionError)
            assert message in str(caught.value)


def test_model_fit_and_the_estimators_take_the_same_options():
    model = portnet.train(X, Y, iterations=5)
    with pytest.raises(portnet.InvalidOptionError, match="did you mean 'iterations'"):
        model.fit(X, Y, iteration=5)
    again = model.fit(X, Y, iterations=5, optimizer="momentum")
    assert again.n_steps == 5


# -- issue 28: options as Python and NumPy users write them ---------------------------------------
def _params(model):
    return [to_numpy(p) for layer in model.params for p in layer]


def _same_model(a, b):
    for p, q in zip(_params(a), _params(b), strict=True):
        assert p.dtype == q.dtype
        np.testing.assert_array_equal(p, q)


def _library_float32s():
    """float32 as torch and JAX spell it, where installed."""
    found = []
    if importable("torch"):
        import torch

        found.append(torch.float32)
    if importable("jax"):
        import jax.numpy as jnp

        found.append(jnp.float32)
    return found


CANONICAL = dict(hidden=(3, 2), learning_rate=0.5, iterations=4, l2=0.25, dtype="float32")


@pytest.mark.parametrize(
    "spelling",
    [
        {"hidden": np.arange(3, 1, -1)},
        {"hidden": (np.int64(3), np.int32(2))},
        {"hidden": [np.array(3), 2]},
        {"learning_rate": np.float32(0.5)},
        {"learning_rate": np.float64(0.5)},
        {"iterations": np.int64(4)},
        {"l2": np.float32(0.25)},
        {"dtype": np.float32},
        {"dtype": np.dtype("float32")},
        {"dtype": "f4"},
        *({"dtype": d} for d in _library_float32s()),
    ],
    ids=repr,
)
def test_numpy_and_library_spellings_give_the_canonical_model_bit_for_bit(spelling):
    canonical = portnet.train(X, Y, **CANONICAL)
    portnet.optimizers.sgd.cache_clear()  # cached: np.float32(0.5) == 0.5 would find 0.5's
    _same_model(portnet.train(X, Y, **{**CANONICAL, **spelling}), canonical)


def test_float_and_f8_are_float64_and_whole_learning_rates_any_integer():
    float64 = portnet.train(X, Y, iterations=3, dtype="float64", learning_rate=1)
    for spelling in (float, "f8", np.float64, "double"):
        _same_model(portnet.train(X, Y, iterations=3, dtype=spelling, learning_rate=1), float64)
    portnet.optimizers.sgd.cache_clear()
    _same_model(portnet.train(X, Y, iterations=3, dtype="float64", learning_rate=np.int64(1)),
                float64)  # fmt: skip
    model = portnet.train(X, Y, iterations=1, dtype="float32")
    assert model.to(dtype=float).dtype == model.to(dtype="float64").dtype


@pytest.mark.parametrize(
    ("make", "numbers"),
    [
        (portnet.optimizers.momentum, {"beta": np.float64(0.5)}),
        (portnet.optimizers.adam, {"b1": np.float64(0.5), "b2": np.float64(0.75)}),
    ],
    ids=["momentum", "adam"],
)
def test_numpy_hyperparameters_keep_a_float32_run_float32(make, numbers):
    """``np.float64(0.5) * float32`` is float64 (NumPy 2's rule): the optimisers take the
    number, not the NumPy scalar, so the state and the parameters stay float32 (and the
    model is the one of the Python numbers)."""
    make.cache_clear()  # the constructors are cached: each spelling builds its own optimiser
    given = portnet.train(X, Y, iterations=3, dtype="float32",
                          optimizer=make(np.float32(0.25), **numbers))  # fmt: skip
    make.cache_clear()
    plain = {k: float(v) for k, v in numbers.items()}
    reference = portnet.train(X, Y, iterations=3, dtype="float32", optimizer=make(0.25, **plain))
    assert all(p.dtype == np.float32 for p in _params(given))
    _same_model(given, reference)


def test_dtype_spellings_on_every_backend(backend):
    """``np.float32``, ``"f4"`` and the backend's own float32 give its float32 run."""
    canonical = portnet.train(X, Y, iterations=3, backend=backend, dtype="float32")
    for spelling in (np.float32, "f4", resolve_backend(backend).xp.float32):
        model = portnet.train(X, Y, iterations=3, backend=backend, dtype=spelling)
        assert model.dtype == canonical.dtype
        _same_model(model, canonical)
