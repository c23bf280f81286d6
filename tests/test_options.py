"""The options of a training run, checked in one place (portnet._options.Options)."""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest

import portnet
from portnet import activations
from portnet._options import NAMES, Options

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
