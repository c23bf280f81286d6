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

import copy
import dataclasses
import math
import warnings
from typing import Any, ClassVar

import array_api_compat as aac
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as _SkMLPClassifier
from sklearn.neural_network import MLPRegressor as _SkMLPRegressor
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import optimizers
from ._backend import _float_name, _is_array, backend_of, resolve_backend, to_numpy
from ._inputs import as_data
from ._loop import TrainingInterrupted
from ._options import NAMES as OPTION_NAMES
from ._options import Options
from ._targets import Targets, score
from ._weights import check_class_weight, check_sample_weight, class_factors, of_length
from .activations import get_activation, identity
from .init import initial_params
from .losses import Loss, get_loss, squared_error
from .model import Model, fit
from .network import Layer, Network

__all__ = [
    "MLPClassifier",
    "MLPRegressor",
    "PortnetClassifier",
    "PortnetRegressor",
    "from_sklearn",
]

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


class _Inputs(BaseEstimator):
    """What every portnet estimator shares: input validation, everything following X."""

    #: y of shape (m, k) taken; y must be numbers (scikit-learn's ``validate_data``)
    _multi_output = _y_numeric = False

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
                multi_output=self._multi_output,
                y_numeric=self._y_numeric,
            )
            return X, y
        X = self._check_X(X, reset=reset, method=method)
        y = _follow(X, y)
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"X and y have inconsistent numbers of samples: {X.shape[0]} and {y.shape[0]}"
            )
        return X, y

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        tags.non_deterministic = False
        return tags


@dataclasses.dataclass(eq=False, repr=False)
class _Portnet(_Inputs):
    """What both estimators share: the course's parameters, training, prediction.

    The parameters are declared once, here, as dataclass fields: the generated
    ``__init__`` only stores them (scikit-learn's rule) and its signature is what
    ``get_params``, ``set_params`` and ``clone`` read; :class:`PortnetClassifier` adds
    ``class_weight``.  ``eq`` and ``repr`` are scikit-learn's (identity, ``BaseEstimator``'s).
    """

    _loss: ClassVar[str]

    hidden: int | tuple[int, ...] = (4,)
    _: dataclasses.KW_ONLY
    activation: str = "tanh"
    optimizer: str = "adam"
    learning_rate: float | None = None
    iterations: int | None = 2000
    epochs: int | None = None
    batch_size: int | None = None
    l2: float = 0.0
    init: str = "auto"
    seed: int | None = 0
    tol: float | None = None
    n_iter_no_change: int = 10
    early_stopping: bool = False
    validation_fraction: float = 0.1
    warm_start: bool = False
    backend: Any = None
    device: Any = None
    dtype: Any = None
    precision: str = "highest"
    log_every: int = 100

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
            iterations=None if self.epochs is not None else self.iterations,  # epochs win
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


class _Labels:
    """Class labels of arrays of any namespace: the classes, the network's 0/1 rows."""

    classes_: Any

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


def _accuracy(predicted: Array, y: Any, sample_weight: Any, dtype: Any) -> float:
    """The (weighted) share of ``predicted`` labels (a non-NumPy array) equal to ``y``."""
    xp = aac.array_namespace(predicted)
    right = xp.astype(predicted == _follow(predicted, y), dtype)  # (m,)
    if sample_weight is not None:
        weight = _follow(predicted, sample_weight)
        return float(xp.sum(right * weight) / xp.sum(weight))
    return float(xp.mean(right))


