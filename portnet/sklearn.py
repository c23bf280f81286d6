"""scikit-learn estimators: :class:`PortnetClassifier` and :class:`PortnetRegressor`.

They wrap :func:`portnet.train` in scikit-learn's estimator API (``fit``, ``predict``,
``predict_proba``, ``score``, ``partial_fit``, ``warm_start``, ``get_params``/``set_params``)
so they work in ``Pipeline``, ``GridSearchCV`` and ``cross_val_score``.

Inputs follow scikit-learn's array-API rule, "everything follows X": NumPy, lists and
DataFrames are validated by scikit-learn and trained on NumPy (or on ``backend=``); arrays of
CuPy, JAX, torch or array-api-strict train on that backend and device, and ``predict``,
``predict_proba`` and ``classes_`` come back in that namespace, on that device.

Needs scikit-learn (``pip install scikit-learn``); portnet itself does not.
"""

from __future__ import annotations

from typing import Any

import array_api_compat as aac
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._backend import _float_name, _is_array, backend_of, resolve_backend, to_numpy
from ._inputs import as_data
from ._options import NAMES as OPTION_NAMES
from ._options import Options
from ._weights import check_class_weight, check_sample_weight, class_factors, of_length
from .model import fit

__all__ = ["PortnetClassifier", "PortnetRegressor"]

Array = Any


def _foreign(x: Any) -> bool:
    """An array of another array library than NumPy: used where it is, not converted."""
    return _is_array(x) and not aac.is_numpy_array(x)


def _plain(x: Any, what: str) -> Any:
    """``x`` as :func:`portnet.train` takes it (a masked array or a ragged list refused, a
    torch tensor detached), but left to scikit-learn: sparse matrices (which it refuses)
    and ``X`` as a DataFrame (whose column names it keeps)."""
    library = type(x).__module__.partition(".")[0]
    if library == "scipy" or (library == "pandas" and what == "X"):
        return x
    return as_data(x, what)


def _namespace_name(x: Any) -> str:
    if not _foreign(x):
        return "numpy"  # NumPy, lists, DataFrames: validated and converted by scikit-learn
    xp = aac.array_namespace(x)
    return backend_of(xp) or xp.__name__


def _follow(X: Any, y: Any) -> Any:
    """``y`` moved to ``X``'s namespace and device (text labels stay on the host)."""
    if _is_array(y) and aac.array_namespace(y) is aac.array_namespace(X):
        if aac.device(y) == aac.device(X):
            return y
    elif not _is_array(y) or to_numpy(y).dtype.kind in "USO":
        y = np.asarray(y)
        if y.dtype.kind in "USO":
            return y
    return resolve_backend(aac.array_namespace(X), device=aac.device(X)).asarray(y)


