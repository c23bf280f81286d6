"""``portnet.train`` and the :class:`Model` it returns: user input in, the math run, arrays out.

Input checking, backend resolution and the training loop live here; the equations live in
:mod:`portnet.network`, :mod:`portnet.activations` and :mod:`portnet.losses`, the
backend specifics in :mod:`portnet._backend`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import array_api_compat as aac

from . import network
from ._backend import Backend, _is_array, resolve_backend, to_numpy
from .activations import Activation, get_activation
from .init import INITIALIZERS, initial_params
from .losses import Loss, binary_crossentropy, get_loss, squared_error
from .network import Layer, Network, Params

Array = Any

__all__ = ["History", "Model", "train"]


@dataclasses.dataclass
class History:
    """The training cost read back at log points.

    Attributes
    ----------
    step : list of int
        Number of updates done when the cost was taken: ``0, log_every, 2·log_every, ...``
        and finally ``iterations``.
    cost : list of float
        The cost ``J`` (with its L2 term) at those parameters.
    """

    step: list[int] = dataclasses.field(default_factory=list)
    cost: list[float] = dataclasses.field(default_factory=list)

    def append(self, step: int, cost: float) -> None:
        self.step.append(step)
        self.cost.append(cost)

    def __len__(self) -> int:
        return len(self.cost)


class Model:
    """A trained network: parameters, architecture, where they live, and how training went.

    Returned by :func:`train`; not usually built by hand.

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
    history : History
        Cost at every log point.
    """

    def __init__(
        self,
        params: Params,
        network: Network,
        backend: Backend,
        *,
        dtype: Any,
        y_ndim: int,
        history: History | None = None,
    ) -> None:
        self.params = tuple(Layer(*p) for p in params)
        self.network = network
        self._backend = backend
        self.dtype = dtype
        self._y_ndim = y_ndim
        self.history = history if history is not None else History()

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
        return self.network.loss.output.name == "sigmoid"

    def __repr__(self) -> str:
        sizes = "-".join(map(str, (self.n_features_in_, *self.hidden, self.n_outputs)))
        return (
            f"Model({sizes}, activation={self.network.activation.name!r}, "
            f"loss={self.network.loss.name!r}, backend={self.backend!r}, "
            f"device={self.device!r}, dtype={_dtype_name(self.dtype)})"
        )

    def to(self, backend: Any = None, device: Any = None, *, dtype: Any = None) -> Model:
        """A copy of the model with its parameters on another backend, device or dtype.

        ``backend`` takes what :func:`train` takes (None keeps the model's), ``device`` a
        device object or string (None keeps the model's device on the same backend, else the
        new backend's default), ``dtype`` "float32"/"float64" (None keeps the model's).
        """
        if backend is None:
            backend, device = self._backend.xp, self.device if device is None else device
        be = resolve_backend(backend, device=device)
        dtype = be.dtype(_dtype_name(self.dtype) if dtype is None else dtype)
        params = tuple(
            Layer(be.asarray(W, dtype, what="params W"), be.asarray(b, dtype, what="params b"))
            for W, b in self.params
        )
        history = History(list(self.history.step), list(self.history.cost))
        return Model(params, self.network, be, dtype=dtype, y_ndim=self._y_ndim, history=history)

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

    def _features(self, be: Backend, X: Any) -> Array:
        X = be.asarray(X, self.dtype, what="X")
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X must have shape (m, {self.n_features_in_}) for this model, "
                f"got shape {tuple(X.shape)}"
            )
        return X

    def _output(self, X: Any) -> tuple[Backend, Array, Callable[[Array], Any]]:
        be, params, back = self._place(X)
        A = network.output(params, self._features(be, X), self.network)  # (m, n_L)
        return be, (A[:, 0] if self._y_ndim == 1 else A), back

    # -- public API ------------------------------------------------------------------------
    def predict_proba(self, X: Any) -> Array:
        """Probability of label 1 for each sample (the sigmoid output ``A_L``).

        Shape ``(m,)`` when the model was trained on 1-D ``y``, else ``(m, n_outputs)``;
        same namespace and device as ``X``.
        """
        if not self.is_classifier:
            raise AttributeError(
                f"predict_proba needs a classifier; this model was trained with loss "
                f"{self.network.loss.name!r} (use predict)"
            )
        _, A, back = self._output(X)
        return back(A)

    def predict(self, X: Any) -> Array:
        """Labels 0/1 (probability > 0.5, as in the course) or, for regression, the output.

        Same namespace and device as ``X``; labels have the namespace's default integer dtype.
        """
        be, A, back = self._output(X)
        if self.is_classifier:
            integral = be.xp.__array_namespace_info__().default_dtypes(device=be.device)
            A = be.xp.astype(A > 0.5, integral["integral"])
        return back(A)

    def score(self, X: Any, y: Any) -> float:
        """Accuracy for a classifier, the coefficient of determination R² for regression."""
        be, A, _ = self._output(X)
        xp = be.xp
        Y = _targets(be, y, self.dtype, A.shape[0])
        if Y.ndim != A.ndim:
            raise ValueError(f"y must have shape {tuple(A.shape)}, got {tuple(Y.shape)}")
        if self.is_classifier:
            return be.read(xp.mean(xp.astype((A > 0.5) == (Y > 0.5), self.dtype)))
        if A.ndim == 1:
            A, Y = A[:, None], Y[:, None]
        ss_res = xp.sum((Y - A) ** 2, axis=0)
        ss_tot = xp.sum((Y - xp.mean(Y, axis=0)) ** 2, axis=0)
        safe = xp.where(ss_tot > 0, ss_tot, xp.ones_like(ss_tot))
        r2 = xp.where(ss_tot > 0, 1 - ss_res / safe, xp.astype(ss_res == 0, self.dtype))
        return be.read(xp.mean(r2))

    def cost(self, X: Any, y: Any) -> float:
        """The cost ``J`` (loss averaged over samples, plus the L2 term) on ``(X, y)``."""
        be, params, _ = self._place(X)
        X = self._features(be, X)
        Y = _as_2d(_targets(be, y, self.dtype, X.shape[0]))
        return be.read(network.cost(params, X, Y, self.network))


def _same(x: Array) -> Array:
    return x


def _dtype_name(dtype: Any) -> str:
    return str(getattr(dtype, "name", dtype)).rpartition(".")[2]


def _targets(be: Backend, y: Any, dtype: Any, m: int) -> Array:
    Y = be.asarray(y, dtype, what="y")
    if Y.ndim not in (1, 2) or Y.shape[0] != m:
        raise ValueError(
            f"y must have shape (m,) or (m, k) with m = {m} (the rows of X), "
            f"got shape {tuple(Y.shape)}"
        )
    return Y


def _as_2d(Y: Array) -> Array:
    return Y[:, None] if Y.ndim == 1 else Y  # (m,) -> (m, 1)


# -- validation helpers ----------------------------------------------------------------------
def _positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _non_negative(name: str, value: Any, *, strict: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0 or (strict and value == 0):
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


def _choose_loss(loss: str | Loss, be: Backend, Y: Array) -> Loss:
    chosen = None if isinstance(loss, str) and loss == "auto" else get_loss(loss)
    if chosen is not None and chosen.output.name != "sigmoid":
        return chosen
    xp = be.xp
    binary = be.read(xp.all((Y == 0) | (Y == 1))) == 1.0  # one host read, before training
    if chosen is None:
        return binary_crossentropy if binary else squared_error
    if not binary:
        raise ValueError(
            f"loss {chosen.name!r} needs labels in {{0, 1}}, but y has other values; "
            "use loss='squared_error' for regression"
        )
    return chosen


def _warm_params(be: Backend, params: Any, dtype: Any, sizes: list[int | None]) -> Params:
    try:
        layers = [tuple(p) for p in params]
    except TypeError:
        layers = []
    if not layers or any(len(p) != 2 for p in layers):
        raise ValueError(
            "params must be a sequence of per-layer (W, b) pairs (e.g. model.params), "
            f"got {type(params).__name__}"
        )
    out = tuple(
        Layer(be.asarray(W, dtype, what="params W"), be.asarray(b, dtype, what="params b"))
        for W, b in layers
    )
    expected = list(sizes)
    got = [out[0].W.shape[1]] + [W.shape[0] for W, _ in out]
    shapes_ok = all(
        W.ndim == 2 and b.shape == (W.shape[0],) and (i == 0 or W.shape[1] == out[i - 1].W.shape[0])
        for i, (W, b) in enumerate(out)
    )
    if (
        not shapes_ok
        or len(got) != len(expected)
        or any(e is not None and e != g for e, g in zip(expected, got, strict=True))
    ):
        raise ValueError(
            "params do not fit: expected layer sizes "
            f"{'-'.join('?' if s is None else str(s) for s in expected)}, got params of shapes "
            f"{[(tuple(W.shape), tuple(b.shape)) for W, b in out]}"
        )
    return out


# -- train -------------------------------------------------------------------------------------
def train(
    X: Any,
    y: Any,
    *,
    hidden: Sequence[int] | None = None,
    activation: str | Activation = "tanh",
    loss: str | Loss = "auto",
    learning_rate: float = 1.2,
    iterations: int = 10_000,
    l2: float = 0.0,
    init: str = "auto",
    seed: int | None = 0,
    backend: Any = None,
    device: Any = None,
    dtype: Any = None,
    params: Any = None,
    log_every: int = 1000,
    verbose: bool = False,
) -> Model:
    """Train a fully-connected network by full-batch gradient descent.

    The defaults are the course's shallow network (one tanh hidden layer of 4 units,
    learning rate 1.2, 10 000 iterations).

    Parameters
    ----------
    X : array, shape (m, n_features)
        Inputs, samples first. Any array namespace, or anything NumPy accepts.
    y : array, shape (m,) or (m, k)
        Labels in {0, 1} (classification) or real targets (regression).
    hidden : sequence of int, optional
        Hidden layer widths: ``()`` is logistic regression, ``(4,)`` the default shallow
        network, ``(20, 7, 5)`` an L-layer network. Taken from ``params`` when given.
    activation : str or Activation
        Hidden activation: "sigmoid", "tanh", "relu", "leaky_relu" (slope 0.01; use
        ``portnet.activations.leaky_relu(slope)`` for another) or "identity".
    loss : {"auto", "binary_crossentropy", "squared_error"} or Loss
        "binary_crossentropy" has a sigmoid output, "squared_error" (½·mean‖ŷ−y‖²) an
        identity output; "auto" picks cross-entropy when every label is 0 or 1.
    learning_rate : float
        Gradient-descent step size (> 0).
    iterations : int
        Number of gradient-descent updates (>= 0).
    l2 : float
        L2 strength λ: the cost gains ``λ/(2m)·Σ‖W‖²``, each ``dW`` gains ``λW/m``.
    init : {"auto", "small", "he", "glorot", "zeros"}
        Initialiser (see :mod:`portnet.init`); "auto" is "he" for ReLU-type hidden layers,
        else "glorot". Drawn on the host in float64, so every backend starts identically.
    seed : int or None
        Seed of the initialiser.
    backend : str, array namespace or None
        "numpy", "cupy", "jax", "torch", "array_api_strict", a namespace, or "auto" (a GPU
        backend when one is usable, else NumPy; the ``PORTNET_BACKEND`` environment variable
        overrides the detection). None uses the namespace of ``X`` when it is a non-NumPy
        array, else ``PORTNET_BACKEND`` if set, else NumPy. Other input is moved there. An
        explicit GPU backend without a usable GPU is an error, never a silent CPU run.
    device : device or str, optional
        Where data and parameters live (e.g. ``"cpu:1"`` on JAX, ``"cuda:0"`` on torch);
        default: the device of ``X`` when it is already on the backend, else the default.
    dtype : {"float32", "float64"}, optional
        Default: ``X``'s floating dtype, else the backend's default floating dtype. float64
        where it is unavailable (JAX without x64) is an error, never a silent float32.
    params : sequence of (W, b), optional
        Start from these parameters (warm start), e.g. another model's ``params``.
    log_every : int
        Read the cost back to the host every ``log_every`` updates (the only
        synchronisation in the loop) into ``model.history``.
    verbose : bool
        Print the cost at each log point.

    Returns
    -------
    Model
    """
    hidden_act = get_activation(activation)
    learning_rate = _non_negative("learning_rate", learning_rate, strict=True)
    l2 = _non_negative("l2", l2)
    iterations = _positive_int("iterations", iterations, minimum=0)
    log_every = _positive_int("log_every", log_every)
    if init != "auto" and init not in INITIALIZERS:
        raise ValueError(f"unknown init {init!r}; expected 'auto' or one of {list(INITIALIZERS)}")
    if hidden is not None:
        if isinstance(hidden, numbers.Integral):
            hidden = (hidden,)
        hidden = tuple(_positive_int("each hidden layer size", h) for h in hidden)

    be = resolve_backend(backend, X, device)
    dtype = be.dtype(dtype, X)
    X = be.asarray(X, dtype, what="X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (m samples, n features), got shape {tuple(X.shape)}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one sample and one feature, got {tuple(X.shape)}")
    be = dataclasses.replace(be, device=aac.device(X))
    y_in = _targets(be, y, dtype, X.shape[0])
    Y = _as_2d(y_in)  # (m, n_L)
    net = Network(hidden_act, _choose_loss(loss, be, Y), l2)

    if params is not None:
        sizes = [X.shape[1], *(hidden if hidden is not None else [None] * (len(params) - 1))]
        theta = _warm_params(be, params, dtype, [*sizes, Y.shape[1]])
    else:
        sizes = [X.shape[1], *(hidden if hidden is not None else (4,)), Y.shape[1]]
        if init == "auto":
            init = "he" if hidden_act.name in ("relu", "leaky_relu") else "glorot"
        theta = tuple(
            Layer(be.asarray(W, dtype), be.asarray(b, dtype))
            for W, b in initial_params(sizes, init=init, seed=seed)
        )

    step = be.compile(partial(network.gradient_descent_step, net=net, learning_rate=learning_rate))
    history = History()
    for i in range(iterations):
        theta, J = step(theta, X, Y)  # J: cost before this update, left on the device
        if i % log_every == 0:
            _log(history, i, be.read(J), verbose)
    final = be.compile(partial(network.cost, net=net))(theta, X, Y)
    _log(history, iterations, be.read(final), verbose)
    return Model(theta, net, be, dtype=dtype, y_ndim=y_in.ndim, history=history)


def _log(history: History, step: int, cost: float, verbose: bool) -> None:
    history.append(step, cost)
    if verbose:
        print(f"Cost after iteration {step}: {cost:.6f}")
