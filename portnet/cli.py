"""The ``portnet`` command.

``portnet train`` trains a network on a built-in data set (by default the course's shallow
tanh network on the planar flower, with NumPy) and prints the cost every ``--log-every``
steps and the final training accuracy.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from . import __version__, datasets
from ._backend import BACKENDS
from .activations import ACTIVATIONS
from .init import INITIALIZERS
from .optimizers import DEFAULT_LEARNING_RATES, OPTIMIZERS
from .training import train

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
    tr = commands.add_parser(
        "train",
        help="train a network on a built-in data set",
        description="Train a network and report the cost and the training accuracy. "
        "Defaults: the course's 2-4-1 tanh network on the planar flower, NumPy.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    tr.add_argument("--data", choices=datasets.NAMES, default="planar", help="built-in data set")
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
    tr.add_argument("--l2", type=float, default=0.0, help="L2 strength λ")
    tr.add_argument("--init", choices=("auto", *INITIALIZERS), default="auto")
    tr.add_argument("--seed", type=int, default=0, help="initialiser seed")
    tr.add_argument("--backend", choices=BACKENDS, default="numpy")
    tr.add_argument("--device", default=None, help="e.g. cpu:1 (JAX), cuda:0 (torch)")
    tr.add_argument("--dtype", choices=("float32", "float64"), default=None)
    tr.add_argument("--log-every", type=int, default=1000, help="print the cost every N steps")
    return parser


def _train(args: argparse.Namespace) -> int:
    if args.backend == "jax" and args.dtype == "float64":
        import jax  # the command owns its process: float64 asked for explicitly turns on x64

        jax.config.update("jax_enable_x64", True)
    X, y = datasets.load(args.data)
    print(f"data: {args.data} ({X.shape[0]} samples, {X.shape[1]} features)")
    start = time.perf_counter()
    model = train(
        X,
        y,
        hidden=args.hidden,
        activation=args.activation,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        iterations=args.iterations,
        epochs=args.epochs,
        batch_size=args.batch_size,
        l2=args.l2,
        init=args.init,
        seed=args.seed,
        backend=args.backend,
        device=args.device,
        dtype=args.dtype,
        log_every=args.log_every,
        verbose=True,
    )
    seconds = time.perf_counter() - start
    print(f"model: {model}")
    print(f"training accuracy: {model.score(X, y):.4f}")
    print(f"time: {seconds:.2f} s for {model.n_steps} iterations")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``portnet`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _train(args)
    except (ValueError, TypeError, ImportError) as exc:
        print(f"portnet: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
