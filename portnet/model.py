"""The :class:`Model` that :func:`portnet.train` returns: parameters in, predictions out;
:func:`load`, and :func:`fit`, the training pipeline behind :func:`portnet.train` and
:meth:`Model.fit` (options made, run prepared, loop run, model made).

Predictions follow the input: computed in ``X``'s namespace and on its device (the
parameters follow it there), NumPy out for NumPy in.  The equations live in
:mod:`portnet.network`, label handling in :mod:`portnet._targets`, backend specifics in
:mod:`portnet.backends`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import array_api_compat as aac

from . import network, serialization
from ._backend import Backend, _is_array, resolve_backend, to_numpy
from ._history import History
from ._inputs import as_data, check_real, finite
from ._loop import Loop
from ._options import Options
from ._precision import DEFAULT as DEFAULT_PRECISION
from ._precision import placed_precision, scope
from ._prepare import Prepared, prepare
from ._targets import Targets, decode, encode, score
from ._weights import check_sample_weight, of_length
from .network import Layer, Network, Params

Array = Any

__all__ = ["History", "Model", "fit", "load"]


class Model:
    """A trained network: parameters, architecture, where they live, and how training went.

    Returned by :func:`portnet.train`; not usually built by hand.

    Attributes
    ----------
    params : tuple of Layer
        Per layer ``(W, b)`` with ``W`` of shape ``(n_out, n_in)`` and ``b`` of shape
        ``(n_out,)``, in the training backend's namespace, on its device.
    network : Network
        Hidden activation, loss (and output activation), L2 strength.
    backend : str
        Name of the backend the parameters live on.
    device, dtype
        Device and floating dtype of the parameters.
    precision : str
        How its float32 matrix products are computed ("highest" or "tf32": see
        :func:`portnet.train`), in training and in its predictions.
    classes_ : array or None
        The label values of a classifier (sorted), as given in ``y``.
    history : History
        Costs at every log point.
    n_steps : int
        Updates made in training.
    stop_reason : str or None
        Why training ended before ``iterations``: "tol", "early_stopping", "callback",
        "interrupted" (the model a TrainingInterrupted carries), or "diverged" (the model a
        DivergenceError keeps); L-BFGS's own: "ftol", "max_fun", "line_search" (see
        :func:`portnet.train`).
    best_step : int or None
        With ``early_stopping``: the step whose parameters were kept (best validation loss).
    optimizer_state : named tuple or None
        The optimiser state training ended with (``state=`` of :func:`portnet.train` goes on
        from it); None for a model loaded, unpickled or moved with :meth:`to`.
    """

    def __init__(
        self,
        params: Params,
        network: Network,
        backend: Backend,
        *,
        dtype: Any,
        targets: Targets,
        history: History | None = None,
        n_steps: int = 0,
        stop_reason: str | None = None,
        best_step: int | None = None,
        precision: str = DEFAULT_PRECISION,
        optimizer_state: Any = None,
    ) -> None:
        self.params = tuple(Layer(*p) for p in params)
        self.precision = precision
        self.network = network
        self._backend = backend
        self.dtype = dtype
        self.targets = targets
        self.history = history if history is not None else History()
        self.n_steps = n_steps
        self.stop_reason = stop_reason
        self.best_step = best_step
        self.optimizer_state = optimizer_state

    # -- description -----------------------------------------------------------------------
    @property
    def backend(self) -> str:
        return self._backend.name

    @property
    def device(self) -> Any:
        return self._backend.device

    @property
    def hidden(self) -> tuple[int, ...]:
        return tuple(int(W.shape[0]) for W, _ in self.params[:-1])

    @property
    def n_features_in_(self) -> int:
        return int(self.params[0].W.shape[1])

    @property
    def n_outputs(self) -> int:
        return int(self.params[-1].W.shape[0])

    @property
    def is_classifier(self) -> bool:
        return self.targets.is_classifier

    @property
    def classes_(self) -> Any:
        return self.targets.classes

    def __repr__(self) -> str:
        sizes = "-".join(map(str, (self.n_features_in_, *self.hidden, self.n_outputs)))
        return (
            f"Model({sizes}, activation={self.network.activation.name!r}, "
            f"loss={self.network.loss.name!r}, backend={self.backend!r}, "
            f"device={self.device!r}, dtype={_dtype_name(self.dtype)}"
            + ("" if self.precision == DEFAULT_PRECISION else f", precision={self.precision!r}")
            + ")"
        )

    def to(
        self,
        backend: Any = None,
        device: Any = None,
        *,
        dtype: Any = None,
        precision: str | None = None,
    ) -> Model:
        """A copy of the model with its parameters on another backend, device or dtype.

        ``backend`` takes what :func:`portnet.train` takes (None keeps the model's),
        ``device`` a device object or string (None keeps the model's device on the same
        backend, else the new backend's default), ``dtype`` "float32"/"float64" (None keeps
        the model's), ``precision`` "highest"/"tf32" (None keeps the model's where the new
        place can honour it, else "highest": a TF32 model moved to the CPU predicts in
        IEEE float32).
        """
        if backend is None:
            backend, device = self._backend.xp, self.device if device is None else device
        be = resolve_backend(backend, device=device)
        dtype = be.dtype(_dtype_name(self.dtype) if dtype is None else dtype)
        precision = placed_precision(precision, self.precision, be, dtype)
        params = be.params(self.params, dtype)
        classes = self.targets.classes
        if _is_array(classes) and not aac.is_numpy_array(classes):
            classes = be.asarray(classes)
        return Model(
            params,
            self.network,
            be,
            dtype=dtype,
            targets=dataclasses.replace(self.targets, classes=classes),
            history=self.history.copy(),
            n_steps=self.n_steps,
            stop_reason=self.stop_reason,
            best_step=self.best_step,
            precision=precision,
        )

    def fit(self, X: Any, y: Any, **options: Any) -> Model:
        """Train further from this model's parameters; returns a new model (this one is
        unchanged).

        ``options`` are those of :func:`portnet.train` (``iterations``, ``optimizer``,
        ``learning_rate``, ``batch_size``, ...). The architecture, activation, loss and L2
        strength are the model's; NumPy (or list) data is moved to the model's backend and
        device, arrays of a backend train there (everything follows X); the dtype defaults
        to the model's. The optimiser state starts afresh, as with ``params=``.
        """
        fixed = {"params", "hidden", "activation", "loss"} & set(options)
        if fixed:
            raise TypeError(
                f"Model.fit continues this model's network; it does not take {sorted(fixed)} "
                "(use portnet.train for another network)"
            )
        if not _is_array(X) or aac.is_numpy_array(X):  # host data: moved to the model
            options.setdefault("backend", self._backend.xp)
            options.setdefault("device", self.device)
        options.setdefault("dtype", _dtype_name(self.dtype))
        options.setdefault("l2", self.network.l2)
        options.setdefault("precision", self.precision)
        mine = {"params": self.params, "hidden": self.hidden}
        mine.update(activation=self.network.activation, loss=self.network.loss)
        return fit(X, y, Options.given(**mine, **options))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model to one backend-neutral ``.npz`` file (see :func:`portnet.load`).

        Parameters, label values and metadata (architecture, activation, loss, dtype,
        history, portnet version) are stored as NumPy arrays and JSON, never pickled; the
        file is written under a hidden name and renamed into place, with the mode a plain
        ``open(path, "w")`` gives. Where it cannot be written, an ``OSError`` names ``path``
        and says why: ``FileNotFoundError`` (no such folder), ``IsADirectoryError``
        (``path`` is a folder), ``NotADirectoryError``, ``PermissionError`` (read-only).
        """
        return serialization.save(self, path)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as the arrays of a model file (modules and devices do not pickle), and
        # unpickled onto the same backend and device by name
        device = serialization.device_name(self.device)
        return _unpickle, (serialization.dump(self), self.backend, device)

    # -- inputs follow-through -------------------------------------------------------------
    def _place(self, X: Any, what: str = "X") -> tuple[Backend, Params, Callable[[Array], Any]]:
        """Where to compute for input ``X``, the parameters there, and how to hand back results.

        Arrays of the model's namespace are used where they are (parameters are copied to
        their device if needed); anything else must be convertible to NumPy, is computed on
        the model's device and handed back as NumPy.
        """
        be = self._backend
        if _is_array(X) and aac.array_namespace(X) is be.xp:
            device = aac.device(X)
            if device == be.device:
                return be, self.params, _same
            params = tuple(
                Layer(aac.to_device(W, device), aac.to_device(b, device)) for W, b in self.params
            )
            return dataclasses.replace(be, device=device), params, _same
        if _is_array(X) and not aac.is_numpy_array(X):
            raise TypeError(
                f"{what} is a {type(X).__module__}.{type(X).__name__} but the model lives on "
                f"backend {self.backend!r}; pass {self.backend} or NumPy arrays"
            )
        return be, self.params, (_same if be.name == "numpy" else to_numpy)

    def _features(self, be: Backend, X: Array) -> Array:
        """``X`` (an array: :func:`portnet._inputs.as_data`'s) checked as training checks it
        (real numbers, finite) and placed on ``be`` in the model's dtype."""
        check_real(X)
        given, X = X, be.asarray(X, self.dtype, what="X")
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X must have shape (m, {self.n_features_in_}) for this model, "
                f"got shape {tuple(X.shape)}"
            )
        return finite(be, X, "X", source=given)

    def _targets(self, be: Backend, y: Any, m: int) -> Array:
        """``y`` as the matrix the loss takes (labels the model knows, real targets finite)."""
        y = as_data(y, "y")
        Y = encode(be, y, self.targets, self.dtype, m)  # (m, n_L)
        return finite(be, Y, "y", source=y) if self.targets.kind == "continuous" else Y

    def _inputs(self, X: Any) -> tuple[Backend, Params, Array, Callable[[Array], Any]]:
        """:meth:`_place`'s answer for ``X`` (anything :func:`portnet.train` takes), and
        ``X`` there, checked (:meth:`_features`)."""
        X = as_data(X, "X")
        be, params, back = self._place(X)
        return be, params, self._features(be, X), back

    def _output(self, X: Any) -> tuple[Backend, Array, Callable[[Array], Any]]:
        be, params, X, back = self._inputs(X)
        with scope(be, self.precision):
            A = network.output(params, X, self.network, ops=be.ops())  # (m, n_L)
        return be, A, back

    # -- public API ------------------------------------------------------------------------
    def predict_proba(self, X: Any) -> Array:
        """Class probabilities, one column per class (``classes_`` order).

        Binary: ``(m, 2)``, columns ``1 − p`` and ``p`` (``p``, the sigmoid output, is the
        probability of ``classes_[1]``); multiclass: the softmax, ``(m, n_classes)``;
        multi-label: ``(m, k)``, each label's probability of being 1.  Same namespace and
        device as ``X``.
        """
        if not self.is_classifier:
            raise AttributeError(
                f"predict_proba needs a classifier; this model was trained with loss "
                f"{self.network.loss.name!r} (use predict)"
            )
        be, A, back = self._output(X)
        if self.targets.kind == "binary":
            A = be.xp.concat([1 - A, A], axis=1)  # (m, 2)
        return back(A)

    def predict(self, X: Any) -> Array:
        """Labels (the original values of ``y``; threshold 0.5 for binary and multi-label
        outputs, as in the course; the most probable class for softmax), or for regression
        the output.

        Same namespace and device as ``X`` (text labels come back as a NumPy array).
        """
        be, A, back = self._output(X)
        return back(decode(be, A, self.targets))

    def _weights(self, be: Backend, sample_weight: Any, m: int) -> Array | None:
        """``sample_weight`` checked as :func:`portnet.train` checks it, placed on ``be``."""
        w = check_sample_weight(sample_weight)
        return None if w is None else be.asarray(of_length(w, m), self.dtype)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy for a classifier (every label of a row right, for multi-label), the
        coefficient of determination R² (averaged over outputs) for regression; with
        ``sample_weight`` ``(m,)``, weighted as scikit-learn's ``accuracy_score`` and
        ``r2_score`` weigh them."""
        be, A, _ = self._output(X)
        Y = self._targets(be, y, A.shape[0])  # (m, n_L)
        w = self._weights(be, sample_weight, A.shape[0])
        return be.read(score(be.xp, A, Y, self.targets.kind, w))

    def cost(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """The cost ``J`` (loss averaged over samples, plus the L2 term) on ``(X, y)``; with
        ``sample_weight`` ``(m,)``, the weighted one (as :func:`portnet.train` trains it)."""
        be, params, X, _ = self._inputs(X)
        Y = self._targets(be, y, X.shape[0])
        w = self._weights(be, sample_weight, X.shape[0])
        with scope(be, self.precision):
            J = network.cost(params, X, Y, self.network, w=w, ops=be.ops())
        return be.read(J)


def _unpickle(arrays: dict[str, Any], backend: str, device: str | None) -> Model:
    parts = serialization.model_parts(
        arrays, backend=backend, device=device, source="a pickled portnet model"
    )
    return Model(**parts)


def load(
    path: str | os.PathLike[str],
    *,
    backend: Any = None,
    device: Any = None,
    dtype: Any = None,
    precision: str | None = None,
) -> Model:
    """Read a model written by :meth:`Model.save`.

    Parameters
    ----------
    path : str or path
        The file.
    backend, device : optional
        Where to put the parameters, as for :func:`portnet.train` (default: NumPy on the
        CPU, whatever backend the model was trained on).
    dtype : {"float32", "float64"}, optional
        Default: the dtype it was saved in.
    precision : {"highest", "tf32"}, optional
        How its predictions compute float32 products. Default: the precision it was trained
        with where ``backend`` can honour it, else "highest" (a model trained in TF32 on a
        GPU predicts in IEEE float32 on the CPU); a file written before portnet recorded it
        was trained in "highest".

    Raises
    ------
    OSError
        The file cannot be read: ``FileNotFoundError`` (no such file),
        ``PermissionError`` (not readable by this user), ``IsADirectoryError``, ...
    ValueError
        Not a portnet model file (the message says what it is: a ``.npy`` array, a pickle or
        joblib file, text, ...), a damaged one, or one written in a newer format.
    """
    arrays = serialization.read(path)
    parts = serialization.model_parts(
        arrays, backend=backend, device=device, dtype=dtype, precision=precision, source=str(path)
    )
    return Model(**parts)


def fit(X: Any, y: Any, options: Options) -> Model:
    """:func:`portnet.train`'s pipeline: the run prepared (:func:`portnet._prepare.prepare`),
    the loop run (:class:`portnet._loop.Loop`), the model made."""
    run = prepare(X, y, options)
    return Loop(run, options, make_model=lambda theta, **info: _trained(run, theta, **info)).train()


def _trained(run: Prepared, theta: Params, **info: Any) -> Model:
    """The model of a training run's parameters ``theta`` (as the loop carries them)."""
    be = run.be
    if info.get("optimizer_state") is not None:
        info["optimizer_state"] = be.from_working(info["optimizer_state"])
    return Model(
        be.from_working(theta), run.net, be, dtype=run.dtype, targets=run.targets,
        precision=run.precision, **info,
    )  # fmt: skip


def _same(x: Array) -> Array:
    return x


def _dtype_name(dtype: Any) -> str:
    return str(getattr(dtype, "name", dtype)).rpartition(".")[2]
