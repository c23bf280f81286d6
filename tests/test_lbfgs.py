"""L-BFGS (portnet/lbfgs.py) against independent references: the Wolfe conditions re-checked
on the host, a dense BFGS inverse, known minima, SciPy's L-BFGS-B; and in ``portnet.train``."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import portnet
from portnet import lbfgs
from portnet.activations import get_activation
from portnet.init import initial_params
from portnet.losses import get_loss
from portnet.network import Network, cost_and_gradients

from .conftest import host, on

X_PLANAR, Y_PLANAR = portnet.datasets.planar()  # (400, 2), (400,)
NET = Network(get_activation("tanh"), get_loss("binary_crossentropy"))
SIZES = [2, 4, 1]


def planar_problem(backend, dtype):
    """L-BFGS's ``value_and_grad`` of a 2-4-1 tanh network's cost on the planar data as the
    training loop runs it on ``backend`` (Dask: chunk by chunk, the vector on the host),
    its starting vector, ``read``, and the layer shapes."""
    be = on(backend)
    dt = be.dtype(dtype)
    X, Y = be.samples(be.asarray(X_PLANAR, dt), be.asarray(Y_PLANAR[:, None], dt))
    params = be.to_working(be.params(initial_params(SIZES, init="glorot", seed=0), dt))
    shapes = lbfgs.shapes_of(params)

    def value_and_grad(x):
        return lbfgs.objective(x, X, Y, net=NET, shapes=shapes, gradients=be.gradients)

    return value_and_grad, lbfgs.flatten(params), be.read, shapes


def host_cost(x, shapes):
    """The planar cost and gradient at ``x``, recomputed with NumPy in float64."""
    params = lbfgs.unflatten(np.asarray(host(x)), shapes)
    J, grads = cost_and_gradients(params, X_PLANAR, Y_PLANAR[:, None].astype(float), NET)
    return float(J), np.asarray(lbfgs.flatten(grads))


def iterates(value_and_grad, x, read, n, config=None):
    """``n`` iterations' states (the start first)."""
    states = [lbfgs.start(value_and_grad, x, read=read)]
    for _ in range(n):
        states.append(lbfgs.iterate(value_and_grad, states[-1], config or lbfgs.LBFGS(), read=read))
    return states


def test_wolfe_conditions_hold_at_every_accepted_step(backend, dtype):
    value_and_grad, x, read, shapes = planar_problem(backend, dtype)
    states = iterates(value_and_grad, x, read, 25)
    c1, c2 = lbfgs.LBFGS().c1, lbfgs.LBFGS().c2
    steps = [s.step for s in states[1:]]
    assert all(step.accepted for step in steps)
    for step in steps:  # what the line search saw
        assert step.alpha > 0
        assert step.slope0 < 0
        assert step.f <= step.f0 + c1 * step.alpha * step.slope0
        assert abs(step.slope) <= c2 * abs(step.slope0)
    if dtype == "float32":
        return  # float32's costs recomputed in float64 differ by more than c1's margin
    for before, after in itertools.pairwise(states):  # recomputed on the host
        f0, g0 = host_cost(before.x, shapes)
        f1, g1 = host_cost(after.x, shapes)
        s = host(after.x) - host(before.x)  # α·d: both conditions are homogeneous in α
        assert f1 <= f0 + c1 * (g0 @ s) + 1e-14 * abs(f0)
        assert abs(g1 @ s) <= c2 * abs(g0 @ s)
        assert after.f == pytest.approx(f1, rel=1e-12)


def test_iterations_agree_across_backends(backend):
    """The same iterates on every backend, in float64, as NumPy's (rounding aside)."""
    got = iterates(*planar_problem(backend, "float64")[:3], 15)[-1]
    want = iterates(*planar_problem("numpy", "float64")[:3], 15)[-1]
    assert got.iteration == want.iteration == 15
    assert got.f == pytest.approx(want.f, rel=1e-10)
    np.testing.assert_allclose(host(got.x), host(want.x), rtol=1e-7, atol=1e-9)


def dense_bfgs_inverse(pairs, gamma, n):
    """``H`` by the BFGS update (N&W 6.17) applied to ``H_0 = γ·I``, pair by pair, oldest first."""
    H = gamma * np.eye(n)
    for s, y in pairs:
        rho = 1.0 / (s @ y)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H


