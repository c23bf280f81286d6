"""The options of a training run, validated in one place.

:func:`portnet.train`, :meth:`portnet.Model.fit`, the scikit-learn estimators and the
``portnet train`` command all make an :class:`Options` and hand it down; what each option
means is said once, in :func:`portnet.train`'s docstring.  What can be checked without the
data is checked here, when the options are made; what needs the data (the backend, the
dtype, ``chunks`` on Dask, the warm-start parameters' shapes) when it is prepared
(:mod:`portnet._prepare`).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import numbers
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import serialization
from ._backend import dtype_name
from ._checks import InvalidOptionError, choice, integer, real
from ._precision import DEFAULT as DEFAULT_PRECISION
from ._precision import PRECISIONS
from ._weights import check_class_weight, check_sample_weight
from .activations import Activation, get_activation
from .init import INITIALIZERS
from .lbfgs import LBFGS
from .losses import Loss
from .optimizers import Optimizer, Schedule, get_optimizer

__all__ = ["NAMES", "Options"]

Callback = Callable[[int, float, Any], Any]


@dataclasses.dataclass(frozen=True)
class Options:
    """Everything :func:`portnet.train` takes besides ``X`` and ``y`` (see its docstring),
    checked and normalised: ``hidden`` a tuple of ints (or None), ``activation`` an
    :class:`~portnet.activations.Activation`, ``callbacks`` a tuple, ``dtype`` "float32",
    "float64" or None (however it was spelt: ``np.float32``, ``float``, ``"f4"``, ...), numbers
    Python's (NumPy scalars taken), ``sample_weight`` a host float64 copy (its length is
    checked with the data); :attr:`rule` is the optimiser with its learning rate.  A wrong
    option is an :class:`InvalidOptionError` (a ``ValueError`` and a ``TypeError``) naming it.
    """

    hidden: Sequence[int] | int | None = None
    activation: str | Activation = "tanh"
    loss: str | Loss = "auto"
    sample_weight: Any = None
    class_weight: str | dict[Any, float] | None = None
    zero_weights: str = "drop"
    optimizer: str | Optimizer = "sgd"
    learning_rate: float | Schedule | None = None
    iterations: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    shuffle: bool = True
    chunks: int | None = None
    l2: float = 0.0
    init: str = "auto"
    seed: int | np.random.RandomState | None = 0
    tol: float | None = None
    n_iter_no_change: int = 10
    max_fun: int | None = None
    tol_reference: str = "improvement"
    early_stopping: bool = False
    validation_fraction: float = 0.1
    validation_metric: str = "loss"
    validation_data: Any = None
    callbacks: Callback | Sequence[Callback] | None = None
    backend: Any = None
    device: Any = None
    dtype: Any = None
    precision: str = DEFAULT_PRECISION
    params: Any = None
    state: Any = None
    log_every: int | str = 1000
    verbose: bool = False
    checkpoint: str | os.PathLike[str] | None = None
    checkpoint_every: int | None = None
    resume: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        run = _run_options(self)
        checked = {**_model_options(self), **run, **_lbfgs_options(self)}
        checked.update(_file_options(self, run["log_every"]))
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        rate = getattr(self.rule, "learning_rate", None)  # L-BFGS has none
        if rate is not None and rate.held and self.log_every != "epoch":
            raise InvalidOptionError(
                f"learning_rate {rate.name!r} is set at epoch ends: it needs "
                f"log_every='epoch', got log_every={self.log_every!r}"
            )

    @functools.cached_property
    def rule(self) -> Optimizer | LBFGS:
        """The optimiser, with its learning rate (its default where None)."""
        return get_optimizer(self.optimizer, self.learning_rate)

    @classmethod
    def given(cls, **options: Any) -> Options:
        """``Options(**options)``, an unknown name an error naming the closest known ones."""
        unknown = sorted(set(options) - set(NAMES))
        if unknown:
            close = {u: difflib.get_close_matches(u, NAMES, n=2) for u in unknown}
            hints = "; ".join(f"{u!r}: did you mean {' or '.join(map(repr, c))}?" for u, c in
                              close.items() if c)  # fmt: skip
            raise InvalidOptionError(
                f"unknown option{'s' if len(unknown) > 1 else ''} {unknown}"
                + (f" ({hints})" if hints else "")
                + f"; train takes {list(NAMES)}"
            )
        return cls(**options)

    def replace(self, **changes: Any) -> Options:
        """A copy with ``changes`` (checked as new options are)."""
        return dataclasses.replace(self, **changes)


#: the options' names (what train takes besides X and y)
NAMES = tuple(field.name for field in dataclasses.fields(Options))


def _model_options(o: Options) -> dict[str, Any]:
    """The network's options: layer widths, activation, L2, initialiser; the cost's weights."""
    hidden = o.hidden
    if hidden is not None:
        try:
            one = isinstance(hidden, numbers.Integral) or getattr(hidden, "ndim", None) == 0
            widths = [hidden] if one else list(hidden)  # np.arange(...) too
        except TypeError as exc:  # neither a width nor a sequence of them
            raise InvalidOptionError(
                f"hidden must be a sequence of layer widths (e.g. (20, 7, 5)), got {hidden!r}"
            ) from exc
        hidden = tuple(integer("each hidden layer size", h) for h in widths)
    if o.init != "auto" and o.init not in INITIALIZERS:
        raise InvalidOptionError(
            f"unknown init {o.init!r}; expected 'auto' or one of {list(INITIALIZERS)}"
        )
    return {
        "hidden": hidden,
        "activation": get_activation(o.activation),
        "l2": real("l2", o.l2),
        "sample_weight": check_sample_weight(o.sample_weight),
        "class_weight": check_class_weight(o.class_weight),
        "zero_weights": choice("zero_weights", o.zero_weights, ("drop", "keep")),
    }


def _run_options(o: Options) -> dict[str, Any]:
    """How long and how: updates, batches, seed, stopping, callbacks, precision."""
    if o.iterations is not None and o.epochs is not None:
        raise InvalidOptionError(
            f"give iterations or epochs, not both (got {o.iterations}, {o.epochs})"
        )
    choice("precision", o.precision, PRECISIONS)
    choice("tol_reference", o.tol_reference, ("improvement", "best"))
    choice("validation_metric", o.validation_metric, ("loss", "score"))
    optional = {
        "iterations": lambda v: integer("iterations", v, minimum=0),
        "epochs": lambda v: integer("epochs", v),
        "batch_size": lambda v: integer("batch_size", v),
        "chunks": lambda v: integer("chunks", v),
        "seed": _seed,
        "tol": lambda v: real("tol", v),
    }
    checked = {k: None if getattr(o, k) is None else f(getattr(o, k)) for k, f in optional.items()}
    # in (0, 1) and leaving training samples: checked with the data (_prepare)
    fraction = real("validation_fraction", o.validation_fraction)
    _validation_data(o.validation_data, o.early_stopping)
    return {
        **checked,
        "n_iter_no_change": integer("n_iter_no_change", o.n_iter_no_change),
        "validation_fraction": fraction,
        "log_every": o.log_every if o.log_every == "epoch" else integer("log_every", o.log_every),
        "shuffle": _flag("shuffle", o.shuffle),
        "callbacks": _callbacks(o.callbacks),
        "dtype": dtype_name(o.dtype),  # "float32", "float64" or None, however spelt
    }


def _lbfgs_options(o: Options) -> dict[str, Any]:
    """L-BFGS's ``max_fun``, and what L-BFGS does not do: mini-batches, checkpoints."""
    lbfgs = isinstance(o.rule, LBFGS)
    max_fun = None if o.max_fun is None else integer("max_fun", o.max_fun)
    if max_fun is not None and not lbfgs:
        raise InvalidOptionError(
            "max_fun bounds L-BFGS's evaluations of the cost: it applies to optimizer='lbfgs' "
            f"only, got max_fun={max_fun} with optimizer={getattr(o.rule, 'name', o.rule)!r}"
        )
    if lbfgs and o.batch_size is not None:
        raise InvalidOptionError(
            "optimizer='lbfgs' trains on the full batch (its line search and curvature pairs "
            f"need the exact cost and gradient): give no batch_size, got {o.batch_size!r}"
        )
    if lbfgs and (o.checkpoint is not None or o.resume is not None):
        raise InvalidOptionError(
            "optimizer='lbfgs' neither writes nor resumes checkpoints (its curvature pairs "
            "are not saved): give no checkpoint or resume; to train on, pass params=model.params"
        )
    return {"max_fun": max_fun}


