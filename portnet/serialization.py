"""Saving and loading models: one backend-neutral ``.npz`` file.

The file is a NumPy ``.npz`` archive (no pickles: it is read with ``allow_pickle=False``):

- ``W0, b0, W1, b1, ...``: the parameters, in the model's dtype, as NumPy arrays;
- ``classes`` (classifiers with label values): the label values, numbers or text;
- ``portnet``: a JSON document (a 0-d text array) with everything else: ``format``
  (:data:`FORMAT`), the portnet version that wrote it, layer sizes, hidden activation and its
  options, loss, L2 strength, dtype, the precision of its float32 products, what the targets
  are, the training history, and the backend and device it was trained on (for information
  only).

A file is written to a hidden name beside ``path`` and renamed into place, so a crash or
interrupt never leaves a half-written model behind; it gets the mode a plain
``open(path, "w")`` would (the umask respected).  Where a file cannot be written or read, the
``OSError`` names the user's path and says why; a file that is not a portnet ``.npz`` is a
``ValueError`` saying what it is.  Any backend loads any file: train on
JAX, load on NumPy, get the same predictions.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
import secrets
import signal
import stat
import threading
import zipfile
import zlib
from collections.abc import Iterator
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

__all__ = [
    "FORMAT",
    "check_readable",
    "check_writable",
    "dump",
    "model_parts",
    "read",
    "save",
    "write",
]

#: version of the file layout this portnet writes; it reads this one and older ones
FORMAT = 1
_KINDS = ("continuous", "binary", "multiclass", "onehot", "multilabel")


def save(model: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` to ``path`` (conventionally ``.npz``); returns the path written.

    Raises ``ValueError`` for a model whose activation or loss is not one of portnet's
    named ones (a custom function cannot be stored in a file), and an ``OSError`` naming
    ``path`` where it cannot be written (see :func:`check_writable`).
    """
    return write(path, dump(model))