def test_two_loop_recursion_is_the_bfgs_inverse_of_its_pairs():
    rng = np.random.default_rng(0)
    n = 8
    B = rng.standard_normal((n, n))
    A = B @ B.T + n * np.eye(n)  # SPD: a quadratic's Hessian, so every yᵀs > 0
    pairs = [(s, A @ s) for s in rng.standard_normal((5, n))]
    gamma = pairs[-1][0] @ pairs[-1][1] / (pairs[-1][1] @ pairs[-1][1])
    memory = lbfgs.Memory(
        tuple(s for s, _ in pairs),
        tuple(y for _, y in pairs),
        tuple(1.0 / (s @ y) for s, y in pairs),
        gamma,
    )
    g = rng.standard_normal(n)
    np.testing.assert_allclose(
        lbfgs.two_loop(g, memory), dense_bfgs_inverse(pairs, gamma, n) @ g, rtol=1e-12
    )
    # the secant equation for the newest pair: H·y = s
    s, y = pairs[-1]
    np.testing.assert_allclose(lbfgs.two_loop(y, memory), s, rtol=1e-12)


def test_memory_keeps_the_newest_pairs_and_skips_flat_curvature():
    memory = lbfgs.Memory()
    for k in range(1, 6):
        step = lbfgs.Step(1.0, 0.0, -1.0, 0.0, 1.0, 1, True)  # sᵀy = α·(1 − (−1)) = 2
        memory = lbfgs.remember(memory, step, np.full(2, float(k)), np.ones(2), size=3, read=float)
    assert [float(s[0]) for s in memory.s] == [3.0, 4.0, 5.0]
    assert memory.rho == (0.5, 0.5, 0.5)
    assert memory.gamma == 2.0 / 2.0
    flat = lbfgs.Step(1.0, 0.0, -1.0, 0.0, -1.0, 1, True)  # sᵀy = 0
    assert lbfgs.remember(memory, flat, np.zeros(2), np.zeros(2), size=3, read=float) is memory


def quadratic(xp, dtype):
    """``½xᵀAx − bᵀx`` on ``xp``, its minimiser computed by NumPy."""
    rng = np.random.default_rng(1)
    B = rng.standard_normal((12, 12))
    A, b = B @ B.T + np.eye(12), rng.standard_normal(12)
    A_, b_ = xp.asarray(A, dtype=dtype), xp.asarray(b, dtype=dtype)

    def value_and_grad(x):
        Ax = A_ @ x
        return 0.5 * (x @ Ax) - b_ @ x, Ax - b_

    return value_and_grad, np.linalg.solve(A, b)


def rosenbrock(xp):
    """The n-dimensional Rosenbrock function and its gradient, written with ``xp``."""

    def value_and_grad(x):
        head, tail = x[:-1], x[1:]
        r = tail - head * head
        f = xp.sum(100.0 * r * r + (1.0 - head) ** 2)
        inner = -400.0 * head * r - 2.0 * (1.0 - head)  # ∂/∂x_i of the i-th term
        outer = 200.0 * r  # ∂/∂x_{i+1} of the i-th term
        zero = xp.zeros((1,), dtype=x.dtype)
        return f, xp.concat([inner, zero]) + xp.concat([zero, outer])

    return value_and_grad


def working(backend):
    """The namespace L-BFGS's vectors live in on ``backend`` (Dask: the host's) and its read."""
    be = on(backend)
    return be.to_working(be.asarray(np.zeros(1))), be.read


def test_converges_on_a_convex_quadratic(backend):
    zero, read = working(backend)
    xp = lbfgs.array_namespace(zero)
    value_and_grad, minimiser = quadratic(xp, zero.dtype)
    x0 = xp.zeros((12,), dtype=zero.dtype)
    # f is ≈ −1: a gradient much below 1e-7 changes it by less than its rounding
    found = lbfgs.minimize(value_and_grad, x0, gtol=1e-7, ftol=0.0, read=read)
    assert found.reason == "tol"
    assert found.iterations < 40
    np.testing.assert_allclose(host(found.x), minimiser, atol=1e-7)  # |x − x*| ≤ |g|/λ_min


