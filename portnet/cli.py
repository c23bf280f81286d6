"""The ``portnet`` command.

- ``portnet train``: train a network on a built-in data set or a data file (by default the
  course's shallow tanh network on the planar flower, with NumPy); print the cost with a
  progress bar, the training accuracy and the time; write the model and, with matplotlib,
  the cost curve and (2-D data) the decision boundary.
- ``portnet predict MODEL DATA``: predictions of a saved model, to stdout or a file.
- ``portnet backends``: which backends are installed, their versions, devices and dtypes.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import datafiles, datasets, plots
from ._backend import BACKENDS, gpu_status, resolve_backend, to_numpy
from ._options import NAMES as OPTION_NAMES
from ._options import Options
from ._precision import DEFAULT as DEFAULT_PRECISION
from ._precision import PRECISIONS
from ._version import __version__
from .activations import ACTIVATIONS
from .backends import TABLE
from .init import INITIALIZERS
from .model import fit, load
from .optimizers import DEFAULT_LEARNING_RATES, OPTIMIZERS
from .training import DivergenceError

__all__ = ["main"]


def _hidden(text: str) -> tuple[int, ...]:
    """``"20,7,5"`` -> (20, 7, 5); ``""`` or ``"none"`` -> () (logistic regression)."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer widths such as 20,7,5, got {text!r}"
        ) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portnet",
        description="Fully-connected networks written once against the array API standard.",
    )
    parser.add_argument("--version", action="version", version=f"portnet {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _train_parser(commands)
    _predict_parser(commands)
    commands.add_parser(
        "backends",
        help="which backends are installed, their versions, devices and dtypes",
        description="List every backend portnet knows: installed or not (and the extra to "
        "install), version, devices, float64 support, and whether it can use a GPU here.",
    )
    return parser


def _train_parser(commands: Any) -> None:
    tr = commands.add_parser(
        "train",
        help="train a network on a built-in data set or a data file",
        description="Train a network; report the cost, the training accuracy and the time; "
        "write the model and plots. Defaults: the course's 2-4-1 tanh network on the planar "
        "flower, NumPy.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    tr.add_argument(
        "--data",
        default="planar",
        help=f"a built-in data set ({', '.join(datasets.NAMES)}) or a .csv/.npy/.npz file "
        "(one sample per row, the label in the last column; .npz: arrays X and y)",
    )
    tr.add_argument("--label", default=None, help="label column of a .csv/.npy (name or index)")
    tr.add_argument("--hidden", type=_hidden, default=(4,), help="hidden widths, e.g. 20,7,5")
    tr.add_argument("--activation", choices=sorted(ACTIVATIONS), default="tanh")
    tr.add_argument("--optimizer", choices=list(OPTIMIZERS), default="sgd")
    tr.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="default: " + ", ".join(f"{k} {v}" for k, v in DEFAULT_LEARNING_RATES.items()),
    )
    steps = tr.add_mutually_exclusive_group()
    steps.add_argument("--iterations", type=int, default=None, help="updates (default 10000)")
    steps.add_argument("--epochs", type=int, default=None, help="passes over the data")
    tr.add_argument("--batch-size", type=int, default=None, help="default: the full batch")
    tr.add_argument(
        "--chunks", type=int, default=None, help="Dask: rows per chunk (default: dask's choice)"
    )
    tr.add_argument("--l2", type=float, default=0.0, help="L2 strength λ")
    tr.add_argument("--init", choices=("auto", *INITIALIZERS), default="auto")
    tr.add_argument("--seed", type=int, default=0, help="initialiser seed")
    tr.add_argument("--backend", choices=BACKENDS, default="numpy")
    tr.add_argument("--device", default=None, help="e.g. cpu:1 (JAX), cuda:0 (torch)")
    tr.add_argument("--dtype", choices=("float32", "float64"), default=None)
    tr.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=DEFAULT_PRECISION,
        help="float32 matrix products: highest (IEEE float32) or tf32 (CUDA GPUs)",
    )
    tr.add_argument("--log-every", type=int, default=1000, help="print the cost every N steps")
    tr.add_argument(
        "--out",
        type=Path,
        default=Path("portnet-out"),
        help="folder for model.npz, cost.png and boundary.png",
    )
    tr.add_argument(
        "--plot",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write the plots (default: when matplotlib is installed)",
    )
    tr.add_argument("--quiet", action="store_true", help="print nothing but errors")


