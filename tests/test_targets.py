"""Labels in, labels out: binary with any two values, multiclass softmax, one-hot, multi-label;
stopping rules and callbacks."""

from __future__ import annotations

import numpy as np
import pytest

import portnet
from portnet.agreement import flat_params

from .conftest import host, on

X_PLANAR, Y_PLANAR = portnet.datasets.planar()


def blobs(n_samples=600, centers=5, seed=0):
    rng = np.random.default_rng(seed)
    middles = rng.uniform(-6, 6, (centers, 2))
    labels = rng.integers(0, centers, n_samples)
    return middles[labels] + rng.normal(scale=1.2, size=(n_samples, 2)), labels


# -- binary labels of any two values ------------------------------------------------------------
@pytest.mark.parametrize(
    "values",
    [(0, 1), (-1, 1), ("no", "yes"), (False, True), (2.0, 7.0)],
    ids=["0/1", "-1/1", "text", "bool", "floats"],
)
def test_binary_labels_come_back_as_given(values):
    y = np.where(Y_PLANAR == 1, values[1], values[0])
    model = portnet.train(X_PLANAR, y, iterations=2000)
    assert model.network.loss.name == "binary_crossentropy"
    assert list(model.classes_) == sorted(values)
    predicted = model.predict(X_PLANAR)
    assert predicted.dtype == y.dtype
    assert set(predicted.tolist()) <= set(values)
    assert model.score(X_PLANAR, y) == pytest.approx(np.mean(predicted == y))
    assert model.score(X_PLANAR, y) > 0.85
    proba = model.predict_proba(X_PLANAR)
    assert proba.shape == (400, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(
        predicted, np.asarray(model.classes_)[(proba[:, 1] > 0.5).astype(int)]
    )


def test_label_encoding_does_not_change_the_math():
    """{-1, 1} labels train exactly as {0, 1} labels do."""
    a = portnet.train(X_PLANAR, Y_PLANAR, iterations=300)
    b = portnet.train(X_PLANAR, 2 * Y_PLANAR - 1, iterations=300)
    np.testing.assert_array_equal(flat_params(a.params), flat_params(b.params))


# -- multiclass -----------------------------------------------------------------------------------
def test_multiclass_softmax_on_blobs():
    X, y = blobs()
    model = portnet.train(
        X, y, hidden=(16,), optimizer="adam", learning_rate=0.01, epochs=60, batch_size=32
    )
    assert model.network.loss.name == "categorical_crossentropy"
    assert model.n_outputs == 5
    proba = model.predict_proba(X)
    assert proba.shape == (600, 5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), np.argmax(proba, axis=1))
    assert model.score(X, y) > 0.85  # overlapping blobs: scikit-learn's MLP reaches 0.90


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")  # sklearn: max_iter reached
def test_multiclass_matches_scikit_learn_with_the_same_architecture(backend):
    """MLPClassifier and portnet, same net (16 tanh units, softmax), Adam, batches of 32."""
    sklearn = pytest.importorskip("sklearn.neural_network")
    X, y = blobs(n_samples=900, centers=6, seed=3)
    X_fit, y_fit, X_test, y_test = X[:600], y[:600], X[600:], y[600:]
    reference = sklearn.MLPClassifier(
        hidden_layer_sizes=(16,),
        activation="tanh",
        solver="adam",
        learning_rate_init=0.01,
        batch_size=32,
        max_iter=60,
        alpha=0.0,
        random_state=0,
    )
    reference.fit(X_fit, y_fit)
    ours = portnet.train(
        X_fit,
        y_fit,
        hidden=(16,),
        optimizer="adam",
        learning_rate=0.01,
        epochs=60,
        batch_size=32,
        backend=backend,
        dtype="float32",
    )
    theirs = reference.score(X_test, y_test)
    mine = ours.score(X_test, y_test)
    assert mine >= theirs - 0.02, (mine, theirs)


def test_text_classes_and_unknown_labels():
    X, y = blobs(centers=3)
    names = np.array(["cat", "dog", "emu"])[y]
    options = dict(hidden=(8,), optimizer="adam", learning_rate=0.02, epochs=30, batch_size=32)
    model = portnet.train(X, names, **options)
    assert list(model.classes_) == ["cat", "dog", "emu"]
    assert set(model.predict(X).tolist()) <= {"cat", "dog", "emu"}
    assert model.score(X, names) > 0.85
    with pytest.raises(ValueError, match=r"labels the model was not trained on: 'fox'"):
        model.score(X[:3], np.array(["cat", "fox", "dog"]))


def test_one_hot_rows_in_one_hot_rows_out():
    X, y = blobs(centers=4)
    onehot = np.eye(4)[y]
    options = dict(hidden=(8,), optimizer="adam", learning_rate=0.02, epochs=30, batch_size=32)
    model = portnet.train(X, onehot, **options)
    assert model.network.loss.name == "categorical_crossentropy"
    predicted = model.predict(X)
    assert predicted.shape == (600, 4)
    np.testing.assert_array_equal(predicted.sum(axis=1), 1)
    assert model.score(X, onehot) > 0.85
    same = portnet.train(X, y, **options)
    np.testing.assert_array_equal(flat_params(model.params), flat_params(same.params))


