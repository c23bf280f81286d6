"""The Dask backend: data parallelism over chunks, its graph computations, its mini-batches,
the distributed scheduler, and CuPy chunks (only where a GPU exists).

The backend × dtype tests of the other files run on Dask too (the ``backend`` fixture lists
it); these are the Dask-only ones.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

import portnet
from portnet import datasets, network
from portnet.agreement import TOLERANCE, relative_difference
from portnet.optimizers import get_optimizer, train_step

from .conftest import DTYPES, needs

pytestmark = needs("dask")  # every test here: deselected (and counted) where Dask is missing

try:
    import dask
    import dask.array as da
    from dask.callbacks import Callback
except ModuleNotFoundError as missing:  # collected all the same, then deselected (pytestmark)
    if missing.name != "dask":
        raise  # Dask is there but broken: an error, not a quiet deselection
    dask = da = None
    Callback = object

X_PLANAR, Y_PLANAR = datasets.planar()
X_BLOBS, Y_BLOBS = datasets.blobs(m=300)


class Computations(Callback):
    """Counts graph computations (each ``compute``/``persist`` of a local scheduler)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def _start(self, dsk) -> None:
        self.count += 1


CONFIGS = {
    "planar-tanh": (X_PLANAR, Y_PLANAR, {"hidden": (4,)}),
    "deep-relu-l2": (X_PLANAR, Y_PLANAR, {"hidden": (20, 7, 5), "activation": "relu", "l2": 0.7}),
    "blobs-softmax-adam": (X_BLOBS, Y_BLOBS, {"hidden": (8,), "optimizer": "adam"}),
    "regression": (
        X_PLANAR,
        X_PLANAR[:, 0] * X_PLANAR[:, 1],
        {"hidden": (5,), "learning_rate": 0.05},
    ),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("chunks", [400, 150, 64], ids=lambda c: f"chunks{c}")
def test_chunked_training_agrees_with_numpy(config, dtype, chunks):
    """Chunk sizes that divide the data and that do not (150: 150, 150, 100; 64: seven)."""
    X, y, options = CONFIGS[config]
    kw = dict(iterations=100, log_every=25, dtype=dtype, seed=3, **options)
    ours = portnet.train(X, y, backend="dask", chunks=chunks, **kw)
    ref = portnet.train(X, y, backend="numpy", **kw)
    assert ours.params[0].W.chunks  # a dask array
    assert relative_difference(ours.params, ref.params) <= TOLERANCE[dtype]
    np.testing.assert_allclose(ours.history.cost, ref.history.cost, rtol=TOLERANCE[dtype] * 10)


def test_combine_is_the_whole_batch_gradient():
    """network.combine of the parts' gradients is the gradient of the whole, L2 included."""
    X, Y = X_PLANAR, Y_PLANAR[:, None].astype(float)
    net = network.Network(
        portnet.activations.get_activation("tanh"), portnet.losses.binary_crossentropy, 0.3
    )
    params = tuple(
        network.Layer(W, b) for W, b in portnet.init.initial_params([2, 5, 1], init="glorot")
    )
    whole = network.cost_and_gradients(params, X, Y, net)
    cuts = [0, 7, 200, 333, 400]
    alone = net._replace(l2=0.0)
    parts = [
        network.cost_and_gradients(params, X[a:b], Y[a:b], alone)
        for a, b in itertools.pairwise(cuts)
    ]
    J, grads = network.combine(parts, sizes=np.diff(cuts).tolist(), params=params, net=net)
    assert float(J) == pytest.approx(float(whole[0]), rel=1e-14)
    for g, w in zip(grads, whole[1], strict=True):
        np.testing.assert_allclose(g.W, w.W, rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(g.b, w.b, rtol=1e-13, atol=1e-16)


def test_one_graph_computation_per_step_whatever_the_log_interval():
    """The cost rides along with the step that computes it: log points add no computation."""
    counts = []
    for log_every in (1, 7, 30):
        counter = Computations()
        with counter:
            portnet.train(X_PLANAR, Y_PLANAR, backend="dask", chunks=100, iterations=30,
                          log_every=log_every)  # fmt: skip
        counts.append(counter.count)
    # 30 steps; set-up: X persisted, X checked finite, y's labels read and checked, X and Y
    # persisted together; the final cost
    assert counts[0] == counts[1] == counts[2], counts
    assert 30 < counts[0] <= 30 + 8, counts


def test_the_data_is_read_from_its_source_once():
    """X is persisted once: every chunk of the source is made once, however many steps."""
    made = []
    lock = threading.Lock()

    def source(block, block_info=None):
        with lock:
            made.append(block_info[None]["chunk-location"])
        return block

    X = da.from_array(X_PLANAR, chunks=(100, 2)).map_blocks(source, dtype=X_PLANAR.dtype)
    model = portnet.train(X, Y_PLANAR, iterations=50, log_every=10)
    assert model.backend == "dask"
    assert sorted(made) == [(i, 0) for i in range(4)]


def test_dask_input_trains_on_dask_and_predictions_stay_lazy():
    X = da.from_array(X_PLANAR, chunks=(128, 1))  # columns split: rejoined for the step
    y = da.from_array(Y_PLANAR, chunks=50)  # rows chunked otherwise: rechunked like X
    model = portnet.train(X, y, iterations=200, log_every=100)
    ref = portnet.train(X_PLANAR, Y_PLANAR, iterations=200, log_every=100)
    assert model.backend == "dask"
    assert relative_difference(model.params, ref.params) <= TOLERANCE["float64"]
    predicted = model.predict(X)
    assert isinstance(predicted, da.Array)  # follows the input: lazy until computed
    np.testing.assert_array_equal(predicted.compute(), ref.predict(X_PLANAR))
    assert isinstance(model.predict(X_PLANAR), np.ndarray)  # NumPy in, NumPy out
    assert model.score(X, y) == pytest.approx(ref.score(X_PLANAR, Y_PLANAR))


def test_save_load_and_move_a_dask_model(tmp_path):
    model = portnet.train(X_PLANAR, Y_PLANAR, backend="dask", chunks=200, iterations=50)
    loaded = portnet.load(model.save(tmp_path / "m.npz"), backend="dask")
    assert loaded.backend == "dask"
    assert portnet.load(tmp_path / "m.npz").backend == "numpy"  # the file is backend-neutral
    assert relative_difference(loaded.params, model.params) == 0
    on_numpy = model.to("numpy")
    np.testing.assert_array_equal(on_numpy.predict(X_PLANAR), model.predict(X_PLANAR))


def _reference_chunk_batches(X, Y, *, batch, iterations, seed, optimizer, options):
    """Mini-batches as whole chunks, by hand in NumPy: the chunks of ``batch`` rows visited
    in a permutation drawn every epoch from the first generator ``SeedSequence(seed)``
    spawns (as train's shuffling), each step portnet's own NumPy train_step."""
    init = "glorot" if options.get("activation", "tanh") not in ("relu", "leaky_relu") else "he"
    sizes = [X.shape[1], *options["hidden"], 1]
    params = tuple(
        network.Layer(W, b) for W, b in portnet.init.initial_params(sizes, init=init, seed=seed)
    )
    net = network.Network(
        portnet.activations.get_activation(options.get("activation", "tanh")),
        portnet.losses.binary_crossentropy,
        options.get("l2", 0.0),
    )
    opt = get_optimizer(optimizer, None)
    state = opt.init(params)
    shuffling = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0])
    n_chunks = -(-X.shape[0] // batch)
    Y = Y[:, None].astype(X.dtype)
    for i in range(iterations):
        k = i % n_chunks
        if k == 0:
            order = shuffling.permutation(n_chunks)
        rows = slice(order[k] * batch, (order[k] + 1) * batch)
        params, state, _ = train_step(params, state, X[rows], Y[rows], net, opt)
    return params


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("batch", [100, 150])  # 150: the last chunk holds 100 rows
def test_minibatches_are_whole_chunks_in_a_seeded_order(optimizer, batch):
    options = {"hidden": (6,), "activation": "relu", "l2": 0.1}
    kw = dict(iterations=23, log_every=5, seed=4, optimizer=optimizer, **options)
    model = portnet.train(X_PLANAR, Y_PLANAR, backend="dask", batch_size=batch, **kw)
    also = portnet.train(X_PLANAR, Y_PLANAR, backend="dask", chunks=batch, batch_size=batch, **kw)
    ref = _reference_chunk_batches(
        X_PLANAR, Y_PLANAR, batch=batch, iterations=23, seed=4, optimizer=optimizer,
        options=options,
    )  # fmt: skip
    assert relative_difference(model.params, ref) <= 1e-12
    assert relative_difference(also.params, ref) <= 1e-12
    numpy_batches = portnet.train(X_PLANAR, Y_PLANAR, backend="numpy", batch_size=batch, **kw)
    assert relative_difference(numpy_batches.params, ref) > 1e-6  # rows, not chunks


def test_divergence_is_an_error_with_warnings_as_errors():
    """NumPy's overflow warnings in dask's worker threads do not escape (pytest turns
    warnings into errors here): the loop's DivergenceError does."""
    options = dict(hidden=(50,), activation="identity", learning_rate=1e3, log_every=10)
    with pytest.raises(portnet.DivergenceError) as info:
        portnet.train(X_PLANAR * 1e3, Y_PLANAR, backend="dask", chunks=100, **options)
    assert info.value.model.backend == "dask"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "numpy", "chunks": 100}, "chunks= splits the data of backend 'dask'"),
        ({"backend": "dask", "chunks": 0}, "chunks must be an integer >= 1"),
        ({"backend": "dask", "chunks": 100, "batch_size": 50}, "a mini-batch is a whole chunk"),
    ],
)
def test_chunk_option_errors(options, message):
    with pytest.raises(ValueError, match=message):
        portnet.train(X_PLANAR, Y_PLANAR, iterations=2, **options)


