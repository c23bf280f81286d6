"""Checkpoints: a model file (:mod:`portnet.serialization`) plus what resuming needs, the
optimiser state, the shuffling generator's state and the current epoch's sample order.

``train(..., checkpoint=path)`` writes one every ``checkpoint_every`` updates (atomically:
beside ``path``, then renamed); ``train(..., resume=path)`` continues from it to the result
of the uninterrupted run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import serialization
from ._backend import to_numpy
from ._history import History
from ._trees import tree_leaves, tree_map

__all__ = ["Checkpoint", "read", "write"]


class Checkpoint(NamedTuple):
    """What :func:`read` finds: where training was, and how to go on."""

    params: Any
    state: Any  # the optimiser's
    n_steps: int
    history: History
    rng: dict[str, Any]  # the shuffling generator's bit_generator.state
    order: np.ndarray | None  # the current epoch's sample order (mid-epoch)


def write(path: str | os.PathLike[str], model: Any, state: Any, shuffling: Any, order: Any) -> Path:
    """The model (as :meth:`portnet.Model.save` writes it), its optimiser state, the
    shuffling generator's state and the current epoch's sample order, written atomically."""
    arrays = serialization.dump(model)
    for j, leaf in enumerate(tree_leaves(state)):
        arrays[f"state{j}"] = to_numpy(leaf)
    if order is not None:
        arrays["order"] = np.asarray(order)
    arrays["checkpoint"] = np.asarray(json.dumps({"rng": shuffling.bit_generator.state}))
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
    rng = json.loads(str(arrays["checkpoint"]))["rng"]
    return Checkpoint(
        model["params"], state, model["n_steps"], model["history"], rng, arrays.get("order")
    )
