"""Every bad input at a public entry point is an exception saying what was expected and what
arrived (one table; the command's errors are in test_cli.py)."""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest

import portnet

from .conftest import importable, needs

X, Y = portnet.datasets.planar()  # (400, 2), (400,)


def _with(a, index, value):
    a = np.array(a, dtype=np.float64)
    a[index] = value
    return a


def _model():
    return portnet.train(X, Y, hidden=(3,), iterations=2)


def _regressor():
    return portnet.train(X, X[:, 0], hidden=(3,), iterations=2)


def _strict(*arrays, device=None):
    """The arrays on array-api-strict (a case using it is marked ``needs("array_api_strict")``)."""
    import array_api_strict as strict

    device = None if device is None else strict.Device(device)
    return [strict.asarray(a, device=device) for a in arrays]


def _classifier():
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    from portnet.sklearn import PortnetClassifier

    return PortnetClassifier(iterations=2)


def train(x=X, y=Y, **options):
    return lambda: portnet.train(x, y, **options)


def _resume(path, *, data=X, **options):
    """Train 200 iterations on X with a checkpoint at ``path``, then resume from it with
    ``data`` and ``options`` (by default 400 iterations of the same run)."""
    portnet.train(X, Y, iterations=200, log_every=100, checkpoint=path)
    run = {"iterations": 400, "log_every": 100, "resume": path, **options}
    return portnet.train(data, Y, **run)


def _in_tmp(call):
    """``call`` run in a fresh folder holding a file ``file``, a folder ``sub`` and files
    that are not portnet's: ``f.npy``, ``f.pkl``, ``f.json`` and (with joblib) ``f.joblib``."""

    def run():
        here = os.getcwd()
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            try:
                Path("file").write_text("x")
                Path("sub").mkdir()
                np.save("f.npy", np.zeros(3))
                Path("f.pkl").write_bytes(pickle.dumps({"W0": np.zeros(3)}))
                Path("f.json").write_text(json.dumps({"W0": [0, 0, 0]}))
                if importable("joblib"):
                    import joblib

                    joblib.dump({"W0": np.zeros(3)}, "f.joblib", compress=3)
                return call()
            finally:
                os.chdir(here)

    return run


