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
import contextlib
import functools
import importlib
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import datafiles, datasets, plots, serialization
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
from .training import DivergenceError, TrainingInterrupted

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


def _log_every(text: str) -> int | str:
    """``--log-every``: a positive number of updates, or ``epoch``."""
    if text.strip().lower() == "epoch":
        return "epoch"
    try:
        every = int(text)
    except ValueError:
        every = 0
    if every < 1:
        raise argparse.ArgumentTypeError(
            f"expected a positive number of updates (e.g. 100) or 'epoch', got {text!r}"
        )
    return every


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
    )
    tr.add_argument(
        "--data",
        default="planar",
        help=f"a built-in data set ({', '.join(datasets.NAMES)}) or a .csv/.tsv/.npy/.npz file "
        "(one sample per row, the label in the last column; .npz: arrays X and y; "
        "default: %(default)s)",
    )
    tr.add_argument(
        "--label",
        help="label column of a .csv/.tsv/.npy, by name or index (default: the last column "
        "other than the weights column)",
    )
    tr.add_argument(
        "--weights-column",
        metavar="NAME",
        help="column of each sample's weight (a number >= 0), by name or index, left out "
        "of the features; .npz: the array NAME, e.g. sample_weight (default: unweighted)",
    )
    tr.add_argument(
        "--class-weight",
        choices=("balanced",),
        help="balanced: weigh each class by n / (n_classes · its count), times the weights "
        "column (classifiers only; default: every class 1)",
    )
    tr.add_argument(
        "--hidden",
        type=_hidden,
        default=(4,),
        help="hidden widths, e.g. 20,7,5; none: logistic regression (default: 4)",
    )
    tr.add_argument(
        "--activation",
        choices=sorted(ACTIVATIONS),
        default="tanh",
        help="hidden activation (default: %(default)s)",
    )
    tr.add_argument(
        "--optimizer",
        choices=[*OPTIMIZERS, "lbfgs"],
        default="sgd",
        help="lbfgs: full batch, no learning rate (default: %(default)s)",
    )
    tr.add_argument(
        "--learning-rate",
        type=float,
        help="default: " + ", ".join(f"{k} {v}" for k, v in DEFAULT_LEARNING_RATES.items()),
    )
    steps = tr.add_mutually_exclusive_group()
    steps.add_argument("--iterations", type=int, help="updates (default: 10000)")
    steps.add_argument("--epochs", type=int, help="passes over the data, instead of --iterations")
    tr.add_argument("--batch-size", type=int, help="samples per update (default: all of them)")
    tr.add_argument(
        "--max-fun", type=int, help="lbfgs: most evaluations of the cost (default: 15000)"
    )
    tr.add_argument("--chunks", type=int, help="Dask: rows per chunk (default: Dask's choice)")
    tr.add_argument("--l2", type=float, default=0.0, help="L2 strength λ (default: %(default)s)")
    tr.add_argument(
        "--init",
        choices=("auto", *INITIALIZERS),
        default="auto",
        help="initialiser (default: auto: he for ReLU and leaky ReLU, else glorot)",
    )
    tr.add_argument("--seed", type=int, default=0, help="initialiser seed (default: %(default)s)")
    tr.add_argument("--backend", choices=BACKENDS, default="numpy", help="default: %(default)s")
    tr.add_argument("--device", help="e.g. cpu:1 (JAX), cuda:0 (torch) (default: the backend's)")
    tr.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        help="default: float32 on JAX, else the data's (float64)",
    )
    tr.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=DEFAULT_PRECISION,
        help="float32 matrix products: highest (IEEE float32) or tf32 (CUDA GPUs) "
        "(default: %(default)s)",
    )
    tr.add_argument(
        "--log-every",
        type=_log_every,
        default=1000,
        metavar="N|epoch",
        help="print the cost every N steps, or at every epoch's end: the mean of its batch "
        "costs (default: %(default)s)",
    )
    tr.add_argument(
        "--out",
        type=Path,
        default=Path("portnet-out"),
        help="folder for model.npz, cost.png and boundary.png (default: %(default)s)",
    )
    tr.add_argument(
        "--plot",
        action=argparse.BooleanOptionalAction,
        help="write the plots (default: when matplotlib is installed)",
    )
    tr.add_argument("--quiet", action="store_true", help="print nothing but errors")


