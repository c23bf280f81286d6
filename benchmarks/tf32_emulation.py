"""How far TF32 matrix products move training: a CPU emulation, before any GPU run.

    python benchmarks/tf32_emulation.py [--out DIR] [--configs a,b,...]

TF32 (what cuBLAS runs float32 products in on Ampere and later GPUs with TF32 tensor cores)
rounds each float32 input of a matrix product to a 10-bit mantissa (round to nearest, ties
to even; exponent range unchanged) and accumulates the products in float32.  Here that is
emulated on the CPU with torch: :class:`TF32Mode`, a ``TorchFunctionMode``, rounds the
float32 operands of every matrix product (``@``, ``torch.matmul(..., out=)``, ``mm``,
``addmm``, ...) with :func:`to_tf32` and calls the product itself in IEEE float32.

Every configuration of :data:`portnet.agreement.CONFIGS` is trained on torch float32 under
the emulation and compared with NumPy float32 and float64 by
:func:`portnet.agreement._figures`, the agreement report's own figures; torch float32
without the emulation is the control (its figures should be ≤ 1e-4 after 100 steps).  The
largest figure that the report gates on (params, outputs and cost after 100 steps) over all
configurations is printed, rounded up to 1, 2 or 5 × 10^k; each emulated row is checked
against its configuration's provisional ``portnet.agreement.TF32_TOLERANCE``, with the
tolerance that configuration alone needs here.

What the emulation leaves out: the order (and, on some GPUs, the rounding) of the tensor
cores' float32 accumulation, which differs from the CPU's BLAS.  That is of the size of the
control's differences, far below TF32's input rounding (2⁻¹¹ relative).

Writes ``tf32_emulation.json`` into ``--out`` (default ``tf32-emulation-results/``).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import math
import platform
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from portnet.agreement import (
    CONFIGS,
    SHORT,
    Row,
    _figures,
    _train,
    _verdict,
    format_table,
)

_F = torch.nn.functional
_T = torch.Tensor
#: matrix product -> the positions of its operands that are rounded (addmm's bias is not)
PRODUCTS = {
    **dict.fromkeys(
        (torch.matmul, _T.matmul, _T.__matmul__, _T.__rmatmul__, torch.mm, _T.mm),
        (0, 1),
    ),
    **dict.fromkeys((torch.mv, _T.mv, torch.bmm, _T.bmm, _F.linear), (0, 1)),
    **dict.fromkeys((torch.addmm, _T.addmm), (1, 2)),
}
#: names of torch functions that look like products: reaching one not in PRODUCTS is an error
_PRODUCT_LIKE = re.compile(r"matmul|mm|mv|dot|linear|einsum|inner|outer")
GATED = tuple(f"{k}@{SHORT}" for k in ("params", "outputs", "cost"))


def to_tf32(x: torch.Tensor) -> torch.Tensor:
    """``x`` (float32) rounded to TF32's 10-bit mantissa, ties to even; inf and NaN as they are.

    On the int32 view: add ``0x0FFF`` plus bit 13 (the lowest kept bit: ties go to even),
    then clear the 13 dropped bits; a carry into the exponent is the correct rounding.
    """
    i = x.view(torch.int32)
    rounded = ((i + (0x0FFF + ((i >> 13) & 1))) & ~0x1FFF).view(torch.float32)
    return torch.where(torch.isfinite(x), rounded, x)


def _reference_tf32(x: np.ndarray) -> np.ndarray:
    """The nearest value with an 11-bit significand (TF32's grid, subnormals included), ties
    to even, worked out in float64 arithmetic independently of the bit trick."""
    with np.errstate(over="ignore", invalid="ignore"):  # inf, NaN: replaced below
        wide = x.astype(np.float64)
        _, exponent = np.frexp(wide)
        quantum = np.ldexp(1.0, np.maximum(exponent - 11, -136))  # float32's least: 2⁻¹²⁶
        nearest = (np.rint(wide / quantum) * quantum).astype(np.float32)  # rint: ties to even
    return np.where(np.isfinite(x), nearest, x)


def check_rounding(n: int = 1_000_000, seed: int = 0) -> int:
    """Compare :func:`to_tf32` bit for bit with :func:`_reference_tf32` on ``n`` random bit
    patterns, ``n`` exact ties and special values; raise if any differs.  Returns the count."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2**32, n, dtype=np.uint32)
    ties = (bits & np.uint32(~0x1FFF & 0xFFFFFFFF)) | np.uint32(0x1000)  # halfway, both parities
    special = np.array(
        [0.0, -0.0, 1.0, 1 + 2**-11, 1 + 3 * 2**-11, 2**-149, 2**-136, 3.4e38, np.inf, -np.inf],
        dtype=np.float32,
    )
    x = np.concatenate([bits.view(np.float32), ties.view(np.float32), special, -special])
    ours = to_tf32(torch.from_numpy(x)).numpy()
    wrong = np.flatnonzero(ours.view(np.uint32) != _reference_tf32(x).view(np.uint32))
    if wrong.size:
        i = wrong[0]
        raise AssertionError(f"to_tf32 wrong on {wrong.size} values, e.g. {x[i]!r} -> {ours[i]!r}")
    ties_up = to_tf32(torch.tensor([1 + 2**-11, 1 + 3 * 2**-11], dtype=torch.float32))
    assert ties_up.tolist() == [1.0, 1 + 2**-9], ties_up  # halfway: to the even neighbour
    return x.size


class TF32Mode(TorchFunctionMode):
    """Inside: the float32 operands of torch's matrix products rounded by :func:`to_tf32`.

    ``calls`` counts every torch function reached (by name); ``rounded`` the products whose
    operands were rounded.  A product-like function that is not handled raises.
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: collections.Counter[str] = collections.Counter()
        self.rounded = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__qualname__", getattr(func, "__name__", repr(func)))
        self.calls[name] += 1
        where = PRODUCTS.get(func)
        if where is None:
            if _PRODUCT_LIKE.search(name):
                raise NotImplementedError(f"{name} is a product that TF32Mode does not round")
            return func(*args, **(kwargs or {}))
        args = [
            to_tf32(a)
            if i in where and isinstance(a, torch.Tensor) and a.dtype == torch.float32
            else a
            for i, a in enumerate(args)
        ]
        self.rounded += 1
        return func(*args, **(kwargs or {}))


def check_mode() -> None:
    """The mode rounds ``@`` and ``torch.matmul(out=)`` and nothing else; raise if not."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(30, 40, generator=g), torch.randn(40, 20, generator=g)
    want = to_tf32(a) @ to_tf32(b)
    out = torch.empty(30, 20)
    with TF32Mode() as mode:
        got, _ = a @ b, torch.matmul(a, b, out=out)
        s = a + b[:30, :20].T.sum()  # not a product: untouched
    assert mode.rounded == 2, mode.calls
    assert torch.equal(got, want), "the mode does not round @"
    assert torch.equal(out, want), "the mode does not round matmul(out=)"
    assert not torch.equal(want, a @ b), "rounding made no difference: the test is void"
    assert torch.equal(s, a + b[:30, :20].T.sum())


def train_emulated(config: str) -> tuple[object, TF32Mode]:
    """The agreement report's torch float32 run of ``config``, under :class:`TF32Mode`."""
    with TF32Mode() as mode:
        run = _train("torch", None, "float32", config)
    if mode.rounded == 0:
        raise RuntimeError(f"{config}: no matrix product was intercepted; calls: {mode.calls}")
    return run, mode


def nice_ceil(x: float) -> float:
    """The least 1, 2 or 5 × 10^k ≥ ``x`` (``x`` > 0, finite)."""
    if not (x > 0 and math.isfinite(x)):
        raise ValueError(f"no tolerance for {x!r}")
    k = math.floor(math.log10(x))
    for power in (k - 1, k, k + 1):  # log10 may be off by one at exact powers of ten
        for m in (1, 2, 5):
            if float(f"{m}e{power}") >= x:
                return float(f"{m}e{power}")
    raise AssertionError(x)  # unreachable


def measure(configs: Sequence[str]) -> tuple[list[Row], dict[str, dict[str, int]]]:
    """Per configuration: NumPy float32 (the reference), torch float32 (the control) and
    torch float32 under TF32 emulation, each with the agreement report's figures."""
    rows, calls = [], {}
    for config in configs:
        f32, f64 = (_train("numpy", None, d, config) for d in ("float32", "float64"))
        control = _train("torch", None, "float32", config)
        emulated, mode = train_emulated(config)
        calls[config] = {"rounded": mode.rounded, **dict(mode.calls.most_common())}
        reference = Row("numpy", "float32", config, "reference", figures=_figures(f32, f32, f64))
        rows.append(reference)
        figures = _figures(control, f32, f64)
        status, detail = _verdict("float32", figures, "highest", config)
        rows.append(Row("torch", "float32", config, status, detail, figures=figures))
        figures = _figures(emulated, f32, f64)
        status, detail = _verdict("float32", figures, "tf32", config)  # the provisional one
        need = nice_ceil(max(figures[k] for k in GATED))  # this configuration's own tolerance
        status = f"{status} (needs {need:.0e})"
        rows.append(
            Row("torch", "float32", config, status, detail, precision="tf32~", figures=figures)
        )
    return rows, calls


def suggest(rows: Sequence[Row]) -> tuple[float, float, str]:
    """(the largest gated TF32 figure, it rounded up by :func:`nice_ceil`, where it is)."""
    value, where = max(
        (r.figures[k], f"{r.config} {k}") for r in rows if r.precision == "tf32~" for k in GATED
    )
    return value, nice_ceil(value), where


def main(argv: Sequence[str] | None = None) -> int:
    """Check the emulation, measure, print the table and the tolerance, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("tf32-emulation-results"))
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated")
    args = parser.parse_args(argv)
    configs = args.configs.split(",")
    if unknown := sorted(set(configs) - set(CONFIGS)):
        parser.error(f"unknown configs {unknown}; expected some of {list(CONFIGS)}")
    start = time.perf_counter()
    checked = check_rounding()
    check_mode()
    print(f"to_tf32 agrees bit for bit with the NumPy reference on {checked} values")
    rows, calls = measure(configs)
    largest, tolerance, where = suggest(rows)
    seconds = time.perf_counter() - start
    print(format_table(rows))
    print("\ntf32~: torch float32 with TF32-rounded product inputs; figures against NumPy")
    print("float32 (…/f64: against NumPy float64); the numpy rows: float32 against float64.")
    print("result: highest against the report's float32 tolerance; tf32~ against its")
    print("provisional tolerance for that configuration, portnet.agreement.TF32_TOLERANCE")
    print(f"(and, in brackets, what the configuration needs here after {SHORT} steps).")
    for config, counts in calls.items():  # the products reached (all calls: in the JSON)
        print(config, {k: n for k, n in counts.items() if _PRODUCT_LIKE.search(k)})
    print(f"\nlargest gated TF32 figure: {largest:.2e} ({where})")
    print(f'suggested tolerance for precision="tf32" after {SHORT} steps: {tolerance:.0e}')
    print(f"run time {seconds:.1f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "tf32_emulation.json"
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "versions": {"torch": torch.__version__, "numpy": np.__version__},
        "rounding_checked_on": checked,
        "suggested_tolerance": tolerance,
        "largest_gated": {"value": largest, "where": where},
        "seconds": seconds,
        "calls": calls,
        "rows": [asdict(r) for r in rows],
    }
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