def _file_options(o: Options, log_every: int | str) -> dict[str, Any]:
    """Checkpoints: every ``checkpoint_every`` updates, a multiple of ``log_every`` (checked),
    or at every epoch's end with ``log_every="epoch"``; an integer seed (a RandomState's
    draws are not recorded); before training, that ``checkpoint`` can be written and
    ``resume`` read (an ``OSError`` saying why not:
    :func:`portnet.serialization.check_writable`, ``check_readable``)."""
    every = o.checkpoint_every
    if every is not None and log_every == "epoch":
        raise InvalidOptionError(
            f"with log_every='epoch' a checkpoint is written at every epoch's end: give no "
            f"checkpoint_every (got {every!r})"
        )
    if isinstance(o.seed, np.random.RandomState) and (o.checkpoint or o.resume) is not None:
        raise InvalidOptionError(
            "checkpoint and resume need an integer seed (or None): a RandomState's draws are "
            "not recorded in a checkpoint"
        )
    if every is not None:
        every = integer("checkpoint_every", every)
        if every % log_every:
            raise InvalidOptionError(
                f"checkpoint_every must be a multiple of log_every ({log_every}), got {every}"
            )
    for name in ("checkpoint", "resume"):
        value = getattr(o, name)
        if value is not None and not isinstance(value, str | os.PathLike):
            raise InvalidOptionError(f"{name} must be a file path, got {value!r}")
    if o.checkpoint is not None:
        serialization.check_writable(o.checkpoint, "checkpoint")
    if o.resume is not None:
        serialization.check_readable(o.resume, action="resume from")
    return {"checkpoint_every": every}


def _validation_data(data: Any, early_stopping: bool) -> None:
    """``validation_data``: None, or ``(X, y)`` or ``(X, y, sample_weight)`` for
    ``early_stopping`` to watch."""
    if data is None:
        return
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        raise InvalidOptionError(
            "validation_data must be a pair (X, y) or a triple (X, y, sample_weight), got "
            f"{type(data).__name__}"
            + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else "")
        )
    if not early_stopping:
        raise InvalidOptionError(
            "validation_data is what early_stopping watches: give early_stopping=True with it"
        )


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidOptionError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _callbacks(callbacks: Any) -> tuple[Callback, ...]:
    if callbacks is None:
        return ()
    found = (callbacks,) if callable(callbacks) else tuple(callbacks)
    for cb in found:
        if not callable(cb):
            raise InvalidOptionError(f"callbacks must be callables (step, cost, model), got {cb!r}")
    return found


def _seed(seed: Any) -> int | np.random.RandomState:
    """An integer >= 0, or a ``numpy.random.RandomState`` (scikit-learn's ``random_state``)."""
    return seed if isinstance(seed, np.random.RandomState) else integer("seed", seed, minimum=0)