@pytest.mark.parametrize("start", [[-1.2, 1.0], [-1.2, 1.0, -1.2, 1.0, 0.5], [3.0] * 20])
def test_converges_on_rosenbrock_to_its_minimum(backend, start):
    zero, read = working(backend)
    xp = lbfgs.array_namespace(zero)
    x0 = xp.asarray(start, dtype=zero.dtype)
    found = lbfgs.minimize(rosenbrock(xp), x0, gtol=1e-9, ftol=0.0, read=read)
    assert found.reason == "tol"
    np.testing.assert_allclose(host(found.x), np.ones(len(start)), atol=1e-8)
    assert found.f < 1e-16
    assert all(step.accepted for step in found.steps)


# -- against SciPy's L-BFGS-B, on small data ------------------------------------------------------
def small_data(name):
    """A scikit-learn toy data set, X standardised; y labels, or standardised targets; and
    y as the network's targets (0/1 column, one-hot rows, a real column)."""
    datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn is not installed")
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    if name == "diabetes":
        y = (y - y.mean()) / y.std()
        return X, y, y[:, None]
    if name == "iris":
        return X, y, np.eye(3)[y]
    return X, y, y[:, None].astype(float)


def scipy_lbfgs(X, y, Y, options, **scipy_options):
    """``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` of portnet's cost (NumPy,
    float64) from the starting parameters ``train`` takes with ``options``."""
    optimize = pytest.importorskip("scipy.optimize", reason="SciPy is not installed")
    start = portnet.train(X, y, iterations=0, dtype="float64", **options)
    shapes = lbfgs.shapes_of(start.params)

    def value_and_grad(x):
        J, g = lbfgs.objective(x, X, Y, net=start.network, shapes=shapes)
        return float(J), np.asarray(g)

    x0 = np.asarray(lbfgs.flatten(start.params))
    found = optimize.minimize(
        value_and_grad, x0, method="L-BFGS-B", jac=True, options=scipy_options
    )
    return found, value_and_grad, x0


#: (data set, hidden, l2, tolerance on the relative difference of the final losses)
AGAINST_SCIPY = {
    "breast_cancer-logistic": ("breast_cancer", (), 1.0, 1e-8),  # convex
    "iris-softmax": ("iris", (), 1.0, 1e-8),  # convex
    "diabetes-linear": ("diabetes", (), 1.0, 1e-8),  # convex
    "iris-10": ("iris", (10,), 1.0, 1e-5),
    "diabetes-10": ("diabetes", (10,), 1.0, 1e-5),
}


@pytest.mark.parametrize("case", AGAINST_SCIPY)
def test_train_ends_at_scipys_loss(case):
    """``train(optimizer="lbfgs")`` with SciPy's stopping rules (``tol`` as ``gtol``,
    ``iterations`` as ``maxiter``, SciPy's ``ftol`` and ``maxfun``) ends where SciPy does.
    (Measured: 3e-11, 5e-12, 0 on the convex ones, 4e-8 and 6e-7 with a hidden layer.)"""
    name, hidden, l2, tolerance = AGAINST_SCIPY[case]
    X, y, Y = small_data(name)
    options = {"hidden": hidden, "l2": l2, "activation": "tanh"}
    found, _, _ = scipy_lbfgs(X, y, Y, options, gtol=1e-8, maxiter=15_000)
    model = portnet.train(
        X, y, optimizer="lbfgs", tol=1e-8, iterations=15_000, dtype="float64", **options
    )
    assert model.stop_reason in ("tol", "ftol")
    assert found.status == 0
    assert model.history.cost[-1] == pytest.approx(found.fun, rel=tolerance)
    assert model.cost(X, y) == pytest.approx(model.history.cost[-1], rel=1e-12)


@pytest.mark.parametrize("name", ["breast_cancer", "iris", "diabetes"])
def test_minimize_reaches_scipys_minimum(name):
    """Run to the rounding floor (no ``ftol`` stop, which may end either a little early
    on a plateau), both reach the same local minimum of a hidden-layer network (measured:
    within 1e-14)."""
    X, y, Y = small_data(name)
    options = {"hidden": (10,), "l2": 1.0, "activation": "tanh"}
    found, value_and_grad, x0 = scipy_lbfgs(X, y, Y, options, gtol=1e-10, ftol=0.0)
    ours = lbfgs.minimize(value_and_grad, x0, gtol=1e-10, ftol=0.0)
    assert ours.f == pytest.approx(found.fun, rel=1e-10)
    np.testing.assert_allclose(ours.x, found.x, atol=1e-4)