CASES = {
    # -- shapes and values of X and y
    "X 1-D": (
        train(X[:, 0], Y),
        ValueError,
        "X must be 2-D (m samples, n features), got shape (400,)",
    ),
    "X 3-D": (
        train(X[:, :, None]),
        ValueError,
        "X must be 2-D (m samples, n features), got shape (400, 2, 1)",
    ),
    "X empty": (
        train(X[:0], Y[:0]),
        ValueError,
        "X must have at least one sample and one feature, got (0, 2)",
    ),
    "X no features": (
        train(X[:, :0]),
        ValueError,
        "at least one sample and one feature, got (400, 0)",
    ),
    "y too short": (
        train(X, Y[:399]),
        ValueError,
        "y must have shape (m,) or (m, k) with m = 400 (the rows of X), got shape (399,)",
    ),
    "y 3-D": (train(X, Y[:, None, None]), ValueError, "got shape (400, 1, 1)"),
    "NaN in X": (
        train(_with(X, (3, 1), np.nan)),
        ValueError,
        "X must be finite, but it holds 1 NaN or infinite value",
    ),
    "inf in X": (
        train(_with(_with(X, (0, 0), np.inf), (9, 1), -np.inf)),
        ValueError,
        "X must be finite, but it holds 2 NaN or infinite values",
    ),
    "NaN in y": (
        train(X, _with(X[:, 0], 5, np.nan)),
        ValueError,
        "y must be finite, but it holds 1 NaN or infinite value",
    ),
    "complex X": (
        train(X.astype(complex)),
        TypeError,
        "X must hold real numbers, got dtype complex128",
    ),
    "text X": (train([["a", "b"]] * 400), TypeError, "X must hold real numbers, got dtype <U1"),
    "complex y": (
        train(X, Y.astype(complex)),
        ValueError,
        "y must be real numbers or labels, got dtype complex128",
    ),
    # -- labels that do not fit the loss
    "3 classes, binary loss": (
        train(X, np.arange(400) % 3, loss="binary_crossentropy"),
        ValueError,
        "loss 'binary_crossentropy' needs 2 classes, but y has 3 (0, 1, 2)",
    ),
    "one class": (
        train(X, np.zeros(400, int)),
        ValueError,
        "y has a single class (0); a classifier needs at least 2",
    ),
    "reals, classifier loss": (
        train(X, X[:, 0], loss="binary_crossentropy"),
        ValueError,
        "needs class labels, but y has non-integer values",
    ),
    "2-D reals, softmax": (
        train(X, X, loss="categorical_crossentropy"),
        ValueError,
        "with 2-D y needs 0/1 indicator or one-hot rows",
    ),
    # -- the network
    "hidden 0": (
        train(hidden=(4, 0)),
        ValueError,
        "each hidden layer size must be an integer >= 1, got 0",
    ),
    "hidden negative": (
        train(hidden=(-3,)),
        ValueError,
        "each hidden layer size must be an integer >= 1, got -3",
    ),
    "hidden fraction": (
        train(hidden=(2.5,)),
        ValueError,
        "each hidden layer size must be an integer >= 1, got 2.5",
    ),
    "unknown activation": (
        train(activation="swish"),
        portnet.InvalidOptionError,
        "unknown activation 'swish'; expected one of ['identity', 'leaky_relu', 'relu', 'sigmoid', 'tanh']",
    ),
    "unknown loss": (
        train(loss="hinge"),
        portnet.InvalidOptionError,
        "unknown loss 'hinge'; expected one of ['binary_crossentropy', 'categorical_crossentropy', 'poisson', "
        "'squared_error'], 'auto'",
    ),
    "unknown init": (
        train(init="ones"),
        ValueError,
        "unknown init 'ones'; expected 'auto' or one of",
    ),
    "unknown optimizer": (
        train(optimizer="rmsprop"),
        ValueError,
        "unknown optimizer 'rmsprop'; expected one of ['sgd', 'momentum', 'nesterov', 'adam']",
    ),
    "unknown backend": (
        train(backend="mxnet"),
        portnet.InvalidOptionError,
        "unknown backend 'mxnet'; expected one of ['numpy', 'cupy', 'jax', 'torch', 'array_api_strict', 'dask'], 'auto'",
    ),
    "unknown dtype": (
        train(dtype="float16"),
        ValueError,
        "dtype must be 'float32' or 'float64', got 'float16'",
    ),
    # -- numbers of the run
    "learning rate < 0": (
        train(learning_rate=-1),
        ValueError,
        "learning_rate must be a finite number > 0, got -1.0",
    ),
    "learning rate 0": (
        train(learning_rate=0),
        ValueError,
        "learning_rate must be a finite number > 0, got 0.0",
    ),
    "learning rate nan": (
        train(learning_rate=float("nan")),
        ValueError,
        "learning_rate must be a finite number > 0, got nan",
    ),
    "iterations < 0": (
        train(iterations=-5),
        ValueError,
        "iterations must be an integer >= 0, got -5",
    ),
    "iterations fraction": (
        train(iterations=2.5),
        ValueError,
        "iterations must be an integer >= 0, got 2.5",
    ),
    "epochs 0": (train(epochs=0), ValueError, "epochs must be an integer >= 1, got 0"),
    "iterations and epochs": (
        train(iterations=5, epochs=2),
        ValueError,
        "give iterations or epochs, not both (got 5, 2)",
    ),
    "batch size 0": (train(batch_size=0), ValueError, "batch_size must be an integer >= 1, got 0"),
    "log_every 0": (train(log_every=0), ValueError, "log_every must be an integer >= 1, got 0"),
    "l2 < 0": (train(l2=-1), ValueError, "l2 must be a finite number >= 0, got -1"),
    "validation fraction 1": (
        train(early_stopping=True, validation_fraction=1.0),
        ValueError,
        "validation_fraction must be in (0, 1) and leave training samples; got 1.0 of 400 samples",
    ),
    "callback not callable": (
        train(callbacks=[3]),
        TypeError,
        "callbacks must be callables (step, cost, model), got 3",
    ),
    "params misfit": (
        lambda: portnet.train(X, Y, params=_model().params, hidden=(5,)),
        ValueError,
        "params do not fit: expected layer sizes 2-5-1",
    ),
    # -- where the data lives
    "X and y on two array_api_strict devices": pytest.param(
        lambda: portnet.train(*_strict(X), *_strict(Y, device="device1")),
        ValueError,
        "X is on device",
        marks=needs("array_api_strict"),
    ),
    "X and y of two libraries (array_api_strict, torch)": pytest.param(
        lambda: portnet.train(*_strict(X), _torch(Y)),
        TypeError,
        "give y in X's array library (or as NumPy)",
        marks=needs("array_api_strict", "torch"),
    ),
    "float64 where array_api_strict has none": pytest.param(
        lambda: portnet.train(
            *_strict(X.astype(np.float32), Y, device="no_float64"), dtype="float64"
        ),
        ValueError,
        "float64 is not supported by backend 'array_api_strict'",
        marks=needs("array_api_strict"),
    ),
    # -- a trained model
    "predict, wrong features": (
        lambda: _model().predict(np.zeros((5, 3))),
        ValueError,
        "X must have shape (m, 2) for this model, got shape (5, 3)",
    ),
    "predict, 1-D X": (
        lambda: _model().predict(np.zeros(2)),
        ValueError,
        "X must have shape (m, 2) for this model, got shape (2,)",
    ),
    "score, wrong y length": (
        lambda: _model().score(X, Y[:10]),
        ValueError,
        "y must have shape (m,) or (m, k) with m = 400",
    ),
    "proba of a regressor": (
        lambda: _regressor().predict_proba(X),
        AttributeError,
        "predict_proba needs a classifier; this model was trained with loss 'squared_error'",
    ),
    "predict, array_api_strict input to a numpy model": pytest.param(
        lambda: _model().predict(*_strict(X)),
        TypeError,
        "but the model lives on backend 'numpy'; pass numpy or NumPy arrays",
        marks=needs("array_api_strict"),
    ),
    # -- the scikit-learn estimators
    "estimator, NaN": (
        lambda: _classifier().fit(_with(X, (0, 0), np.nan), Y),
        ValueError,
        "Input X contains NaN",
    ),
    "estimator, wrong features": (
        lambda: _classifier().fit(X, Y).predict(np.zeros((2, 3))),
        ValueError,
        "X has 3 features, but PortnetClassifier is expecting 2 features as input",
    ),
    # -- issue 28, files: Model.save, load, train's checkpoint and resume (in a fresh folder
    # holding a file 'file', a folder 'sub', and foreign files: f.npy, f.pkl, f.json, f.joblib)
    "save, no such folder": (
        _in_tmp(lambda: _model().save("no/m.npz")),
        FileNotFoundError,
        "cannot write model to no/m.npz: the folder ",
    ),
    "save to a folder": (
        _in_tmp(lambda: _model().save("sub")),
        IsADirectoryError,
        "cannot write model to sub: it is a folder, not a file",
    ),
    "save to the current folder": (
        _in_tmp(lambda: _model().save(".")),
        IsADirectoryError,
        "cannot write model to .: it is a folder, not a file",
    ),
    "save to the root folder": (
        _in_tmp(lambda: _model().save("/")),
        IsADirectoryError,
        "cannot write model to /: it is a folder, not a file",
    ),
    "save under a file": (
        _in_tmp(lambda: _model().save("file/m.npz")),
        NotADirectoryError,
        "/file is a file, not a folder",
    ),
    "load, no such file": (
        _in_tmp(lambda: portnet.load("nope.npz")),
        FileNotFoundError,
        "cannot read nope.npz: no such file",
    ),
    "load, a folder": (
        _in_tmp(lambda: portnet.load("sub")),
        IsADirectoryError,
        "cannot read sub: it is a folder, not a file",
    ),
    "load, .npy": (
        _in_tmp(lambda: portnet.load("f.npy")),
        ValueError,
        "f.npy is not a portnet model file (expected a .npz written by Model.save): it is a "
        "NumPy .npy file (one array, as np.save writes)",
    ),
    "load, pickle": (
        _in_tmp(lambda: portnet.load("f.pkl")),
        ValueError,
        "it is a Python pickle (as pickle.dump or joblib.dump write); portnet reads no pickles",
    ),
    "load, JSON": (
        _in_tmp(lambda: portnet.load("f.json")),
        ValueError,
        "f.json is not a portnet model file (expected a .npz written by Model.save): it is "
        "JSON text",
    ),
    "load, joblib": pytest.param(
        _in_tmp(lambda: portnet.load("f.joblib")),
        ValueError,
        "f.joblib is not a portnet model file (expected a .npz written by Model.save): it is "
        "zlib-compressed data (a compressed joblib file?)",
        marks=pytest.mark.skipif(not importable("joblib"), reason="joblib is not installed"),
    ),
    "checkpoint in no such folder": (
        _in_tmp(train(checkpoint="no/c.npz")),
        FileNotFoundError,
        "cannot write checkpoint to no/c.npz: the folder ",
    ),
    "checkpoint a folder": (
        _in_tmp(train(checkpoint="sub")),
        IsADirectoryError,
        "cannot write checkpoint to sub: it is a folder, not a file",
    ),
    "checkpoint under a file": (
        _in_tmp(train(checkpoint="file/c.npz")),
        NotADirectoryError,
        "/file is a file, not a folder",
    ),
    "checkpoint not a path": (
        train(checkpoint=3),
        TypeError,
        "checkpoint must be a file path, got 3",
    ),
    "resume from no such file": (
        _in_tmp(train(resume="nope.npz")),
        FileNotFoundError,
        "cannot resume from nope.npz: no such file",
    ),
    "resume from a folder": (
        _in_tmp(train(resume="sub")),
        IsADirectoryError,
        "cannot resume from sub: it is a folder, not a file",
    ),
    "resume from a .npy": (
        _in_tmp(train(resume="f.npy")),
        ValueError,
        "f.npy is not a portnet model file (expected a .npz written by Model.save): it is a "
        "NumPy .npy file",
    ),
    # -- issue 28, inputs and options: predictions as strict as training, frames, spellings
    "predict, NaN in X": (
        lambda: _model().predict(_with(X, (3, 1), np.nan)),
        ValueError,
        "X must be finite, but it holds 1 NaN or infinite value",
    ),
    "predict_proba, inf in X": (
        lambda: _model().predict_proba(_with(_with(X, 0, np.inf), 9, -np.inf)),
        ValueError,
        "X must be finite, but it holds 4 NaN or infinite values",
    ),
    "score, NaN in X": (
        lambda: _model().score(_with(X, (3, 1), np.nan), Y),
        ValueError,
        "X must be finite, but it holds 1 NaN or infinite value",
    ),
    "cost, NaN in X": (
        lambda: _model().cost(_with(X, (3, 1), np.nan), Y),
        ValueError,
        "X must be finite, but it holds 1 NaN or infinite value",
    ),
    "predict, None in an object X": (
        lambda: _model().predict(np.array([[1.0, None]], dtype=object)),
        TypeError,
        "X must hold real numbers, got dtype object",
    ),
    "predict, complex X": (
        lambda: _model().predict(X.astype(complex)),
        TypeError,
        "X must hold real numbers, got dtype complex128",
    ),
    "predict, text X": (
        lambda: _model().predict([["a", "b"]]),
        TypeError,
        "X must hold real numbers, got dtype <U1",
    ),
    "score of a regressor, NaN in y": (
        lambda: _regressor().score(X, _with(X[:, 0], 5, np.nan)),
        ValueError,
        "y must be finite, but it holds 1 NaN or infinite value",
    ),
    "cost of a regressor, NaN in y": (
        lambda: _regressor().cost(X, _with(X[:, 0], 5, np.nan)),
        ValueError,
        "y must be finite, but it holds 1 NaN or infinite value",
    ),
    "Model.fit, NaN in X": (
        lambda: _model().fit(_with(X, (3, 1), np.nan), Y),
        ValueError,
        "X must be finite, but it holds 1 NaN or infinite value",
    ),
    "pd.NA in a nullable frame": (
        lambda: portnet.train(_frame(_with(X, (2, 0), np.nan)), Y),
        ValueError,
        "X must be finite, but it holds 1 NaN or infinite value",
    ),
    "predict, pd.NA in a nullable frame": (
        lambda: _model().predict(_frame(_with(X, (2, 0), np.nan))),
        ValueError,
        "X must be finite, but it holds 1 NaN or infinite value",
    ),
    "a category column in X": (
        lambda: portnet.train(_frame(X).assign(c=_pandas().Categorical(["u"] * 400)), Y),
        TypeError,
        "X must hold real numbers, got dtype category in column 'c'",
    ),
    "predict, a category column in X": (
        lambda: _model().predict(_frame(X[:, :1]).assign(c=_pandas().Categorical(["u"] * 400))),
        TypeError,
        "X must hold real numbers, got dtype category in column 'c'",
    ),
    "None among text labels": (
        lambda: portnet.train(X, _labels(None)),
        ValueError,
        "y has 1 missing label (None, NaN or pd.NA): drop those samples, or give them a label",
    ),
    "NaN among text labels": (
        lambda: portnet.train(X, _labels(np.nan)),
        ValueError,
        "y has 1 missing label",
    ),
    "pd.NA among text labels (a string Series)": (
        lambda: portnet.train(X, _pandas().Series(_labels(None), dtype="string")),
        ValueError,
        "y has 1 missing label",
    ),
    "score, None among text labels": (
        lambda: portnet.train(X, _labels("a"), iterations=2).score(X, _labels(None)),
        ValueError,
        "y has 1 missing label",
    ),
    "labels of two types": (
        train(X, np.array([1, "a"] * 200, dtype=object)),
        ValueError,
        "y mixes labels of types that cannot be ordered (int, str): give labels of one type",
    ),
    "ragged X": (
        train([[1.0, 2.0], [3.0]], [0, 1]),
        ValueError,
        "X must be a rectangular array (its rows of one length), but its rows have "
        "different lengths: 1, 2",
    ),
    "predict, ragged X": (
        lambda: _model().predict([[1.0, 2.0], [3.0]]),
        ValueError,
        "X must be a rectangular array (its rows of one length), but its rows have",
    ),
    "ragged y": (
        train([[1.0, 2.0], [3.0, 4.0]], [[0, 1], [1]]),
        ValueError,
        "y must be a rectangular array (its rows of one length), but its rows have",
    ),
    "masked X": (
        lambda: portnet.train(_masked(X, 4), Y),
        ValueError,
        "X is a masked array with 4 masked values, which portnet would read as numbers: "
        "fill them first (X.filled(value)), or drop those samples from X and y",
    ),
    "predict, masked X": (
        lambda: _model().predict(_masked(X, 4)),
        ValueError,
        "X is a masked array with 4 masked values",
    ),
    "masked y": (
        train(X, np.ma.masked_equal(Y, 1)),
        ValueError,
        "y is a masked array with 200 masked values",
    ),
    "sparse X": (
        lambda: portnet.train(_scipy_sparse().csr_matrix(X), Y),
        TypeError,
        "X is a sparse csr_matrix; portnet takes dense arrays: pass X.toarray()",
    ),
    "dtype float16 (a NumPy type)": (
        train(dtype=np.float16),
        portnet.InvalidOptionError,
        "dtype must be 'float32' or 'float64', got numpy.float16 (other spellings",
    ),
    "dtype int": (
        train(dtype=int),
        portnet.InvalidOptionError,
        "dtype must be 'float32' or 'float64', got int",
    ),
    "Model.to, dtype 'f2'": (
        lambda: _model().to(dtype="f2"),
        portnet.InvalidOptionError,
        "dtype must be 'float32' or 'float64', got 'f2'",
    ),
    "learning rate text": (
        train(learning_rate="0.1"),
        portnet.InvalidOptionError,
        "learning_rate must be a number or a portnet.optimizers schedule",
    ),
    "momentum beta 1 (NumPy)": (
        lambda: portnet.optimizers.momentum(0.1, beta=np.float64(1.0)),
        portnet.InvalidOptionError,
        "momentum beta must be in [0, 1), got np.float64(1.0)",
    ),
    "hidden 0 (NumPy)": (
        train(hidden=np.arange(0, 2)),
        portnet.InvalidOptionError,
        "each hidden layer size must be an integer >= 1, got np.int64(0)",
    ),
    "iterations a NumPy bool": (
        train(iterations=np.True_),
        portnet.InvalidOptionError,
        "iterations must be an integer >= 0, got np.True_",
    ),
    "estimator, masked X": (
        lambda: _classifier().fit(_masked(X, 4), Y),
        ValueError,
        "X is a masked array with 4 masked values",
    ),
    "estimator, ragged X": (
        lambda: _classifier().fit([[1.0, 2.0], [3.0]], [0, 1]),
        ValueError,
        "X must be a rectangular array (its rows of one length)",
    ),
    "estimator predict, ragged X": (
        lambda: _classifier().fit(X, Y).predict([[1.0, 2.0], [3.0]]),
        ValueError,
        "X must be a rectangular array (its rows of one length)",
    ),
    "estimator, None among text labels": (
        lambda: _classifier().fit(X, _labels(None)),
        ValueError,
        "y has 1 missing label",
    ),
    "estimator predict, NaN": (
        lambda: _classifier().fit(X, Y).predict(_with(X, (0, 0), np.nan)),
        ValueError,
        "Input X contains NaN",
    ),
    "estimator, dtype float16": (
        lambda: _classifier().set_params(dtype=np.float16).fit(X, Y),
        portnet.InvalidOptionError,
        "dtype must be 'float32' or 'float64', got numpy.float16",
    ),
    "regressor score, NaN in y": (
        lambda: _regressor_estimator().fit(X, X[:, 0]).score(X, _with(X[:, 0], 5, np.nan)),
        ValueError,
        "y must be finite, but it holds 1 NaN or infinite value",
    ),
    "estimator predict, NaN in torch X": pytest.param(
        lambda: _classifier().fit(_torch(X), _torch(Y)).predict(_torch(_with(X, 3, np.nan))),
        ValueError,
        "X must be finite, but it holds 2 NaN or infinite values",
        marks=needs("torch"),
    ),
    # -- issue 28, training runs: numbers beyond the dtype, divergence's causes, resume
    "X too large for float32": (
        train(X * 1e200, dtype="float32"),
        ValueError,
        "X holds values too large for float32 (largest |X| 4.21e+200; float32 holds up to "
        "3.4e+38): scale X (e.g. standardise it), or use dtype='float64'",
    ),
    "y too large for float32": (
        train(X, X[:, 0] * 1e200, loss="squared_error", dtype="float32"),
        ValueError,
        "y holds values too large for float32 (largest |y| 4.21e+200",
    ),
    "predict, X too large for a float32 model": (
        lambda: portnet.train(X, Y, iterations=2, dtype="float32").predict(X * 1e200),
        ValueError,
        "X holds values too large for float32 (largest |X| 4.21e+200",
    ),
    "score, y too large for a float32 regressor": (
        lambda: portnet.train(X, X[:, 0], iterations=2, dtype="float32").score(X, X[:, 0] * 1e200),
        ValueError,
        "y holds values too large for float32 (largest |y| 4.21e+200",
    ),
    "targets whose cost overflows float64": (
        train(X, X[:, 0] * 1e200, loss="squared_error", iterations=5),
        portnet.DivergenceError,
        "training cannot start: the cost of the starting parameters is inf at iteration 0, "
        "before any update (the learning rate is not the cause): the numbers overflow float64",
    ),
    "NaN in warm-start params": (
        lambda: portnet.train(
            X, Y, params=[(W, b * np.nan) for W, b in _model().params], iterations=5
        ),
        portnet.DivergenceError,
        "training cannot start: the starting parameters (from params=) hold NaN or infinite "
        "values, so the cost is nan at iteration 0, before any update",
    ),
    "learning rate far too large (a finite divergence)": (
        train(learning_rate=1e6, iterations=3000),
        portnet.DivergenceError,
        "more than 1000 times its starting 0.688726; it was 0.688726 at iteration 0. Try a "
        "smaller learning_rate (now 1e+06)",
    ),
    "resume with fewer iterations": (
        _in_tmp(lambda: _resume("c.npz", iterations=100)),
        ValueError,
        "cannot resume from c.npz: it is at iteration 200, past iterations=100",
    ),
    "resume with another learning rate": (
        _in_tmp(lambda: _resume("c.npz", learning_rate=0.5)),
        ValueError,
        "cannot resume from c.npz: this run is not the one that wrote it, it differs in "
        "learning_rate (0.5; the checkpoint's: 1.2)",
    ),
    "resume on other data": (
        _in_tmp(lambda: _resume("c.npz", data=X[:, ::-1])),
        ValueError,
        "it differs in the data (X and y) (other values, same shape (400, 2))",
    ),
    # -- issue 29, L-BFGS
    "lbfgs with a batch_size": (
        train(optimizer="lbfgs", batch_size=32),
        portnet.InvalidOptionError,
        "optimizer='lbfgs' trains on the full batch (its line search and curvature pairs need "
        "the exact cost and gradient): give no batch_size, got 32",
    ),
    "lbfgs with max_fun 0": (
        train(optimizer="lbfgs", max_fun=0),
        portnet.InvalidOptionError,
        "max_fun must be an integer >= 1, got 0",
    ),
    "lbfgs with max_fun negative": (
        train(optimizer="lbfgs", max_fun=-5),
        portnet.InvalidOptionError,
        "max_fun must be an integer >= 1, got -5",
    ),
    "lbfgs with max_fun not an integer": (
        train(optimizer="lbfgs", max_fun=1.5),
        portnet.InvalidOptionError,
        "max_fun must be an integer >= 1, got 1.5",
    ),
    "max_fun with another optimizer": (
        train(optimizer="adam", max_fun=100),
        portnet.InvalidOptionError,
        "max_fun bounds L-BFGS's evaluations of the cost: it applies to optimizer='lbfgs' "
        "only, got max_fun=100 with optimizer='adam'",
    ),
    "lbfgs with a learning rate": (
        train(optimizer="lbfgs", learning_rate=0.1),
        portnet.InvalidOptionError,
        "optimizer='lbfgs' finds its steps by a line search: it takes no learning_rate, got "
        "learning_rate=0.1",
    ),
    "lbfgs with a checkpoint": (
        train(optimizer="lbfgs", checkpoint="model.npz"),
        portnet.InvalidOptionError,
        "optimizer='lbfgs' neither writes nor resumes checkpoints (its curvature pairs are not "
        "saved): give no checkpoint or resume; to train on, pass params=model.params",
    ),
    "lbfgs memory 0": (
        lambda: portnet.optimizers.lbfgs(memory=0),
        portnet.InvalidOptionError,
        "lbfgs memory must be an integer >= 1, got 0",
    ),
    "lbfgs Wolfe constants out of order": (
        lambda: portnet.train(X, Y, optimizer=portnet.lbfgs.LBFGS(c1=0.9, c2=0.1)),
        portnet.InvalidOptionError,
        "lbfgs needs 0 < c1 < c2 < 1, got c1=0.9, c2=0.1",
    ),
    # -- issue 29, sample and class weights
    "sample_weight of another length": (
        train(sample_weight=np.ones(399)),
        ValueError,
        "sample_weight must have one weight per sample of X (400), got 399",
    ),
    "sample_weight negative": (
        train(sample_weight=_with(np.ones(400), 3, -1.5)),
        portnet.InvalidOptionError,
        "sample_weight must be non-negative, but it holds 1 negative value (the first -1.5 at "
        "index 3)",
    ),
    "sample_weight NaN": (
        train(sample_weight=_with(np.ones(400), [5, 9], np.nan)),
        portnet.InvalidOptionError,
        "sample_weight must be finite, but it holds 2 NaN or infinite values (the first at "
        "index 5)",
    ),
    "sample_weight 2-D": (
        train(sample_weight=np.ones((400, 1))),
        portnet.InvalidOptionError,
        "sample_weight must be 1-D (one weight per sample), got shape (400, 1)",
    ),
    "sample_weight all zero": (
        train(sample_weight=np.zeros(400)),
        portnet.InvalidOptionError,
        "sample_weight is zero for every sample: at least one weight must be positive",
    ),
    "sample_weight of text": (
        train(sample_weight=["a"] * 400),
        portnet.InvalidOptionError,
        "sample_weight must hold real numbers, got dtype <U1",
    ),
    "sample_weight too large for float32": (
        train(sample_weight=np.full(400, 1e37), dtype="float32"),
        ValueError,
        "sample_weight is too large for float32: the weights total 4e+39 (float32 holds up to "
        "3.4e+38); scale sample_weight down, or use dtype='float64'",
    ),
    "sample_weight NaN in a torch tensor": pytest.param(
        lambda: portnet.train(X, Y, sample_weight=_torch(_with(np.ones(400), 7, np.nan))),
        portnet.InvalidOptionError,
        "sample_weight must be finite, but it holds 1 NaN or infinite value (the first at index 7)",
        marks=needs("torch"),
    ),
    "class_weight on a regression": (
        train(X, X[:, 0], class_weight="balanced"),
        ValueError,
        "class_weight needs class labels, but y holds real targets (a regression, loss "
        "'squared_error'): weigh the samples with sample_weight instead",
    ),
    "class_weight on multi-label rows": (
        train(X, np.stack([Y, 1 - Y, Y], axis=1) * [1, 1, 0] + [0, 0, 1], class_weight={0: 2}),
        ValueError,
        "class_weight needs one class per sample, but y holds multi-label rows",
    ),
    "class_weight naming an unknown label": (
        train(class_weight={0: 2.0, 5: 1.0, "a": 3.0}),
        ValueError,
        "class_weight names labels that are not classes of y: [5, 'a']; the classes are 0, 1",
    ),
    "class_weight an unknown string": (
        train(class_weight="balance"),
        portnet.InvalidOptionError,
        "unknown class_weight 'balance'; expected 'balanced', a dict {label: weight} or None",
    ),
    "class_weight a list": (
        train(class_weight=[1.0, 2.0]),
        portnet.InvalidOptionError,
        "class_weight must be 'balanced', a dict {label: weight} or None, got list [1.0, 2.0]",
    ),
    "class_weight negative": (
        train(class_weight={1: -2}),
        portnet.InvalidOptionError,
        "class_weight's weights must be finite numbers >= 0, got {1: -2}",
    ),
    "class_weight zero for every class": (
        train(class_weight={0: 0, 1: 0.0}),
        ValueError,
        "the samples' weights (sample_weight times class_weight) are zero for every sample: "
        "nothing to train on",
    ),
    "Model.fit, sample_weight of another length": (
        lambda: _model().fit(X, Y, sample_weight=np.ones(10)),
        ValueError,
        "sample_weight must have one weight per sample of X (400), got 10",
    ),
    "score, sample_weight of another length": (
        lambda: _model().score(X, Y, sample_weight=np.ones(10)),
        ValueError,
        "sample_weight must have one weight per sample of X (400), got 10",
    ),
    "cost, negative sample_weight": (
        lambda: _model().cost(X, Y, sample_weight=-np.ones(400)),
        portnet.InvalidOptionError,
        "sample_weight must be non-negative, but it holds 400 negative values",
    ),
    "resume with sample weights": (
        _in_tmp(lambda: _resume("c.npz", sample_weight=np.arange(400.0) + 1)),
        ValueError,
        "it differs in the sample weights (sample_weight, class_weight) (weighted; the "
        "checkpoint's: none)",
    ),
    "estimator fit, sample_weight of another length": (
        lambda: _classifier().fit(X, Y, sample_weight=np.ones(800)),
        ValueError,
        "sample_weight must have one weight per sample of X (400), got 800",
    ),
    "estimator fit, class_weight naming an unknown label": (
        lambda: _classifier().set_params(class_weight={2: 1.0}).fit(X, Y),
        ValueError,
        "class_weight names labels that are not classes of y: [2]; the classes are 0, 1",
    ),
    "estimator partial_fit, class_weight balanced": (
        lambda: _classifier().set_params(class_weight="balanced").partial_fit(X, Y, [0, 1]),
        ValueError,
        "class_weight='balanced' needs the class frequencies of the whole data, which "
        "partial_fit does not see",
    ),
    "regressor fit, sample_weight NaN": (
        lambda: _regressor_estimator().fit(
            X, X[:, 0], sample_weight=_with(np.ones(400), 0, np.nan)
        ),
        portnet.InvalidOptionError,
        "sample_weight must be finite, but it holds 1 NaN or infinite value (the first at index 0)",
    ),
    # -- issue 29, scikit-learn's MLP (drop-ins; the options behind them)
    "held learning rate without epoch log points": (
        train(learning_rate=portnet.optimizers.adaptive(0.1)),
        portnet.InvalidOptionError,
        "learning_rate 'adaptive' is set at epoch ends: it needs log_every='epoch', got "
        "log_every=1000",
    ),
    "log_every neither a count nor 'epoch'": (
        train(log_every="epochs"),
        portnet.InvalidOptionError,
        "log_every must be an integer >= 1, got 'epochs'",
    ),
    "checkpoint_every with epoch log points": (
        train(log_every="epoch", checkpoint_every=100),
        portnet.InvalidOptionError,
        "with log_every='epoch' a checkpoint is written at every epoch's end: give no "
        "checkpoint_every (got 100)",
    ),
    "checkpoint with a RandomState seed": (
        train(seed=np.random.RandomState(0), checkpoint="c.npz"),
        portnet.InvalidOptionError,
        "checkpoint and resume need an integer seed (or None): a RandomState's draws are not "
        "recorded in a checkpoint",
    ),
    "seed neither an integer nor a RandomState": (
        train(seed=np.random.default_rng(0)),
        portnet.InvalidOptionError,
        "seed must be an integer >= 0, got Generator(PCG64)",
    ),
    "shuffle not a bool": (
        train(shuffle="yes"),
        portnet.InvalidOptionError,
        "shuffle must be True or False, got 'yes'",
    ),
    "unknown tol_reference": (
        train(tol_reference="last"),
        portnet.InvalidOptionError,
        "tol_reference must be one of ['improvement', 'best'], got 'last'",
    ),
    "unknown validation_metric": (
        train(validation_metric="accuracy"),
        portnet.InvalidOptionError,
        "validation_metric must be one of ['loss', 'score'], got 'accuracy'",
    ),
    "inverse_scaling per an unknown unit": (
        lambda: portnet.optimizers.inverse_scaling(0.1, per="epoch"),
        portnet.InvalidOptionError,
        "inverse_scaling per must be 'step' or 'sample', got 'epoch'",
    ),
    "optimizer state of another optimizer": (
        lambda: portnet.train(X, Y, optimizer="adam", iterations=2, state=_model().optimizer_state),
        ValueError,
        "state does not fit: optimizer 'adam' on this network keeps a AdamState of shapes",
    ),
    "MLP fit, sample_weight of another length": (
        lambda: _mlp().fit(X, Y, sample_weight=np.ones(399)),
        ValueError,
        "sample_weight must have one weight per sample of X (400), got 399",
    ),
    "MLP fit, negative sample_weight": (
        lambda: _mlp(solver="lbfgs").fit(X, Y, sample_weight=_with(np.ones(400), 3, -1.5)),
        ValueError,
        "sample_weight must be non-negative, but it holds 1 negative value (the first -1.5 at "
        "index 3)",
    ),
    "MLP regressor with the Poisson loss, a negative target": (
        lambda: _mlp("MLPRegressor", loss="poisson").fit(X, X[:, 0]),
        ValueError,
        "loss 'poisson' needs y >= 0 (counts, rates), got a smallest y of -4.",
    ),
    "Poisson loss on text": (
        train(X, np.array(["a", "b"] * 200), loss="poisson"),
        ValueError,
        "loss 'poisson' needs numeric y, got dtype <U1",
    ),
    "MLP with an unknown activation": (
        lambda: _mlp(activation="sigmoid").fit(X, Y),
        ValueError,
        "The 'activation' parameter of MLPClassifier must be a str among",
    ),
    "MLP with a momentum of 1": (
        lambda: _mlp(solver="sgd", momentum=1.0).fit(X, Y),
        portnet.InvalidOptionError,
        "momentum beta must be in [0, 1), got 1.0",
    ),
    "MLP with a validation set of one sample": (
        lambda: _mlp("MLPRegressor", early_stopping=True, validation_fraction=0.001).fit(X, Y),
        ValueError,
        "The validation set is too small. Increase 'validation_fraction' or the size of your "
        "dataset.",
    ),
    "MLP with a hidden layer of no units": (
        lambda: _mlp(hidden_layer_sizes=(3, 0)).fit(X, Y),
        ValueError,
        "hidden_layer_sizes must be > 0, got [3, 0].",
    ),
    "MLP partial_fit with early stopping": (
        lambda: _mlp(early_stopping=True).partial_fit(X, Y, classes=[0, 1]),
        ValueError,
        "partial_fit does not support early_stopping=True",
    ),
    "MLP partial_fit with lbfgs": (
        lambda: _mlp(solver="lbfgs").partial_fit(X, Y, classes=[0, 1]),
        AttributeError,
        "This 'MLPClassifier' has no attribute 'partial_fit'",  # scikit-learn's words
    ),
    "validation_data without early_stopping": (
        train(validation_data=(X, Y)),
        portnet.InvalidOptionError,
        "validation_data is what early_stopping watches: give early_stopping=True with it",
    ),
    "validation_data not a pair": (
        train(validation_data=X, early_stopping=True),
        portnet.InvalidOptionError,
        "validation_data must be a pair (X, y) or a triple (X, y, sample_weight), got ndarray",
    ),
    "validation_data with other features": (
        train(validation_data=(X[:, :1], Y), early_stopping=True),
        ValueError,
        "validation_data's X must have shape (m, 2) with m >= 1, as the training X, got shape "
        "(400, 1)",
    ),
    "validation_data with a label not trained on": (
        train(validation_data=(X[:3], [0, 1, 2]), early_stopping=True),
        ValueError,
        "y has labels the model was not trained on: 2",
    ),
    "from_sklearn of another estimator": (
        lambda: _from_sklearn(_classifier()),
        TypeError,
        "from_sklearn takes a sklearn.neural_network.MLPClassifier or MLPRegressor, got "
        "portnet.sklearn.PortnetClassifier",
    ),
    # -- issue 29, zero weights kept in the batches; the estimators' one parameter list
    "unknown zero_weights": (
        train(zero_weights="skip"),
        portnet.InvalidOptionError,
        "zero_weights must be one of ['drop', 'keep'], got 'skip'",
    ),
    "zero weights kept, a batch of them alone": (
        train(
            sample_weight=_with(np.ones(400), slice(40, 60), 0.0),
            zero_weights="keep",
            batch_size=20,
            shuffle=False,
            iterations=10,
        ),
        ValueError,
        "batch 3 of epoch 1 (20 samples) holds only samples of weight 0: its loss, a mean "
        "weighted by them, would be 0/0. Use a larger batch_size, or leave the samples of "
        "weight 0 out (portnet.train's default zero_weights='drop')",
    ),
    "zero weights kept, a validation part of them alone": (
        train(
            sample_weight=_with(np.zeros(400), 0, 1.0),
            zero_weights="keep",
            early_stopping=True,
            validation_fraction=0.5,
        ),
        ValueError,
        "by the validation split has weight 0 (their loss, a mean weighted by them, would be "
        "0/0): give another validation_fraction or seed, or validation_data",
    ),
    "drop-in, a batch of zero weights alone": (
        lambda: _mlp(batch_size=100, shuffle=False).fit(
            X, Y, sample_weight=_with(np.ones(400), slice(300, 400), 0.0)
        ),
        ValueError,
        "batch 4 of epoch 1 (100 samples) holds only samples of weight 0",
    ),
    "regressor given class_weight": (
        lambda: _regressor_estimator().set_params(class_weight="balanced"),
        ValueError,
        "Invalid parameter 'class_weight' for estimator PortnetRegressor(iterations=2)",
    ),
}