def _predict_parser(commands: Any) -> None:
    pr = commands.add_parser(
        "predict",
        help="predictions of a saved model",
        description="Predict with a model written by `portnet train` (or Model.save). DATA is "
        "a .csv/.tsv/.npy/.npz file laid out as for training; a label column, if present, is left "
        "out and the score printed to stderr (weighted by the --weights-column, also left out).",
    )
    pr.add_argument("model", type=Path, help="a model file (.npz)")
    pr.add_argument("data", type=Path, help="a .csv/.tsv/.npy/.npz file of samples")
    pr.add_argument(
        "--label",
        help="label column of a .csv/.tsv/.npy, by name or index "
        "(default: the last column, if the file has one more than the features)",
    )
    pr.add_argument(
        "--weights-column",
        metavar="NAME",
        help="column of each sample's weight, by name or index (as for training): left out "
        "of the features, it weighs the score",
    )
    pr.add_argument("--proba", action="store_true", help="class probabilities instead")
    pr.add_argument("--out", type=Path, help=".csv or .npy file (default: stdout)")
    pr.add_argument("--backend", choices=BACKENDS, default="numpy", help="default: %(default)s")
    pr.add_argument("--device", help="e.g. cpu:1 (JAX), cuda:0 (torch) (default: the backend's)")


def _read_training_data(args: argparse.Namespace) -> tuple[str, datafiles.Table]:
    """The data's name, and X, y, its column names (None where not known) and the samples'
    weights (None: unweighted)."""
    if args.data in datasets.NAMES:
        if args.label is not None:
            raise ValueError("--label is for data files; built-in data sets have their labels")
        if args.weights_column is not None:
            raise ValueError(
                "--weights-column is for data files; built-in data sets have no weights"
            )
        return args.data, datafiles.Table(*datasets.load(args.data), None)
    if Path(args.data).suffix.lower() not in datafiles.SUFFIXES:
        raise ValueError(
            f"--data must be a built-in data set ({', '.join(datasets.NAMES)}) or a "
            f"{'/'.join(datafiles.SUFFIXES)} file, got {args.data!r}"
        )
    table = datafiles.read_table(args.data, label=args.label, weights=args.weights_column)
    if table.y is None:
        raise ValueError(f"{args.data} holds no labels: an .npz for training needs an array 'y'")
    return args.data, table


def _say(quiet: bool) -> Any:
    """``print`` to stdout, or nothing with ``--quiet``; a closed stdout (``| head``) stops
    the printing, not the work."""

    def say(*parts: Any) -> None:
        if quiet:
            return
        try:
            print(*parts, flush=True)
        except BrokenPipeError:
            _drop_stdout()

    return say


class _Progress:
    """Training progress: a tqdm bar (when installed) and the course's cost lines."""

    def __init__(self, total: int | None, quiet: bool, *, per_epoch: int | None = None) -> None:
        self.quiet, self.bar, self.done, self.say = quiet, None, 0, _say(quiet)
        self.per_epoch = per_epoch  # updates an epoch, where log points are epochs' ends
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
        if self.per_epoch is not None:  # the last epoch may end early (--iterations)
            line = f"Cost after epoch {-(-step // self.per_epoch)}: {cost:.6f}"
        if self.bar is None:
            self.say(line)
            return
        self.bar.update(step - self.done)
        self.done = step
        self.bar.set_postfix(cost=f"{cost:.4f}")
        try:
            self.bar.write(line, file=sys.stdout)
        except BrokenPipeError:
            _drop_stdout()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _options(args: argparse.Namespace, sample_weight: Any) -> Options:
    """The run's options from the command line and the samples' weights, checked (before
    anything is trained)."""
    given = {name: getattr(args, name) for name in OPTION_NAMES if hasattr(args, name)}
    given["sample_weight"] = sample_weight
    if args.backend == "jax" and args.dtype is None:
        given["dtype"] = "float32"  # JAX's own default: float64 needs its x64 mode
    return Options(**given)


def _check_out(args: argparse.Namespace) -> None:
    """Before training: the files can be written in ``--out`` (a folder, made if missing)."""
    files = {"model.npz": "the model (--out)"}
    if args.plot is not False:
        files.update({"cost.png": "the cost plot (--out)", "boundary.png": "the plot (--out)"})
    for name, what in files.items():
        serialization.check_writable(args.out / name, what, make_folder=True)


