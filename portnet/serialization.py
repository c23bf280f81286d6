"""Saving and loading models: one backend-neutral ``.npz`` file.

The file is a NumPy ``.npz`` archive (no pickles: it is read with ``allow_pickle=False``):

- ``W0, b0, W1, b1, ...``: the parameters, in the model's dtype, as NumPy arrays;
- ``classes`` (classifiers with label values): the label values, numbers or text;
- ``portnet``: a JSON document (a 0-d text array) with everything else: ``format``
  (:data:`FORMAT`), the portnet version that wrote it, layer sizes, hidden activation and its
  options, loss, L2 strength, dtype, the precision of its float32 products, what the targets
  are, the training history, and the backend and device it was trained on (for information
  only).

A file is written to a temporary name beside ``path`` and renamed into place, so a crash or
interrupt never leaves a half-written model behind.  Any backend loads any file: train on
JAX, load on NumPy, get the same predictions.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._backend import _is_array, resolve_backend, to_numpy
from ._precision import PRECISIONS
from ._targets import Targets
from ._trees import tree_leaves as _tree_leaves
from ._trees import tree_map as _tree_map
from .activations import ACTIVATIONS, get_activation
from .losses import LOSSES, get_loss
from .network import Layer, Network

if TYPE_CHECKING:
    from .model import Model

__all__ = ["FORMAT", "build", "dump", "load", "save"]

#: version of the file layout this portnet writes; it reads this one and older ones
FORMAT = 1
_KINDS = ("continuous", "binary", "multiclass", "onehot", "multilabel")


def save(model: Model, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` to ``path`` (conventionally ``.npz``); returns the path written.

    Raises ``ValueError`` for a model whose activation or loss is not one of portnet's
    named ones (a custom function cannot be stored in a file).
    """
    return _write(path, dump(model))


