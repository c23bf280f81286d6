"""Toy 2-D classification data sets from the "planar data classification" assignment.

Everything is generated here with NumPy only (no download, no scikit-learn), from a
local ``np.random.RandomState(seed)``, so global random state is never touched.  All
functions return samples-first arrays: ``X`` float64 of shape ``(m, 2)`` and ``y``
int64 of shape ``(m,)`` with labels 0/1.

* :func:`planar` reproduces the course's ``load_planar_dataset()`` point for point
  (transposed to samples-first).
* :func:`noisy_circles`, :func:`noisy_moons`, :func:`blobs` and
  :func:`gaussian_quantiles` reproduce the course's ``load_extra_datasets()``: they draw
  in exactly the order scikit-learn's ``make_circles``, ``make_moons``, ``make_blobs``
  and ``make_gaussian_quantiles`` do, so each returns the same data as its scikit-learn
  counterpart called with ``random_state=seed`` (blob labels are taken mod 2).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ._checks import integer, real

__all__ = [
    "NAMES",
    "blobs",
    "gaussian_quantiles",
    "load",
    "noisy_circles",
    "noisy_moons",
    "planar",
]

Dataset = tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]


# -- validation ------------------------------------------------------------------------
def _rng(seed: object) -> np.random.RandomState:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an int in [0, 2**32 - 1], got {seed!r}")
    return np.random.RandomState(int(seed))


# -- shared helpers (scikit-learn's draw order) ----------------------------------------
def _shuffle(rng: np.random.RandomState, X: np.ndarray, y: np.ndarray) -> Dataset:
    # sklearn.utils.shuffle: an arange permuted in place by the generator.
    idx = np.arange(X.shape[0])
    rng.shuffle(idx)
    return X[idx], y[idx]


def _two_arcs(
    rng: np.random.RandomState,
    outer: tuple[np.ndarray, np.ndarray],
    inner: tuple[np.ndarray, np.ndarray],
    noise: float,
) -> Dataset:
    # Common tail of make_circles / make_moons: stack, label, shuffle, then add noise.
    X = np.column_stack([np.append(outer[0], inner[0]), np.append(outer[1], inner[1])])
    y = np.repeat(np.array([0, 1], dtype=np.int64), [outer[0].size, inner[0].size])
    X, y = _shuffle(rng, X, y)
    X += rng.normal(scale=noise, size=X.shape)
    return X, y


# -- data sets -------------------------------------------------------------------------
def planar(*, m: int = 400, seed: int = 1, noise: float = 0.2) -> Dataset:
    """The course's flower: two interleaved petal-shaped classes.

    Same points as the course's ``load_planar_dataset()`` (which seeds the global
    generator with ``np.random.seed(1)``) for the same seed, transposed to
    samples-first.

    Parameters
    ----------
    m : int, default=400
        Number of samples; must be even (``m // 2`` per class).
    seed : int, default=1
        Seed of the local ``np.random.RandomState``.
    noise : float, default=0.2
        Standard deviation of the Gaussian noise on both angle and radius.

    Returns
    -------
    X : ndarray of shape (m, 2), float64
    y : ndarray of shape (m,), int64
        Class 0 for the first ``m // 2`` samples, class 1 for the rest.
    """
    m = integer("m", m)
    if m % 2:
        raise ValueError(f"m must be an even int (m // 2 points per class), got {m}")
    noise = real("noise", noise)
    rng = _rng(seed)
    n, a = m // 2, 4
    X = np.zeros((m, 2))
    y = np.repeat(np.array([0, 1], dtype=np.int64), n)
    for j in range(2):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, n) + rng.randn(n) * noise
        r = a * np.sin(4 * t) + rng.randn(n) * noise
        X[n * j : n * (j + 1)] = np.c_[r * np.sin(t), r * np.cos(t)]
    return X, y


def noisy_circles(
    *, m: int = 200, factor: float = 0.5, noise: float = 0.3, seed: int = 0
) -> Dataset:
    """A large circle (class 0) around a smaller one (class 1), with Gaussian noise.

    Equals ``sklearn.datasets.make_circles(n_samples=m, factor=factor, noise=noise,
    random_state=seed)``.

    Parameters
    ----------
    m : int, default=200
        Number of samples; the inner circle gets the extra one when ``m`` is odd.
    factor : float, default=0.5
        Inner radius over outer radius, in ``[0, 1)``.
    noise : float, default=0.3
        Standard deviation of the Gaussian noise added to the points.
    seed : int, default=0
        Seed of the local ``np.random.RandomState``.

    Returns
    -------
    X : ndarray of shape (m, 2), float64
    y : ndarray of shape (m,), int64
    """
    m = integer("m", m)
    factor = real("factor", factor, below=1.0)
    noise = real("noise", noise)
    rng = _rng(seed)
    n_out = m // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, m - n_out, endpoint=False)
    outer = (np.cos(t_out), np.sin(t_out))
    inner = (np.cos(t_in) * factor, np.sin(t_in) * factor)
    return _two_arcs(rng, outer, inner, noise)


def noisy_moons(*, m: int = 200, noise: float = 0.2, seed: int = 0) -> Dataset:
    """Two interleaving half circles, with Gaussian noise.

    Equals ``sklearn.datasets.make_moons(n_samples=m, noise=noise, random_state=seed)``.

    Parameters
    ----------
    m : int, default=200
        Number of samples; the second moon gets the extra one when ``m`` is odd.
    noise : float, default=0.2
        Standard deviation of the Gaussian noise added to the points.
    seed : int, default=0
        Seed of the local ``np.random.RandomState``.

    Returns
    -------
    X : ndarray of shape (m, 2), float64
    y : ndarray of shape (m,), int64
    """
    m = integer("m", m)
    noise = real("noise", noise)
    rng = _rng(seed)
    t_out = np.linspace(0, np.pi, m // 2)
    t_in = np.linspace(0, np.pi, m - m // 2)
    outer = (np.cos(t_out), np.sin(t_out))
    inner = (1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5)
    return _two_arcs(rng, outer, inner, noise)


def blobs(*, m: int = 200, centers: int = 6, seed: int = 5) -> Dataset:
    """Isotropic unit-variance Gaussian blobs, labelled by blob index mod 2.

    ``X`` equals ``sklearn.datasets.make_blobs(n_samples=m, n_features=2,
    centers=centers, random_state=seed)[0]`` and ``y`` its labels ``% 2``: centres
    are uniform in ``[-10, 10)**2``, samples split as evenly as possible between blobs.

    Parameters
    ----------
    m : int, default=200
        Number of samples.
    centers : int, default=6
        Number of blobs.
    seed : int, default=5
        Seed of the local ``np.random.RandomState``.

    Returns
    -------
    X : ndarray of shape (m, 2), float64
    y : ndarray of shape (m,), int64
    """
    m = integer("m", m)
    k = integer("centers", centers)
    rng = _rng(seed)
    locs = rng.uniform(-10.0, 10.0, size=(k, 2))
    sizes = [m // k + (i < m % k) for i in range(k)]
    X = np.concatenate(
        [rng.normal(loc=c, scale=1.0, size=(n, 2)) for c, n in zip(locs, sizes, strict=True)]
    )
    y = np.repeat(np.arange(k, dtype=np.int64), sizes)
    X, y = _shuffle(rng, X, y)
    return X, y % 2


def gaussian_quantiles(*, m: int = 200, cov: float = 0.5, seed: int = 0) -> Dataset:
    """A centred isotropic Gaussian split into two classes by distance to the origin.

    Equals ``sklearn.datasets.make_gaussian_quantiles(cov=cov, n_samples=m,
    n_features=2, n_classes=2, random_state=seed)``: the ``m // 2`` points nearest the
    origin are class 0, the rest class 1.

    Parameters
    ----------
    m : int, default=200
        Number of samples, at least 2.
    cov : float, default=0.5
        Variance of each coordinate (covariance ``cov * I``).
    seed : int, default=0
        Seed of the local ``np.random.RandomState``.

    Returns
    -------
    X : ndarray of shape (m, 2), float64
    y : ndarray of shape (m,), int64
    """
    m = integer("m", m, minimum=2)
    cov = real("cov", cov)
    rng = _rng(seed)
    X = rng.multivariate_normal(np.zeros(2), cov * np.identity(2), (m,))
    X = X[np.argsort(np.sum(X**2, axis=1))]
    y = (np.arange(m) >= m // 2).astype(np.int64)
    return _shuffle(rng, X, y)


_LOADERS: dict[str, Callable[..., Dataset]] = {
    "planar": planar,
    "noisy_circles": noisy_circles,
    "noisy_moons": noisy_moons,
    "blobs": blobs,
    "gaussian_quantiles": gaussian_quantiles,
}

NAMES: tuple[str, ...] = tuple(_LOADERS)


def load(name: str, **kwargs: object) -> Dataset:
    """Generate a data set by name.

    Parameters
    ----------
    name : str
        One of :data:`NAMES`.
    **kwargs
        Keyword options of the named generator (``m``, ``seed``, ``noise``, ...).

    Returns
    -------
    X : ndarray of shape (m, 2), float64
    y : ndarray of shape (m,), int64
    """
    if not isinstance(name, str) or name not in _LOADERS:
        raise ValueError(f"unknown data set {name!r}; expected one of {', '.join(NAMES)}")
    return _LOADERS[name](**kwargs)
