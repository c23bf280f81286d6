"""scikit-learn's MLPClassifier/MLPRegressor against portnet's drop-ins, at equal epochs.

    python benchmarks/bench_mlp.py [--samples 100000] [--epochs 20] [--backend numpy ...]
    python benchmarks/bench_mlp.py --seeds 5     # scores with independent seeds instead

Each row fits both estimators with the same parameters and ``random_state`` (so the same
network, batches and updates: ``tol=0`` and ``max_iter`` epochs, no early stop), ``--repeat``
times, and prints the best wall time of each, their ratio, and the held-out score of each.
portnet runs on each ``--backend`` (the data moved there first; timings include reading the
results back).  A benchmark, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn import neural_network as sk
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import portnet.sklearn as ours
from portnet._backend import resolve_backend


def problems(samples: int) -> dict[str, tuple[np.ndarray, np.ndarray, bool]]:
    """name: (X, y, is_classification), the issue's data sets, X standardised."""

    def load(loader):
        X, y = loader(return_X_y=True)
        return X, y

    found = {
        "digits": (*load(datasets.load_digits), True),
        "breast_cancer": (*load(datasets.load_breast_cancer), True),
        "wine": (*load(datasets.load_wine), True),
        "iris": (*load(datasets.load_iris), True),
        "diabetes": (*load(datasets.load_diabetes), False),
        "moons": (*datasets.make_moons(samples, noise=0.2, random_state=0), True),
        "classification": (*datasets.make_classification(samples, random_state=0), True),
        "regression": (*datasets.make_regression(samples, noise=10.0, random_state=0), False),
    }
    for name, (X, y, classify) in found.items():
        X = StandardScaler().fit_transform(X)
        y = y if classify else (y - y.mean()) / y.std()
        found[name] = (X, y, classify)
    return found


def timed(kind, params, X, y, X_test, y_test, repeat: int) -> tuple[float, float]:
    best, score = np.inf, np.nan
    for _ in range(repeat):
        start = time.perf_counter()
        estimator = kind(**params).fit(X, y)
        best = min(best, time.perf_counter() - start)
        score = estimator.score(X_test, y_test)
    return best, score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", action="append", default=None)
    parser.add_argument("--only", action="append", default=None, help="data sets to run")
    parser.add_argument(
        "--seeds",
        type=int,
        default=0,
        help="instead of timing: each estimator's held-out score over this many independent "
        "random_state values (scikit-learn 0.., portnet 1000..): mean and standard deviation",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    if args.seeds:
        seed_noise(args)
        return
    params = {"max_iter": args.epochs, "tol": 0.0, "random_state": 0}
    print(f"{'data':15s} {'backend':10s} {'sklearn s':>10s} {'portnet s':>10s} {'ratio':>6s} "
          f"{'sklearn':>8s} {'portnet':>8s}")  # fmt: skip
    for name, (X, y, classify) in problems(args.samples).items():
        if args.only and name not in args.only:
            continue
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
        theirs, mine = (
            (sk.MLPClassifier, ours.MLPClassifier)
            if classify
            else (sk.MLPRegressor, ours.MLPRegressor)
        )
        base = timed(theirs, params, X_train, y_train, X_test, y_test, args.repeat)
        for backend in args.backend or ["numpy"]:
            be = resolve_backend(backend)
            data = [be.asarray(a) for a in (X_train, y_train, X_test, y_test)]
            got = timed(mine, params, *data, args.repeat)
            print(f"{name:15s} {backend:10s} {base[0]:10.3f} {got[0]:10.3f} "
                  f"{got[0] / base[0]:6.2f} {base[1]:8.4f} {got[1]:8.4f}")  # fmt: skip


def seed_noise(args: argparse.Namespace) -> None:
    """Held-out scores with independent seeds: is portnet's within scikit-learn's seed noise?
    (``|Δmean| ≤ 2·√(sd₁² + sd₂²)/√n`` is said "within")."""
    print(f"{'data':15s} {'sklearn mean ± sd':>20s} {'portnet mean ± sd':>20s} {'within':>7s}")
    for name, (X, y, classify) in problems(args.samples).items():
        if args.only and name not in args.only:
            continue
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
        kinds = (
            (sk.MLPClassifier, ours.MLPClassifier)
            if classify
            else (sk.MLPRegressor, ours.MLPRegressor)
        )
        scores = [
            np.array([
                kind(max_iter=args.epochs, random_state=first + i).fit(X_train, y_train)
                .score(X_test, y_test)
                for i in range(args.seeds)
            ])
            for kind, first in zip(kinds, (0, 1000), strict=True)
        ]  # fmt: skip
        (m1, s1), (m2, s2) = ((a.mean(), a.std(ddof=1)) for a in scores)
        within = abs(m1 - m2) <= 2 * np.hypot(s1, s2) / np.sqrt(args.seeds)
        print(f"{name:15s} {m1:11.4f} ± {s1:6.4f} {m2:11.4f} ± {s2:6.4f} {within!s:>7s}")


if __name__ == "__main__":
    main()
