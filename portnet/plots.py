"""Pictures of a trained model: the cost curve and, for 2-D data, the decision boundary.

Needs matplotlib (``pip install 'portnet[plot]'``); portnet itself does not.  Files are
written with the non-interactive Agg backend, so this works without a screen.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._backend import to_numpy
from .model import Model

__all__ = [
    "available",
    "class_colours",
    "class_index",
    "cost_curve",
    "decision_boundary",
    "draw_boundary",
]


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
    model: Model,
    X: Any,
    y: Any,
    path: str | os.PathLike[str],
    *,
    resolution: int = 300,
    feature_names: Sequence[str] | None = None,
) -> Path:
    """The classifier's predicted class over the plane, with the samples ``(X, y)`` on top.

    ``X`` must have two features (as the course's ``plot_decision_boundary``). Each class
    has one colour in the regions, the points and the legend (which names the classes as
    ``y`` gives them), whichever classes are predicted. The axes are labelled
    ``feature_names`` (default: a DataFrame's column names, else x₁ and x₂).
    """
    plt = _pyplot()
    names = _feature_names(X, feature_names)
    X, y = np.asarray(to_numpy(X), dtype=np.float64), np.asarray(to_numpy(y))
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"a decision boundary needs 2-D data (m, 2), got shape {X.shape}")
    if not model.is_classifier:
        raise ValueError("a decision boundary needs a classifier; this model does regression")
    fig, ax = plt.subplots(figsize=(5, 5))
    draw_boundary(ax, model, X, y, resolution=resolution)
    ax.set_title(f"training accuracy {model.score(X, y):.3f}", fontsize=9)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def draw_boundary(ax: Any, model: Model, X: np.ndarray, y: np.ndarray, *, resolution: int) -> None:
    """The regions (``contourf``), the points (``scatter``) and the legend on ``ax``, all
    coloured by :func:`class_colours`."""
    from matplotlib.patches import Patch

    pad = 0.05 * (X.max(axis=0) - X.min(axis=0)) + 0.5
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    xx, yy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    grid = np.stack([xx.ravel(), yy.ravel()], axis=1)  # (resolution², 2)
    labels = np.asarray(to_numpy(model.classes_))
    regions = class_index(np.asarray(to_numpy(model.predict(grid))), labels)
    cmap, norm = class_colours(len(labels))
    levels = np.arange(len(labels) + 1) - 0.5  # one band per class, predicted or not
    ax.contourf(xx, yy, regions.reshape(xx.shape), levels=levels, cmap=cmap, norm=norm, alpha=0.35)
    points = class_index(y, labels)
    ax.scatter(
        X[:, 0], X[:, 1], c=points, cmap=cmap, norm=norm, s=12, edgecolors="k", linewidths=0.3
    )
    handles = [
        Patch(facecolor=cmap(norm(i)), edgecolor="k", label=str(label))
        for i, label in enumerate(labels)
    ]
    ax.legend(handles=handles, title="class", fontsize=8, loc="best")


def class_colours(k: int) -> tuple[Any, Any]:
    """One colour per class index ``0 .. k-1``: a ``ListedColormap`` of ``k`` colours spread
    over Spectral and a ``BoundaryNorm`` mapping index ``i`` to colour ``i``, so regions,
    points and legend agree whatever subset of the classes each shows."""
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm, ListedColormap

    spectral = colormaps["Spectral"]
    colours = spectral(np.linspace(0.0, 1.0, k)) if k > 1 else spectral([0.0])
    return ListedColormap(colours), BoundaryNorm(np.arange(k + 1) - 0.5, k)


def class_index(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each prediction or label in ``values`` as its index in the model's ``labels``
    (``classes_``); a one-hot or multi-label row as its first set column."""
    values = np.asarray(values)
    if values.ndim == 2:
        return np.argmax(values, axis=1)
    index = np.searchsorted(labels, values)
    found = (index < len(labels)) & (labels[np.minimum(index, len(labels) - 1)] == values)
    if not found.all():
        unknown = np.unique(values[~found])[:5].tolist()
        raise ValueError(f"labels {unknown} are not among the model's classes {labels.tolist()}")
    return index


def _feature_names(X: Any, given: Sequence[str] | None) -> list[str]:
    """The axis labels: ``given``, a DataFrame's columns, or x₁ and x₂."""
    names = given if given is not None else getattr(X, "columns", None)
    if names is None:
        return ["$x_1$", "$x_2$"]
    names = [str(name) for name in names]
    if len(names) != 2:
        raise ValueError(f"feature_names must name the 2 columns of X, got {names}")
    return names
