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
from typing import Any

import numpy as np

from ._backend import _is_array, resolve_backend, to_numpy
from ._history import History
from ._precision import PRECISIONS, placed_precision
from ._targets import Targets
from ._version import __version__
from .activations import ACTIVATIONS, builtin, get_activation
from .losses import LOSSES, get_loss
from .network import Network

__all__ = ["FORMAT", "dump", "model_parts", "read", "save", "write"]

#: version of the file layout this portnet writes; it reads this one and older ones
FORMAT = 1
_KINDS = ("continuous", "binary", "multiclass", "onehot", "multilabel")


def save(model: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` to ``path`` (conventionally ``.npz``); returns the path written.

    Raises ``ValueError`` for a model whose activation or loss is not one of portnet's
    named ones (a custom function cannot be stored in a file).
    """
    return write(path, dump(model))


def write(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> Path:
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


def dump(model: Any) -> dict[str, np.ndarray]:
    """A :class:`portnet.Model` as NumPy arrays (what a file holds; also what a pickle holds)."""
    net = model.network
    activation = net.activation
    if builtin(activation) is None:
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


def read(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The arrays of a model file (or checkpoint); ValueError if it is not one."""
    path = Path(path)
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


def model_parts(
    arrays: dict[str, np.ndarray],
    *,
    backend: Any = None,
    device: Any = None,
    dtype: Any = None,
    precision: str | None = None,
    source: str = "the model data",
) -> dict[str, Any]:
    """:class:`portnet.Model`'s arguments from what :func:`dump` gives, placed as
    :func:`portnet.load` places them: ``Model(**model_parts(...))``."""
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
    params = be.params(params, dt)
    network = Network(
        get_activation(meta["activation"], **meta["activation_options"]),
        get_loss(meta["loss"]),
        float(meta["l2"]),
    )
    classes = arrays.get("classes")
    targets = Targets(meta["targets"]["kind"], classes, int(meta["targets"]["y_ndim"]))
    history = meta["history"]
    return {
        "params": params,
        "network": network,
        "backend": be,
        "dtype": dt,
        "targets": targets,
        "history": History(
            [int(s) for s in history["step"]],
            [float(c) for c in history["cost"]],
            [float(c) for c in history["val_cost"]],
        ),
        "n_steps": int(meta["n_steps"]),
        "stop_reason": meta["stop_reason"],
        "best_step": meta["best_step"],
        "precision": placed_precision(precision, meta.get("precision", "highest"), be, dt),
    }


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
