"""Checkpoints: a model file (:mod:`portnet.serialization`) plus what resuming needs, the
optimiser state, the shuffling generator's state and the current epoch's sample order.

``train(..., checkpoint=path)`` writes one every ``checkpoint_every`` updates (atomically:
beside ``path``, then renamed); ``train(..., resume=path)`` continues from it to the result
of the uninterrupted run.  A checkpoint records what its run was (:func:`describe`: the
data, dtype, optimiser, learning rate, L2, batch size, validation split); a resume that is
not the same run, or that asks for fewer iterations than the checkpoint has made, is refused
(:func:`check_same_run`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import serialization
from ._backend import _float_name, to_numpy
from ._history import History
from ._trees import tree_leaves, tree_map

__all__ = ["Checkpoint", "check_same_run", "describe", "read", "write"]


class Checkpoint(NamedTuple):
    """What :func:`read` finds: where training was, and how to go on."""

    params: Any
    state: Any  # the optimiser's
    n_steps: int
    history: History
    rng: dict[str, Any]  # the shuffling generator's bit_generator.state
    order: np.ndarray | None  # the current epoch's sample order (mid-epoch)
    run: dict[str, Any] | None  # what the run was (:func:`describe`); None in older files


def write(
    path: str | os.PathLike[str],
    model: Any,
    state: Any,
    shuffling: Any,
    order: Any,
    *,
    run: dict[str, Any] | None = None,
) -> Path:
    """The model (as :meth:`portnet.Model.save` writes it), its optimiser state, the
    shuffling generator's state, the current epoch's sample order and what the run is
    (``run``, from :func:`describe`), written atomically."""
    arrays = serialization.dump(model)
    for j, leaf in enumerate(tree_leaves(state)):
        arrays[f"state{j}"] = to_numpy(leaf)
    if order is not None:
        arrays["order"] = np.asarray(order)
    meta = {"rng": shuffling.bit_generator.state, "run": run}
    arrays["checkpoint"] = np.asarray(json.dumps(meta))
    return serialization.write(path, arrays)


def read(
    path: str | os.PathLike[str], be: Any, dtype: Any, template: Any, params: Any
) -> Checkpoint:
    """A checkpoint :func:`write` wrote, placed on backend ``be`` in ``dtype``; ``template``
    is a fresh optimiser state (its structure), ``params`` the run's (their shapes)."""
    arrays = serialization.read(path)
    if "checkpoint" not in arrays:
        raise ValueError(f"{path} is a model file, not a checkpoint (no resumable state)")
    model = serialization.model_parts(
        arrays, backend=be.xp, device=be.device, dtype=dtype, source=str(path)
    )
    shapes = [tuple(p.shape) for layer in params for p in layer]
    if [tuple(p.shape) for layer in model["params"] for p in layer] != shapes:
        raise ValueError(f"{path} holds a network of another shape than this one")
    n = len(tree_leaves(template))
    if any(f"state{j}" not in arrays for j in range(n)):
        raise ValueError(f"{path} holds the state of another optimiser than this one")
    leaves = (be.asarray(arrays[f"state{j}"], model["dtype"]) for j in range(n))
    state = tree_map(lambda _: next(leaves), template)  # template's structure, in order
    meta = json.loads(str(arrays["checkpoint"]))
    return Checkpoint(
        model["params"], state, model["n_steps"], model["history"], meta["rng"],
        arrays.get("order"), meta.get("run"),
    )  # fmt: skip


def describe(run: Any, rule: Any) -> dict[str, Any]:
    """What a training run is, as a resume must match it: its data (shape and a digest of
    the numbers as trained on), sample weights, dtype, optimiser, learning rate, L2, batch
    size and validation split (``run``: a :class:`portnet._prepare.Prepared`; ``rule``: its
    optimiser)."""
    schedule = rule.learning_rate
    held = run.validation or (None, None, None)
    validation = None if run.validation is None else [_digest(a) for a in held[:2]]
    weights = [_digest(a) for a in (run.w, held[2]) if a is not None]
    return {
        "data": [list(run.X.shape), _digest(run.X), _digest(run.Y)],
        "weights": weights or None,
        "validation": validation,
        "dtype": _float_name(run.dtype),
        "optimizer": rule.name,
        "learning_rate": [schedule.name, [[k, v] for k, v in schedule.options]],
        "l2": run.net.l2,
        "batch_size": run.batch,
    }


def _digest(a: Any) -> str:
    """A digest of the numbers of ``a`` (one copy to the host): equal data, equal digests,
    whichever backend holds it."""
    host = np.ascontiguousarray(to_numpy(a))
    return hashlib.blake2b(host.tobytes(), digest_size=16).hexdigest()


#: how a mismatch of each part of :func:`describe` is named
_PARTS = {
    "data": "the data (X and y)",
    "weights": "the sample weights (sample_weight, class_weight)",
    "validation": "the validation split (early_stopping, validation_fraction, seed)",
    "dtype": "dtype",
    "optimizer": "optimizer",
    "learning_rate": "learning_rate",
    "l2": "l2",
    "batch_size": "batch_size",
}


_DIGESTS = ("data", "weights", "validation")


def check_same_run(
    path: str | os.PathLike[str], found: Checkpoint, run: dict[str, Any], iterations: int
) -> None:
    """ValueError unless the checkpoint ``found`` at ``path`` was written by the run ``run``
    (:func:`describe`) and that run has not gone past ``iterations``."""
    if found.n_steps > iterations:
        raise ValueError(
            f"cannot resume from {path}: it is at iteration {found.n_steps}, past "
            f"iterations={iterations}; ask for at least {found.n_steps} iterations, or load "
            "the model it holds with portnet.load"
        )
    if found.run is None:  # written before checkpoints recorded their run: nothing to check
        return
    # in another dtype the numbers differ bit for bit: the dtype is the difference to name
    other_dtype = run["dtype"] != found.run.get("dtype")
    differ = [
        _difference(key, mine, found.run.get(key))
        for key, mine in json.loads(json.dumps(run)).items()  # as JSON stores it
        if mine != found.run.get(key) and not (key in _DIGESTS and other_dtype)
    ]
    if differ:
        raise ValueError(
            f"cannot resume from {path}: this run is not the one that wrote it, it differs in "
            + "; ".join(differ)
            + ". A resume continues the same run; to train on from its parameters with other "
            "data or options, pass params=portnet.load(path).params instead"
        )


def _difference(key: str, mine: Any, theirs: Any) -> str:
    """How this run's part ``key`` differs from the checkpoint's, in words."""
    if key == "data" and theirs is not None and mine[0] == theirs[0]:
        return f"{_PARTS[key]} (other values, same shape {tuple(mine[0])})"
    if key == "validation" and mine is not None and theirs is not None:
        return f"{_PARTS[key]} (another split of the samples)"
    return f"{_PARTS[key]} ({_show(key, mine)}; the checkpoint's: {_show(key, theirs)})"


def _show(key: str, value: Any) -> str:
    if value is None:
        return "none"
    if key == "data":
        return f"{value[0][0]} samples × {value[0][1]} features"
    if key == "learning_rate":
        name, options = value
        shown = ", ".join(f"{k}={v:g}" for k, v in options)
        return f"{options[0][1]:g}" if name == "constant" else f"{name}({shown})"
    if key == "validation":
        return "a held-out split"
    if key == "weights":
        return "weighted"
    return str(value)
