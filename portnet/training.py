"""``portnet.train``: user input checked, the backend chosen, the training loop run.

The loop touches the host only at log points (one read of the cost, and of the validation
loss with ``early_stopping``).  Mini-batches are drawn from a permutation made on the host
from the seed once per epoch and copied to the device, so every backend sees the same
batches in the same order.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Callable, Sequence
from typing import Any

import array_api_compat as aac
import numpy as np

from . import network
from ._backend import Backend, _is_array, resolve_backend
from ._namespace import array_namespace
from ._precision import DEFAULT as DEFAULT_PRECISION
from ._precision import check_precision, scope
from ._targets import Targets, check_finite, encode, inspect_targets
from .activations import Activation, get_activation
from .init import INITIALIZERS, initial_params
from .losses import Loss
from .model import History, Model
from .network import Layer, Network, Params
from .optimizers import Optimizer, Schedule, get_optimizer, train_step

Array = Any
Callback = Callable[[int, float, Model], Any]

__all__ = ["DivergenceError", "train"]


class DivergenceError(FloatingPointError):
    """Training produced a non-finite cost.

    Attributes
    ----------
    step : int
        The iteration whose cost was not finite.
    model : Model
        The model at the last log point whose cost was finite (its ``n_steps`` says which),
        with the history up to and including the bad cost; nothing trained is lost.
    """

    def __init__(self, message: str, *, step: int, model: Model) -> None:
        super().__init__(message)
        self.step = step
        self.model = model


# -- option checks -----------------------------------------------------------------------------
def _positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _non_negative(name: str, value: Any) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _callbacks(callbacks: Callback | Sequence[Callback] | None) -> tuple[Callback, ...]:
    if callbacks is None:
        return ()
    found = (callbacks,) if callable(callbacks) else tuple(callbacks)
    for cb in found:
        if not callable(cb):
            raise TypeError(f"callbacks must be callables (step, cost, model), got {cb!r}")
    return found


def _check_same_place(X: Any, y: Any) -> None:
    """X and y of two array libraries (other than NumPy labels), or on two devices: an error."""
    if not (_is_array(X) and _is_array(y)) or aac.is_numpy_array(y):
        return
    x_ns, y_ns = aac.array_namespace(X), aac.array_namespace(y)
    if x_ns is not y_ns:
        raise TypeError(
            f"X is a {type(X).__module__}.{type(X).__name__} but y a "
            f"{type(y).__module__}.{type(y).__name__}: give y in X's array library (or as NumPy)"
        )
    if aac.device(X) != aac.device(y):
        raise ValueError(
            f"X is on device {aac.device(X)!r} but y on {aac.device(y)!r}: put them on one device"
        )


def _check_real_numbers(X: Any) -> None:
    """X of complex numbers, text or objects: an error (not a silent cast)."""
    if _is_array(X) and not aac.is_numpy_array(X):
        xp = aac.array_namespace(X)
        ok = xp.isdtype(X.dtype, ("bool", "integral", "real floating"))
    else:
        kind = np.asarray(X).dtype.kind if not isinstance(X, np.ndarray) else X.dtype.kind
        ok = kind in "biuf"
    if not ok:
        dtype = X.dtype if hasattr(X, "dtype") else np.asarray(X).dtype
        raise TypeError(f"X must hold real numbers, got dtype {dtype}")


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
    got = [out[0].W.shape[1]] + [W.shape[0] for W, _ in out]
    shapes_ok = all(
        W.ndim == 2 and b.shape == (W.shape[0],) and (i == 0 or W.shape[1] == out[i - 1].W.shape[0])
        for i, (W, b) in enumerate(out)
    )
    if (
        not shapes_ok
        or len(got) != len(sizes)
        or any(e is not None and e != g for e, g in zip(sizes, got, strict=True))
    ):
        raise ValueError(
            "params do not fit: expected layer sizes "
            f"{'-'.join('?' if s is None else str(s) for s in sizes)}, got params of shapes "
            f"{[(tuple(W.shape), tuple(b.shape)) for W, b in out]}"
        )
    return out


# -- stopping ----------------------------------------------------------------------------------
@dataclasses.dataclass
class _Stopper:
    """Stop when the watched cost has not improved by ``tol`` for ``patience`` log points."""

    tol: float
    patience: int
    best: float = math.inf
    best_step: int | None = None
    best_params: Params | None = None
    waited: int = 0

    def update(self, step: int, value: float, params: Params) -> bool:
        if value < self.best - self.tol:
            self.best, self.best_step, self.best_params, self.waited = value, step, params, 0
        else:
            self.waited += 1
        return self.waited >= self.patience


def _split(
    be: Backend, X: Array, Y: Array, fraction: float, rng: np.random.Generator
) -> tuple[Array, Array, Array, Array]:
    """A seeded random split into training and validation parts, made on the device."""
    m = X.shape[0]
    n_val = math.ceil(fraction * m)
    if not 0 < fraction < 1 or n_val >= m:
        raise ValueError(
            f"validation_fraction must be in (0, 1) and leave training samples; got "
            f"{fraction!r} of {m} samples"
        )
    order = be.asarray(rng.permutation(m))
    val, fit = order[:n_val], order[n_val:]
    xp = be.xp
    return (
        xp.take(X, fit, axis=0),
        xp.take(Y, fit, axis=0),
        xp.take(X, val, axis=0),
        xp.take(Y, val, axis=0),
    )


# -- train -------------------------------------------------------------------------------------
def train(
    X: Any,
    y: Any,
    *,
    hidden: Sequence[int] | None = None,
    activation: str | Activation = "tanh",
    loss: str | Loss = "auto",
    optimizer: str | Optimizer = "sgd",
    learning_rate: float | Schedule | None = None,
    iterations: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    chunks: int | None = None,
    l2: float = 0.0,
    init: str = "auto",
    seed: int | None = 0,
    tol: float | None = None,
    n_iter_no_change: int = 10,
    early_stopping: bool = False,
    validation_fraction: float = 0.1,
    callbacks: Callback | Sequence[Callback] | None = None,
    backend: Any = None,
    device: Any = None,
    dtype: Any = None,
    precision: str = DEFAULT_PRECISION,
    params: Any = None,
    log_every: int = 1000,
    verbose: bool = False,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    resume: str | os.PathLike[str] | None = None,
) -> Model:
    """Train a fully-connected network.

    The defaults are the course's shallow network: one tanh hidden layer of 4 units, full-batch
    gradient descent with learning rate 1.2, 10 000 iterations.

    Parameters
    ----------
    X : array, shape (m, n_features)
        Inputs, samples first. Any array namespace, or anything NumPy accepts. Full-batch
        training on NumPy works on a column-major copy (made once; none if ``X`` is
        column-major already, e.g. ``np.asfortranarray(X)``), the layout its matrix
        products run faster on.
    y : array, shape (m,) or (m, k)
        Class labels (any values: 0/1, {-1, 1}, strings, class numbers), one-hot rows,
        multi-label 0/1 rows, or real targets for regression.
    hidden : sequence of int, optional
        Hidden layer widths: ``()`` is logistic regression, ``(4,)`` the default shallow
        network, ``(20, 7, 5)`` an L-layer network. Taken from ``params`` when given.
    activation : str or Activation
        Hidden activation: "sigmoid", "tanh", "relu", "leaky_relu" (slope 0.01; use
        ``portnet.activations.leaky_relu(slope)`` for another) or "identity".
    loss : {"auto", "binary_crossentropy", "categorical_crossentropy", "squared_error"} or Loss
        "binary_crossentropy": sigmoid outputs (two classes, or multi-label rows);
        "categorical_crossentropy": softmax output (classes, or one-hot rows);
        "squared_error": identity output, ½·mean‖ŷ−y‖². "auto" picks from ``y``: labels
        (bool, integers, text, whole-number floats) with 2 classes → binary, more →
        categorical; 0/1 rows → categorical if one-hot, else multi-label; other reals →
        squared error.
    optimizer : {"sgd", "momentum", "nesterov", "adam"} or Optimizer
        The update rule (:mod:`portnet.optimizers`); an object carries its own options.
    learning_rate : float or Schedule, optional
        Step size, or a schedule of the step (``portnet.optimizers.inverse_scaling`` ...).
        Default: 1.2 for "sgd" (the course), 0.1 for momentum, 0.001 for Adam.
    iterations : int, optional
        Number of updates (default 10 000). Give this or ``epochs``, not both.
    epochs : int, optional
        Number of passes over the training data (``ceil(m / batch_size)`` updates each).
    batch_size : int, optional
        Mini-batch size; None is the full batch, as in the course. Batches are drawn from a
        permutation of the training samples made anew every epoch from ``seed``. On Dask a
        batch is a whole chunk of ``batch_size`` rows, the chunks visited in an order drawn
        anew every epoch.
    chunks : int, optional
        Dask only: rows per chunk of ``X`` and ``y`` (default: ``X``'s own chunks, or dask's
        automatic ones for NumPy input; ``batch_size`` with mini-batches).
    l2 : float
        L2 strength λ: the cost gains ``λ/(2m)·Σ‖W‖²``, each ``dW`` gains ``λW/m`` (``m`` is
        the batch size).
    init : {"auto", "small", "he", "glorot", "zeros"}
        Initialiser (see :mod:`portnet.init`); "auto" is "he" for ReLU-type hidden layers,
        else "glorot". Drawn on the host in float64, so every backend starts identically.
    seed : int or None
        Seed of the initialiser, the shuffling and the validation split.
    tol, n_iter_no_change : float or None, int
        Stop when the training cost (with ``early_stopping``, the validation loss) has not
        improved by more than ``tol`` for ``n_iter_no_change`` consecutive log points.
        ``tol=None`` (default) never stops on the training cost.
    early_stopping : bool
        Hold out ``validation_fraction`` of the samples (a seeded random split), watch the
        loss on them at every log point, stop as above (``tol`` None counts any
        improvement) and keep the parameters with the best validation loss.
    validation_fraction : float
        Share of the samples held out for ``early_stopping``.
    callbacks : callable or sequence of callables, optional
        Called at every log point as ``callback(step, cost, model)`` (``model`` holds the
        parameters whose cost that is); returning ``False`` stops training.
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
    precision : {"highest", "tf32"}
        How float32 matrix products are computed: "highest", full IEEE float32 on every
        backend (JAX's GPU default, TF32, overridden for portnet's computations alone);
        "tf32", TF32 tensor-core products on a CUDA GPU (CuPy, JAX, torch; faster, about
        3 decimal digits per input). A backend that cannot honour the mode is an error.
        The model keeps it for its predictions.
    params : sequence of (W, b), optional
        Start from these parameters (warm start), e.g. another model's ``params``; the
        optimiser's state starts afresh.
    log_every : int
        Read the cost back to the host every ``log_every`` updates (the only
        synchronisation in the loop) into ``model.history``.
    verbose : bool
        Print the cost at each log point.
    checkpoint, checkpoint_every : path, int, optional
        Write the parameters, the optimiser state, the step, the mini-batch shuffling state
        and the history to ``checkpoint`` (atomically: written beside it and renamed) every
        ``checkpoint_every`` updates (default ``log_every``; a multiple of it).
    resume : path, optional
        Continue from such a checkpoint to ``iterations``, with the same data and options:
        the result is that of the uninterrupted run (the stopping rules' patience restarts).

    Returns
    -------
    Model
        Ctrl-C (``KeyboardInterrupt``) during training returns the model trained so far,
        with ``stop_reason="interrupted"``.

    Raises
    ------
    DivergenceError
        A cost read at a log point is not finite; ``error.model`` is the model at the last
        finite log point.
    """
    hidden_act = get_activation(activation)
    opt = get_optimizer(optimizer, learning_rate)
    l2 = _non_negative("l2", l2)
    log_every = _positive_int("log_every", log_every)
    if iterations is not None and epochs is not None:
        raise ValueError(f"give iterations or epochs, not both (got {iterations}, {epochs})")
    if iterations is not None:
        iterations = _positive_int("iterations", iterations, minimum=0)
    if epochs is not None:
        epochs = _positive_int("epochs", epochs)
    if batch_size is not None:
        batch_size = _positive_int("batch_size", batch_size)
    if tol is not None:
        tol = _non_negative("tol", tol)
    n_iter_no_change = _positive_int("n_iter_no_change", n_iter_no_change)
    if seed is not None:
        seed = _positive_int("seed", seed, minimum=0)
    callbacks = _callbacks(callbacks)
    if init != "auto" and init not in INITIALIZERS:
        raise ValueError(f"unknown init {init!r}; expected 'auto' or one of {list(INITIALIZERS)}")
    if hidden is not None:
        if isinstance(hidden, numbers.Integral):
            hidden = (hidden,)
        hidden = tuple(_positive_int("each hidden layer size", h) for h in hidden)

    be = resolve_backend(backend, X, device)
    _check_same_place(X, y)
    _check_real_numbers(X)
    dtype = be.dtype(dtype, X)
    precision = check_precision(precision, be, dtype)
    X = be.asarray(X, dtype, what="X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (m samples, n features), got shape {tuple(X.shape)}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one sample and one feature, got {tuple(X.shape)}")
    be = dataclasses.replace(be, device=aac.device(X))
    rows = _chunk_rows(be, chunks, batch_size)
    (X,) = be.samples(X, rows=rows)  # Dask: chunked and persisted, read from its source once
    check_finite(be, be.xp, X, "X")  # one host read, before any training
    m = X.shape[0]
    chosen_loss, targets = inspect_targets(be, y, m, loss)
    X, Y = be.samples(X, encode(be, y, targets, dtype, m))  # Y: (m, n_L), chunked like X
    net = Network(hidden_act, chosen_loss, l2)

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

    shuffling, splitting = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    Xv = Yv = None
    if early_stopping:
        X, Y, Xv, Yv = _split(be, X, Y, validation_fraction, splitting)
        X, Y = be.samples(X, Y, rows=rows)
        Xv, Yv = be.samples(Xv, Yv)
    m_fit = X.shape[0]
    batch = m_fit if batch_size is None else min(batch_size, m_fit)
    if batch == m_fit:  # every step reads all of X: laid out for that (NumPy: one copy)
        X, Y = be.full_batch(X, Y)
    per_epoch = math.ceil(m_fit / batch)
    if iterations is None:
        iterations = epochs * per_epoch if epochs is not None else 10_000

    loop = _Loop(
        be,
        net,
        opt,
        dtype,
        targets,
        callbacks,
        verbose,
        precision=precision,
        stopper=_Stopper(tol or 0.0, n_iter_no_change)
        if early_stopping or tol is not None
        else None,
        validation=(Xv, Yv) if early_stopping else None,
    )
    if checkpoint_every is not None:
        checkpoint_every = _positive_int("checkpoint_every", checkpoint_every)
        if checkpoint_every % log_every:
            raise ValueError(
                f"checkpoint_every must be a multiple of log_every ({log_every}), "
                f"got {checkpoint_every}"
            )
    loop.checkpoint = (checkpoint, checkpoint_every or log_every) if checkpoint else None
    start, state = 0, None
    if resume is not None:
        theta, state, start = _resume(loop, resume, theta, shuffling)
    loop.current = (theta, start)
    try:
        with scope(be, precision):
            theta, stop_reason = loop.run(
                theta, X, Y, iterations, batch, per_epoch, log_every, shuffling, start, state
            )
    except KeyboardInterrupt:  # Ctrl-C: keep what was trained, with its history
        theta, loop.steps = loop.current
        stop_reason = "interrupted"
    best_step = None
    if early_stopping and loop.stopper.best_params is not None:
        theta, best_step = loop.stopper.best_params, loop.stopper.best_step
    return loop.model(theta, n_steps=loop.steps, stop_reason=stop_reason, best_step=best_step)


def _chunk_rows(be: Backend, chunks: Any, batch_size: int | None) -> int | None:
    """Rows per chunk for Dask's data (None: as they come); ``chunks`` elsewhere: an error."""
    if chunks is None:
        return batch_size if be.batches_are_chunks else None
    chunks = _positive_int("chunks", chunks)
    if not be.batches_are_chunks:
        raise ValueError(
            f"chunks= splits the data of backend 'dask'; backend {be.name!r} takes no chunks "
            f"(got chunks={chunks})"
        )
    if batch_size is not None and chunks != batch_size:
        raise ValueError(
            f"on Dask a mini-batch is a whole chunk: give chunks equal to batch_size, or only "
            f"one of them (got chunks={chunks}, batch_size={batch_size})"
        )
    return chunks


def _resume(
    loop: _Loop, path: Any, theta: Params, shuffling: np.random.Generator
) -> tuple[Params, Any, int]:
    """Parameters, optimiser state and step from a checkpoint; the loop's history and the
    shuffling generator are restored in place."""
    from .serialization import read_checkpoint

    model, state, rng_state, order = read_checkpoint(
        path, loop.be, loop.dtype, loop.opt.init(theta), theta
    )
    loop.history = model.history.copy()
    shuffling.bit_generator.state = rng_state
    loop._resumed_order = order
    return model.params, state, model.n_steps


def _advance(
    carry: tuple[Params, Any],
    X: Array,
    Y: Array,
    *,
    net: Network,
    optimizer: Optimizer,
    gradients: Callable[..., Any] = network.cost_and_gradients,
    report: bool = True,
) -> tuple[tuple[Params, Any], Array | None]:
    """One step on the whole batch: ``(params, state) -> (params, state)``, and its cost
    (computed only when it will be ``report``-ed)."""
    theta, state, J = train_step(
        *carry, X, Y, net, optimizer, with_cost=report, gradients=gradients
    )
    return (theta, state), J


def _advance_batch(
    carry: tuple[Params, Any],
    X: Array,
    Y: Array,
    rows: Array,
    *,
    net: Network,
    optimizer: Optimizer,
    gradients: Callable[..., Any] = network.cost_and_gradients,
) -> tuple[tuple[Params, Any], Array]:
    """One step on the mini-batch ``rows`` of ``(X, Y)``, gathered inside the compiled step."""
    xp = array_namespace(X)
    Xb, Yb = xp.take(X, rows, axis=0), xp.take(Y, rows, axis=0)
    # a batch's cost is never read: the loop reads the whole training set's at log points
    return _advance(carry, Xb, Yb, net=net, optimizer=optimizer, gradients=gradients, report=False)


@dataclasses.dataclass
class _Loop:
    """The training loop: steps on the device, reads and decisions at log points."""

    be: Backend
    net: Network
    opt: Optimizer
    dtype: Any
    targets: Targets
    callbacks: tuple[Callback, ...]
    verbose: bool
    precision: str
    stopper: _Stopper | None
    validation: tuple[Array, Array] | None
    history: History = dataclasses.field(default_factory=History)
    steps: int = 0
    #: the latest parameters known whole, and their step: what an interrupt keeps
    current: tuple[Params, int] | None = None
    #: the last log point with a finite cost: what a divergence keeps
    last_finite: tuple[Params, int] | None = None
    #: (path, every) to write checkpoints to, and the resumed epoch's order
    checkpoint: tuple[Any, int] | None = None
    _resumed_order: Any = None

    def _save_checkpoint(self, step: int, theta: Params, state: Any, order: Any) -> None:
        if self.checkpoint is None or step % self.checkpoint[1]:
            return
        from .serialization import write_checkpoint

        model = self.snapshot(theta, n_steps=step)
        write_checkpoint(self.checkpoint[0], model, state, self._shuffling, order)

    def snapshot(self, theta: Params, **info: Any) -> Model:
        """A model with a copy of the history so far (which training goes on appending to)."""
        model = self.model(theta, **info)
        model.history = self.history.copy()
        return model

    def model(self, theta: Params, **info: Any) -> Model:
        return Model(
            self.be.from_working(theta),
            self.net,
            self.be,
            dtype=self.dtype,
            targets=self.targets,
            history=self.history,
            precision=self.precision,
            **info,
        )

    def run(
        self,
        theta: Params,
        X: Array,
        Y: Array,
        iterations: int,
        batch: int,
        per_epoch: int,
        log_every: int,
        shuffling: np.random.Generator,
        start: int = 0,
        state: Any = None,
    ) -> tuple[Params, str | None]:
        be = self.be
        ops = be.ops()  # the cost read at log points: the backend's Ops, no workspace
        cost = be.compile(network.cost, net=self.net, ops=ops)
        self._validation_loss = be.compile(network.cost, net=self.net._replace(l2=0.0), ops=ops)
        theta = be.to_working(theta)
        state = self.opt.init(theta) if state is None else be.to_working(state)
        self._shuffling = shuffling
        # the run's own Ops (NumPy, torch: arrays reused from step to step, released when
        # this run ends)
        gradients = be.run_gradients()
        if batch >= X.shape[0]:
            theta, reason = self._run_full(
                theta, state, X, Y, iterations, log_every, start, gradients=gradients
            )
        else:
            theta, reason = self._run_batches(
                theta,
                state,
                X,
                Y,
                iterations,
                batch,
                per_epoch,
                log_every,
                cost,
                start,
                gradients=gradients,
            )
        if reason is None:
            self.steps = iterations
            self._log(iterations, theta, be.read(cost(theta, X, Y)), final=True)
        return theta, reason

    def _run_full(
        self,
        theta: Params,
        state: Any,
        X: Array,
        Y: Array,
        iterations: int,
        log_every: int,
        start: int,
        *,
        gradients: Callable[..., Any],
    ) -> tuple[Params, str | None]:
        """Full batch: the steps between two log points run as one call (one program on JAX)."""
        be = self.be
        run = be.compile_repeat(_advance, net=self.net, optimizer=self.opt, gradients=gradients)
        for i in range(start, iterations, log_every):
            before = theta
            n = min(log_every, iterations - i)
            (theta, state), J = run((theta, state), X, Y, n=n)
            reason = self._log(i, before, self.be.read(J))  # J: the cost at `before`
            self.current = (theta, i + n)
            self._save_checkpoint(i + n, theta, state, None)
            if reason is not None:
                self.steps = i
                return before, reason
        return theta, None

    def _run_batches(
        self,
        theta: Params,
        state: Any,
        X: Array,
        Y: Array,
        iterations: int,
        batch: int,
        per_epoch: int,
        log_every: int,
        cost: Callable[..., Array],
        start: int,
        *,
        gradients: Callable[..., Any],
    ) -> tuple[Params, str | None]:
        """Mini-batches: one compiled step per batch, its rows gathered inside the step.

        Where batches are whole chunks (Dask), the permutation is one of the chunks, and a
        batch is the chunk's rows, sliced (no gather across chunks).
        """
        be = self.be
        chunked = be.batches_are_chunks
        step = be.compile(
            _advance if chunked else _advance_batch,
            net=self.net,
            optimizer=self.opt,
            gradients=gradients,
        )
        m = X.shape[0]
        # Dask: chunk c is rows [c·batch, (c+1)·batch), sliced once for the whole run
        edges = [(c * batch, min((c + 1) * batch, m)) for c in range(per_epoch)] if chunked else []
        blocks = [(X[a:b, :], Y[a:b, :]) for a, b in edges]
        host_order = self._resumed_order
        order = None if host_order is None or chunked else be.asarray(host_order)
        for i in range(start, iterations):
            k, logging = i % per_epoch, i % log_every == 0
            if logging and i > start:  # before this epoch's permutation is drawn
                self._save_checkpoint(i, theta, state, host_order if k else None)
            if k == 0:  # a new epoch: one permutation, one host-to-device copy
                host_order = self._shuffling.permutation(per_epoch if chunked else m)
                order = None if chunked else be.asarray(host_order)
            if logging:
                reason = self._log(i, theta, be.read(cost(theta, X, Y)))  # the whole set
                if reason is not None:
                    self.steps = i
                    return theta, reason
            if chunked:  # chunk host_order[k]
                (theta, state), _ = step((theta, state), *blocks[host_order[k]], report=False)
            else:
                rows = order[k * batch : min((k + 1) * batch, m)]  # (≤ batch,)
                (theta, state), _ = step((theta, state), X, Y, rows)
            self.current = (theta, i + 1)
        return theta, None

    def _diverged(self, step: int, J: float) -> None:
        # the last finite log point's parameters; at the first log point, the starting ones
        theta, good = self.last_finite if self.last_finite is not None else self.current
        before = (
            f"; it was {self.history.cost[-2]:.6g} at iteration {good}"
            if self.last_finite is not None
            else " (the first log point: the starting parameters already overflow)"
        )
        rate = self.opt.learning_rate
        rate = f" (now {rate.options[0][1]:g})" if rate.name == "constant" else ""
        model = self.snapshot(theta, n_steps=good, stop_reason="diverged")
        raise DivergenceError(
            f"training diverged: the cost is {J} at iteration {step}{before}. Try a smaller "
            f"learning_rate{rate}; the error's .model holds the parameters of iteration "
            f"{good}",
            step=step,
            model=model,
        )

    def _log(self, step: int, theta: Params, J: float, *, final: bool = False) -> str | None:
        """Record a log point; return why to stop, if training should stop here."""
        self.history.step.append(step)
        self.history.cost.append(J)
        if not math.isfinite(J):
            self._diverged(step, J)
        self.last_finite = (theta, step)
        watched = J
        line = f"Cost after iteration {step}: {J:.6f}"
        if self.validation is not None:
            Xv, Yv = self.validation
            watched = self.be.read(self._validation_loss(theta, Xv, Yv))
            self.history.val_cost.append(watched)
            line += f"  validation loss: {watched:.6f}"
        if self.verbose:
            print(line)
        reason = None
        if self.stopper is not None and self.stopper.update(step, watched, theta):
            reason = "early_stopping" if self.validation is not None else "tol"
        for callback in self.callbacks:
            if callback(step, J, self.snapshot(theta, n_steps=step)) is False:
                reason = reason or "callback"
        return None if final else reason
