"""Tests for portnet.datasets: exact agreement with the course code and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from portnet import datasets
from portnet.datasets import (
    NAMES,
    blobs,
    gaussian_quantiles,
    load,
    noisy_circles,
    noisy_moons,
    planar,
)

GENERATORS = {
    "planar": planar,
    "noisy_circles": noisy_circles,
    "noisy_moons": noisy_moons,
    "blobs": blobs,
    "gaussian_quantiles": gaussian_quantiles,
}


def course_load_planar_dataset(seed=1):
    """The course's ``load_planar_dataset`` verbatim, except for the seed argument."""
    np.random.seed(seed)
    m = 400
    N = int(m / 2)
    D = 2
    X = np.zeros((m, D))
    Y = np.zeros((m, 1), dtype="uint8")
    a = 4
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + np.random.randn(N) * 0.2  # theta
        r = a * np.sin(4 * t) + np.random.randn(N) * 0.2  # radius
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    X = X.T
    Y = Y.T
    return X, Y


@pytest.fixture
def global_rng_restored():
    state = np.random.get_state()
    yield
    np.random.set_state(state)


def assert_well_formed(X, y, m):
    assert X.shape == (m, 2)
    assert X.dtype == np.float64
    assert y.shape == (m,)
    assert y.dtype == np.int64
    assert set(np.unique(y).tolist()) <= {0, 1}
    assert np.all(np.isfinite(X))


# -- planar ----------------------------------------------------------------------------
@pytest.mark.usefixtures("global_rng_restored")
@pytest.mark.parametrize("seed", [1, 7])
def test_planar_matches_course(seed):
    X_ref, Y_ref = course_load_planar_dataset(seed)
    X, y = planar(seed=seed)
    np.testing.assert_array_equal(X, X_ref.T)
    np.testing.assert_array_equal(y, Y_ref.ravel())


def test_planar_defaults_shape_dtype_balance():
    X, y = planar()
    assert_well_formed(X, y, 400)
    np.testing.assert_array_equal(np.bincount(y), [200, 200])
    assert np.all(y[:200] == 0)
    assert np.all(y[200:] == 1)


@pytest.mark.parametrize("m", [2, 10, 50])
def test_planar_other_sizes(m):
    X, y = planar(m=m, noise=0.0)
    assert_well_formed(X, y, m)
    np.testing.assert_array_equal(np.bincount(y, minlength=2), [m // 2, m // 2])


def test_planar_zero_noise_is_the_exact_flower():
    X, _ = planar(m=10, noise=0.0)
    t = np.concatenate([np.linspace(0, 3.12, 5), np.linspace(3.12, 6.24, 5)])
    r = 4 * np.sin(4 * t)
    np.testing.assert_allclose(X, np.c_[r * np.sin(t), r * np.cos(t)])


@pytest.mark.usefixtures("global_rng_restored")
@pytest.mark.parametrize("name", NAMES)
def test_global_random_state_untouched(name):
    np.random.seed(123)
    before = np.random.get_state()
    load(name)
    after = np.random.get_state()
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]


# -- agreement with scikit-learn -------------------------------------------------------
SEEDS = [0, 3, 42]


@pytest.fixture(scope="module")
def skd():
    return pytest.importorskip("sklearn.datasets")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("m", [200, 51])
def test_noisy_circles_matches_sklearn(skd, seed, m):
    X_ref, y_ref = skd.make_circles(n_samples=m, factor=0.5, noise=0.3, random_state=seed)
    X, y = noisy_circles(m=m, seed=seed)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("m", [200, 51])
def test_noisy_moons_matches_sklearn(skd, seed, m):
    X_ref, y_ref = skd.make_moons(n_samples=m, noise=0.2, random_state=seed)
    X, y = noisy_moons(m=m, seed=seed)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


@pytest.mark.parametrize("seed", [5, 0, 42])
@pytest.mark.parametrize(("m", "centers"), [(200, 6), (53, 4), (3, 5)])
def test_blobs_matches_sklearn_mod_2(skd, seed, m, centers):
    X_ref, y_ref = skd.make_blobs(n_samples=m, random_state=seed, n_features=2, centers=centers)
    X, y = blobs(m=m, centers=centers, seed=seed)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref % 2)


def test_blobs_course_call(skd):
    """The course's exact call; six blobs of 34, 34, 33, 33, 33, 33 -> 100 per class."""
    X_ref, y_ref = skd.make_blobs(n_samples=200, random_state=5, n_features=2, centers=6)
    X, y = blobs()
    assert_well_formed(X, y, 200)
    np.testing.assert_array_equal(np.unique(y_ref), np.arange(6))
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref % 2)
    np.testing.assert_array_equal(np.bincount(y), [100, 100])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("m", [200, 51])