@pytest.fixture(scope="module")
def cluster_client():
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (pip install 'portnet[dask]')"
    )
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            processes=True,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_a_local_cluster_of_two_workers_trains_the_same_model(cluster_client):
    X = da.from_array(X_PLANAR, chunks=(100, 2))
    workers = set()

    def where(step, cost, model):  # the persisted chunks: held by which workers
        workers.update(w for held in cluster_client.who_has().values() for w in held)

    model = portnet.train(X, Y_PLANAR, backend="dask", iterations=300, log_every=100,
                          hidden=(6,), activation="relu", callbacks=where)  # fmt: skip
    ref = portnet.train(X_PLANAR, Y_PLANAR, iterations=300, log_every=100, hidden=(6,),
                        activation="relu")  # fmt: skip
    assert relative_difference(model.params, ref.params) <= TOLERANCE["float64"]
    assert len(workers) == 2  # the data lives on both workers, and is computed there
    assert isinstance(model.predict(X), da.Array)
    with dask.config.set(scheduler="sync"):  # another scheduler the user chose is used as is
        sync = portnet.train(X_PLANAR, Y_PLANAR, backend="dask", chunks=100, iterations=300,
                             log_every=100, hidden=(6,), activation="relu")  # fmt: skip
    assert relative_difference(sync.params, ref.params) <= TOLERANCE["float64"]


@needs("cupy")
def test_cupy_chunks_train_on_the_gpu():
    """Dask + CuPy (several GPUs): only where a GPU exists (deselected elsewhere)."""
    import cupy

    X = da.from_array(cupy.asarray(X_PLANAR), chunks=(100, 2), asarray=False)
    model = portnet.train(X, Y_PLANAR, iterations=200, log_every=100)
    ref = portnet.train(X_PLANAR, Y_PLANAR, iterations=200, log_every=100)
    assert relative_difference(model.params, ref.params) <= TOLERANCE["float64"]