@dataclasses.dataclass(eq=False, repr=False)
class PortnetClassifier(ClassifierMixin, _Labels, _Portnet):
    """A portnet network as a scikit-learn classifier.

    Two classes: one sigmoid output with binary cross-entropy (the course); more: a softmax
    layer with categorical cross-entropy.  Parameters are those of :func:`portnet.train`
    (``hidden`` positional, the rest keyword-only), with scikit-learn-friendly defaults:
    Adam, 2000 iterations (``epochs``, when given, replaces them: a grid over ``epochs``
    needs no ``iterations=None``), the cost logged every 100.  ``class_weight`` ("balanced" or
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

    _: dataclasses.KW_ONLY
    class_weight: str | dict[Any, float] | None = None

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
        return _accuracy(predicted, y, sample_weight, self.model_.dtype)


@dataclasses.dataclass(eq=False, repr=False)
class PortnetRegressor(RegressorMixin, _Portnet):
    """A portnet network as a scikit-learn regressor: identity output, squared error.

    ``y`` is ``(m,)`` or ``(m, k)``; ``predict`` returns the same shape.  Parameters as for
    :class:`PortnetClassifier`.
    """

    _loss = "squared_error"
    _multi_output = _y_numeric = True

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


# -- scikit-learn's MLP, as a drop-in ----------------------------------------------------------
#: scikit-learn's hidden activations, as portnet names them
_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
#: the network's loss, and scikit-learn's name of its output activation
_OUTPUTS = {
    "binary_crossentropy": "logistic",
    "categorical_crossentropy": "softmax",
    "squared_error": "identity",
    "poisson": "exp",
}
#: portnet's own parameters, beside scikit-learn's
_PLACEMENT = ("backend", "device", "dtype", "precision")


@dataclasses.dataclass(eq=False, repr=False)
class _MLP(_Inputs):
    """What both drop-ins share: scikit-learn's MLP parameters translated to portnet's
    :class:`~portnet._options.Options` (one training loop), its fitted attributes, and
    predictions from ``coefs_`` and ``intercepts_``.

    The keyword-only parameters, scikit-learn 1.9's and portnet's own, are declared once
    here as dataclass fields; each drop-in declares its positional ones, which the
    generated ``__init__`` puts first (scikit-learn's signatures: the regressor's ``loss``
    leads).  ``__init__`` only stores them; ``eq`` and ``repr`` are scikit-learn's.
    """

    _multi_output = True
    _sklearn: ClassVar[type]  # scikit-learn's class this one stands in for

    _: dataclasses.KW_ONLY
    solver: str = "adam"
    alpha: float = 0.0001
    batch_size: Any = "auto"
    learning_rate: str = "constant"
    learning_rate_init: float = 0.001
    power_t: float = 0.5
    max_iter: int = 200
    shuffle: bool = True
    random_state: Any = None
    tol: float = 1e-4
    verbose: bool = False
    warm_start: bool = False
    momentum: float = 0.9
    nesterovs_momentum: bool = True
    early_stopping: bool = False
    validation_fraction: float = 0.1
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    n_iter_no_change: int = 10
    max_fun: int = 15000
    backend: Any = None
    device: Any = None
    dtype: Any = None
    precision: str = "highest"

    # -- training --------------------------------------------------------------------------
    def _fit(self, X: Any, y: Any, *, incremental: bool, sample_weight: Any = None) -> Any:
        self._validate_params()
        hidden = self._hidden()
        if self.early_stopping and incremental and self.solver != "lbfgs":
            raise ValueError("partial_fit does not support early_stopping=True")
        first = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y = self._targets(X, y, incremental=incremental, reset=first)
        w = check_sample_weight(sample_weight)
        w = None if w is None else of_length(w, X.shape[0])
        rng = check_random_state(self.random_state)  # drawn from as scikit-learn draws
        params = self._initial(hidden, X.shape[1], Y.shape[1], rng) if first else self._params()
        if self.solver == "lbfgs":  # full batch; scikit-learn ignores early_stopping here
            return self._fit_lbfgs(X, Y, w, hidden, params, rng)
        X, Y, w, held_out = self._held_out(X, Y, w, rng) if self.early_stopping else (X, Y, w, None)
        n_train = X.shape[0]
        options = self._options(hidden, n_train, params, rng, held_out, incremental=incremental)
        model = _trained(X, Y, options.replace(sample_weight=w))
        self._fitted(model, first=first, n_train=n_train)
        if not incremental and model.stop_reason is None:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _fit_lbfgs(
        self, X: Array, Y: Array, w: Any, hidden: list[int], params: Any, rng: Any
    ) -> Any:
        """``solver="lbfgs"``: portnet's L-BFGS on the full batch, stopping as scikit-learn's
        SciPy call does (``tol`` the gradient's, ``max_iter`` iterations, ``max_fun``
        evaluations); a ``ConvergenceWarning`` where it stopped without converging."""
        options = Options(
            hidden=tuple(hidden), activation=_ACTIVATIONS[self.activation],
            loss=self._network_loss(), optimizer="lbfgs", iterations=self.max_iter,
            max_fun=self.max_fun, tol=self.tol, l2=self.alpha, init="glorot_uniform", seed=rng,
            params=params, sample_weight=w, zero_weights="keep", log_every=1,
            callbacks=_progress if self.verbose else None,
            **{name: getattr(self, name) for name in _PLACEMENT},
        )  # fmt: skip
        model = _trained(X, Y, options)
        self._network_attributes(model)
        self.n_iter_, self.loss_ = model.n_steps, model.history.cost[-1]
        self._optimizer_state = None
        if model.stop_reason in (None, "max_fun", "line_search"):
            warnings.warn(
                f"lbfgs failed to converge after {model.n_steps} iteration(s) (stopped by "
                f"{model.stop_reason or 'max_iter'}). Increase the number of iterations "
                f"(max_iter={self.max_iter}) or max_fun ({self.max_fun}), or scale the data.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _hidden(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if np.any(np.array(sizes) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(s) for s in sizes]

    def _initial(self, hidden: list[int], n_in: int, n_out: int, rng: Any) -> list[Any]:
        """scikit-learn's initial weights: Glorot-uniform draws from ``random_state``."""
        activation = _ACTIVATIONS[self.activation]
        sizes = [n_in, *hidden, n_out]
        return initial_params(sizes, init="glorot_uniform", seed=rng, activation=activation)

    def _held_out(
        self, X: Array, Y: Array, w: Any, rng: Any
    ) -> tuple[Array, Array, Any, tuple[Any, ...]]:
        """scikit-learn's split for ``early_stopping`` (stratified for one output of a
        classifier), drawn from ``random_state`` after the initial weights: the training
        ``X``, ``Y``, weights, and the held-out ``(X, Y[, weights])``."""
        stratify = to_numpy(Y) if is_classifier(self) and Y.shape[1] == 1 else None
        rows = np.arange(X.shape[0])
        train, held = train_test_split(
            rows, random_state=rng, test_size=self.validation_fraction, stratify=stratify
        )
        if held.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the size "
                "of your dataset."
            )
        weights = (None, ()) if w is None else (w[train], (w[held],))
        if not _foreign(X):
            return X[train], Y[train], weights[0], (X[held], Y[held], *weights[1])
        xp, device = aac.array_namespace(X), aac.device(X)
        take = lambda a, i: xp.take(a, xp.asarray(i, device=device), axis=0)  # noqa: E731
        held_out = (take(X, held), take(Y, held), *weights[1])
        return take(X, train), take(Y, train), weights[0], held_out

    def _options(
        self,
        hidden: list[int],
        n_train: int,
        params: Any,
        rng: Any,
        held_out: tuple[Array, Array] | None,
        *,
        incremental: bool,
    ) -> Any:
        """scikit-learn's parameters as the options of portnet's training loop."""
        warm = hasattr(self, "coefs_") and (self.warm_start or incremental)
        carried = getattr(self, "_optimizer_state", None) if incremental and warm else None
        if carried is not None and carried[0] != self._rule_key():
            carried = None  # another optimiser since: a fresh state, as scikit-learn makes
        epochs = 1 if incremental else self.max_iter
        patience = self.n_iter_no_change
        patience = epochs + 1 if math.isinf(patience) else int(patience) + 1
        return Options(
            hidden=tuple(hidden),
            activation=_ACTIVATIONS[self.activation],
            loss=self._network_loss(),
            optimizer=self._rule(self.t_ if warm else 0),
            epochs=epochs,
            batch_size=self._batch_size(n_train),
            shuffle=self.shuffle,
            l2=self.alpha,
            init="glorot_uniform",
            seed=rng,
            tol=self.tol,
            n_iter_no_change=patience,
            tol_reference="best",
            early_stopping=self.early_stopping,
            validation_data=held_out,
            validation_metric="score",
            callbacks=_progress if self.verbose else None,
            params=params,
            state=None if carried is None else carried[1],
            zero_weights="keep",  # in the batches, as scikit-learn's (sample_weight: _fit's)
            log_every="epoch",
            **{name: getattr(self, name) for name in _PLACEMENT},
        )

    def _rule(self, seen: int) -> Any:
        """scikit-learn's optimiser: Adam with its ε̂, or SGD with its momentum and rate."""
        lr = self.learning_rate_init
        if self.solver == "adam":  # scikit-learn's Adam ignores learning_rate
            return optimizers.adam(
                lr, b1=self.beta_1, b2=self.beta_2, eps=self.epsilon, eps_hat=True
            )
        schedule = {
            "constant": lr,
            "invscaling": optimizers.inverse_scaling(lr, self.power_t, per="sample", start=seen),
            "adaptive": optimizers.adaptive(lr),
        }[self.learning_rate]
        if self.momentum == 0:  # 0·v − α·g: plain SGD's numbers
            return optimizers.sgd(schedule)
        return optimizers.momentum(
            schedule, beta=self.momentum, nesterov=self.nesterovs_momentum, rate_in_velocity=True
        )

    def _rule_key(self) -> tuple[Any, ...]:
        """What makes an optimiser state fit the next call's optimiser."""
        held = self.solver == "sgd" and self.learning_rate != "constant"
        return self.solver, self.solver == "sgd" and self.momentum == 0, held

    def _batch_size(self, n_train: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_train)
        if self.batch_size > n_train:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to be "
                "clipped",
                stacklevel=5,
            )
        return int(np.clip(self.batch_size, 1, n_train))

    def _params(self) -> list[tuple[Any, Any]]:
        """The fitted parameters as portnet's ``(W, b)`` pairs (``W``: ``(n_out, n_in)``)."""
        return [(c.T, b) for c, b in zip(self.coefs_, self.intercepts_, strict=True)]

    def _fitted(self, model: Any, *, first: bool, n_train: int) -> None:
        """scikit-learn's fitted attributes from a training run's model."""
        history = model.history
        self._network_attributes(model)
        if first:
            self.loss_curve_, self.t_ = [], 0
            self.validation_scores_ = [] if self.early_stopping else None
        self.loss_curve_ += list(history.cost)
        self.n_iter_ = len(history.cost)
        self.loss_ = self.loss_curve_[-1]
        self.t_ += n_train * self.n_iter_
        if self.early_stopping:
            self.validation_scores_ = [*(self.validation_scores_ or []), *history.val_score]
            self.best_validation_score_ = max(self.validation_scores_)
            self.best_loss_ = None
        else:
            self.best_loss_ = min(self.loss_curve_)
            self.validation_scores_ = self.best_validation_score_ = None
        self._optimizer_state = (self._rule_key(), model.optimizer_state)

    def _network_attributes(self, model: Any) -> None:
        """scikit-learn's attributes of the network: weights in its layout, sizes, output."""
        self.coefs_ = [_transposed(W) for W, _ in model.params]
        self.intercepts_ = [b for _, b in model.params]
        self.n_layers_ = len(self.coefs_) + 1
        self.n_outputs_ = model.n_outputs
        self.out_activation_ = _OUTPUTS[model.network.loss.name]
        self._precision = model.precision

    # -- predictions -----------------------------------------------------------------------
    def _network(self) -> Model:
        """A portnet model of ``coefs_`` and ``intercepts_`` (read at every prediction, as
        scikit-learn reads them), whose raw outputs are ``(m, n_outputs_)``."""
        W0 = self.coefs_[0]
        xp, device = aac.array_namespace(W0), aac.device(W0)
        loss = {v: k for k, v in _OUTPUTS.items()}[self.out_activation_]
        net = Network(get_activation(_ACTIVATIONS[self.activation]), get_loss(loss), self.alpha)
        return Model(
            [(c.T, b) for c, b in zip(self.coefs_, self.intercepts_, strict=True)],
            net,
            resolve_backend(xp, device=device),
            dtype=W0.dtype,
            targets=Targets("continuous", None, 2),
            precision=getattr(self, "_precision", "highest"),
        )

    def _outputs(self, X: Any, method: str) -> Array:
        """The network's outputs ``(m, n_outputs_)`` for ``X`` (checked as in ``fit``)."""
        check_is_fitted(self)
        X = self._check_X(X, reset=False, method=method)
        return self._network().predict(X)

    def __sklearn_array_api_convert__(self, converter: Any) -> Any:
        """A copy with every array converted by ``converter`` (scikit-learn's
        ``move_estimator_to``): weights, numeric classes, optimiser state; predictions then
        take and give arrays of the new namespace and device (text classes stay NumPy)."""
        new = clone(self)
        for key, value in vars(self).items():
            setattr(new, key, _converted(value, converter))
        if hasattr(self, "coefs_"):
            new._fit_namespace = _namespace_name(new.coefs_[0])
        return new

    def to_sklearn(self) -> Any:
        """This estimator as scikit-learn's own: same parameters, and if fitted, the same
        weights (float64 NumPy), classes, curves and optimiser state, so its predictions
        are these (for a float64 fit, to the last bit); a plain scikit-learn object, for
        ``joblib``, ``skl2onnx`` and the rest."""
        params = {k: v for k, v in self.get_params().items() if k not in _PLACEMENT}
        mlp = self._sklearn(**params)
        if hasattr(self, "coefs_"):
            _to_sklearn_state(self, mlp)
        return mlp

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


