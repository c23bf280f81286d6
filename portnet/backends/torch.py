"""torch: its :class:`portnet.ops.Ops`, laid out samples-first, in place, in blocks on the
CPU, into a run's workspace, with torch's own spellings where array-api-compat's cost more."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..activations import Activation, builtin, exp_limit
from ._inplace import InPlaceOps

Array = Any

__all__ = ["TorchOps"]

#: bytes of one block of an elementwise chain on torch's CPU, which spreads each call over
#: its threads at a few µs of dispatch a call (docs/speed-notes.md)
BLOCK_BYTES = 4 * 1024 * 1024
#: arrays of at least this many bytes get tanh's expm1 form on torch's CPU: below it, its
#: five calls cost more than they save
TANH_BY_EXPM1_BYTES = 64 * 1024


class TorchOps(InPlaceOps):
    """torch's operations (:class:`portnet.backends._inplace.InPlaceOps`), and:

    - layers laid out samples-first in memory (the transpose of a row-major ``(m, n)``
      array: torch's steps ran 1.05–1.10× slower on row-major ``(n, m)`` layers), products
      made as ``(Bᵀ @ Aᵀ)ᵀ`` by ``torch.matmul`` itself;
    - elementwise chains in blocks of :data:`BLOCK_BYTES` on the CPU (whole on a GPU);
    - bounds as ``clamp`` (array-api-compat's ``maximum``/``minimum`` of a Python number make
      a tensor of it every call);
    - sums over samples as torch's ``sum`` over the first axis in memory (its fast case);
    - tanh on the CPU, whose own is slow, as ``expm1(2x)/(expm1(2x) + 2)`` for arrays of
      :data:`TANH_BY_EXPM1_BYTES` and more: within 2.5 ulp of tanh (not its numbers).
    """

    samples_first = True

    def __init__(self, xp: Any, *, workspace: bool = False) -> None:
        super().__init__(xp, torch, workspace=workspace)

    def block_bytes(self, x: Array) -> int | None:
        return BLOCK_BYTES if x.device.type == "cpu" else None

    def relu_(self, z: Array) -> Array:
        return torch.clamp(z, min=0, out=z)

    def tanh_(self, z: Array) -> Array:
        if z.device.type != "cpu" or z.element_size() * z.numel() < TANH_BY_EXPM1_BYTES:
            return torch.tanh(z, out=z)
        return self.in_blocks(tanh_by_expm1_, z, into=0)

    def activate(self, g: Activation, Z: Array) -> Array:
        return _sigmoid(Z) if builtin(g) == "sigmoid" else super().activate(g, Z)

    def output(self, g: Activation, Z: Array) -> Array:
        return _sigmoid(Z.T) if builtin(g) == "sigmoid" else super().output(g, Z)

    def sum_samples(self, dZ: Array) -> Array:
        return torch.sum(dZ, dim=1)


def _sigmoid(z: Array) -> Array:
    """:func:`portnet.activations.sigmoid`'s numbers, its cap spelt ``clamp``."""
    return 1 / (1 + torch.exp(torch.clamp(-z, max=exp_limit(torch, z.dtype))))


def tanh_by_expm1_(x: Array) -> Array:
    """``tanh(x)`` written into ``x``, a torch CPU array nobody else reads, as

        tanh(x) = expm1(2x) / (expm1(2x) + 2),   x first bounded above by c = 2 − ln(ε)/2.

    No cancellation anywhere: for small ``|x|`` ``expm1(2x) ≈ 2x`` keeps its digits, for
    negative ``x`` the denominator is in [1, 2], and above ``c`` tanh rounds to 1 while
    ``expm1(2c)`` is still finite (float32: c ≈ 9.97, float64 ≈ 20.0).  Within 2.5 ulp of
    tanh in both dtypes; ±0, ±∞ and NaN as tanh.
    """
    torch.clamp(x, max=2 - math.log(torch.finfo(x.dtype).eps) / 2, out=x)
    x *= 2
    torch.expm1(x, out=x)  # e = expm1(2x), in [-1, expm1(2c)]
    x /= x + 2  # e / (e + 2)
    return x