def _predict_parser(commands: Any) -> None:
    pr = commands.add_parser(
        "predict",
        help="predictions of a saved model",
        description="Predict with a model written by `portnet train` (or Model.save). DATA is "
        "a .csv/.npy/.npz file laid out as for training; a label column, if present, is left "
        "out and the score printed to stderr.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    pr.add_argument("model", type=Path, help="a model file (.npz)")
    pr.add_argument("data", type=Path, help="a .csv/.npy/.npz file of samples")
    pr.add_argument("--label", default=None, help="label column of a .csv/.npy (name or index)")
    pr.add_argument("--proba", action="store_true", help="class probabilities instead")
    pr.add_argument("--out", type=Path, default=None, help=".csv or .npy file (default: stdout)")
    pr.add_argument("--backend", choices=BACKENDS, default="numpy")
    pr.add_argument("--device", default=None, help="e.g. cpu:1 (JAX), cuda:0 (torch)")


def _read_training_data(args: argparse.Namespace) -> tuple[str, Any, Any]:
    if args.data in datasets.NAMES:
        if args.label is not None:
            raise ValueError("--label is for data files; built-in data sets have their labels")
        X, y = datasets.load(args.data)
        return args.data, X, y
    if Path(args.data).suffix.lower() not in datafiles.SUFFIXES:
        raise ValueError(
            f"--data must be a built-in data set ({', '.join(datasets.NAMES)}) or a "
            f"{'/'.join(datafiles.SUFFIXES)} file, got {args.data!r}"
        )
    X, y = datafiles.read(args.data, label=args.label)
    if y is None:
        raise ValueError(f"{args.data} holds no labels: an .npz for training needs an array 'y'")
    return args.data, X, y


class _Progress:
    """Training progress: a tqdm bar (when installed) and the course's cost lines."""

    def __init__(self, total: int | None, quiet: bool) -> None:
        self.quiet, self.bar, self.done = quiet, None, 0
        if quiet:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        # disable=None: no bar when stderr is not a terminal (CI logs, pipes)
        self.bar = tqdm(total=total, unit="step", leave=False, file=sys.stderr, disable=None)

    def __call__(self, step: int, cost: float, model: Any) -> None:
        if self.quiet:
            return
        line = f"Cost after iteration {step}: {cost:.6f}"
        if self.bar is None:
            print(line)
            return
        self.bar.update(step - self.done)
        self.done = step
        self.bar.set_postfix(cost=f"{cost:.4f}")
        self.bar.write(line, file=sys.stdout)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _train(args: argparse.Namespace) -> int:
    if args.backend == "jax" and args.dtype == "float64":
        import jax  # the command owns its process: float64 asked for explicitly turns on x64

        jax.config.update("jax_enable_x64", True)
    name, X, y = _read_training_data(args)
    say = (lambda *a: None) if args.quiet else print
    say(f"data: {name} ({X.shape[0]} samples, {X.shape[1]} features)")
    if args.plot:
        plots._pyplot()  # --plot without matplotlib: say so before training, not after
    if args.epochs is not None:  # each epoch is ceil(m / batch) updates
        batch = min(args.batch_size or X.shape[0], X.shape[0])
        total = args.epochs * -(-X.shape[0] // max(batch, 1))
    else:
        total = 10_000 if args.iterations is None else args.iterations
    progress = _Progress(total, args.quiet)
    start = time.perf_counter()
    try:
        given = {name: getattr(args, name) for name in OPTION_NAMES if hasattr(args, name)}
        model, status = fit(X, y, Options(**given, callbacks=[progress])), 0
    except DivergenceError as exc:  # keep the last finite model, then report the error
        model, status = exc.model, 1
        print(f"portnet: error: {exc}", file=sys.stderr)
    finally:
        progress.close()
    seconds = time.perf_counter() - start
    if model.stop_reason == "interrupted":
        status = 130
        print(
            f"portnet: interrupted at iteration {model.n_steps}; the model trained so far is kept",
            file=sys.stderr,
        )
    say(f"model: {model}")
    say(f"training {'accuracy' if model.is_classifier else 'R²'}: {model.score(X, y):.4f}")
    say(f"time: {seconds:.2f} s for {model.n_steps} iterations")
    args.out.mkdir(parents=True, exist_ok=True)
    written = [model.save(args.out / "model.npz")]
    if args.plot is not False and plots.available():
        written.append(plots.cost_curve(model, args.out / "cost.png"))
        if X.shape[1] == 2 and model.is_classifier:
            written.append(plots.decision_boundary(model, X, y, args.out / "boundary.png"))
    say("wrote: " + ", ".join(map(str, written)))
    return status


def _predict(args: argparse.Namespace) -> int:
    model = load(args.model, backend=args.backend, device=args.device)
    X, y = datafiles.read(args.data, label=args.label, n_features=model.n_features_in_)
    out = model.predict_proba(X) if args.proba else model.predict(X)
    out = np.asarray(to_numpy(out))
    if y is not None:
        what = "accuracy" if model.is_classifier else "R²"
        print(f"{what} on {args.data}: {model.score(X, y):.4f}", file=sys.stderr)
    if args.out is not None and args.out.suffix == ".npy":
        np.save(args.out, out)
        return 0
    rows = out[:, None] if out.ndim == 1 else out
    fmt = "%s" if rows.dtype.kind in "USOiub" else "%.8g"
    if args.out is None:
        np.savetxt(sys.stdout, rows, fmt=fmt, delimiter=",")
    elif args.out.suffix == ".csv":
        np.savetxt(args.out, rows, fmt=fmt, delimiter=",")
    else:
        raise ValueError(f"--out must be a .csv or .npy file, got {str(args.out)!r}")
    return 0


def backends_report() -> list[dict[str, str]]:
    """One row per backend: name, installed version (or the extra to install), devices,
    float64, GPU."""
    rows = []
    for name in BACKENDS:
        module, extra = TABLE[name].module, TABLE[name].extra
        row = {"backend": name}
        try:
            importlib.import_module(module)  # dask.array: the version is dask's
            row["version"] = str(importlib.import_module(module.split(".")[0]).__version__)
            be = resolve_backend(name)
        except ImportError:
            row.update(version=f"not installed: pip install 'portnet[{extra}]'")
            rows.append(row)
            continue
        except (RuntimeError, ValueError) as exc:  # e.g. CuPy without a CUDA device
            row.update(devices=f"unusable: {exc}")
            rows.append(row)
            continue
        row["devices"] = ", ".join(_devices(name, be.xp))
        default = (
            be.device
            if be.device is not None
            else be.xp.__array_namespace_info__().default_device()
        )
        row["default device"] = str(default)
        try:
            be.dtype("float64")
            row["float64"] = "yes"
        except ValueError as exc:
            row["float64"] = "with x64 (JAX_ENABLE_X64=1)" if name == "jax" else f"no ({exc})"
        if TABLE[name].gpu is not None:
            reason = gpu_status(name)
            row["GPU"] = "usable" if reason is None else f"no: {reason}"
        rows.append(row)
    return rows


def _devices(name: str, xp: Any) -> list[str]:
    if name == "torch":  # the namespace's list probes every device type (meta, mkldnn, ...)
        import torch

        return ["cpu", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]
    found = xp.__array_namespace_info__().devices()
    return [str(getattr(d, "_device", d)) for d in found if d is not None]


def _backends(args: argparse.Namespace) -> int:
    for row in backends_report():
        name = row.pop("backend")
        print(f"{name}: " + "; ".join(f"{k} {v}" if k != "version" else v for k, v in row.items()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``portnet`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    command = {"train": _train, "predict": _predict, "backends": _backends}[args.command]
    try:
        return command(args)
    except (ValueError, TypeError, ImportError, FileNotFoundError, RuntimeError) as exc:
        print(f"portnet: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("portnet: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