def _converted(value: Any, converter: Any) -> Any:
    """``value`` with its arrays converted by ``converter``, through lists, tuples (named
    ones too) and dicts; text arrays and everything else as they are."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "USO":
        return value
    if _is_array(value):
        return converter(value)
    if isinstance(value, dict):
        return {k: _converted(v, converter) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_converted(v, converter) for v in value]
        if hasattr(value, "_fields"):  # a NamedTuple (an optimiser state)
            return type(value)(*items)
        return type(value)(items)
    return value


def _trained(X: Array, Y: Array, options: Options) -> Model:
    """``fit(X, Y, options)``; Ctrl-C keeps what was trained, with a warning (as
    scikit-learn's MLP does)."""
    try:
        return fit(X, Y, options)
    except TrainingInterrupted as stopped:
        warnings.warn("Training interrupted by user.", stacklevel=4)
        return stopped.model


def _transposed(W: Array) -> Array:
    """``Wᵀ``, a new array: scikit-learn's ``(n_in, n_out)`` layout of portnet's ``W``."""
    if aac.is_numpy_array(W):
        return np.ascontiguousarray(W.T)
    return aac.array_namespace(W).asarray(W.T, copy=True)


def _progress(step: int, cost: float, model: Any) -> None:
    """``verbose=True``: scikit-learn's lines, at every epoch's end."""
    print(f"Iteration {len(model.history.cost)}, loss = {cost:.8f}")
    if model.history.val_score:
        print(f"Validation score: {model.history.val_score[-1]:f}")


def _check_solver(estimator: _MLP) -> bool:
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. {estimator.solver} is "
            "not stochastic."
        )
    return True