class _Portnet(BaseEstimator):
    """What both estimators share: parameters, validation, training, prediction."""

    _loss: str

    def __init__(
        self,
        hidden: int | tuple[int, ...] = (4,),
        *,
        activation: str = "tanh",
        optimizer: str = "adam",
        learning_rate: float | None = None,
        iterations: int | None = 2000,
        epochs: int | None = None,
        batch_size: int | None = None,
        l2: float = 0.0,
        init: str = "auto",
        seed: int | None = 0,
        tol: float | None = None,
        n_iter_no_change: int = 10,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        warm_start: bool = False,
        backend: Any = None,
        device: Any = None,
        dtype: Any = None,
        precision: str = "highest",
        log_every: int = 100,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.iterations = iterations
        self.epochs = epochs
        self.batch_size = batch_size
        self.l2 = l2
        self.init = init
        self.seed = seed
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.backend = backend
        self.device = device
        self.dtype = dtype
        self.precision = precision
        self.log_every = log_every

    # -- validation ------------------------------------------------------------------------
    def _check_namespace(self, X: Any, *, reset: bool, method: str) -> None:
        namespace = _namespace_name(X)
        if reset:
            self._fit_namespace = namespace
        elif namespace != self._fit_namespace:
            raise ValueError(
                f"{type(self).__name__}.{method}(): X must use the same namespace as the "
                f"data it was fitted on: X is a {namespace} array, fit was given "
                f"{self._fit_namespace} arrays (everything follows X)"
            )

    def _check_X(self, X: Any, *, reset: bool, method: str = "fit") -> Any:
        X = _plain(X, "X")
        self._check_namespace(X, reset=reset, method=method)
        if not _foreign(X):
            return validate_data(self, X, reset=reset, dtype=(np.float64, np.float32))
        if X.ndim != 2:
            raise ValueError(f"Expected 2D array, got {X.ndim}D array instead: shape {X.shape}")
        if reset:
            self.n_features_in_ = int(X.shape[1])
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        xp = aac.array_namespace(X)
        if not xp.isdtype(X.dtype, "real floating"):
            X = xp.astype(X, xp.float32 if _float_name(self.dtype) == "float32" else X.dtype)
        return X

    def _check_Xy(self, X: Any, y: Any, *, reset: bool, method: str = "fit") -> tuple[Any, Any]:
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        X, y = _plain(X, "X"), as_data(y, "y")
        if not _foreign(X):
            self._check_namespace(X, reset=reset, method=method)
            X, y = validate_data(
                self,
                X,
                y,
                reset=reset,
                dtype=(np.float64, np.float32),
                multi_output=self._loss == "squared_error",
                y_numeric=self._loss == "squared_error",
            )
            return X, y
        X = self._check_X(X, reset=reset, method=method)
        y = _follow(X, y)
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"X and y have inconsistent numbers of samples: {X.shape[0]} and {y.shape[0]}"
            )
        return X, y

    # -- training --------------------------------------------------------------------------
    def _train(self, X: Any, Y: Any, w: Any, *, params: Any, iterations: Any, epochs: Any) -> None:
        """Train on ``(X, Y)``, ``Y`` encoded for the network, ``w`` the samples' weights
        (the class weights in them: the estimator's labels are not ``Y``'s)."""
        given = self.get_params(deep=False).items()
        shared = {k: v for k, v in given if k in OPTION_NAMES and k != "class_weight"}
        run = {"params": params, "iterations": iterations, "epochs": epochs, "sample_weight": w}
        model = fit(X, Y, Options(**{**shared, **run, "loss": self._network_loss()}))
        previous = getattr(self, "loss_curve_", []) if params is not None else []
        self.model_ = model
        self.loss_curve_ = [*previous, *model.history.cost]
        self.n_iter_ = max(model.n_steps, 1)

    def _fit(self, X: Any, Y: Any, w: Any) -> None:
        warm = self.warm_start and hasattr(self, "model_")
        self._train(
            X,
            Y,
            w,
            params=self.model_.params if warm else None,
            iterations=self.iterations,
            epochs=self.epochs,
        )

    def _partial(self, X: Any, Y: Any, w: Any) -> None:
        """One epoch (one full-batch step without ``batch_size``) from the current parameters."""
        params = self.model_.params if hasattr(self, "model_") else None
        self._train(X, Y, w, params=params, iterations=None, epochs=1)

    def _sample_weight(self, X: Any, sample_weight: Any) -> np.ndarray | None:
        """``sample_weight`` checked as :func:`portnet.train` checks it (host float64)."""
        w = check_sample_weight(sample_weight)
        return None if w is None else of_length(w, X.shape[0])

    def _network_loss(self) -> str:
        return self._loss

    def _output(self, X: Any, method: str) -> Any:
        check_is_fitted(self, "model_")
        return self._check_X(X, reset=False, method=method)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        tags.non_deterministic = False
        return tags