def write(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> Path:
    """``arrays`` as an .npz at ``path``, written to a hidden file beside it and renamed into
    place: an error or a crash leaves the old file or the new one, never half of one (and an
    error or Ctrl-C leaves no hidden file).

    The file gets the mode ``open(path, "w")`` would give it (the mode of the file it
    replaces, else ``0o666`` less the umask).  A Ctrl-C while writing is held back until the
    file is in place (main thread), then raised.  An ``OSError`` names ``path`` and why, as
    :func:`check_writable` does, never the hidden file.
    """
    path = Path(path)
    what = "checkpoint" if "checkpoint" in arrays else "model"
    if not path.name:  # "." or "/": a folder, with no name to put a hidden file beside
        check_writable(path, what)
    with _interrupts_held():
        try:
            _write_beside(path, arrays)
        except OSError as exc:  # the hidden file's name would mislead: say it for path
            raise _write_error(path, what, exc) from None
    return path


def check_writable(
    path: str | os.PathLike[str], what: str = "model", *, make_folder: bool = False
) -> Path:
    """``path`` as a :class:`~pathlib.Path`, once it is known that a file can be written
    there (before the work that makes it): its folder exists (``make_folder``: or can be
    made) and is writable, and ``path`` is not a folder.

    Raises, with a message ``cannot write <what> to <path>: <why>``:
    ``FileNotFoundError`` (no such folder), ``NotADirectoryError`` (the folder is a file),
    ``IsADirectoryError`` (``path`` is a folder), ``PermissionError`` (the folder is
    read-only or not writable by this user).
    """
    path = Path(path)
    problem = _unwritable(path, what, make_folder=make_folder)
    if problem is not None:
        raise problem
    return path


def check_readable(path: str | os.PathLike[str], *, action: str = "read") -> Path:
    """``path`` as a :class:`~pathlib.Path`, once it is known to be a file this user can
    open; else an ``OSError`` with the message ``cannot <action> <path>: <why>``
    (``FileNotFoundError``, ``IsADirectoryError``, ``PermissionError``, ...)."""
    path = Path(path)
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise _read_error(path, action, exc) from None
    return path


def _write_beside(path: Path, arrays: dict[str, np.ndarray]) -> None:
    tmp = None
    try:
        tmp, fd = _create_beside(path)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise


def _create_beside(path: Path) -> tuple[Path, int]:
    """A new hidden file beside ``path``, open for writing, with the mode ``open(path, "w")``
    would give (``os.open`` applies the umask; ``mkstemp`` would make it ``0o600``)."""
    keep = None
    with contextlib.suppress(OSError):
        st = path.stat()
        keep = stat.S_IMODE(st.st_mode) & 0o777 if stat.S_ISREG(st.st_mode) else None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        if keep is not None and hasattr(os, "fchmod"):
            try:
                os.fchmod(fd, keep)
            except BaseException:
                os.close(fd)
                tmp.unlink(missing_ok=True)
                raise
        return tmp, fd


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C (SIGINT) held back while the block runs, then raised as ``KeyboardInterrupt``:
    only in the main thread with Python's own handler installed (elsewhere: no change)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt  # the interrupt outranks an error of the block


def _unwritable(path: Path, what: str, *, make_folder: bool = False) -> OSError | None:
    """Why no file can be written at ``path`` (an ``OSError`` to raise), or None."""
    head = f"cannot write {what} to {path}"
    if os.path.isdir(path):
        return _os_error(IsADirectoryError, errno.EISDIR, f"{head}: it is a folder, not a file")
    folder = path.absolute().parent
    existing = next(p for p in (folder, *folder.parents) if os.path.lexists(p))
    if not os.path.isdir(existing):
        return _os_error(
            NotADirectoryError, errno.ENOTDIR, f"{head}: {existing} is a file, not a folder"
        )
    if existing != folder and not make_folder:
        return _os_error(
            FileNotFoundError, errno.ENOENT, f"{head}: the folder {folder} does not exist"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        code, why = (
            (errno.EROFS, "is on a read-only file system")
            if _read_only(existing)
            else (errno.EACCES, "is not writable by this user")
        )
        return _os_error(PermissionError, code, f"{head}: the folder {existing} {why}")
    return None


def _write_error(path: Path, what: str, exc: OSError) -> OSError:
    """``exc``, raised writing beside ``path``, said for ``path``."""
    found = _unwritable(path, what)
    if found is not None:
        return found
    why = exc.strerror or str(exc.args[0] if exc.args else type(exc).__name__)
    return _os_error(type(exc), exc.errno, f"cannot write {what} to {path}: {why.lower()}")


def _read_error(path: Path, action: str, exc: OSError) -> OSError:
    """``exc``, raised opening ``path``, as a message that names it and says why."""
    why = {
        FileNotFoundError: "no such file",
        IsADirectoryError: "it is a folder, not a file",
        PermissionError: "permission denied (the file is not readable by this user)",
    }.get(type(exc), (exc.strerror or str(exc)).lower())
    if isinstance(exc, NotADirectoryError):
        why = "no such file (a folder on its path is a file)"
    return _os_error(type(exc), exc.errno, f"cannot {action} {path}: {why}")


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return False


def _os_error(kind: type[OSError], code: int | None, message: str) -> OSError:
    """``kind(message)`` with ``errno`` set: its text is the message alone."""
    error = kind(message)
    error.errno = code
    return error


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
        "history": {
            "step": history.step,
            "cost": history.cost,
            "val_cost": history.val_cost,
            "val_score": history.val_score,
        },
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
    """The arrays of a model file (or checkpoint).

    Raises an ``OSError`` (``FileNotFoundError``, ``PermissionError``,
    ``IsADirectoryError``, ...) saying why ``path`` cannot be read, and a ``ValueError``
    if it is not a portnet ``.npz``, saying what it is where that can be told (a ``.npy``
    array, a pickle or joblib file, compressed data, JSON or other text).
    """
    path = Path(path)
    try:
        f = open(path, "rb")  # noqa: SIM115  (np.load leaves its own open on damage)
    except OSError as exc:
        raise _read_error(path, "read", exc) from None
    with f:
        head = f.read(512)
        f.seek(0)
        if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # not a zip: no .npz
            raise ValueError(f"{_not_ours(path)}: it is {_file_kind(head)}")
        try:
            with np.load(f, allow_pickle=False) as archive:
                return {name: _member(archive, name, path) for name in archive.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise ValueError(f"{_not_ours(path)}: {exc}") from exc


def _not_ours(path: Path) -> str:
    return f"{path} is not a portnet model file (expected a .npz written by Model.save)"


def _member(archive: Any, name: str, path: Path) -> np.ndarray:
    """``archive[name]``; an array of Python objects (pickled) is refused as such (NumPy's
    own message advises loading it unsafely)."""
    try:
        return archive[name]
    except ValueError as exc:
        if "allow_pickle" not in str(exc):
            raise
        raise ValueError(
            f"{_not_ours(path)}: its array {name!r} holds pickled Python objects, which a "
            "portnet file never does"
        ) from None


#: the first bytes of files taken for a model by mistake, and what they are
_SIGNATURES = {
    b"\x93NUMPY": "a NumPy .npy file (one array, as np.save writes)",
    b"\x80": "a Python pickle (as pickle.dump or joblib.dump write); portnet reads no pickles",
    b"\x1f\x8b": "gzip-compressed data (a compressed joblib or pickle file?)",
    b"BZh": "bzip2-compressed data (a compressed joblib or pickle file?)",
    b"\xfd7zXZ\x00": "xz-compressed data (a compressed joblib or pickle file?)",
    b"]\x00\x00": "lzma-compressed data (a compressed joblib or pickle file?)",
}


def _file_kind(head: bytes) -> str:
    """What a file that starts with ``head`` (not a zip archive) is, in words."""
    if not head:
        return "empty"
    for signature, kind in _SIGNATURES.items():
        if head.startswith(signature):
            return kind
    text = head.decode("utf-8", errors="ignore") if b"\x00" not in head else ""
    if text and len(text.encode()) >= len(head) - 3:  # UTF-8 text (a character cut at 512)
        stripped = text.lstrip("\ufeff \t\r\n")
        return "JSON text" if stripped[:1] in ("{", "[") else "a text file"
    if len(head) > 1 and head[0] == 0x78 and int.from_bytes(head[:2], "big") % 31 == 0:
        return "zlib-compressed data (a compressed joblib file?)"
    return "not a NumPy .npz archive"


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
            [float(c) for c in history.get("val_score", [])],  # older files: none
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