def _constraints(mlp: type) -> dict[str, Any]:
    """scikit-learn's parameter constraints of ``mlp``, and portnet's own parameters'."""
    mine = dict.fromkeys(("backend", "device", "dtype"), "no_validation")
    return {**mlp._parameter_constraints, **mine, "precision": [StrOptions({"highest", "tf32"})]}


@dataclasses.dataclass(eq=False, repr=False)
class MLPClassifier(ClassifierMixin, _Labels, _MLP):
    """scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`, trained by portnet
    on NumPy, CuPy, JAX, torch, array-api-strict or Dask arrays (everything follows X).

    The parameters, their defaults and meanings, the fitted attributes and the methods are
    scikit-learn 1.9's (see its documentation); with the same ``random_state`` and data,
    ``solver="sgd"`` and ``"adam"`` train the same network as scikit-learn's, to rounding
    (initial weights, batches, shuffles, validation split, updates, stopping,
    ``loss_curve_``). Beyond it:
    ``backend``, ``device``, ``dtype`` and ``precision``, as for :func:`portnet.train`;
    ``coefs_``, ``intercepts_``, ``predict`` and ``predict_proba`` are in ``X``'s
    namespace, on its device. ``sample_weight`` as scikit-learn's: samples of weight 0 stay
    in the batches (a batch of them alone, where scikit-learn raises ``ZeroDivisionError``:
    a ``ValueError`` before its epoch). ``solver="lbfgs"`` is portnet's
    own L-BFGS (:mod:`portnet.lbfgs`, on every backend), stopping as scikit-learn's SciPy
    call does; its iterates are not SciPy's (another line search), so its loss and
    ``n_iter_`` differ from scikit-learn's before convergence. Differences: sparse ``X`` is
    refused; on a warm-started ``fit`` or ``partial_fit`` the ``tol`` patience starts
    afresh; training whose loss grows a thousandfold stops with
    :class:`portnet.DivergenceError`. :meth:`to_sklearn` and
    :func:`from_sklearn` convert either way.
    """

    _sklearn = _SkMLPClassifier
    _parameter_constraints: ClassVar[dict] = _constraints(_SkMLPClassifier)

    hidden_layer_sizes: Any = (100,)
    activation: str = "relu"

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPClassifier:
        """Fit the model to ``X`` and the labels (or 0/1 indicator rows) ``y``."""
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    @available_if(_check_solver)
    def partial_fit(
        self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None
    ) -> MLPClassifier:
        """One epoch over ``(X, y)``; the first call needs ``classes``."""
        if _check_partial_fit_first_call(self, classes) and not _foreign(X):
            self._label_binarizer = LabelBinarizer()
            multilabel = type_of_target(y).startswith("multilabel")
            self._label_binarizer.fit(y if multilabel else classes)
        elif _foreign(X) and classes is not None and not hasattr(self, "coefs_"):
            given = to_numpy(classes) if _is_array(classes) else np.asarray(classes)
            self.classes_ = _follow(X, np.unique(given))  # X's namespace, numbers
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _network_loss(self) -> str:
        multiclass = getattr(self, "_kind", "binary") == "multiclass"
        return "categorical_crossentropy" if multiclass else "binary_crossentropy"

    def _targets(self, X: Any, y: Any, *, incremental: bool, reset: bool) -> tuple[Any, Any]:
        """``X`` checked, and ``y`` as the network's 0/1 rows (the classes learnt or checked,
        as scikit-learn's ``LabelBinarizer`` does)."""
        method = "partial_fit" if incremental else "fit"
        X, y = self._check_Xy(X, y, reset=reset, method=method)
        if _foreign(X):
            return X, self._foreign_targets(X, y, incremental=incremental)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in the "
                    f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                )
            if not self.warm_start and len(np.setdiff1d(classes, self.classes_)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        self._kind = self._label_binarizer.y_type_.partition("-")[0]
        return X, self._label_binarizer.transform(y).astype(X.dtype)

    def _foreign_targets(self, X: Any, y: Any, *, incremental: bool) -> Any:
        """``y`` of X's namespace as the network's 0/1 rows, made there."""
        xp = aac.array_namespace(y)
        if y.ndim == 2 and y.shape[1] > 1:  # 0/1 indicator rows: multi-label
            self._kind = "multilabel"
            self.classes_ = xp.arange(y.shape[1], device=aac.device(y))
            return xp.astype(y, X.dtype)
        y = xp.reshape(y, (-1,))
        if not (incremental or self.warm_start) or not hasattr(self, "classes_"):
            self.classes_ = self._classes(y)
        n = self.classes_.shape[0]
        self._kind = "binary" if n <= 2 else "multiclass"
        return self._encode(y, X.dtype)

    def predict(self, X: Any) -> Array:
        """The most probable class of each sample (multi-label: the 0/1 rows)."""
        A = self._outputs(X, "predict")
        if not _foreign(A):
            return self._label_binarizer.inverse_transform(A[:, 0] if A.shape[1] == 1 else A)
        xp = aac.array_namespace(A)
        if self._kind == "multilabel":
            return xp.astype(A > 0.5, xp.int64)
        index = xp.astype(A[:, 0] > 0.5, xp.int64) if A.shape[1] == 1 else xp.argmax(A, axis=1)
        return xp.take(_follow(A, self.classes_), index)

    def predict_proba(self, X: Any) -> Array:
        """``(m, n_classes)``: each class's probability, in ``classes_`` order."""
        return self._proba(X, "predict_proba")

    def predict_log_proba(self, X: Any) -> Array:
        """``log(predict_proba(X))``."""
        P = self._proba(X, "predict_log_proba")
        return aac.array_namespace(P).log(P)

    def _proba(self, X: Any, method: str) -> Array:
        A = self._outputs(X, method)
        if A.shape[1] == 1:
            A = aac.array_namespace(A).concat([1 - A, A], axis=1)
        return A

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy (multi-label: every label of a row right)."""
        predicted = self.predict(X)
        if not _foreign(predicted):
            return super().score(X, y, sample_weight=sample_weight)
        if predicted.ndim == 2:
            xp = aac.array_namespace(predicted)
            rows = xp.all(predicted == xp.astype(_follow(predicted, y), predicted.dtype), axis=1)
            return _accuracy(rows, xp.ones_like(rows), sample_weight, self.coefs_[0].dtype)
        return _accuracy(predicted, y, sample_weight, self.coefs_[0].dtype)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def _squared_error_value(z: Array, y: Array, w: Array | None = None) -> Array:  # -> ()
    # z, y: (m, k); w: (m,), the samples' weights (the mean over samples weighted by them)
    xp = aac.array_namespace(z, y)
    r = z - y
    if w is None:
        return xp.sum(r * r) / (2 * z.shape[0] * z.shape[1])
    return xp.sum(r * r * w[:, None]) / (2 * xp.sum(w) * z.shape[1])


#: scikit-learn's squared error: the value it reports (and stops on) is averaged over the k
#: outputs too, its gradient is that of the sum over them (portnet's, ½·mean‖ŷ−y‖²)
_SQUARED_ERROR = Loss("squared_error", identity, _squared_error_value, squared_error.gradient)


@dataclasses.dataclass(eq=False, repr=False)
class MLPRegressor(RegressorMixin, _MLP):
    """scikit-learn's :class:`~sklearn.neural_network.MLPRegressor`, trained by portnet
    (see :class:`MLPClassifier`: the same parameters, behaviour and differences);
    ``loss="poisson"`` refuses a negative ``y``."""

    _sklearn = _SkMLPRegressor
    _y_numeric = True
    _parameter_constraints: ClassVar[dict] = _constraints(_SkMLPRegressor)

    loss: str = "squared_error"
    hidden_layer_sizes: Any = (100,)
    activation: str = "relu"

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Fit the model to ``X`` and the targets ``y`` (``(m,)`` or ``(m, k)``)."""
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    @available_if(_check_solver)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over ``(X, y)``."""
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _network_loss(self) -> Loss:
        return get_loss("poisson") if self.loss == "poisson" else _SQUARED_ERROR

    def _targets(self, X: Any, y: Any, *, incremental: bool, reset: bool) -> tuple[Any, Any]:
        method = "partial_fit" if incremental else "fit"
        X, y = self._check_Xy(X, y, reset=reset, method=method)
        xp = aac.array_namespace(X)
        if not _foreign(X):
            if y.ndim == 2 and y.shape[1] == 1:
                y = column_or_1d(y, warn=True)
            y = np.asarray(y, dtype=X.dtype)
        else:
            y = xp.astype(y, X.dtype)
        return X, y[:, None] if y.ndim == 1 else y

    def predict(self, X: Any) -> Array:
        """The network's output: ``(m,)`` for one output, else ``(m, n_outputs_)``."""
        A = self._outputs(X, "predict")
        return A[:, 0] if A.shape[1] == 1 else A

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R² (averaged over outputs)."""
        predicted = self.predict(X)
        if not _foreign(predicted) or sample_weight is not None:
            return super().score(X, y, sample_weight=sample_weight)
        xp = aac.array_namespace(predicted)
        Y, A = _follow(predicted, y), predicted
        Y, A = (Y[:, None], A[:, None]) if A.ndim == 1 else (Y, A)
        return float(score(xp, A, xp.astype(Y, A.dtype), "continuous"))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


# -- round trips with scikit-learn ---------------------------------------------------------------
_FITTED = (
    "n_features_in_", "feature_names_in_", "classes_", "loss_", "best_loss_", "loss_curve_",
    "validation_scores_", "best_validation_score_", "t_", "n_iter_", "n_layers_", "n_outputs_",
    "out_activation_",
)  # fmt: skip


def from_sklearn(mlp: Any, **params: Any) -> MLPClassifier | MLPRegressor:
    """portnet's drop-in for a scikit-learn MLP: its parameters and (if fitted) its weights,
    classes, curves and optimiser state, so predictions are the same and ``partial_fit`` or
    a warm-started ``fit`` go on as scikit-learn's would. ``params`` sets portnet's own
    (``backend``, ``device``, ``dtype``, ``precision``) or overrides others."""
    if not isinstance(mlp, (_SkMLPClassifier, _SkMLPRegressor)):
        raise TypeError(
            "from_sklearn takes a sklearn.neural_network.MLPClassifier or MLPRegressor, got "
            f"{type(mlp).__module__}.{type(mlp).__name__}"
        )
    kind = MLPClassifier if isinstance(mlp, _SkMLPClassifier) else MLPRegressor
    ours = kind(**{**mlp.get_params(), **params})
    if not hasattr(mlp, "coefs_"):
        return ours
    for name in _FITTED:
        if hasattr(mlp, name):
            value = getattr(mlp, name)
            setattr(ours, name, list(value) if isinstance(value, list) else copy.copy(value))
    ours.coefs_ = [np.array(c) for c in mlp.coefs_]
    ours.intercepts_ = [np.array(b) for b in mlp.intercepts_]
    if kind is MLPClassifier:
        ours._label_binarizer = copy.deepcopy(mlp._label_binarizer)
        ours._kind = mlp._label_binarizer.y_type_.partition("-")[0]
    ours._fit_namespace, ours._precision = "numpy", "highest"
    if hasattr(mlp, "_optimizer"):
        ours._optimizer_state = (ours._rule_key(), _state_from_sklearn(ours, mlp._optimizer))
    return ours


def _state_from_sklearn(ours: _MLP, optimizer: Any) -> Any:
    """scikit-learn's optimiser state as portnet's optimiser state (``W`` transposed)."""
    count = np.zeros((), dtype=ours.coefs_[0].dtype)
    rate = None
    if ours._rule_key()[2]:  # a held rate: scikit-learn's current one
        rate = np.asarray(optimizer.learning_rate, dtype=count.dtype)
    if isinstance(optimizer, AdamOptimizer):
        t = np.asarray(optimizer.t, dtype=count.dtype)
        return optimizers.AdamState(t, _layers(optimizer.ms), _layers(optimizer.vs), rate)
    if ours._rule_key()[1]:  # momentum 0: plain SGD
        return optimizers.SGDState(count, rate)
    return optimizers.MomentumState(count, _layers(optimizer.velocities), rate)


def _layers(arrays: list[np.ndarray]) -> tuple[Layer, ...]:
    """scikit-learn's ``coefs_ + intercepts_``-shaped list as portnet's layers."""
    n = len(arrays) // 2
    return tuple(
        Layer(np.array(W.T), np.array(b)) for W, b in zip(arrays[:n], arrays[n:], strict=True)
    )


def _to_sklearn_state(ours: _MLP, mlp: Any) -> None:
    """Set scikit-learn's fitted attributes on ``mlp`` from ``ours`` (float64 NumPy)."""
    host = lambda a: np.array(to_numpy(a), dtype=np.float64)  # noqa: E731
    for name in _FITTED:
        if hasattr(ours, name):
            value = getattr(ours, name)
            setattr(mlp, name, list(value) if isinstance(value, list) else value)
    mlp.coefs_ = [host(c) for c in ours.coefs_]
    mlp.intercepts_ = [host(b) for b in ours.intercepts_]
    mlp._best_coefs = [c.copy() for c in mlp.coefs_]
    mlp._best_intercepts = [b.copy() for b in mlp.intercepts_]
    mlp._no_improvement_count = 0
    if isinstance(ours, MLPClassifier):
        mlp._label_binarizer = _binarizer(ours)
        mlp.classes_ = mlp._label_binarizer.classes_
    state = getattr(ours, "_optimizer_state", (None, None))[1]
    if state is not None:
        mlp._optimizer = _state_to_sklearn(mlp, state)


def _binarizer(ours: MLPClassifier) -> LabelBinarizer:
    if hasattr(ours, "_label_binarizer"):
        return copy.deepcopy(ours._label_binarizer)
    classes = to_numpy(ours.classes_)
    if ours._kind == "multilabel":
        return LabelBinarizer().fit(np.eye(classes.shape[0], dtype=int))
    return LabelBinarizer().fit(classes)


def _state_to_sklearn(mlp: Any, state: Any) -> Any:
    """portnet's optimiser state as scikit-learn's optimiser (``W`` transposed back)."""
    params = mlp.coefs_ + mlp.intercepts_
    host = lambda a: np.array(to_numpy(a), dtype=np.float64)  # noqa: E731
    flat = lambda layers: [host(p.W).T.copy() for p in layers] + [host(p.b) for p in layers]  # noqa: E731
    if isinstance(state, optimizers.AdamState):
        adam = AdamOptimizer(params, mlp.learning_rate_init, mlp.beta_1, mlp.beta_2, mlp.epsilon)
        adam.t, adam.ms, adam.vs = int(host(state.count)), flat(state.mu), flat(state.nu)
        return adam
    sgd = SGDOptimizer(
        params, mlp.learning_rate_init, mlp.learning_rate, mlp.momentum,
        mlp.nesterovs_momentum, mlp.power_t,
    )  # fmt: skip
    if isinstance(state, optimizers.MomentumState):
        sgd.velocities = flat(state.velocity)
    if state.rate is not None:
        sgd.learning_rate = float(host(state.rate))
    return sgd