class PortnetClassifier(ClassifierMixin, _Portnet):
    """A portnet network as a scikit-learn classifier.

    Two classes: one sigmoid output with binary cross-entropy (the course); more: a softmax
    layer with categorical cross-entropy.  Parameters are those of :func:`portnet.train`
    (``hidden`` positional, the rest keyword-only), with scikit-learn-friendly defaults:
    Adam, 2000 iterations, the cost logged every 100.  ``class_weight`` ("balanced" or
    ``{label: weight}``, keyed by this estimator's labels) multiplies ``fit``'s and
    ``partial_fit``'s ``sample_weight`` (see :func:`portnet.train`).

    Attributes
    ----------
    classes_ : array
        The label values, sorted (in ``X``'s namespace and device for numeric labels given
        as arrays of that namespace).
    model_ : portnet.Model
        The trained network.
    loss_curve_ : list of float
        The training cost at every log point (across ``partial_fit``/``warm_start`` calls).
    n_features_in_, n_iter_
    """

    _loss = "auto"

    def __init__(
        self,
        hidden: int | tuple[int, ...] = (4,),
        *,
        activation: str = "tanh",
        optimizer: str = "adam",
        learning_rate: float | None = None,
        iterations: int | None = 2000,
        epochs: int | None = None,
        batch_size: int | None = None,
        l2: float = 0.0,
        class_weight: str | dict[Any, float] | None = None,
        init: str = "auto",
        seed: int | None = 0,
        tol: float | None = None,
        n_iter_no_change: int = 10,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        warm_start: bool = False,
        backend: Any = None,
        device: Any = None,
        dtype: Any = None,
        precision: str = "highest",
        log_every: int = 100,
    ) -> None:
        super().__init__(
            hidden, activation=activation, optimizer=optimizer, learning_rate=learning_rate,
            iterations=iterations, epochs=epochs, batch_size=batch_size, l2=l2, init=init,
            seed=seed, tol=tol, n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            warm_start=warm_start, backend=backend, device=device, dtype=dtype,
            precision=precision, log_every=log_every,
        )  # fmt: skip
        self.class_weight = class_weight

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> PortnetClassifier:
        """Train on ``(X, y)`` (from the current parameters with ``warm_start=True``), each
        sample weighted by ``sample_weight`` times its class's ``class_weight``."""
        X, y = self._check_Xy(X, y, reset=not (self.warm_start and hasattr(self, "model_")))
        if not (self.warm_start and hasattr(self, "classes_")):
            self.classes_ = self._classes(y)
        Y = self._encode(y, X.dtype)
        self._fit(X, Y, self._weights(X, y, sample_weight, method="fit"))
        return self

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> PortnetClassifier:
        """One epoch on ``(X, y)``; the first call needs ``classes`` (every label value).
        ``class_weight="balanced"`` needs the whole data's classes: ``fit`` only."""
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        X, y = self._check_Xy(X, y, reset=first, method="partial_fit")
        if first:
            self.classes_ = self._classes(classes)
        Y = self._encode(y, X.dtype)
        self._partial(X, Y, self._weights(X, y, sample_weight, method="partial_fit"))
        return self

    def _weights(self, X: Any, y: Any, sample_weight: Any, *, method: str) -> Any:
        """Each sample's weight: ``sample_weight`` times its class's ``class_weight``
        (:func:`portnet.train`'s rule, applied to this estimator's labels), or None."""
        w = self._sample_weight(X, sample_weight)
        class_weight = check_class_weight(self.class_weight)
        if class_weight is None:
            return w
        if class_weight == "balanced" and method == "partial_fit":
            raise ValueError(
                "class_weight='balanced' needs the class frequencies of the whole data, "
                "which partial_fit does not see: use fit, or give class_weight as a dict "
                "{label: weight}"
            )
        labels = np.asarray(to_numpy(y) if _foreign(y) else column_or_1d(y))
        index = np.searchsorted(np.asarray(to_numpy(self.classes_)), labels)
        factors = class_factors(class_weight, index, self.classes_, w)
        return factors if w is None else w * factors

    def predict_proba(self, X: Any) -> Array:
        """``(m, n_classes)``: each class's probability, columns in ``classes_`` order."""
        return self._proba(X, "predict_proba")

    def _proba(self, X: Any, method: str) -> Array:
        X = self._output(X, method)
        P = self.model_.predict_proba(X)  # (m, 1) for two classes: p(classes_[1])
        if P.shape[1] == 1:
            xp = aac.array_namespace(P)
            P = xp.concat([1 - P, P], axis=1)  # (m, 2)
        return P

    def predict(self, X: Any) -> Array:
        """The most probable class of each sample (threshold 0.5 for two classes)."""
        P = self._proba(X, "predict")
        if _foreign(P) and _is_array(self.classes_) and not aac.is_numpy_array(self.classes_):
            xp = aac.array_namespace(P)
            return xp.take(self.classes_, xp.argmax(P, axis=1))
        return np.asarray(self.classes_)[np.argmax(to_numpy(P), axis=1)]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy (with ``sample_weight``, the weighted accuracy)."""
        predicted = self.predict(X)
        if not _foreign(predicted):
            return super().score(X, y, sample_weight=sample_weight)
        xp = aac.array_namespace(predicted)
        right = xp.astype(predicted == _follow(predicted, y), self.model_.dtype)  # (m,)
        if sample_weight is not None:
            weight = _follow(predicted, sample_weight)
            return float(xp.sum(right * weight) / xp.sum(weight))
        return float(xp.mean(right))

    # -- labels ----------------------------------------------------------------------------
    def _classes(self, y: Any) -> Any:
        if _foreign(y):
            xp = aac.array_namespace(y)
            if y.ndim != 1:
                raise ValueError(f"y must be 1-D class labels, got shape {tuple(y.shape)}")
            classes = xp.unique_values(y)
            if not isinstance(classes.shape[0], int):  # a lazy library (Dask): size unknown
                classes = xp.asarray(to_numpy(classes), device=aac.device(y))
            return classes
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        classes = np.unique(y)
        if classes.shape[0] < 2:
            raise ValueError(
                f"the classifier needs samples of at least 2 classes, got 1 class: {classes}"
            )
        return classes

    def _network_loss(self) -> str:
        # two classes: one sigmoid unit (the course); more: softmax over one-hot rows
        return "binary_crossentropy" if self.classes_.shape[0] == 2 else "categorical_crossentropy"

    def _encode(self, y: Any, dtype: Any) -> Any:
        """0/1 rows for the network: one column for two classes, one-hot rows for more."""
        classes = self.classes_
        if _foreign(y):
            xp = aac.array_namespace(y)
            hot = y[:, None] == classes[None, :]  # (m, n_classes)
            known = xp.any(hot, axis=1)
        else:
            y = column_or_1d(y, warn=True)
            hot = y[:, None] == np.asarray(classes)[None, :]
            known = hot.any(axis=1)
            xp = aac.array_namespace(hot)
        if not bool(xp.all(known)):
            raise ValueError(
                f"y holds labels that are not in classes_ {to_numpy(classes)}: "
                f"{np.unique(to_numpy(y)[~to_numpy(known)])}"
            )
        hot = xp.astype(hot, dtype) if _foreign(y) else hot.astype(_float_name(dtype))
        return hot[:, 1:] if classes.shape[0] == 2 else hot  # (m, 1) or (m, n_classes)


class PortnetRegressor(RegressorMixin, _Portnet):
    """A portnet network as a scikit-learn regressor: identity output, squared error.

    ``y`` is ``(m,)`` or ``(m, k)``; ``predict`` returns the same shape.  Parameters as for
    :class:`PortnetClassifier`.
    """

    _loss = "squared_error"

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> PortnetRegressor:
        """Train on ``(X, y)`` (from the current parameters with ``warm_start=True``), each
        sample weighted by ``sample_weight``."""
        X, y = self._check_Xy(X, y, reset=not (self.warm_start and hasattr(self, "model_")))
        self._fit(X, y, self._sample_weight(X, sample_weight))
        return self

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> PortnetRegressor:
        """One epoch on ``(X, y)`` from the current parameters."""
        X, y = self._check_Xy(X, y, reset=not hasattr(self, "model_"), method="partial_fit")
        self._partial(X, y, self._sample_weight(X, sample_weight))
        return self

    def predict(self, X: Any) -> Array:
        """The network's output: ``(m,)`` for 1-D ``y``, ``(m, k)`` for 2-D."""
        X = self._output(X, "predict")
        return self.model_.predict(X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y of shape (m, k): k outputs
        return tags

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R² (averaged over outputs)."""
        if sample_weight is None:
            X = self._output(X, "score")
            return self.model_.score(X, _follow(X, y) if _foreign(X) else y)
        return super().score(X, y, sample_weight=sample_weight)
