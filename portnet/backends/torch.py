"""torch: its devices, precision switches and CUDA graphs, and its own
:class:`portnet.ops.Ops` (laid out samples-first, in place, in blocks on the CPU, into a
run's workspace, with torch's own spellings where array-api-compat's cost more)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from .._trees import tree_leaves
from ..activations import Activation, builtin, exp_limit
from ._adapter import Adapter, no_gpu_message
from ._inplace import InPlaceOps
from ._table import TABLE

Array = Any

__all__ = ["ADAPTER", "TorchAdapter", "TorchOps"]

#: bytes of one block of an elementwise chain on torch's CPU, which spreads each call over
#: its threads at a few µs of dispatch a call (docs/speed-notes.md)
BLOCK_BYTES = 4 * 1024 * 1024
#: arrays of at least this many bytes get tanh's expm1 form on torch's CPU: below it, its
#: five calls cost more than they save
TANH_BY_EXPM1_BYTES = 64 * 1024


class TorchOps(InPlaceOps):
    """torch's operations (:class:`portnet.backends._inplace.InPlaceOps`), and:

    - layers laid out samples-first in memory (the transpose of a row-major ``(m, n)``
      array, which torch runs faster: docs/speed-notes.md), products made as
      ``(Bᵀ @ Aᵀ)ᵀ`` by ``torch.matmul`` itself: the same sums as the plain ``A @ B``, which
      BLAS may add in another order (within ``k·ε·Σ|a·b|``);
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


class TorchAdapter(Adapter):
    """torch, on its CPU or a CUDA device."""

    def parse_device(self, xp: Any, device: str | int) -> Any:
        device = torch.device(device)
        if device.type == "cuda" and (reason := self.gpu_status()) is not None:
            raise RuntimeError(no_gpu_message("torch", str(device), reason))
        return device

    def gpu_status(self) -> str | None:
        if torch.cuda.is_available():
            return None
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        return f"torch.cuda.is_available() is False (torch {torch.__version__}, {build})"

    def on_gpu(self, device: Any) -> bool:
        return getattr(device, "type", "cpu") == "cuda"

    def precision(self, device: Any, precision: str) -> contextlib.AbstractContextManager[None]:
        """On CUDA ``torch.backends.cuda.matmul.fp32_precision`` (``"ieee"``, ``"tf32"``;
        torch < 2.9: ``allow_tf32``); on the CPU ``torch.backends.mkldnn.matmul`` set to
        ``"ieee"`` where it asks for less.  Each set only where it differs, then put back."""
        if self.on_gpu(device):
            matmul = torch.backends.cuda.matmul
            if hasattr(matmul, "fp32_precision"):  # torch >= 2.9
                ieee = precision == "highest"  # "none": torch's default, inherited: IEEE
                keep = ("none", "ieee") if ieee else ("tf32",)
                return switched(matmul, "fp32_precision", "ieee" if ieee else "tf32", keep=keep)
            tf32 = precision == "tf32"
            return switched(matmul, "allow_tf32", tf32, keep=(tf32,))
        mkldnn = getattr(getattr(torch.backends, "mkldnn", None), "matmul", None)
        if mkldnn is None or not hasattr(mkldnn, "fp32_precision"):
            return contextlib.nullcontext()
        return switched(mkldnn, "fp32_precision", "ieee", keep=("none", "ieee"))

    def to_numpy(self, x: Array) -> np.ndarray:
        return x.detach().cpu().numpy()

    def wait(self, tree: Any) -> None:
        for device in {leaf.device for leaf in tree_leaves(tree) if _on_cuda(leaf)}:
            torch.cuda.synchronize(device)

    def ops(self, xp: Any, *, run: bool = False) -> TorchOps:
        return TorchOps(xp, workspace=run)


def _on_cuda(leaf: Any) -> bool:
    return isinstance(leaf, torch.Tensor) and leaf.device.type == "cuda"


@contextlib.contextmanager
def switched(owner: Any, attribute: str, want: Any, *, keep: tuple[Any, ...]) -> Iterator[None]:
    """``owner.attribute = want`` inside, unless it reads one of ``keep`` (already so: then
    nothing is touched); put back after."""
    before = getattr(owner, attribute)
    if before in keep:
        yield
        return
    setattr(owner, attribute, want)
    try:
        yield
    finally:
        setattr(owner, attribute, before)


ADAPTER = TorchAdapter(TABLE["torch"])
