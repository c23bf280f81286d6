"""Pictures of a trained model: the cost curve and, for 2-D data, the decision boundary.

Needs matplotlib (``pip install 'portnet[plot]'``); portnet itself does not.  Files are
written with the non-interactive Agg backend, so this works without a screen.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ._backend import to_numpy
from .model import Model

__all__ = ["available", "cost_curve", "decision_boundary"]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(
            "plots need matplotlib, which is not installed: pip install 'portnet[plot]'"
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def available() -> bool:
    """Whether matplotlib can be used here."""
    try:
        _pyplot()
    except ImportError:
        return False
    return True


def cost_curve(model: Model, path: str | os.PathLike[str]) -> Path:
    """Plot ``model.history`` (training cost, and validation loss if any) to ``path``."""
    plt = _pyplot()
    history = model.history
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(history.step, history.cost, marker="o", markersize=3, label="training cost")
    if history.val_cost:
        ax.plot(history.step, history.val_cost, marker="s", markersize=3, label="validation loss")
        ax.legend()
    ax.set_xlabel("iteration")
    ax.set_ylabel("cost")
    ax.set_title(f"{model!r}".split(", backend")[0] + ")", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def decision_boundary(
    model: Model, X: Any, y: Any, path: str | os.PathLike[str], *, resolution: int = 300
) -> Path:
    """The classifier's predicted class over the plane, with the samples ``(X, y)`` on top.

    ``X`` must have two features (as the course's ``plot_decision_boundary``).
    """
    plt = _pyplot()
    X, y = np.asarray(to_numpy(X), dtype=np.float64), np.asarray(to_numpy(y))
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"a decision boundary needs 2-D data (m, 2), got shape {X.shape}")
    if not model.is_classifier:
        raise ValueError("a decision boundary needs a classifier; this model does regression")
    accuracy = model.score(X, y)
    pad = 0.05 * (X.max(axis=0) - X.min(axis=0)) + 0.5
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    xx, yy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    grid = np.stack([xx.ravel(), yy.ravel()], axis=1)  # (resolution², 2)
    classes = np.asarray(to_numpy(model.classes_))
    Z = np.asarray(to_numpy(model.predict(grid)))
    if Z.ndim == 2:  # one-hot / multi-label rows: colour by the first set column
        Z = np.argmax(Z, axis=1)
        y = np.argmax(y, axis=1) if y.ndim == 2 else y
    else:
        Z, y = np.searchsorted(classes, Z), np.searchsorted(classes, y)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(xx, yy, Z.reshape(xx.shape), alpha=0.35, cmap="Spectral")
    ax.scatter(X[:, 0], X[:, 1], c=y, s=12, cmap="Spectral", edgecolors="k", linewidths=0.3)
    ax.set_title(f"training accuracy {accuracy:.3f}", fontsize=9)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
