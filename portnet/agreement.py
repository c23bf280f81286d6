"""The cross-backend agreement report: one set of equations, the same network on every backend.

``python -m portnet.agreement`` (or ``nox -s agreement``) trains a fixed set of configurations
from one seed on every installed backend × dtype and compares each with NumPy in the same
dtype and with NumPy float64: ‖Δθ‖∞/‖θ‖∞ over all parameters together after 100 and 1000
steps, the same measure for the predictions on the training set, and the largest relative
difference of the cost history.  A row passes when, after 100 steps, all three figures
against NumPy in the same dtype are within the tolerance of its mode (:func:`tolerance`:
1e-12 in float64, 1e-4 in float32 with ``precision="highest"``; ``TF32_TOLERANCE`` for
``--precision tf32``, float32 only, GPU backends only, NumPy staying the IEEE reference).
The report is printed as a table and written as JSON and Markdown; the exit code is 1 when
any row disagrees, 77 when no backend but NumPy ran.  Backends that are not installed are
listed as such, never as passed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import json
import platform
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import datasets
from ._backend import BACKENDS, gpu_device, resolve_backend, to_numpy
from ._precision import DEFAULT as DEFAULT_PRECISION
from ._precision import PRECISIONS
from .model import Model
from .training import train

__all__ = [
    "CONFIGS",
    "TF32_TOLERANCE",
    "TOLERANCE",
    "Row",
    "flat_params",
    "main",
    "relative_difference",
    "run",
    "tolerance",
]

#: after 100 steps, against NumPy in the same dtype (``precision="highest"``)
TOLERANCE = {"float32": 1e-4, "float64": 1e-12}
#: the same with TF32 products (``precision="tf32"``, float32 only), per configuration:
#: PROVISIONAL, from the CPU emulation of TF32 (benchmarks/tf32_emulation.py: float32 inputs
#: rounded to a 10-bit mantissa) with a margin of 2-3×, until measured on a GPU.  The ReLU
#: nets' early steps amplify any 2⁻¹¹ change of their inputs (NumPy float32 with X scaled by
#: 1 ± 2⁻¹¹ moves their cost by 5e-2 after 100 steps), and Adam's mini-batch steps amplify
#: TF32's noise in near-zero gradients: their rows bound gross errors only; the "highest"
#: mode is the 1e-4 check of every backend's equations.
TF32_TOLERANCE = {
    "planar-tanh": 3e-3,
    "planar-tanh-l2": 3e-3,
    "planar-relu-3": 2e-1,
    "planar-relu-3-l2": 2e-1,
    "regression": 3e-3,
    "regression-l2": 3e-3,
    "planar-relu-3-adam-batch32": 3e-1,
}
SHORT, LONG = 100, 1000
#: the exit status when no row besides NumPy's ran (automake's "skipped")
NOTHING_COMPARED = 77
DTYPES = ("float32", "float64")


def regression_data() -> tuple[np.ndarray, np.ndarray]:
    """A smooth 2-D regression problem: 300 points, ``y = sin x₀ + x₁²/2 − 0.3 x₀x₁``."""
    rng = np.random.default_rng(3)
    X = rng.uniform(-2, 2, (300, 2))
    return X, np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 - 0.3 * X[:, 0] * X[:, 1]


_PLANAR = datasets.planar()
_REGRESSION = regression_data()
_SHALLOW = {"hidden": (4,), "activation": "tanh", "learning_rate": 1.2}
_DEEP = {"hidden": (20, 7, 5), "activation": "relu", "learning_rate": 0.1}
_REGRESSOR = {"hidden": (8,), "activation": "tanh", "learning_rate": 0.1, "loss": "squared_error"}

#: name -> (X, y, options of ``train``); every configuration starts from seed 0
CONFIGS: dict[str, tuple[np.ndarray, np.ndarray, dict[str, Any]]] = {
    "planar-tanh": (*_PLANAR, _SHALLOW),
    "planar-tanh-l2": (*_PLANAR, {**_SHALLOW, "l2": 0.7}),
    "planar-relu-3": (*_PLANAR, _DEEP),
    "planar-relu-3-l2": (*_PLANAR, {**_DEEP, "l2": 0.7}),
    "regression": (*_REGRESSION, _REGRESSOR),
    "regression-l2": (*_REGRESSION, {**_REGRESSOR, "l2": 0.1}),
    "planar-relu-3-adam-batch32": (
        *_PLANAR,
        {**_DEEP, "optimizer": "adam", "learning_rate": 0.01, "batch_size": 32},
    ),
}


def flat_params(params: Any) -> np.ndarray:
    """All parameters of a model as one float64 NumPy vector."""
    return np.concatenate(
        [np.asarray(to_numpy(p), dtype=np.float64).ravel() for layer in params for p in layer]
    )


def relative_difference(actual: Any, reference: Any) -> float:
    """‖a − r‖∞ / ‖r‖∞ between two arrays (or parameter sets) taken together."""
    a, r = (
        flat_params(x) if isinstance(x, tuple) else np.asarray(x, dtype=np.float64).ravel()
        for x in (actual, reference)
    )
    return float(np.max(np.abs(a - r)) / np.max(np.abs(r)))


@dataclass
class _Run:
    """What one training run of a configuration produced, on the host."""

    params: dict[int, tuple]  # steps -> model params
    outputs: dict[int, np.ndarray]  # steps -> predictions on the training X
    cost: np.ndarray  # the cost history, steps 0, 10, 20, ..., 1000
    device: str = ""  # where it ran


@dataclass
class Row:
    """One line of the report: a backend × dtype × configuration against NumPy."""

    backend: str
    dtype: str
    config: str
    status: str  # "pass", "FAIL", "reference", "not installed", "unavailable", "not comparable"
    detail: str = ""
    device: str = ""
    precision: str = DEFAULT_PRECISION
    #: figure name -> value, e.g. "params@100": ‖Δθ‖∞/‖θ‖∞ against NumPy in the same dtype
    figures: dict[str, float] = field(default_factory=dict)


def tolerance(dtype: str, precision: str = DEFAULT_PRECISION, config: str = "") -> float | None:
    """A row's tolerance after 100 steps in ``dtype`` and ``precision`` for configuration
    ``config`` (None: no such mode, TF32 in float64)."""
    if precision == "highest":
        return TOLERANCE[dtype]
    return TF32_TOLERANCE.get(config) if dtype == "float32" else None


def _train(
    backend: str, device: Any, dtype: str, config: str, precision: str = DEFAULT_PRECISION
) -> _Run:
    X, y, options = CONFIGS[config]
    at_short = {}

    def keep(step: int, cost: float, model: Model) -> None:  # the model after SHORT steps
        if step == SHORT:
            at_short[SHORT] = model

    if backend == "dask":  # data parallelism for real: the gradient summed over 4 chunks
        options = {**options, "chunks": -(-X.shape[0] // 4)}
    model = train(
        X,
        y,
        iterations=LONG,
        log_every=10,
        callbacks=keep,
        backend=backend,
        device=device,
        dtype=dtype,
        precision=precision,
        seed=0,
        **options,
    )
    host = {**at_short, LONG: model}
    return _Run(
        params={
            k: tuple(tuple(to_numpy(p) for p in layer) for layer in m.params)
            for k, m in host.items()
        },
        outputs={k: _outputs(m, X) for k, m in host.items()},
        cost=np.asarray(model.history.cost),  # steps 0, 10, ..., 1000
        device=str(model.device),
    )


def _outputs(model: Model, X: np.ndarray) -> np.ndarray:
    out = model.predict_proba(X) if model.is_classifier else model.predict(X)
    return np.asarray(out, dtype=np.float64)


def _cost_difference(cost: np.ndarray, reference: np.ndarray, upto: int | None = None) -> float:
    n = upto if upto is not None else len(reference)
    return float(np.max(np.abs(cost[:n] - reference[:n]) / np.abs(reference[:n])))


def _figures(run: _Run, same: _Run, f64: _Run) -> dict[str, float]:
    """Every figure against NumPy in the same dtype, and (suffix " vs float64") in float64."""
    figures = {}
    for suffix, ref in (("", same), (" vs float64", f64)):
        for steps in (SHORT, LONG):
            figures[f"params@{steps}{suffix}"] = relative_difference(
                run.params[steps], ref.params[steps]
            )
            figures[f"outputs@{steps}{suffix}"] = relative_difference(
                run.outputs[steps], ref.outputs[steps]
            )
        figures[f"cost@{SHORT}{suffix}"] = _cost_difference(
            run.cost, ref.cost, upto=SHORT // 10 + 1
        )
        figures[f"cost@{LONG}{suffix}"] = _cost_difference(run.cost, ref.cost)
    return figures


def _verdict(dtype: str, figures: dict[str, float], precision: str, config: str) -> tuple[str, str]:
    limit = tolerance(dtype, precision, config)
    gated = {k: figures[k] for k in (f"params@{SHORT}", f"outputs@{SHORT}", f"cost@{SHORT}")}
    over = {k: v for k, v in gated.items() if not v <= limit}  # NaN counts as over
    if over:
        return "FAIL", "; ".join(f"{k} = {v:.2e} > {limit:.0e}" for k, v in over.items())
    return "pass", f"≤ {limit:.0e} after {SHORT} steps ({precision})"


def _availability(backend: str, gpu: bool) -> tuple[Any, str | None]:
    """(device, None) when ``backend`` can run here, else (None, the reason it cannot)."""
    try:
        device = gpu_device(backend) if gpu else None
        resolve_backend(backend, device=device)
    except ImportError as exc:
        return None, f"not installed ({exc})"
    except (RuntimeError, ValueError) as exc:
        return None, str(exc)
    return device, None


def run(
    *,
    backends: Sequence[str] = BACKENDS,
    dtypes: Sequence[str] = DTYPES,
    configs: Sequence[str] = tuple(CONFIGS),
    gpu: bool = False,
    precision: str = DEFAULT_PRECISION,
) -> list[Row]:
    """Train every configuration on every backend × dtype and compare with NumPy.

    With ``gpu=True`` the GPU-capable backends run on their first CUDA device (NumPy stays
    the CPU reference); a backend that cannot is listed as "unavailable" with the reason.
    ``precision`` is every backend's but NumPy's, the IEEE reference ("tf32": float32
    rows only, float64 rows "not comparable"; a backend that cannot honour it
    "unavailable", with the reason).
    """
    reference = {(d, c): _train("numpy", None, d, c) for d in (*dtypes, "float64") for c in configs}
    rows = []
    for backend in backends:
        device, missing = _availability(backend, gpu and backend != "numpy")
        if missing is not None:  # one row for the whole backend, never counted as passed
            status = "not installed" if missing.startswith("not installed") else "unavailable"
            rows.append(Row(backend, "all", "all", status, missing))
            continue
        for dtype in dtypes:
            for config in configs:
                rows.append(_row(backend, device, dtype, config, reference, precision))
    return rows


def _row(
    backend: str, device: Any, dtype: str, config: str, reference: dict, precision: str
) -> Row:
    mode = DEFAULT_PRECISION if backend == "numpy" else precision
    row = Row(backend, dtype, config, status="reference", precision=mode)
    if backend == "numpy":
        ours = reference[dtype, config]
    elif tolerance(dtype, mode, config) is None:
        return Row(
            backend, dtype, config, "not comparable", f"{mode} is a float32 mode", precision=mode
        )
    elif backend == "dask" and CONFIGS[config][2].get("batch_size") is not None:
        return Row(
            backend,
            dtype,
            config,
            "not comparable",
            "Dask's mini-batches are whole chunks, not NumPy's shuffled rows "
            "(tests/test_dask.py checks them against a reference)",
            precision=mode,
        )
    else:
        try:
            ours = _train(backend, device, dtype, config, mode)
        except (ValueError, RuntimeError) as exc:  # float64 on a device without it, tf32 off a GPU
            return Row(backend, dtype, config, "unavailable", str(exc), precision=mode)
    row.device = ours.device
    row.figures = _figures(ours, reference[dtype, config], reference["float64", config])
    if backend != "numpy":
        row.status, row.detail = _verdict(dtype, row.figures, mode, config)
    return row


# -- output ------------------------------------------------------------------------------------
_COLUMNS = {  # figure -> table header
    "params@100": "θ@100",
    "outputs@100": "ŷ@100",
    "cost@100": "J@100",
    "params@1000": "θ@1000",
    "outputs@1000": "ŷ@1000",
    "cost@1000": "J@1000",
    "params@1000 vs float64": "θ@1000/f64",
    "outputs@1000 vs float64": "ŷ@1000/f64",
    "cost@1000 vs float64": "J@1000/f64",
}
_HEADERS = ("backend", "dtype", "precision", "config", *_COLUMNS.values(), "result")


def _cells(row: Row) -> list[str]:
    figures = [f"{row.figures[c]:.1e}" if c in row.figures else "—" for c in _COLUMNS]
    return [row.backend, row.dtype, row.precision, row.config, *figures, row.status]


def format_table(rows: Sequence[Row]) -> str:
    """The report as an aligned plain-text table."""
    table = [list(_HEADERS), *(_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(_HEADERS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_markdown(rows: Sequence[Row]) -> str:
    """The report as a Markdown table."""
    lines = ["| " + " | ".join(_HEADERS) + " |", "|" + " --- |" * len(_HEADERS)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in (
        "numpy",
        "array-api-compat",
        "jax",
        "jaxlib",
        "torch",
        "array-api-strict",
        "cupy-cuda12x",
        "cupy-cuda13x",
    ):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[dist] = importlib.metadata.version(dist)
    return versions


def _legend() -> str:
    return (
        "θ@N: ‖Δθ‖∞/‖θ‖∞ over all parameters after N steps; ŷ@N: the same for the predictions "
        "on the training set (probabilities, or the regression output); J@N: largest relative "
        "difference of the cost history up to step N — all against NumPy in the same dtype; "
        "…/f64: against NumPy float64 (NumPy always in IEEE precision). A row passes when "
        f"θ@100, ŷ@100 and J@100 are ≤ {TOLERANCE['float64']:.0e} (float64) or "
        f"≤ {TOLERANCE['float32']:.0e} (float32) with precision 'highest'; with 'tf32' "
        "(float32 only) within the configuration's TF32 tolerance: "
        + ", ".join(f"{c} {t:.0e}" for c, t in TF32_TOLERANCE.items())
        + " (provisional: from a CPU emulation of TF32)."
    )


def write(rows: Sequence[Row], out: Path) -> tuple[Path, Path]:
    """Write ``agreement.json`` and ``agreement.md`` into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "versions": _versions(),
        "tolerance_after_100_steps": {"highest": TOLERANCE, "tf32": TF32_TOLERANCE},
        "precision": sorted({r.precision for r in rows}),
        "legend": _legend(),
    }
    json_path, md_path = out / "agreement.json", out / "agreement.md"
    json_path.write_text(
        json.dumps({**meta, "rows": [asdict(r) for r in rows]}, indent=2, ensure_ascii=False) + "\n"
    )
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    md_path.write_text(f"{format_markdown(rows)}\n{_legend()}\n\n{meta['date']}; {versions}.\n")
    return json_path, md_path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m portnet.agreement``: print, write JSON and Markdown; exit 1 on any FAIL,
    77 when no backend besides NumPy ran (none installed or usable: nothing was compared)."""
    parser = argparse.ArgumentParser(
        prog="python -m portnet.agreement", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated backends")
    parser.add_argument("--dtypes", default=",".join(DTYPES), help="comma-separated dtypes")
    parser.add_argument(
        "--configs", default=",".join(CONFIGS), help="comma-separated configurations"
    )
    parser.add_argument(
        "--gpu", action="store_true", help="run CuPy, JAX and torch on their CUDA device"
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=DEFAULT_PRECISION,
        help="float32 products of every backend but NumPy (tf32: CUDA GPUs, with --gpu)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("agreement-results"), help="folder for JSON and Markdown"
    )
    args = parser.parse_args(argv)
    chosen = {
        "backends": args.backends.split(","),
        "dtypes": args.dtypes.split(","),
        "configs": args.configs.split(","),
    }
    valid = {"backends": BACKENDS, "dtypes": DTYPES, "configs": tuple(CONFIGS)}
    for what, names in chosen.items():
        unknown = sorted(set(names) - set(valid[what]))
        if unknown:
            parser.error(f"unknown {what} {unknown}; expected some of {list(valid[what])}")
    _enable_jax_x64()
    rows = run(**chosen, gpu=args.gpu, precision=args.precision)
    print(format_table(rows))
    print()
    print(_legend())
    json_path, md_path = write(rows, args.out)
    failed = [r for r in rows if r.status == "FAIL"]
    missing = sorted({r.backend for r in rows if r.status in ("not installed", "unavailable")})
    print(f"\nwrote {json_path} and {md_path}")
    if missing:
        print(
            f"not run (not installed or unavailable, not counted as passed): {', '.join(missing)}"
        )
    compared = [r for r in rows if r.status in ("pass", "FAIL")]
    if not compared:  # nothing but the reference ran: no agreement shown, none claimed
        print(f"no backend was compared with NumPy: exit status {NOTHING_COMPARED}")
        return NOTHING_COMPARED
    print(f"{len(failed)} disagreement(s)" if failed else f"all {len(compared)} run rows agree")
    return 1 if failed else 0


def _enable_jax_x64() -> None:
    """The report owns its process: turn on JAX's x64 mode so float64 rows are float64."""
    try:
        import jax
    except ImportError:
        return
    jax.config.update("jax_enable_x64", True)


if __name__ == "__main__":
    sys.exit(main())