def _pandas():
    return pytest.importorskip("pandas", reason="pandas is not installed")


def _scipy_sparse():
    return pytest.importorskip("scipy.sparse", reason="SciPy is not installed")


def _frame(a):
    """``a`` as a DataFrame of nullable Float64 columns (``convert_dtypes``: NaN is pd.NA)."""
    pandas = _pandas()
    frame = pandas.DataFrame(a, columns=[f"x{i}" for i in range(a.shape[1])]).convert_dtypes()
    assert all(str(t) == "Float64" for t in frame.dtypes)
    return frame


def _masked(a, k):
    """``a`` as a masked array, its first ``k`` values masked."""
    return np.ma.masked_array(a, mask=np.arange(a.size).reshape(a.shape) < k)


def _labels(missing):
    """Text labels "a"/"b" of X's samples, ``missing`` as the fourth."""
    labels = np.array(["a", "b"] * 200, dtype=object)
    labels[3] = missing
    return labels


def _regressor_estimator():
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    from portnet.sklearn import PortnetRegressor

    return PortnetRegressor(iterations=2)


def _mlp(kind="MLPClassifier", **params):
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    import portnet.sklearn

    return getattr(portnet.sklearn, kind)(**{"hidden_layer_sizes": (3,), "max_iter": 2, **params})


def _from_sklearn(estimator):
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    from portnet.sklearn import from_sklearn

    return from_sklearn(estimator)


def _torch(a):
    """The array on torch (a case using it is marked ``needs("torch")``)."""
    import torch

    return torch.asarray(a)


def _cases():
    """CASES as pytest parameters, each with its name as its id (and its marks, for a case
    written as a ``pytest.param``: those needing a backend)."""
    for name, case in CASES.items():
        values, marks = (case.values, case.marks) if hasattr(case, "marks") else (case, ())
        yield pytest.param(*values, marks=marks, id=name)


@pytest.mark.parametrize(("call", "kind", "message"), list(_cases()))
def test_bad_input_says_what_was_expected_and_what_arrived(call, kind, message):
    with pytest.raises(kind) as caught:
        call()
    assert message in str(caught.value)