def test_multilabel_rows():
    X, y = blobs(centers=4)
    labels = np.stack([y % 2, y // 2, (y == 3)], axis=1).astype(int)  # three independent 0/1
    options = dict(hidden=(16,), optimizer="adam", learning_rate=0.02, epochs=60, batch_size=32)
    model = portnet.train(X, labels, **options)
    assert model.network.loss.name == "binary_crossentropy"
    assert model.predict_proba(X).shape == (600, 3)
    assert model.predict(X).shape == (600, 3)
    assert model.score(X, labels) > 0.9  # every label of a row right (scikit-learn: 0.95)


def test_multiclass_on_every_backend_follows_the_input(backend, dtype):
    be = on(backend)
    X, y = blobs(centers=3)
    Xb, yb = be.asarray(X, be.dtype(dtype)), be.asarray(y)
    model = portnet.train(Xb, yb, hidden=(8,), optimizer="adam", learning_rate=0.02, epochs=5)
    labels, proba = model.predict(Xb), model.predict_proba(Xb)
    assert type(labels) is type(Xb)
    assert type(proba) is type(Xb)
    assert proba.shape == (600, 3)
    assert labels.dtype == yb.dtype
    reference = portnet.train(X, y, hidden=(8,), optimizer="adam", learning_rate=0.02, epochs=5)
    np.testing.assert_allclose(
        host(proba), reference.predict_proba(X), atol=1e-12 if dtype == "float64" else 1e-4
    )


@pytest.mark.parametrize(
    ("y", "loss", "message"),
    [
        (np.arange(400) % 3, "binary_crossentropy", r"needs 2 classes, but y has 3 \(0, 1, 2\)"),
        (np.zeros(400), "auto", r"y has a single class \(0.0\)"),
        (np.ones((400, 2)) * 0.5, "categorical_crossentropy", r"needs 0/1 indicator or one-hot"),
        (np.ones((400, 2)), "categorical_crossentropy", r"needs one-hot rows"),
        (np.array(["a", "b"] * 200), "squared_error", r"needs numeric y"),
    ],
)
def test_labels_that_do_not_fit_the_loss(y, loss, message):
    with pytest.raises(ValueError, match=message):
        portnet.train(X_PLANAR, y, loss=loss, iterations=1)


def test_categorical_loss_on_two_classes():
    model = portnet.train(X_PLANAR, Y_PLANAR, loss="categorical_crossentropy", iterations=3000)
    assert model.n_outputs == 2
    assert model.predict_proba(X_PLANAR).shape == (400, 2)
    assert model.score(X_PLANAR, Y_PLANAR) > 0.85


# -- stopping and callbacks ------------------------------------------------------------------------
def test_tol_stops_when_the_cost_stalls():
    model = portnet.train(
        X_PLANAR, Y_PLANAR, iterations=50_000, log_every=100, tol=1e-4, n_iter_no_change=5
    )
    assert model.stop_reason == "tol"
    assert model.n_steps < 50_000
    assert model.history.step[-1] == model.n_steps
    last = model.history.cost[-6:]
    assert all(c > min(model.history.cost[:-5]) - 1e-4 for c in last[1:])


def test_early_stopping_keeps_the_best_validation_parameters():
    X, y = blobs(n_samples=300, centers=3)
    model = portnet.train(
        X,
        y,
        hidden=(32,),
        optimizer="adam",
        learning_rate=0.05,
        iterations=4000,
        log_every=25,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=8,
    )
    assert model.stop_reason == "early_stopping"
    assert len(model.history.val_cost) == len(model.history.cost)
    best = model.history.step[int(np.argmin(model.history.val_cost))]
    assert model.best_step == best
    assert model.n_steps == model.history.step[-1] >= best + 8 * 25
    # the kept parameters are those of the best step: retraining to it gives them exactly
    again = portnet.train(
        X,
        y,
        hidden=(32,),
        optimizer="adam",
        learning_rate=0.05,
        iterations=best,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=10_000,
        log_every=25,
    )
    np.testing.assert_array_equal(flat_params(model.params), flat_params(again.params))


def test_callbacks_see_each_log_point_and_can_stop():
    seen = []

    def watch(step, cost, model):
        seen.append((step, cost, model.cost(X_PLANAR, Y_PLANAR)))
        return step < 300 or False  # False at step 300 stops training

    model = portnet.train(X_PLANAR, Y_PLANAR, iterations=1000, log_every=100, callbacks=watch)
    assert [s for s, _, _ in seen] == [0, 100, 200, 300]
    for _, cost, recomputed in seen:
        assert cost == pytest.approx(recomputed, rel=1e-12)
    assert model.stop_reason == "callback"
    assert model.n_steps == 300
    assert model.history.step == [0, 100, 200, 300]
    with pytest.raises(TypeError, match="callbacks must be callables"):
        portnet.train(X_PLANAR, Y_PLANAR, iterations=1, callbacks=[1])
