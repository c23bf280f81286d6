"""A training run made ready: the data checked and placed, the targets encoded, the starting
parameters, the validation split, the batches (:func:`prepare`)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import array_api_compat as aac
import numpy as np

from ._backend import Backend, _float_name, _is_array, resolve_backend, to_numpy
from ._inputs import as_data, check_finite, check_real
from ._options import Options
from ._precision import check_precision
from ._targets import Targets, encode, inspect_targets
from ._weights import check_sample_weight, class_factors, of_length
from .init import initial_params
from .losses import takes_weights
from .network import Network, Params

Array = Any

__all__ = ["Prepared", "prepare"]


@dataclasses.dataclass(frozen=True)
class Prepared:
    """What a training run starts from.

    ``X``, ``Y`` are the training samples as the loop reads them (on Dask chunked, on
    NumPy's full batches column-major), ``w`` their weights ``(m,)`` (None: unweighted,
    every weight 1), ``validation`` the held-out ``(Xv, Yv, wv)`` with ``early_stopping``;
    ``batch`` rows a step, ``per_epoch`` steps an epoch, ``iterations`` steps in all;
    ``shuffling`` the generator of the epochs' sample orders (a ``RandomState`` seed's own:
    scikit-learn's one stream); ``zero_rows`` the training samples of weight 0 kept in the
    batches (``zero_weights="keep"``), a host mask ``(m,)``, None where there are none.
    """

    be: Backend
    dtype: Any
    precision: str
    net: Network
    targets: Targets
    X: Array
    Y: Array
    w: Array | None
    validation: tuple[Array, Array, Array | None] | None
    theta: Params
    batch: int
    per_epoch: int
    iterations: int
    shuffling: np.random.Generator | np.random.RandomState
    zero_rows: np.ndarray | None = None

    @property
    def data(self) -> tuple[Array, ...]:
        """The training samples as a step takes them: ``(X, Y)``, or ``(X, Y, w)``."""
        return (self.X, self.Y) if self.w is None else (self.X, self.Y, self.w)


def prepare(X: Any, y: Any, options: Options) -> Prepared:
    """Check and place the data, choose the loss, encode the targets, make the starting
    parameters and the validation split: everything before the first step."""
    typed = _is_array(X)  # X's dtype is the default dtype of an array's, not a list's
    given, y = as_data(X, "X"), as_data(y, "y")  # arrays: NumPy, or their own library's
    be, dtype, precision, X = _placed(given, y, options, typed=typed)
    rows = _chunk_rows(be, options.chunks, options.batch_size)
    (X,) = be.samples(X, rows=rows)  # Dask: chunked and persisted, read from its source once
    check_finite(be, be.xp, X, "X", source=given)  # one host read, before any training
    loss, targets = inspect_targets(be, y, X.shape[0], options.loss)
    Y = encode(be, y, targets, dtype, X.shape[0])  # (m, n_L)
    if targets.kind == "continuous":  # real targets: finite in y (checked), and in dtype?
        check_finite(be, be.xp, Y, "y", source=y)
    X, Y = be.samples(X, Y)
    X, Y, w, zeros_kept = _weighted(be, dtype, (X, Y), targets, options, rows)
    if w is not None and not takes_weights(loss):
        raise ValueError(
            f"loss {loss.name!r} takes no sample weights (its value and gradient take no "
            "keyword w: see portnet.losses.Loss); train it without sample_weight and "
            "class_weight"
        )
    net = Network(options.activation, loss, options.l2)
    theta = _starting_params(be, dtype, options, X.shape[1], Y.shape[1])
    shuffling, splitting = _generators(options.seed)
    validation = None
    if options.early_stopping:
        if options.validation_data is None:
            (X, Y, w), held = _split(be, (X, Y, w), options.validation_fraction, splitting)
        else:
            held = _held_out(be, dtype, targets, options.validation_data, X.shape[1])
        X, Y, w = _samples(be, X, Y, w, rows=rows)
        validation = _samples(be, *held)
    zero_rows = _zero_rows(w, validation) if zeros_kept else None
    batch = X.shape[0] if options.batch_size is None else min(options.batch_size, X.shape[0])
    if batch == X.shape[0]:  # every step reads all of X: laid out for that (NumPy: one copy)
        X, Y = be.full_batch(X, Y)
    per_epoch = math.ceil(X.shape[0] / batch)
    iterations = options.iterations
    if iterations is None:
        iterations = options.epochs * per_epoch if options.epochs is not None else 10_000
    return Prepared(
        be, dtype, precision, net, targets, X, Y, w, validation, theta, batch, per_epoch,
        iterations, shuffling, zero_rows,
    )  # fmt: skip


def _samples(be: Backend, X: Array, Y: Array, w: Array | None, *, rows: int | None = None) -> Any:
    """``be.samples`` of ``(X, Y, w)``, ``w`` None where unweighted."""
    if w is None:
        return (*be.samples(X, Y, rows=rows), None)
    return be.samples(X, Y, w, rows=rows)


def _weighted(
    be: Backend, dtype: Any, data: tuple[Array, Array], targets: Targets, options: Options,
    rows: int | None,
) -> tuple[Array, Array, Array | None, bool]:  # fmt: skip
    """``(X, Y, w)``: the samples and their weights (``sample_weight`` times the class
    weights) in ``dtype``, with ``zero_weights="drop"`` the samples of weight 0 left out
    (they count for nothing, and no batch then weighs 0); ``w`` None where every weight is
    1 (the unweighted run, bit for bit); and whether samples of weight 0 were kept.  The
    weights are checked and combined on the host."""
    X, Y = data
    given, class_weight = options.sample_weight, options.class_weight
    if given is None and class_weight is None:
        return X, Y, None, False
    m = X.shape[0]
    w = np.ones(m) if given is None else of_length(given, m)
    if class_weight is not None:
        w = w * class_factors(class_weight, _class_index(be, Y, targets), targets.classes, given)
    w = _in_dtype(w, dtype)
    keep = np.flatnonzero(w)
    if keep.size == 0:
        raise ValueError(
            "the samples' weights (sample_weight times class_weight) are zero for every "
            "sample: nothing to train on"
        )
    zeros_kept = keep.size < m and options.zero_weights == "keep"
    if keep.size < m and not zeros_kept:
        index = be.asarray(keep)
        X, Y, w = be.xp.take(X, index, axis=0), be.xp.take(Y, index, axis=0), w[keep]
    placed = None if np.all(w == 1) else be.asarray(w, dtype)
    if placed is None and keep.size == m:
        return X, Y, None, False
    return (*_samples(be, X, Y, placed, rows=rows), zeros_kept)


def _zero_rows(w: Array, validation: tuple[Array, Array, Array | None] | None) -> np.ndarray | None:
    """``zero_weights="keep"``: the training samples of weight 0 (a host mask, read once;
    None where the validation split took them all), for the loop to refuse a batch that
    weighs nothing; a training or held-out part weighing nothing in all (its weighted
    mean 0/0): an error."""
    zero = np.asarray(to_numpy(w)) == 0
    for part, rows in (("left for training", zero), ("held out", _zero(validation))):
        if rows is not None and rows.all():
            raise ValueError(
                f"every sample {part} by the validation split has weight 0 (their loss, a "
                "mean weighted by them, would be 0/0): give another validation_fraction or "
                "seed, or validation_data"
            )
    return zero if zero.any() else None


def _zero(validation: tuple[Array, Array, Array | None] | None) -> np.ndarray | None:
    if validation is None or validation[2] is None:
        return None
    return np.asarray(to_numpy(validation[2])) == 0


def _class_index(be: Backend, Y: Array, targets: Targets) -> np.ndarray:
    """The class of each sample (its position in ``targets.classes``), on the host, for
    ``class_weight``: classifiers of one class per sample only."""
    if targets.kind == "continuous":
        raise ValueError(
            "class_weight needs class labels, but y holds real targets (a regression, loss "
            "'squared_error'): weigh the samples with sample_weight instead"
        )
    if targets.kind == "multilabel":
        raise ValueError(
            "class_weight needs one class per sample, but y holds multi-label rows: weigh "
            "the samples with sample_weight instead"
        )
    index = Y[:, 0] if targets.kind == "binary" else be.xp.argmax(Y, axis=1)  # (m,)
    return np.asarray(to_numpy(index)).astype(np.intp)


def _in_dtype(w: np.ndarray, dtype: Any) -> np.ndarray:
    """Host weights ``w`` (float64) in the run's ``dtype``; a total too large for it (the
    losses divide by it): an error."""
    name = _float_name(dtype)
    total, largest = float(np.sum(w)), float(np.finfo(name).max)
    if not total <= largest:
        raise ValueError(
            f"sample_weight is too large for {name}: the weights total {total:.3g} ({name} "
            f"holds up to {largest:.3g}); scale sample_weight down, or use dtype='float64'"
        )
    return w.astype(name)


def _generators(seed: Any) -> tuple[Any, Any]:
    """The generators of the shuffling and the validation split: two independent streams of
    an integer seed, or a ``RandomState`` itself for both (drawn from as scikit-learn draws
    from its ``random_state``: the initial parameters, the split, then the epochs' orders)."""
    if isinstance(seed, np.random.RandomState):
        return seed, seed
    shuffling, splitting = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    return shuffling, splitting


def _placed(X: Any, y: Any, options: Options, *, typed: bool) -> tuple[Backend, Any, str, Array]:
    """The backend, dtype and precision of the run, and ``X`` (an array: :func:`as_data`'s)
    placed there, checked; ``typed``: the dtype defaults to ``X``'s (else the backend's)."""
    be = resolve_backend(options.backend, X, options.device)
    _check_same_place(X, y)
    check_real(X)
    dtype = be.dtype(options.dtype, X if typed else None)
    precision = check_precision(options.precision, be, dtype)
    X = be.asarray(X, dtype, what="X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (m samples, n features), got shape {tuple(X.shape)}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one sample and one feature, got {tuple(X.shape)}")
    return dataclasses.replace(be, device=aac.device(X)), dtype, precision, X


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


def _chunk_rows(be: Backend, chunks: int | None, batch_size: int | None) -> int | None:
    """Rows per chunk for Dask's data (None: as they come); ``chunks`` elsewhere: an error."""
    if chunks is None:
        return batch_size if be.batches_are_chunks else None
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


def _starting_params(be: Backend, dtype: Any, options: Options, n_in: int, n_out: int) -> Params:
    """``options.params`` (a warm start, checked against the layer sizes) or new ones drawn
    by the initialiser on the host in float64, so that every backend starts alike."""
    hidden, activation = options.hidden, options.activation
    if options.params is not None:
        count = _layer_count(options.params)
        widths = hidden if hidden is not None else [None] * (count - 1)
        return _warm_params(be, options.params, dtype, [n_in, *widths, n_out])
    init = options.init
    if init == "auto":
        init = "he" if activation.name in ("relu", "leaky_relu") else "glorot"
    sizes = [n_in, *(hidden if hidden is not None else (4,)), n_out]
    drawn = initial_params(sizes, init=init, seed=options.seed, activation=activation.name)
    return be.params(drawn, dtype)


def _layer_count(params: Any) -> int:
    try:
        layers = [tuple(p) for p in params]
    except TypeError:
        layers = []
    if not layers or any(len(p) != 2 for p in layers):
        raise ValueError(
            "params must be a sequence of per-layer (W, b) pairs (e.g. model.params), "
            f"got {type(params).__name__}"
        )
    return len(layers)


def _warm_params(be: Backend, params: Any, dtype: Any, sizes: list[int | None]) -> Params:
    """Warm-start parameters placed on ``be``, their shapes checked against ``sizes``."""
    out = be.params(params, dtype)
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


def _held_out(
    be: Backend, dtype: Any, targets: Targets, data: tuple[Any, ...], n_features: int
) -> tuple[Array, Array, Array | None]:
    """``validation_data``'s ``(X, y[, sample_weight])`` checked as the training data are,
    placed on ``be`` in ``dtype``, ``y`` encoded as the training targets, the weights (None:
    unweighted) as training's."""
    given, y = (as_data(a, what) for a, what in zip(data[:2], ("X", "y"), strict=True))
    check_real(given)
    X = be.asarray(given, dtype, what="validation_data's X")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] != n_features:
        raise ValueError(
            f"validation_data's X must have shape (m, {n_features}) with m >= 1, as the "
            f"training X, got shape {tuple(X.shape)}"
        )
    check_finite(be, be.xp, X, "validation_data's X", source=given)
    Y = encode(be, y, targets, dtype, X.shape[0])
    if targets.kind == "continuous":
        check_finite(be, be.xp, Y, "validation_data's y", source=y)
    w = check_sample_weight(data[2]) if len(data) == 3 else None
    if w is None:
        return X, Y, None
    return X, Y, be.asarray(of_length(w, X.shape[0]), dtype)


def _split(
    be: Backend, arrays: tuple[Array | None, ...], fraction: float, rng: np.random.Generator
) -> tuple[tuple[Array | None, ...], tuple[Array | None, ...]]:
    """A seeded random split of the samples ``arrays`` (``X``, ``Y``, ``w`` or None) into
    training and validation parts, made on the device."""
    m = arrays[0].shape[0]
    n_val = math.ceil(fraction * m)
    if not 0 < fraction < 1 or n_val >= m:
        raise ValueError(
            f"validation_fraction must be in (0, 1) and leave training samples; got "
            f"{fraction!r} of {m} samples"
        )
    order = be.asarray(rng.permutation(m))
    val, fit = order[:n_val], order[n_val:]
    xp = be.xp
    return tuple(
        tuple(None if a is None else xp.take(a, part, axis=0) for a in arrays)
        for part in (fit, val)
    )
