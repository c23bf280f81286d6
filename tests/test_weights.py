"""Sample and class weights in the cost and its gradients, on every backend.

The weighted cost ``J = (1/Σw)·Σ_i w_i·L_i + (λ/2Σw)·Σ‖W‖²`` and its gradients against a
hand computation in NumPy float64, central finite differences and scikit-learn's own MLP
backpropagation; integer weights against repeated samples, zero weights against dropped
ones, all-ones weights against no weights (bit for bit), class weights against the
explicit sample weights they stand for (and scikit-learn's ``compute_class_weight``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from array_api_extra.testing import assert_close

import portnet
from portnet import activations, losses, network
from portnet._weights import class_factors
from portnet.network import Layer, Network

from .conftest import host, needs, on

X_PLANAR, Y_PLANAR = portnet.datasets.planar()  # (400, 2), (400,) labels 0/1
COUNTS = np.random.default_rng(3).integers(0, 4, 400)  # integer weights, zeros among them
LOSSES = tuple(losses.LOSSES)
TRAIN = {"hidden": (4,), "iterations": 120, "log_every": 40, "dtype": "float64"}


def problem(loss: str, l2: float, m: int = 9):
    """A small random problem in NumPy float64: params of a 3-4-k tanh net, X, Y, the
    network, weights (a zero among them)."""
    rng = np.random.default_rng(11)
    k = {"binary_crossentropy": 1, "categorical_crossentropy": 3}.get(loss, 2)
    params = tuple(
        Layer(rng.standard_normal((o, i)) * 0.8, rng.standard_normal(o) * 0.5)
        for i, o in itertools.pairwise((3, 4, k))
    )
    X = rng.standard_normal((m, 3))
    if loss == "binary_crossentropy":
        Y = rng.integers(0, 2, (m, 1)).astype(np.float64)
    elif loss == "categorical_crossentropy":
        Y = np.eye(k)[rng.integers(0, k, m)]
    elif loss == "poisson":
        Y = rng.poisson(2.0, (m, k)).astype(np.float64)  # counts, zeros among them
    else:
        Y = rng.standard_normal((m, k))
    w = rng.uniform(0.1, 3.0, m)
    w[2] = 0.0
    return params, X, Y, Network(activations.tanh, losses.get_loss(loss), l2), w


def by_hand(params, X, Y, net, w):
    """The weighted cost and gradients written out in NumPy float64, samples first."""
    (W1, b1), (W2, b2) = params
    A1 = np.tanh(X @ W1.T + b1)  # (m, 4)
    Z = A1 @ W2.T + b2  # (m, k)
    if net.loss.name == "binary_crossentropy":
        A = 1 / (1 + np.exp(-Z))
        L = np.sum(np.logaddexp(0, Z) - Z * Y, axis=1)
    elif net.loss.name == "categorical_crossentropy":
        A = np.exp(Z - Z.max(axis=1, keepdims=True))
        A /= A.sum(axis=1, keepdims=True)
        L = -np.sum(Y * np.log(A), axis=1)
    elif net.loss.name == "poisson":  # half the deviance: e^z − y·z + y·log y − y
        A = np.exp(Z)
        y_log_y = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1.0)), 0.0)
        L = np.sum(A - Y * Z + y_log_y - Y, axis=1)
    else:
        A = Z
        L = 0.5 * np.sum((Z - Y) ** 2, axis=1)
    total, lam = w.sum(), net.l2
    J = np.sum(w * L) / total + lam / (2 * total) * (np.sum(W1**2) + np.sum(W2**2))
    dZ2 = w[:, None] * (A - Y) / total  # (m, k)
    dZ1 = (dZ2 @ W2) * (1 - A1**2)  # (m, 4)
    grads = (
        Layer(dZ1.T @ X + lam / total * W1, dZ1.sum(axis=0)),
        Layer(dZ2.T @ A1 + lam / total * W2, dZ2.sum(axis=0)),
    )
    return J, grads


def flat(params) -> np.ndarray:
    return np.concatenate([np.ravel(host(p)) for layer in params for p in layer])


def placed(be, dt, params, *arrays):
    return (
        tuple(Layer(be.asarray(W, dt), be.asarray(b, dt)) for W, b in params),
        *(be.asarray(a, dt) for a in arrays),
    )


# -- the equations ---------------------------------------------------------------------------------
@pytest.mark.parametrize("l2", [0.0, 0.7])
@pytest.mark.parametrize("loss", LOSSES)
def test_weighted_cost_and_gradients_are_the_hand_computation(backend, dtype, loss, l2):
    params, X, Y, net, w = problem(loss, l2)
    J_want, grads_want = by_hand(params, X, Y, net, w)
    be = on(backend)
    dt = be.dtype(dtype)
    bparams, bX, bY, bw = placed(be, dt, params, X, Y, w)
    J, grads = network.cost_and_gradients(bparams, bX, bY, net, w=bw, ops=be.ops())
    rtol, atol = (1e-12, 1e-14) if dtype == "float64" else (2e-5, 2e-6)
    assert grads[0].W.dtype == dt
    assert_close(flat(grads), flat(grads_want), rtol=rtol, atol=atol)
    assert be.read(J) == pytest.approx(J_want, rel=rtol)
    assert be.read(network.cost(bparams, bX, bY, net, w=bw)) == pytest.approx(J_want, rel=rtol)


@pytest.mark.parametrize("l2", [0.0, 0.7])
@pytest.mark.parametrize("loss", LOSSES)
def test_weighted_gradients_match_finite_differences(loss, l2):
    params, X, Y, net, w = problem(loss, l2)
    _, grads = network.cost_and_gradients(params, X, Y, net, w=w)
    theta, h = flat(params), 1e-6
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        J = [network.cost(_unflat(theta + s * e, params), X, Y, net, w=w) for s in (1, -1)]
        numeric[i] = (J[0] - J[1]) / (2 * h)
    assert_close(flat(grads), numeric, rtol=1e-6, atol=1e-8)


def _unflat(theta, like):
    out, i = [], 0
    for W, b in like:
        out.append(
            Layer(theta[i : i + W.size].reshape(W.shape), theta[i + W.size : i + W.size + b.size])
        )
        i += W.size + b.size
    return tuple(out)


#: scikit-learn's output activation for each loss
OUT_ACTIVATION = {"binary_crossentropy": "logistic", "categorical_crossentropy": "softmax",
                  "squared_error": "identity", "poisson": "exp"}  # fmt: skip


@pytest.mark.parametrize("loss", LOSSES)
def test_weighted_cost_and_gradients_are_scikit_learns(loss):
    """scikit-learn's MLP backpropagation (``_backprop``: the loss averaged with weights over
    the batch's ``Σw``, the L2 term ``α/(2Σw)·Σ‖W‖²``) on the same network: its numbers."""
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    params, X, Y, net, w = problem(loss, 0.7)
    regression = loss in ("squared_error", "poisson")
    if regression:  # one output: scikit-learn's regression losses average over outputs
        (W1, b1), (W2, b2) = params
        params, Y = (Layer(W1, b1), Layer(W2[:1], b2[:1])), Y[:, :1]
    kind = {"loss": loss} if loss == "poisson" else {}
    mlp = (MLPRegressor if regression else MLPClassifier)(activation="tanh", alpha=0.7, **kind)
    mlp.coefs_ = [np.array(W.T) for W, _ in params]
    mlp.intercepts_ = [np.array(b) for _, b in params]
    mlp.n_layers_, mlp.n_outputs_, mlp.out_activation_ = 3, Y.shape[1], OUT_ACTIVATION[loss]
    grads_W = [np.empty_like(c) for c in mlp.coefs_]
    grads_b = [np.empty_like(b) for b in mlp.intercepts_]
    J_want, grads_W, grads_b = mlp._backprop(
        X, Y, w, [X, None, None], [None, None], grads_W, grads_b
    )
    J, grads = network.cost_and_gradients(params, X, Y, net, w=w)
    assert float(J) == pytest.approx(J_want, rel=1e-12)
    want = tuple(Layer(gW.T, gb) for gW, gb in zip(grads_W, grads_b, strict=True))
    assert_close(flat(grads), flat(want), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss", LOSSES)
def test_integer_weights_are_repeated_samples_and_zero_weights_absent_ones(backend, dtype, loss):
    params, X, Y, net, _ = problem(loss, 0.7)
    counts = np.array([2, 0, 1, 3, 1, 0, 4, 1, 2])
    be = on(backend)
    dt = be.dtype(dtype)
    bparams, bX, bY, bw = placed(be, dt, params, X, Y, counts)
    J, grads = network.cost_and_gradients(bparams, bX, bY, net, w=bw)
    _, rX, rY = placed(be, dt, params, np.repeat(X, counts, axis=0), np.repeat(Y, counts, axis=0))
    J_rep, grads_rep = network.cost_and_gradients(bparams, rX, rY, net)
    rtol, atol = (1e-12, 1e-14) if dtype == "float64" else (1e-5, 1e-6)
    assert_close(flat(grads), flat(grads_rep), rtol=rtol, atol=atol)
    assert be.read(J) == pytest.approx(be.read(J_rep), rel=rtol)


@pytest.mark.parametrize("l2", [0.0, 0.7])
def test_all_ones_weights_are_the_unweighted_equations(backend, dtype, l2):
    """Bit for bit, but for the L2 term: ``(λ/Σw)·W`` divides in the dtype (torch: by
    multiplying with 1/Σw), ``(λ/m)·W`` in Python's float: an ulp apart."""
    params, X, Y, net, _ = problem("binary_crossentropy", l2)
    be = on(backend)
    dt = be.dtype(dtype)
    bparams, bX, bY, ones = placed(be, dt, params, X, Y, np.ones(X.shape[0]))
    _, grads = network.cost_and_gradients(bparams, bX, bY, net, ops=be.ops())
    _, grads_ones = network.cost_and_gradients(bparams, bX, bY, net, w=ones, ops=be.ops())
    for g, h in zip(grads, grads_ones, strict=True):
        np.testing.assert_array_equal(host(g.b), host(h.b))
        if l2 == 0:
            np.testing.assert_array_equal(host(g.W), host(h.W))
        else:
            ulp = np.spacing(np.abs(host(g.W)).max().astype(dtype))
            np.testing.assert_allclose(host(g.W), host(h.W), rtol=0, atol=2 * ulp)


def test_which_losses_take_weights():
    assert all(losses.takes_weights(loss) for loss in losses.LOSSES.values())
    bce = losses.binary_crossentropy
    own = losses.Loss("own", bce.output, lambda z, y: bce.value(z, y), bce.gradient)
    assert not losses.takes_weights(own)  # its value takes no w: trained unweighted only
    keywords = losses.Loss("own", bce.output, lambda z, y, **kw: 0, lambda z, a, y, **kw: 0)
    assert losses.takes_weights(keywords)


# -- training --------------------------------------------------------------------------------------
def _dask(backend: str, options: dict) -> dict:
    """On Dask, the data in chunks of 100 rows (a step's parts combined by their weights)."""
    return (
        {**options, "chunks": 100} if backend == "dask" and "batch_size" not in options else options
    )


def _params(model) -> list[np.ndarray]:
    return [host(p) for layer in model.params for p in layer]


def _same_run(a, b) -> None:
    for p, q in zip(_params(a), _params(b), strict=True):
        np.testing.assert_array_equal(p, q)
    assert a.history.cost == b.history.cost


def test_training_with_integer_weights_is_training_on_repeated_samples(backend):
    options = _dask(backend, {**TRAIN, "backend": backend})
    weighted = portnet.train(X_PLANAR, Y_PLANAR, sample_weight=COUNTS, **options)
    X_rep, y_rep = np.repeat(X_PLANAR, COUNTS, axis=0), np.repeat(Y_PLANAR, COUNTS)
    repeated = portnet.train(X_rep, y_rep, **options)
    for p, q in zip(_params(weighted), _params(repeated), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weighted.history.cost, repeated.history.cost, rtol=1e-12)


@pytest.mark.parametrize(
    "options",
    [{}, {"batch_size": 64}, {"early_stopping": True, "validation_fraction": 0.2}],
    ids=["full-batch", "mini-batches", "early-stopping"],
)
def test_zero_weights_are_samples_left_out(backend, options):
    """Bit for bit: a zero-weight sample is dropped before the split and the batches."""
    options = _dask(backend, {**TRAIN, **options, "backend": backend})
    keep = COUNTS > 0
    weighted = portnet.train(X_PLANAR, Y_PLANAR, sample_weight=keep.astype(float), **options)
    dropped = portnet.train(X_PLANAR[keep], Y_PLANAR[keep], **options)
    _same_run(weighted, dropped)
    assert weighted.history.val_cost == dropped.history.val_cost


@pytest.mark.parametrize(
    "options",
    [{}, {"log_every": "epoch"}, {"early_stopping": True, "validation_fraction": 0.2}],
    ids=["", "epoch log points", "early-stopping"],
)
def test_zero_weights_kept_hold_their_places_in_the_batches(backend, options):
    """``zero_weights="keep"`` (the drop-ins'; against scikit-learn in test_mlp.py): every
    sample has its place in the batches, so an epoch is ⌈400/64⌉ steps, not ⌈kept/64⌉; the
    run NumPy makes; full batch, the run without them to rounding."""
    run = {**TRAIN, "iterations": None, "epochs": 5, "batch_size": 64, **options}
    run["shuffle"] = backend != "dask"  # Dask shuffles whole chunks: NumPy's batches in order
    w = COUNTS.astype(np.float64)
    kept = portnet.train(X_PLANAR, Y_PLANAR, sample_weight=w, zero_weights="keep",
                         backend=backend, **run)  # fmt: skip
    reference = portnet.train(X_PLANAR, Y_PLANAR, sample_weight=w, zero_weights="keep", **run)
    dropped = portnet.train(X_PLANAR, Y_PLANAR, sample_weight=w, **run)
    m_fit = 400 - (80 if options.get("early_stopping") else 0)  # the split: ⌈0.2·400⌉ held
    assert kept.n_steps == 5 * -(-m_fit // 64)
    assert dropped.n_steps < kept.n_steps
    for p, q in zip(_params(kept), _params(reference), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(kept.history.cost, reference.history.cost, rtol=1e-9)
    full = {**TRAIN, "backend": backend}
    for p, q in zip(
        _params(portnet.train(X_PLANAR, Y_PLANAR, sample_weight=w, zero_weights="keep", **full)),
        _params(portnet.train(X_PLANAR, Y_PLANAR, sample_weight=w, **full)),
        strict=True,
    ):
        np.testing.assert_allclose(p, q, rtol=1e-11, atol=1e-13)


def test_a_kept_batch_of_zero_weights_alone_is_refused_before_its_epoch(backend):
    """Its weighted mean would be 0/0 (scikit-learn's MLP: ``ZeroDivisionError``); dropped
    (the default), the same weights train."""
    run = {"batch_size": 20, "iterations": 60, "backend": backend, "zero_weights": "keep"}
    w = np.ones(400)
    w[40:60] = 0.0  # batch 3 in order (on Dask, chunk 3)
    with pytest.raises(ValueError, match=r"^batch 3 of epoch 1 \(20 samples\) holds only"):
        portnet.train(X_PLANAR, Y_PLANAR, sample_weight=w, shuffle=False, **run)
    w[2:] = 0.0  # two weighted samples: shuffled, some batch of epoch 1 has none
    with pytest.raises(
        ValueError, match=r"of epoch 1 \(20 samples\) holds only samples of weight 0"
    ):
        portnet.train(X_PLANAR, Y_PLANAR, sample_weight=w, **run)
    dropped = portnet.train(X_PLANAR, Y_PLANAR, sample_weight=w, **{**run, "zero_weights": "drop"})
    assert dropped.n_steps == 60


@pytest.mark.parametrize("options", [{}, {"batch_size": 64}], ids=["full-batch", "mini-batches"])
def test_all_ones_weights_train_as_no_weights_bit_for_bit(backend, options):
    options = _dask(backend, {**TRAIN, **options, "backend": backend, "l2": 0.3})
    _same_run(
        portnet.train(X_PLANAR, Y_PLANAR, sample_weight=np.ones(400), **options),
        portnet.train(X_PLANAR, Y_PLANAR, **options),
    )


def test_weights_reach_the_validation_loss(backend):
    """Weights of 2 are the unweighted run (to rounding, without L2): the training and the
    validation split and loss see them."""
    options = _dask(backend, {**TRAIN, "backend": backend, "early_stopping": True})
    twice = portnet.train(X_PLANAR, Y_PLANAR, sample_weight=np.full(400, 2.0), **options)
    plain = portnet.train(X_PLANAR, Y_PLANAR, **options)
    np.testing.assert_allclose(twice.history.val_cost, plain.history.val_cost, rtol=1e-12)
    np.testing.assert_allclose(twice.history.cost, plain.history.cost, rtol=1e-12)
    half = np.where(np.arange(400) % 2 == 0, 1.0, 3.0)  # not the unweighted loss
    other = portnet.train(X_PLANAR, Y_PLANAR, sample_weight=half, **options)
    assert other.history.val_cost[0] != pytest.approx(plain.history.val_cost[0], rel=1e-6)


# -- class weights ---------------------------------------------------------------------------------
LABELS = np.where(Y_PLANAR == 1, "red", "blue")[:300]  # text labels, unbalanced below
LABELS[:120] = "blue"


@pytest.mark.parametrize(
    "class_weight", ["balanced", {"red": 3.0}, {"red": 0.5, "blue": 2.0}], ids=str
)
def test_class_weight_is_its_sample_weights(backend, class_weight):
    X = X_PLANAR[:300]
    options = _dask(backend, {**TRAIN, "backend": backend})
    counts = {c: np.count_nonzero(np.equal(LABELS, c)) for c in ("blue", "red")}
    if class_weight == "balanced":
        per_class = {c: 300 / (2 * n) for c, n in counts.items()}
    else:
        per_class = {"blue": 1.0, "red": 1.0, **class_weight}
    explicit = np.array([per_class[label] for label in LABELS])
    _same_run(
        portnet.train(X, LABELS, class_weight=class_weight, **options),
        portnet.train(X, LABELS, sample_weight=explicit, **options),
    )


def test_class_weight_multiplies_sample_weight():
    """ "balanced" with sample weights counts the classes by weight: ``Σw / (2·Σ_{i∈c} w_i)``."""
    X, w = X_PLANAR[:300], COUNTS[:300] + 0.5
    red = np.equal(LABELS, "red")
    per_class = {True: w.sum() / (2 * w[red].sum()), False: w.sum() / (2 * w[~red].sum())}
    explicit = w * np.array([per_class[r] for r in red])
    a = portnet.train(X, LABELS, class_weight="balanced", sample_weight=w, **TRAIN)
    b = portnet.train(X, LABELS, sample_weight=explicit, **TRAIN)
    for p, q in zip(_params(a), _params(b), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_balanced_is_scikit_learns_compute_class_weight(weighted):
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    from sklearn.utils.class_weight import compute_class_weight

    y = np.random.default_rng(5).choice(np.array([3, 7, 9]), 50, p=[0.6, 0.3, 0.1])
    w = np.random.default_rng(6).uniform(0, 2, 50) if weighted else None
    classes = np.unique(y)
    want = compute_class_weight("balanced", classes=classes, y=y, sample_weight=w)
    index = np.searchsorted(classes, y)
    np.testing.assert_allclose(
        class_factors("balanced", index, classes, w), want[index], rtol=1e-14
    )


def test_class_weight_on_one_hot_rows_is_by_column():
    Y = np.eye(3)[np.random.default_rng(8).integers(0, 3, 400)]
    X = X_PLANAR
    explicit = np.choose(Y.argmax(axis=1), [1.0, 4.0, 1.0])
    _same_run(
        portnet.train(X, Y, class_weight={1: 4.0}, **TRAIN),
        portnet.train(X, Y, sample_weight=explicit, **TRAIN),
    )


# -- a model's cost and score ----------------------------------------------------------------------
def test_model_cost_and_score_take_sample_weight(backend):
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    from sklearn.metrics import accuracy_score, r2_score

    be = on(backend)
    X = be.asarray(X_PLANAR, be.dtype("float64"))
    w = COUNTS + 0.25
    model = portnet.train(X_PLANAR, Y_PLANAR, backend=backend, **{**TRAIN, "iterations": 30})
    predicted = host(model.predict(X))
    assert model.score(X, Y_PLANAR, sample_weight=w) == pytest.approx(
        accuracy_score(Y_PLANAR, predicted, sample_weight=w), rel=1e-12
    )
    X_rep, y_rep = np.repeat(X_PLANAR, COUNTS, axis=0), np.repeat(Y_PLANAR, COUNTS)
    assert model.cost(X, Y_PLANAR, sample_weight=COUNTS) == pytest.approx(
        model.cost(be.asarray(X_rep, be.dtype("float64")), y_rep), rel=1e-12
    )
    targets = np.stack([X_PLANAR[:, 0] * 2, X_PLANAR[:, 1] - X_PLANAR[:, 0]], axis=1)
    quick = {**TRAIN, "iterations": 30, "learning_rate": 0.05}
    regressor = portnet.train(X_PLANAR, targets, backend=backend, **quick)
    fitted = host(regressor.predict(X))
    assert regressor.score(X, targets, sample_weight=w) == pytest.approx(
        r2_score(targets, fitted, sample_weight=w), rel=1e-12
    )


# -- the scikit-learn estimators -------------------------------------------------------------------
def test_estimators_with_sample_weight_are_fits_on_repeated_rows():
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    from portnet.sklearn import PortnetClassifier, PortnetRegressor

    X_rep = np.repeat(X_PLANAR, COUNTS, axis=0)
    quick = {"hidden": (6,), "iterations": 150, "learning_rate": 0.05}
    weighted = PortnetClassifier(**quick).fit(X_PLANAR, Y_PLANAR, sample_weight=COUNTS)
    repeated = PortnetClassifier(**quick).fit(X_rep, np.repeat(Y_PLANAR, COUNTS))
    np.testing.assert_allclose(
        weighted.predict_proba(X_PLANAR), repeated.predict_proba(X_PLANAR), rtol=1e-9
    )
    y = X_PLANAR[:, 0] * 2 - X_PLANAR[:, 1]
    weighted = PortnetRegressor(**quick).fit(X_PLANAR, y, sample_weight=COUNTS)
    repeated = PortnetRegressor(**quick).fit(X_rep, np.repeat(y, COUNTS))
    np.testing.assert_allclose(weighted.predict(X_PLANAR), repeated.predict(X_PLANAR), rtol=1e-9)


def test_classifier_class_weight_is_its_sample_weights():
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    from portnet.sklearn import PortnetClassifier

    quick = {"hidden": (6,), "iterations": 100, "learning_rate": 0.05}
    X, w = X_PLANAR[:300], COUNTS[:300]
    explicit = np.where(LABELS == "red", 3.0, 1.0) * w
    by_class = PortnetClassifier(class_weight={"red": 3.0}, **quick).fit(X, LABELS, sample_weight=w)
    by_sample = PortnetClassifier(**quick).fit(X, LABELS, sample_weight=explicit)
    np.testing.assert_array_equal(by_class.predict_proba(X), by_sample.predict_proba(X))
    step = PortnetClassifier(class_weight={"red": 3.0}, **quick)
    step.partial_fit(X, LABELS, classes=["blue", "red"], sample_weight=w)
    again = PortnetClassifier(**quick)
    again.partial_fit(X, LABELS, classes=["blue", "red"], sample_weight=explicit)
    np.testing.assert_array_equal(step.predict_proba(X), again.predict_proba(X))


@needs("torch")
def test_classifier_takes_weights_of_its_inputs_namespace():
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    import torch

    from portnet.sklearn import PortnetClassifier

    quick = {"hidden": (6,), "iterations": 60, "learning_rate": 0.05}
    on_torch = PortnetClassifier(class_weight="balanced", **quick).fit(
        torch.asarray(X_PLANAR), torch.asarray(Y_PLANAR), sample_weight=torch.asarray(COUNTS)
    )
    on_numpy = PortnetClassifier(class_weight="balanced", **quick).fit(
        X_PLANAR, Y_PLANAR, sample_weight=COUNTS
    )
    np.testing.assert_allclose(
        host(on_torch.predict_proba(torch.asarray(X_PLANAR))),
        on_numpy.predict_proba(X_PLANAR),
        rtol=1e-9,
    )
