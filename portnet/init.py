"""Parameter initialisers.

Parameters are drawn on the host with ``numpy.random.Generator(seed)`` in float64 and only
then cast and moved to the backend, so every backend starts from identical numbers.

- ``"small"``: ``W ~ N(0, 1)·0.01``, ``b = 0`` — the course's shallow network (seeds 000, 004).
- ``"he"``: ``W ~ N(0, 1)·√(2/n_in)`` — for ReLU layers (seed 003).
- ``"glorot"``: ``W ~ N(0, 1)·√(2/(n_in + n_out))`` — for tanh/sigmoid layers.
- ``"glorot_uniform"``: ``W`` and ``b`` ``~ U(−r, r)``, ``r = √(6/(n_in + n_out))``
  (``√(2/(n_in + n_out))`` when the hidden activation is the sigmoid) — scikit-learn's MLP
  initialisation, drawn as it draws: per layer ``W`` as ``(n_in, n_out)``, then ``b``; from
  a ``numpy.random.RandomState`` seed (scikit-learn's ``random_state``), the same numbers.
- ``"zeros"``: everything 0.  Allowed so that the failure the course describes can be seen:
  every hidden unit of a layer computes the same function and receives the same gradient,
  so the units stay identical forever (symmetry is never broken) and the network is no
  better than one unit per layer.
- ``"auto"``: ``"he"`` when the hidden activation is ReLU or leaky ReLU, else ``"glorot"``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["INITIALIZERS", "initial_params"]

INITIALIZERS = ("small", "he", "glorot", "glorot_uniform", "zeros")


def _scale(init: str, n_in: int, n_out: int) -> float:
    if init == "small":
        return 0.01
    if init == "he":
        return float(np.sqrt(2.0 / n_in))
    if init == "glorot":
        return float(np.sqrt(2.0 / (n_in + n_out)))
    return 0.0  # zeros


def _glorot_uniform(rng: Any, n_in: int, n_out: int, factor: float) -> tuple[Any, Any]:
    """scikit-learn's draws: ``W`` as ``(n_in, n_out)`` (returned ``(n_out, n_in)``), then ``b``."""
    bound = np.sqrt(factor / (n_in + n_out))
    W = rng.uniform(-bound, bound, (n_in, n_out))
    return np.ascontiguousarray(W.T), rng.uniform(-bound, bound, n_out)


def generator(seed: int | np.random.RandomState | None) -> Any:
    """The generator of ``seed``: ``numpy.random.default_rng(seed)``, or a ``RandomState``
    as it is (drawn from, as scikit-learn draws from its ``random_state``)."""
    return seed if isinstance(seed, np.random.RandomState) else np.random.default_rng(seed)


def initial_params(
    sizes: Sequence[int],
    *,
    init: str = "small",
    seed: int | np.random.RandomState | None = 0,
    activation: str | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Host (NumPy float64) parameters ``[(W_1, b_1), ..., (W_L, b_L)]``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``(n_0, n_1, ..., n_L)``; ``W_l`` is ``(n_l, n_{l-1})``, ``b_l`` is ``(n_l,)``.
    init : {"small", "he", "glorot", "zeros"}
        The scheme (module docstring).
    seed : int, RandomState or None
        Seed of ``numpy.random.default_rng``, or a ``numpy.random.RandomState`` drawn from;
        the draws are made layer by layer in order.
    activation : str, optional
        The hidden activation's name ("glorot_uniform" draws narrower for "sigmoid").
    """
    if init not in INITIALIZERS:
        raise ValueError(f"unknown init {init!r}; expected one of {list(INITIALIZERS)} or 'auto'")
    rng = generator(seed)
    params = []
    for n_in, n_out in itertools.pairwise(sizes):
        if init == "glorot_uniform":
            params.append(
                _glorot_uniform(rng, n_in, n_out, 2.0 if activation == "sigmoid" else 6.0)
            )
            continue
        if init == "zeros":
            W = np.zeros((n_out, n_in))
        else:
            W = rng.standard_normal((n_out, n_in)) * _scale(init, n_in, n_out)
        params.append((W, np.zeros(n_out)))
    return params