def test_max_fun_stops_as_scipys_maxfun():
    """SciPy's rule: stop after the iteration in which the evaluations exceed ``maxfun``."""
    X, y, Y = small_data("breast_cancer")
    options = {"hidden": (), "l2": 1.0}
    for max_fun in (5, 10, 20):
        found, _, _ = scipy_lbfgs(X, y, Y, options, maxfun=max_fun)
        model = portnet.train(X, y, optimizer="lbfgs", max_fun=max_fun, **options)
        assert (model.stop_reason, model.n_steps) == ("max_fun", found.nit)
        assert model.history.cost[-1] == pytest.approx(found.fun, rel=1e-9)


# -- in portnet.train -----------------------------------------------------------------------------
def test_train_gives_the_same_loss_on_every_backend(backend):
    X, y, _ = small_data("iris")
    run = dict(optimizer="lbfgs", hidden=(10,), l2=1.0, tol=1e-8, dtype="float64", log_every=20)
    model = portnet.train(X, y, backend=backend, **run)
    reference = portnet.train(X, y, **run)
    assert model.stop_reason in ("tol", "ftol")
    assert model.history.cost[-1] == pytest.approx(reference.history.cost[-1], rel=1e-8)
    assert model.history.step[:-1] == list(range(0, model.n_steps, 20))
    assert model.history.step[-1] == model.n_steps


def test_train_float32_ends_by_a_stopping_rule(backend):
    model = portnet.train(X_PLANAR, Y_PLANAR, optimizer="lbfgs", backend=backend, dtype="float32")
    assert model.stop_reason in ("tol", "ftol", "line_search")
    assert model.history.cost[-1] < 0.5 * model.history.cost[0]


def test_the_loop_runs_the_pure_iterations():
    """``train`` takes the steps :func:`lbfgs.iterate` takes from the same start, with
    ``portnet.optimizers.lbfgs``'s settings, and logs every ``log_every`` iterations."""
    rule = portnet.optimizers.lbfgs(memory=3)
    model = portnet.train(X_PLANAR, Y_PLANAR, optimizer=rule, iterations=12, log_every=5)
    value_and_grad, x, read, shapes = planar_problem("numpy", "float64")
    states = iterates(value_and_grad, x, read, 12, rule)
    assert (model.n_steps, model.stop_reason) == (12, None)
    assert model.history.step == [0, 5, 10, 12]
    assert model.history.cost == pytest.approx([states[i].f for i in (0, 5, 10, 12)], rel=1e-12)
    want = lbfgs.unflatten(states[-1].x, shapes)
    for (W, b), (W_want, b_want) in zip(model.params, want, strict=True):
        np.testing.assert_allclose(W, W_want, rtol=1e-12)
        np.testing.assert_allclose(b, b_want, rtol=1e-12)
    assert portnet.optimizers.lbfgs(memory=3) is rule


def test_callbacks_stop_and_interrupt_keep_the_model():
    seen = []

    def stop_at_ten(step, cost, model):
        seen.append((step, cost, model.n_steps))
        return step < 10

    model = portnet.train(X_PLANAR, Y_PLANAR, optimizer="lbfgs", log_every=5, callbacks=stop_at_ten)
    assert (model.stop_reason, model.n_steps) == ("callback", 10)
    assert [s for s, _, _ in seen] == [0, 5, 10]
    assert [n for _, _, n in seen] == [0, 5, 10]
    assert [c for _, c, _ in seen] == model.history.cost

    def interrupt(step, cost, model):
        if step == 5:
            raise KeyboardInterrupt

    with pytest.raises(portnet.TrainingInterrupted) as caught:
        portnet.train(X_PLANAR, Y_PLANAR, optimizer="lbfgs", log_every=5, callbacks=interrupt)
    kept = caught.value.model
    assert (kept.stop_reason, kept.n_steps) == ("interrupted", 5)
    assert kept.cost(X_PLANAR, Y_PLANAR) == pytest.approx(kept.history.cost[-1], rel=1e-12)


def test_early_stopping_keeps_the_best_validation_loss():
    X, y, _ = small_data("breast_cancer")
    model = portnet.train(
        X, y, optimizer="lbfgs", hidden=(20,), early_stopping=True, n_iter_no_change=3,
        log_every=5, iterations=500,
    )  # fmt: skip
    best = int(np.argmin(model.history.val_cost))
    assert model.best_step == model.history.step[best]
    assert len(model.history.val_cost) == len(model.history.cost)


