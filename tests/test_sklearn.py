"""portnet.sklearn: scikit-learn's estimator checks, pipelines, searches, and inputs that
stay in their namespace and on their device."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import portnet  # noqa: E402
from portnet import BACKENDS  # noqa: E402
from portnet.sklearn import PortnetClassifier, PortnetRegressor  # noqa: E402

from .conftest import host, needs, on  # noqa: E402

# Small and quick, but enough to pass the checks that test learning (accuracy > 0.83 on
# blobs, R² > 0.5 on a regression problem).
QUICK = {"hidden": (16,), "iterations": 300, "learning_rate": 0.05, "log_every": 100}


def _expected_failures(estimator):
    return {}


def _needing_their_backends(parametrization: pytest.MarkDecorator) -> pytest.MarkDecorator:
    """scikit-learn's checks, each that puts arrays on a portnet backend besides NumPy
    (``array_namespace="torch"``, ``X_ns_and_device=NamespaceAndDevice(xp="cupy", ...)``)
    marked as needing it: deselected where it is missing, run in its session."""
    argnames, argvalues = parametrization.args
    params = []
    for value in argvalues:  # (estimator, check), or a pytest.param of them with its marks
        given = value if hasattr(value, "marks") else pytest.param(*value)
        keywords = getattr(given.values[1], "keywords", {})  # the check: a functools.partial
        named = {n for n in (getattr(v, "xp", v) for v in keywords.values()) if isinstance(n, str)}
        backends = [n for n in BACKENDS if n != "numpy" and n in named]
        marks = [*given.marks, *([needs(*backends)] if backends else [])]
        params.append(pytest.param(*given.values, marks=marks, id=given.id))
    return pytest.mark.parametrize(argnames, params, **parametrization.kwargs)


@_needing_their_backends(
    parametrize_with_checks(
        [PortnetClassifier(**QUICK), PortnetRegressor(**QUICK)],
        expected_failed_checks=_expected_failures,
    )
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def planar():
    return portnet.datasets.planar()


def test_classifier_learns_the_flower_like_the_course(planar):
    X, y = planar
    clf = PortnetClassifier(
        4, optimizer="sgd", learning_rate=1.2, iterations=10_000, log_every=1000
    )
    clf.fit(X, y)
    assert clf.score(X, y) == pytest.approx(0.905, abs=0.006)
    assert clf.n_features_in_ == 2
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert clf.predict_proba(X).shape == (400, 2)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1)
    assert len(clf.loss_curve_) == 11
    assert clf.n_iter_ == 10_000


def test_text_labels_multiclass():
    X, y = make_blobs(n_samples=300, centers=6, random_state=0)
    names = np.array(["a", "b", "c", "d", "e", "f"])[y]
    clf = PortnetClassifier(**QUICK).fit(X, names)
    np.testing.assert_array_equal(clf.classes_, list("abcdef"))
    assert clf.predict_proba(X).shape == (X.shape[0], 6)
    assert set(clf.predict(X)) <= set("abcdef")
    assert clf.score(X, names) > 0.8


def test_pipeline_grid_search_and_cross_validation(planar):
    X, y = planar
    pipe = make_pipeline(StandardScaler(), PortnetClassifier(**QUICK))
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,)
    assert scores.min() > 0.6
    search = GridSearchCV(
        PortnetClassifier(**QUICK),
        {"hidden": [(2,), (8,)], "activation": ["tanh", "relu"]},
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    )
    search.fit(X, y)
    assert search.best_params_["hidden"] in [(2,), (8,)]
    assert search.best_estimator_.score(X, y) > 0.7


def test_regressor_one_and_several_outputs():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 3))
    y = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]
    reg = PortnetRegressor(**QUICK).fit(X, y)
    assert reg.predict(X).shape == (200,)
    assert reg.score(X, y) > 0.8
    Y = np.column_stack([y, -y])
    reg2 = PortnetRegressor(**QUICK).fit(X, Y)
    assert reg2.predict(X).shape == (200, 2)
    assert reg2.score(X, Y) > 0.8


def test_partial_fit_and_warm_start_continue_from_the_parameters(planar):
    X, y = planar
    clf = PortnetClassifier(4, optimizer="sgd", learning_rate=1.2)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1])  # one full-batch step each
    straight = portnet.train(X, y, hidden=(4,), learning_rate=1.2, iterations=3, init="auto")
    for (W, b), (W0, b0) in zip(clf.model_.params, straight.params, strict=True):
        np.testing.assert_allclose(W, W0, rtol=1e-12)
        np.testing.assert_allclose(b, b0, rtol=1e-12, atol=1e-15)
    only_ones = y == 1  # a batch of one class is fine once the classes are known
    clf.partial_fit(X[only_ones], y[only_ones])
    with pytest.raises(ValueError, match=r"not in classes_ \[0 1\]: \[7\]"):
        clf.partial_fit(X[:3], [0, 1, 7])

    warm = PortnetClassifier(4, optimizer="sgd", learning_rate=1.2, iterations=100, warm_start=True)
    warm.fit(X, y).fit(X, y)
    once = PortnetClassifier(4, optimizer="sgd", learning_rate=1.2, iterations=200).fit(X, y)
    for (W, _), (W0, _) in zip(warm.model_.params, once.model_.params, strict=True):
        np.testing.assert_allclose(W, W0, rtol=1e-10)
    assert len(once.loss_curve_) == 3  # steps 0, 100 and 200
    assert len(warm.loss_curve_) == 4  # steps 0 and 100 of each call
    assert warm.loss_curve_[-1] == pytest.approx(once.loss_curve_[-1], rel=1e-10)


def test_clone_pickle_and_not_fitted(planar):
    X, y = planar
    clf = PortnetClassifier(**QUICK)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    clf.fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
    fresh = clone(clf)
    assert not hasattr(fresh, "model_")
    assert fresh.get_params() == clf.get_params()


def test_arrays_of_every_backend_train_there_and_come_back_there(backend, planar):
    X, y = planar
    be = on(backend)
    Xb, yb = be.asarray(X, be.dtype("float32")), be.asarray(y)
    clf = PortnetClassifier(**QUICK).fit(Xb, yb)
    assert clf.model_.backend == backend
    predicted, proba = clf.predict(Xb), clf.predict_proba(Xb)
    for out in (predicted, proba, clf.classes_):
        assert type(out) is type(Xb)
    np.testing.assert_array_equal(host(clf.classes_), [0, 1])
    reference = PortnetClassifier(**QUICK).fit(X.astype(np.float32), y)
    np.testing.assert_allclose(
        host(proba), reference.predict_proba(X.astype(np.float32)), atol=1e-4
    )
    assert clf.score(Xb, yb) == pytest.approx(reference.score(X, y), abs=0.01)

    reg = PortnetRegressor(**QUICK).fit(Xb, be.asarray(X[:, 0] * X[:, 1], be.dtype("float32")))
    assert type(reg.predict(Xb)) is type(Xb)


@needs("array_api_strict")
def test_a_device_is_kept_through_fit_and_predict(planar):
    import array_api_strict as strict

    X, y = planar
    device = strict.Device("device1")
    Xd, yd = strict.asarray(X, device=device), strict.asarray(y, device=device)
    clf = PortnetClassifier(**QUICK).fit(Xd, yd)
    assert clf.model_.device == device
    assert clf.predict(Xd).device == device
    assert clf.predict_proba(Xd).device == device
    assert clf.classes_.device == device
    with pytest.raises(ValueError, match="X has 3 features, but PortnetClassifier is expecting 2"):
        clf.predict(strict.ones((2, 3), device=device))


# -- issue 28: parameters as NumPy writes them ----------------------------------------------------
def test_grid_search_over_numpy_hidden_sizes(planar):
    """``GridSearchCV`` hands the estimator NumPy integers (``np.arange``'s): taken as widths."""
    X, y = planar
    grid = {"hidden": np.arange(2, 4), "iterations": np.array([5])}
    search = GridSearchCV(PortnetClassifier(), grid, cv=2).fit(X, y)
    assert search.best_params_["hidden"] in (2, 3)
    assert search.best_estimator_.model_.hidden == (int(search.best_params_["hidden"]),)


def test_numpy_parameters_give_the_model_of_python_ones(planar):
    X, y = planar
    python = dict(hidden=3, learning_rate=0.5, l2=0.25, iterations=5, dtype="float32")
    spelled = dict(hidden=np.int64(3), learning_rate=np.float32(0.5), l2=np.float32(0.25),
                   iterations=np.int64(5), dtype=np.float32)  # fmt: skip
    for estimator, target in ((PortnetClassifier, y), (PortnetRegressor, X[:, 0])):
        reference = estimator(**python).fit(X, target).model_
        portnet.optimizers.adam.cache_clear()  # cached: np.float32(0.5) would find 0.5's
        model = clone(estimator(**spelled)).fit(X, target).model_
        assert model.dtype == reference.dtype
        for p, q in zip(host_params(model), host_params(reference), strict=True):
            np.testing.assert_array_equal(p, q)


def host_params(model):
    return [host(p) for layer in model.params for p in layer]


def test_a_grid_over_epochs_needs_no_iterations_none():
    """``epochs`` given replaces the default 2000 iterations (it once failed: "give
    iterations or epochs, not both")."""
    from sklearn.model_selection import GridSearchCV

    X, y = portnet.datasets.planar()
    search = GridSearchCV(PortnetClassifier(), {"epochs": [2, 3]}, cv=2, error_score="raise")
    search.fit(X, y)
    assert search.best_params_["epochs"] in (2, 3)
    assert PortnetClassifier(epochs=3).fit(X, y).model_.n_steps == 3  # full batch: a step each


def test_one_parameter_list_and_class_weight_for_the_classifier_alone():
    """The shared parameters are declared once (issue 29, item 5): both estimators show them
    with their defaults (``hidden`` positional, the rest keyword-only), each but
    ``warm_start`` an option of ``portnet.train``, and only the classifier adds ``class_weight``."""
    import inspect

    from portnet._options import NAMES

    classifier = inspect.signature(PortnetClassifier).parameters
    regressor = inspect.signature(PortnetRegressor).parameters
    assert classifier["class_weight"].default is None
    assert "class_weight" not in regressor
    shared = {name: p.default for name, p in classifier.items() if name != "class_weight"}
    assert {name: p.default for name, p in regressor.items()} == shared
    assert shared["hidden"] == (4,)
    assert shared["iterations"] == 2000
    assert set(classifier) - set(NAMES) == {"warm_start"}  # the estimators' own
    kinds = {p.kind for name, p in classifier.items() if name != "hidden"}
    assert kinds == {inspect.Parameter.KEYWORD_ONLY}
    assert classifier["hidden"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert PortnetClassifier().get_params() == {n: p.default for n, p in classifier.items()}
    assert PortnetRegressor(3).get_params() == {**shared, "hidden": 3}
    with pytest.raises(TypeError, match="class_weight"):
        PortnetRegressor(class_weight="balanced")
    assert repr(PortnetClassifier(5, class_weight="balanced")) == (
        "PortnetClassifier(class_weight='balanced', hidden=5)"
    )
    assert PortnetClassifier() != PortnetClassifier()  # scikit-learn's identity, not fields'