def _train(args: argparse.Namespace) -> int:
    if args.backend == "jax" and args.dtype == "float64":
        import jax  # the command owns its process: float64 asked for explicitly turns on x64

        jax.config.update("jax_enable_x64", True)
    name, (X, y, features, w) = _read_training_data(args)
    say = _say(args.quiet)
    say(f"data: {name} ({X.shape[0]} samples, {X.shape[1]} features)")
    options = _options(args, w)
    _check_out(args)
    if args.plot:
        plots._pyplot()  # --plot without matplotlib: say so before training, not after
    batch = min(args.batch_size or X.shape[0], X.shape[0])
    per_epoch = -(-X.shape[0] // max(batch, 1))  # each epoch is ceil(m / batch) updates
    if args.epochs is not None:
        total = args.epochs * per_epoch
    else:
        total = 10_000 if args.iterations is None else args.iterations
    start = time.perf_counter()
    with _compiling(args.backend) as compiling:
        by_epoch = per_epoch if args.log_every == "epoch" else None
        progress = _Progress(total, args.quiet, per_epoch=by_epoch)
        model, status = _fit(X, y, options, progress)
    seconds = time.perf_counter() - start
    if model is None:
        return status
    say(f"model: {model}")
    what, score = _score(model, X, y, w)
    say(f"training {what}: {score:.4f}")
    spent = "" if compiling is None else f", of which {sum(compiling):.2f} s compiling"
    say(f"time: {seconds:.2f} s for {model.n_steps} iterations{spent}")
    say("wrote: " + ", ".join(map(str, _write(args, model, X, y, features))))
    return status


def _fit(X: Any, y: Any, options: Options, progress: _Progress) -> tuple[Any, int]:
    """The trained model and the exit status: 0; 1 diverged (the last finite model);
    130 interrupted (the model trained so far)."""
    try:
        model, status = fit(X, y, options.replace(callbacks=[progress])), 0
    except DivergenceError as exc:  # keep the last finite model, then report the error
        model, status = exc.model, 1
        print(f"portnet: error: {_message(exc)}", file=sys.stderr)
    except TrainingInterrupted as exc:  # Ctrl-C: keep the model trained so far, exit 130
        model, status = exc.model, 130
        kept = "the model trained so far is kept" if model is not None else "nothing to keep"
        print(f"portnet: interrupted at iteration {exc.step}; {kept}", file=sys.stderr)
    finally:
        progress.close()
    return model, status


def _write(args: argparse.Namespace, model: Any, X: Any, y: Any, features: Any) -> list[Path]:
    """The model and (matplotlib) the plots, in ``--out``; the paths written."""
    args.out.mkdir(parents=True, exist_ok=True)
    written = [model.save(args.out / "model.npz")]
    if args.plot is not False and plots.available():
        written.append(plots.cost_curve(model, args.out / "cost.png"))
        if X.shape[1] == 2 and model.is_classifier:
            written.append(
                plots.decision_boundary(
                    model, X, y, args.out / "boundary.png", feature_names=features
                )
            )
    return written


@contextlib.contextmanager
def _compiling(backend: str) -> Iterator[list[float] | None]:
    """The seconds JAX spends tracing, lowering and compiling in the block, as JAX itself
    measures them (``jax.monitoring``); None on other backends (nothing compiles) and on a
    JAX too old to stop listening."""
    if backend != "jax":
        yield None
        return
    from jax import monitoring

    stop = getattr(monitoring, "unregister_event_duration_listener", None)
    if stop is None:
        yield None
        return
    spent: list[float] = []

    def listen(event: str, seconds: float, **kwargs: Any) -> None:
        if event.startswith("/jax/core/compile/"):
            spent.append(seconds)

    monitoring.register_event_duration_secs_listener(listen)
    try:
        yield spent
    finally:
        stop(listen)


def _predict(args: argparse.Namespace) -> int:
    if args.backend == "jax":
        import jax  # the command owns its process: a float64 model is run as saved

        jax.config.update("jax_enable_x64", True)
    model = load(args.model, backend=args.backend, device=args.device)
    X, y, _, w = datafiles.read_table(
        args.data, label=args.label, n_features=model.n_features_in_, weights=args.weights_column
    )
    if args.out is not None:
        if args.out.suffix not in (".csv", ".npy"):
            raise ValueError(f"--out must be a .csv or .npy file, got {str(args.out)!r}")
        serialization.check_writable(args.out, "the predictions (--out)")
    if args.proba and not model.is_classifier:
        raise ValueError(
            f"--proba needs a classifier; {args.model} is a regression model "
            f"(loss {model.network.loss.name!r})"
        )
    out = np.asarray(to_numpy(model.predict_proba(X) if args.proba else model.predict(X)))
    if y is not None:
        what, score = _score(model, X, y, w)
        print(f"{what} on {args.data}: {score:.4f}", file=sys.stderr)
    if args.out is not None and args.out.suffix == ".npy":
        np.save(args.out, out)
        return 0
    rows = out[:, None] if out.ndim == 1 else out
    fmt = "%s" if rows.dtype.kind in "USOiub" else "%.8g"
    np.savetxt(sys.stdout if args.out is None else args.out, rows, fmt=fmt, delimiter=",")
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
    """Run ``portnet`` with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    Every failure is one line ``portnet: error: ...`` on stderr, never a traceback. Exit
    codes: 0 done; 1 training diverged (the last finite model is written); 2 any other error
    (bad options or data, files that cannot be read or written; usage errors from argparse
    too); 130 Ctrl-C (``train`` writes the model trained so far); 141 stdout closed early
    (``portnet predict ... | head``: nothing more is printed, as for a command the pipe's
    end stopped).
    """
    args = _parser().parse_args(argv)
    command = {"train": _train, "predict": _predict, "backends": _backends}[args.command]
    try:
        status = command(args)
        sys.stdout.flush()  # a closed pipe found here, not at exit
    except BrokenPipeError:
        _drop_stdout()
        return 141
    except KeyboardInterrupt:
        print("portnet: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the contract: a message, never a traceback
        print(f"portnet: error: {_message(exc)}", file=sys.stderr)
        return 2
    return status


#: errors the command expects (bad input, files, missing extras); any other is a bug
_EXPECTED = (ValueError, TypeError, OSError, ImportError, RuntimeError, ArithmeticError)


def _score(model: Any, X: Any, y: Any, w: Any) -> tuple[str, float]:
    """What the model's score is ("accuracy", "R²"; "(weighted)" with weights ``w``), and
    its value on ``(X, y)``."""
    what = ("accuracy" if model.is_classifier else "R²") + ("" if w is None else " (weighted)")
    return what, model.score(X, y, sample_weight=w)


def _message(exc: Exception) -> str:
    """``exc`` as the command says it: its options as flags (``--dtype float32`` for
    ``dtype='float32'``), an OS error with its file, an unexpected error as one."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror.lower()}"
    text = _MUST.sub(_as_flag, _FLAG.sub(_as_flag, str(exc))) or type(exc).__name__
    if not isinstance(exc, _EXPECTED):
        text = f"unexpected {type(exc).__name__}: {text} (a bug in portnet: please report it)"
    return text


#: ``name='value'`` in a message written for Python callers
_FLAG = re.compile(r"\b([a-z_]+)='([^']*)'")


#: ``name must ...`` in such a message (``learning_rate must be a finite number > 0``)
_MUST = re.compile(r"\b([a-z_]+)(?= must )")


@functools.cache
def _flags() -> frozenset[str]:
    """The options of the command's subcommands, as ``dest`` names (``learning_rate``)."""
    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return frozenset(
        action.dest
        for sub in commands.choices.values()
        for action in sub._actions
        if action.option_strings
    )


def _as_flag(match: re.Match[str]) -> str:
    """An option named as in Python (``learning_rate``, ``dtype='float32'``) as the command's
    flag (``--learning-rate``, ``--dtype float32``), where the command has that flag."""
    name, value = match[1], match.groups()[1:]
    if name not in OPTION_NAMES or name not in _flags():
        return match[0]
    return " ".join([f"--{name.replace('_', '-')}", *value])


def _drop_stdout() -> None:
    """Point stdout at the null device (Python's advice for a closed pipe, signal module
    docs): what is still buffered, and the interpreter's last flush, go nowhere quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real stdout (e.g. captured in tests)
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