def test_epochs_verbose_and_a_model_trained_on(capsys):
    model = portnet.train(X_PLANAR, Y_PLANAR, optimizer="lbfgs", epochs=7, log_every=5,
                          verbose=True)  # fmt: skip
    assert model.n_steps == 7
    assert model.history.step == [0, 5, 7]
    assert capsys.readouterr().out.count("Cost after iteration") == 3
    more = model.fit(X_PLANAR, Y_PLANAR, optimizer="lbfgs", iterations=3)
    assert more.history.cost[0] == pytest.approx(model.history.cost[-1], rel=1e-12)
    assert more.history.cost[-1] < more.history.cost[0]


def test_a_start_with_no_finite_cost_is_a_divergence():
    params = [(W, b * math.nan) for W, b in portnet.train(X_PLANAR, Y_PLANAR, iterations=0).params]
    with pytest.raises(portnet.DivergenceError, match="training cannot start"):
        portnet.train(X_PLANAR, Y_PLANAR, optimizer="lbfgs", params=params)


def test_line_search_steps_back_from_a_cost_that_is_not_finite():
    """A first trial step far beyond where the cost overflows: zoom bisects back to a
    point of the Wolfe conditions (``(x − 1)²`` on ``x < 3``, infinite beyond)."""

    def value_and_grad(x):
        inside = float(x[0]) < 3.0
        return ((x[0] - 1.0) ** 2, 2.0 * (x - 1.0)) if inside else (np.inf, np.full(1, np.inf))

    x, (f, g) = np.zeros(1), value_and_grad(np.zeros(1))
    step, x_new, _ = lbfgs.line_search(
        value_and_grad, x, f, g, -g, 1000.0, config=lbfgs.LBFGS(), read=float
    )
    assert step.accepted
    assert step.f <= f + 1e-3 * step.alpha * step.slope0
    assert abs(step.slope) <= 0.9 * abs(step.slope0)
    assert 0 < float(x_new[0]) < 3.0


def test_a_kink_with_no_wolfe_point_is_crossed_to_the_lowest_point_found():
    """``max(−x, 3x)`` from −1: along ``−g`` the slope is −1 up to the kink and +3 beyond,
    so no point satisfies the strong Wolfe conditions (|slope| ≤ 0.9).  Without a memory
    to drop, the search ends at the lowest point with sufficient decrease it found, as
    SciPy's ends on its warnings, and the minimum is reached; with ``fallback=False`` the
    step is refused."""

    def value_and_grad(x):
        return float(np.sum(np.where(x < 0, -x, 3 * x))), np.where(x < 0, -1.0, 3.0)

    x, (f, g) = np.full(1, -1.0), value_and_grad(np.full(1, -1.0))
    config = lbfgs.LBFGS()
    refused, x_same, _ = lbfgs.line_search(value_and_grad, x, f, g, -g, 1.0, config=config)
    assert not refused.accepted
    assert float(x_same[0]) == -1.0
    step, x_new, _ = lbfgs.line_search(
        value_and_grad, x, f, g, -g, 1.0, config=config, fallback=True
    )
    assert step.accepted
    assert abs(step.slope) > config.c2 * abs(step.slope0)
    assert step.f <= f + config.c1 * step.alpha * step.slope0  # sufficient decrease
    assert step.f < 0.05
    assert step.f == value_and_grad(x_new)[0]
    result = lbfgs.minimize(value_and_grad, x)
    assert result.f == pytest.approx(0.0, abs=1e-12)
    assert result.reason == "line_search"  # at the kink itself no direction descends


def test_lbfgs_weighs_the_samples_as_repeating_them():
    """sample_weight reaches L-BFGS's objective: weight 2 is the sample twice (the cost
    and its gradient equal to rounding, so the iterates agree closely)."""
    X, y = portnet.datasets.planar()
    w = np.ones(400)
    w[:50] = 2.0
    weighted = portnet.train(X, y, optimizer="lbfgs", iterations=30, sample_weight=w)
    repeated = portnet.train(
        np.concatenate([X, X[:50]]), np.concatenate([y, y[:50]]), optimizer="lbfgs",
        iterations=30,
    )  # fmt: skip
    np.testing.assert_allclose(weighted.history.cost, repeated.history.cost, rtol=1e-9)
    unweighted = portnet.train(X, y, optimizer="lbfgs", iterations=30)
    assert abs(weighted.history.cost[-1] - unweighted.history.cost[-1]) > 1e-6