def test_gaussian_quantiles_matches_sklearn(skd, seed, m):
    X_ref, y_ref = skd.make_gaussian_quantiles(
        mean=None,
        cov=0.5,
        n_samples=m,
        n_features=2,
        n_classes=2,
        shuffle=True,
        random_state=seed,
    )
    X, y = gaussian_quantiles(m=m, seed=seed)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_gaussian_quantiles_split_by_radius():
    X, y = gaussian_quantiles()
    r = np.sum(X**2, axis=1)
    assert r[y == 0].max() <= r[y == 1].min()


# -- determinism and load --------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_deterministic(name):
    fn = GENERATORS[name]
    X1, y1 = fn(seed=11)
    X2, y2 = fn(seed=11)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = fn(seed=12)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name", NAMES)
def test_load_by_name(name):
    X, y = load(name, seed=2)
    X_ref, y_ref = GENERATORS[name](seed=2)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert_well_formed(X, y, X.shape[0])


def test_names():
    assert tuple(GENERATORS) == NAMES
    assert set(datasets.__all__) >= {"NAMES", "load", *NAMES}


def test_load_passes_options():
    X, y = load("planar", m=20, noise=0.1)
    np.testing.assert_array_equal(X, planar(m=20, noise=0.1)[0])
    assert_well_formed(X, y, 20)


def test_load_unknown_name():
    with pytest.raises(ValueError, match=r"unknown data set 'spiral'.*planar.*blobs"):
        load("spiral")


def test_load_unknown_option():
    with pytest.raises(TypeError, match="unexpected keyword"):
        load("noisy_moons", factor=0.5)


# -- validation ------------------------------------------------------------------------
def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        planar(400)  # type: ignore[misc]


@pytest.mark.parametrize("m", [3, 401])
def test_planar_odd_m(m):
    with pytest.raises(ValueError, match=rf"m must be an even int .*got {m}"):
        planar(m=m)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("m", [0, -4])
def test_m_not_positive(name, m):
    with pytest.raises(ValueError, match=rf"m must be an integer >= \d, got {m}"):
        load(name, m=m)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("m", [200.0, "200", True, None])
def test_m_not_int(name, m):
    with pytest.raises(TypeError, match=r"m must be an integer >= \d, got"):
        load(name, m=m)


def test_m_numpy_int_accepted():
    X, y = noisy_moons(m=np.int64(10))
    assert_well_formed(X, y, 10)


def test_gaussian_quantiles_needs_two_samples():
    with pytest.raises(ValueError, match="m must be an integer >= 2, got 1"):
        gaussian_quantiles(m=1)


@pytest.mark.parametrize("name", ["planar", "noisy_circles", "noisy_moons"])
@pytest.mark.parametrize("noise", [-0.1, float("nan"), float("inf")])
def test_bad_noise(name, noise):
    with pytest.raises(ValueError, match=r"noise must be a finite number >= 0, got"):
        load(name, noise=noise)


def test_noise_not_real():
    with pytest.raises(TypeError, match=r"noise must be a finite number >= 0, got '0\.2'"):
        noisy_moons(noise="0.2")


@pytest.mark.parametrize("cov", [-1.0, float("nan")])
def test_bad_cov(cov):
    with pytest.raises(ValueError, match=r"cov must be a finite number >= 0, got"):
        gaussian_quantiles(cov=cov)


@pytest.mark.parametrize("factor", [-0.5, 1.0, 2])
def test_bad_factor(factor):
    with pytest.raises(ValueError, match=r"factor must be a finite number >= 0 and < 1, got"):
        noisy_circles(factor=factor)


@pytest.mark.parametrize("centers", [0, -1])
def test_bad_centers(centers):
    with pytest.raises(ValueError, match=rf"centers must be an integer >= 1, got {centers}"):
        blobs(centers=centers)


def test_centers_not_int():
    with pytest.raises(TypeError, match=r"centers must be an integer >= 1, got 6\.0"):
        blobs(centers=6.0)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [-1, 2**32])
def test_bad_seed_value(name, seed):
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*32 - 1\]"):
        load(name, seed=seed)


@pytest.mark.parametrize("seed", [None, 1.0, "1"])
def test_bad_seed_type(seed):
    with pytest.raises(TypeError, match="seed must be an int, got"):
        planar(seed=seed)


def test_zero_noise_and_cov_allowed():
    for X, y in (
        noisy_moons(noise=0),
        noisy_circles(noise=0.0),
        gaussian_quantiles(cov=0),
    ):
        assert_well_formed(X, y, 200)