def _write(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> Path:
    """``arrays`` as an .npz at ``path``, written beside it and renamed into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def dump(model: Model) -> dict[str, np.ndarray]:
    """The model as NumPy arrays (what a file holds; also what a pickle holds)."""
    from . import __version__

    net = model.network
    activation = net.activation
    try:
        named = get_activation(activation.name, **dict(activation.options))
    except (TypeError, ValueError):
        named = None
    if named != activation:
        raise ValueError(
            f"cannot save a model with a custom activation ({activation.name!r}); "
            f"only the named ones can be stored: {sorted(ACTIVATIONS)}"
        )
    if LOSSES.get(net.loss.name) != net.loss:
        raise ValueError(
            f"cannot save a model with a custom loss ({net.loss.name!r}); "
            f"only the named ones can be stored: {sorted(LOSSES)}"
        )
    arrays: dict[str, np.ndarray] = {}
    for l, (W, b) in enumerate(model.params):
        arrays[f"W{l}"], arrays[f"b{l}"] = to_numpy(W), to_numpy(b)
    classes = model.targets.classes
    if classes is not None:
        classes = np.asarray(to_numpy(classes) if _is_array(classes) else classes)
        if classes.dtype == object:  # text labels kept as Python strings
            classes = classes.astype(str)
        arrays["classes"] = classes
    history = model.history
    meta = {
        "format": FORMAT,
        "portnet_version": __version__,
        "layers": [model.n_features_in_, *model.hidden, model.n_outputs],
        "activation": activation.name,
        "activation_options": dict(activation.options),
        "loss": net.loss.name,
        "l2": float(net.l2),
        "dtype": str(arrays["W0"].dtype),
        "precision": model.precision,
        "targets": {"kind": model.targets.kind, "y_ndim": model.targets.y_ndim},
        "history": {"step": history.step, "cost": history.cost, "val_cost": history.val_cost},
        "n_steps": model.n_steps,
        "stop_reason": model.stop_reason,
        "best_step": model.best_step,
        "trained_on": {"backend": model.backend, "device": device_name(model.device)},
    }
    arrays["portnet"] = np.asarray(json.dumps(meta))
    return arrays


def device_name(device: Any) -> str | None:
    """A device as the string ``device=`` accepts back (``"cpu:1"``, ``"device1"``, ...)."""
    if device is None:
        return None
    inner = getattr(device, "_device", None)  # array-api-strict's Device("device1")
    if isinstance(inner, str):
        return inner
    if type(device).__module__.startswith("cupy"):
        return f"cuda:{device.id}"
    return str(device)


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
    FileNotFoundError
        No such file.
    ValueError
        Not a portnet model file, a damaged one, or one written in a newer format.
    """
    path = Path(path)
    arrays = _read(path)
    return build(
        arrays, backend=backend, device=device, dtype=dtype, precision=precision, source=str(path)
    )


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        # our own file object: np.load leaves its own open when the archive is damaged
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(
            f"{path} is not a portnet model file (expected a .npz written by Model.save): {exc}"
        ) from exc


def build(
    arrays: dict[str, np.ndarray],
    *,
    backend: Any = None,
    device: Any = None,
    dtype: Any = None,
    precision: str | None = None,
    source: str = "the model data",
) -> Model:
    """A :class:`Model` from what :func:`dump` gives, placed as :func:`load` places it."""
    from .model import History, Model, placed_precision

    path = source
    meta = _metadata(path, arrays)
    layers = meta["layers"]
    params = []
    for l, (n_in, n_out) in enumerate(itertools.pairwise(layers)):
        W, b = arrays.get(f"W{l}"), arrays.get(f"b{l}")
        if W is None or b is None or W.shape != (n_out, n_in) or b.shape != (n_out,):
            raise ValueError(
                f"{path} is damaged: layer {l} should hold W ({n_out}, {n_in}) and b "
                f"({n_out},), found {_shape(W)} and {_shape(b)}"
            )
        params.append((W, b))
    be = resolve_backend("numpy" if backend is None else backend, device=device)
    dt = be.dtype(meta["dtype"] if dtype is None else dtype)
    params = tuple(
        Layer(be.asarray(W, dt, what="params W"), be.asarray(b, dt, what="params b"))
        for W, b in params
    )
    network = Network(
        get_activation(meta["activation"], **meta["activation_options"]),
        get_loss(meta["loss"]),
        float(meta["l2"]),
    )
    classes = arrays.get("classes")
    targets = Targets(meta["targets"]["kind"], classes, int(meta["targets"]["y_ndim"]))
    history = meta["history"]
    return Model(
        params,
        network,
        be,
        dtype=dt,
        targets=targets,
        history=History(
            [int(s) for s in history["step"]],
            [float(c) for c in history["cost"]],
            [float(c) for c in history["val_cost"]],
        ),
        n_steps=int(meta["n_steps"]),
        stop_reason=meta["stop_reason"],
        best_step=meta["best_step"],
        precision=placed_precision(precision, meta.get("precision", "highest"), be, dt),
    )


def _metadata(path: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The JSON document of a model file, checked for what :func:`load` relies on."""
    if "portnet" not in arrays:
        raise ValueError(
            f"{path} is not a portnet model file: it holds {sorted(arrays)} but no 'portnet' "
            "metadata (expected a .npz written by Model.save)"
        )
    try:
        meta = json.loads(str(arrays["portnet"]))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path} is damaged: its metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("format"), int):
        raise ValueError(f"{path} is damaged: its metadata has no format number")
    if meta["format"] > FORMAT:
        raise ValueError(
            f"{path} was written by portnet {meta.get('portnet_version', '?')} in file format "
            f"{meta['format']}; this portnet reads formats up to {FORMAT}: upgrade portnet"
        )
    try:
        ok = (
            len(meta["layers"]) >= 2
            and all(isinstance(n, int) and n > 0 for n in meta["layers"])
            and meta["activation"] in ACTIVATIONS
            and isinstance(meta["activation_options"], dict)
            and meta["loss"] in LOSSES
            and meta["dtype"] in ("float32", "float64")
            and meta["targets"]["kind"] in _KINDS
            and meta["targets"]["y_ndim"] in (1, 2)
            and all(key in meta["history"] for key in ("step", "cost", "val_cost"))
            and isinstance(meta["n_steps"], int)
            and meta.get("precision", "highest") in PRECISIONS
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path} is damaged: its metadata lacks {exc}") from exc
    if not ok:
        raise ValueError(f"{path} is damaged: its metadata does not describe a portnet model")
    return meta


def _shape(a: np.ndarray | None) -> str:
    return "nothing" if a is None else str(tuple(a.shape))


# -- checkpoints: a model file plus what resuming needs -----------------------------------------


def write_checkpoint(
    path: str | os.PathLike[str], model: Model, state: Any, shuffling: Any, order: Any
) -> Path:
    """The model (as :func:`save` writes it), its optimiser state, the shuffling generator's
    state and the current epoch's sample order, written atomically to ``path``."""
    arrays = dump(model)
    for j, leaf in enumerate(_tree_leaves(state)):
        arrays[f"state{j}"] = to_numpy(leaf)
    if order is not None:
        arrays["order"] = np.asarray(order)
    arrays["checkpoint"] = np.asarray(json.dumps({"rng": shuffling.bit_generator.state}))
    return _write(path, arrays)


def read_checkpoint(
    path: str | os.PathLike[str], be: Any, dtype: Any, template: Any, params: Any
) -> tuple[Model, Any, dict[str, Any], np.ndarray | None]:
    """``(model, optimiser state, generator state, order)`` from :func:`write_checkpoint`."""
    arrays = _read(Path(path))
    if "checkpoint" not in arrays:
        raise ValueError(f"{path} is a model file, not a checkpoint (no resumable state)")
    model = build(arrays, backend=be.xp, device=be.device, dtype=dtype, source=str(path))
    shapes = [tuple(p.shape) for layer in params for p in layer]
    if [tuple(p.shape) for layer in model.params for p in layer] != shapes:
        raise ValueError(f"{path} holds a network of another shape than this one")
    n = len(_tree_leaves(template))
    if any(f"state{j}" not in arrays for j in range(n)):
        raise ValueError(f"{path} holds the state of another optimiser than this one")
    leaves = (be.asarray(arrays[f"state{j}"], model.dtype) for j in range(n))
    state = _tree_map(lambda _: next(leaves), template)  # template's structure, in order
    rng = json.loads(str(arrays["checkpoint"]))["rng"]
    return model, state, rng, arrays.get("order")
