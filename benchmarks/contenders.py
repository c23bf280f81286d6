"""What the benchmark times: portnet on each backend, and the peers it must beat.

Every contender is built from the same data (samples-first NumPy ``X`` and integer labels
``y``) and the same starting parameters, and offers ``run(steps)``: that many full-batch
training steps of the same network (tanh hidden layer, or ReLU hidden layers for deep nets;
plain gradient descent), finished on the device before it returns.  One output: sigmoid and
binary cross-entropy on 0/1 labels; ``k > 1`` outputs (the GPU benchmark's deep net):
softmax and categorical cross-entropy on labels ``0 … k−1`` (portnet chooses it from the
labels, torch-nn uses ``CrossEntropyLoss``, jax-grad a log-softmax).  ``matmuls()`` gives a
function doing the step's matrix products alone, for the "step over its products" figure.

``precision`` (``make``'s, for the GPU benchmark; None keeps each library's own default, as
the CPU benchmark runs): ``"highest"`` for IEEE float32 products, ``"tf32"`` for TF32 on a
CUDA GPU, through each library's own switch (portnet's ``precision=``, torch's
``torch.backends.cuda.matmul``, JAX's ``default_matmul_precision``).
"""

from __future__ import annotations

import contextlib
import warnings

import array_api_compat
import numpy as np
from seeds_reference import SeedsLoop

import portnet
from portnet._precision import scope
from portnet.backends import TABLE

__all__ = [
    "PEERS",
    "PORTNET_BACKENDS",
    "graphs",
    "jax_precision",
    "make",
    "portnet_backend",
    "torch_precision",
]

#: the table's backends the benchmark times, those that run on a CPU first
PORTNET_BACKENDS = tuple(
    sorted((n for n, e in TABLE.items() if e.timed), key=lambda n: not TABLE[n].cpu)
)
PEERS = ("seeds-numpy", "sklearn", "sklearn-partial_fit", "torch-nn", "jax-grad")


def _activation(params) -> str:
    return "relu" if len(params) > 2 else "tanh"


#: where contenders run (set by ``bench_gpu.py``): None, each library's default device (the
#: CPU benchmark); "gpu", CuPy, JAX and torch on their first CUDA device (RuntimeError where
#: a library has none), NumPy on the CPU; "cpu", every library on the CPU (the GPU
#: benchmark's dry run; CuPy, which has no CPU device, refused)
PLACE = None


def device_for(backend):
    """The ``device=`` of portnet's backend ``backend`` where :data:`PLACE` puts it."""
    if PLACE is None or backend == "numpy":
        return None
    if backend == "cupy" and PLACE == "cpu":
        raise RuntimeError("CuPy runs on CUDA GPUs only: left out of a CPU run")
    return portnet._backend.gpu_device(backend) if PLACE == "gpu" else "cpu"


def portnet_backend(name):
    """``(backend, graphs)`` of portnet's contender ``name``: ``portnet-<backend>``, or
    ``portnet-<backend>-graphs`` for its steps replayed as CUDA graphs (portnet._graphs)."""
    backend = name.removeprefix("portnet-")
    return backend.removesuffix("-graphs"), backend.endswith("-graphs")


@contextlib.contextmanager
def graphs(on):
    """portnet's CUDA graphs (opt-in, :data:`portnet._graphs.ENABLED`) on inside if ``on``."""
    from portnet import _graphs

    before, _graphs.ENABLED = _graphs.ENABLED, bool(on)
    try:
        yield
    finally:
        _graphs.ENABLED = before


def _outputs(params) -> int:
    return params[-1][0].shape[0]


def torch_precision(precision):
    """A context in which torch runs float32 products on CUDA as ``precision`` asks:
    ``torch.backends.cuda.matmul.fp32_precision`` ("ieee" | "tf32") where torch has it
    (2.9 and later), else ``allow_tf32``; put back as it was after."""
    import torch

    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        return _switched(matmul, "fp32_precision", "tf32" if precision == "tf32" else "ieee")
    return _switched(matmul, "allow_tf32", precision == "tf32")


@contextlib.contextmanager
def _switched(owner, attribute, value):
    before = getattr(owner, attribute)
    setattr(owner, attribute, value)
    try:
        yield
    finally:
        setattr(owner, attribute, before)


def jax_precision(precision):
    """A context in which JAX traces float32 products as ``precision`` asks: "highest"
    (explicit: JAX's GPU default is TF32) or "tensorfloat32"."""
    import jax

    return jax.default_matmul_precision("tensorfloat32" if precision == "tf32" else "highest")


class Portnet:
    """``portnet.train`` on one backend, warm-started from the given parameters each run."""

    def __init__(self, backend, X, y, params, dtype, learning_rate, precision=None, graphs=False):
        self.name = f"portnet-{backend}" + ("-graphs" if graphs else "")
        self.backend, self.graphs = backend, graphs
        be = portnet._backend.resolve_backend(backend, device=device_for(backend))
        dt = be.dtype(dtype)
        self.be = be
        self.precision = precision
        self.X, self.y = be.asarray(X, dt), be.asarray(y)
        self.params = [(be.asarray(W, dt), be.asarray(b, dt)) for W, b in params]
        self.options = dict(
            activation=_activation(params), learning_rate=learning_rate, backend=backend
        )
        if precision is not None:
            self.options["precision"] = precision

    def run(self, steps):
        # log_every > steps: the cost is read at step 0 and at the end, nowhere between;
        # iterations=0 is the set-up alone (labels, parameters, the final cost)
        with graphs(self.graphs):
            return portnet.train(
                self.X,
                self.y,
                params=self.params,
                iterations=steps,
                log_every=steps + 1,
                **self.options,
            )

    def cost(self):
        """The cost at the starting parameters (a run of no steps)."""
        return self.run(0).history.cost[-1]

    def matmuls(self):
        xp = self.be.xp
        (X,) = self.be.full_batch(self.X)  # laid out as train's full-batch steps read it
        Ws = [W for W, _ in self.params]
        # the step's own products on features-first (n, m) arrays of ones laid out in memory
        # as the step lays them: made by the backend's Ops (samples-first in memory on
        # torch), as outer products on X's device (a CUDA device's products of arrays on
        # the CPU would fail)
        device = array_api_compat.device(X)
        row = xp.ones((1, X.shape[0]), dtype=X.dtype, device=device)
        layout = self.be.ops()
        acts = [X.T] + [
            layout.product(xp.ones((W.shape[0], 1), dtype=X.dtype, device=device), row) for W in Ws
        ]

        # written where train's steps write them: a run's Ops (a workspace's arrays on NumPy
        # and torch, reused from call to call as from step to step; fresh arrays elsewhere)
        ops = self.be.ops(run=True)

        def products(acts, Ws):
            ops.begin(X)  # a new pass: the workspace's arrays from the first
            out = []
            for l, W in enumerate(Ws):
                out.append(ops.product(W, acts[l]))  # forward: (n_out, n_in) @ (n_in, m)
                out.append(acts[l + 1] @ acts[l].T)  # dW: (n_out, m) @ (m, n_in)
                if l and W.shape[0] > 1:  # dA_prev (a broadcast product when n_out = 1)
                    out.append(ops.product(W.T, acts[l + 1]))
            return out

        run = _synchronised(self.backend, products, acts, Ws, device=device)
        if self.precision is None:
            return run
        be, precision = self.be, self.precision

        def in_precision():  # the step's own precision (on JAX: traced in it)
            with scope(be, precision):
                return run()

        return in_precision


class Seeds(SeedsLoop):
    def matmuls(self):
        X = self.X
        Ws = [W for W in self.w[1:]] if self.deep else [self.p["W1"], self.p["W2"]]
        m = X.shape[1]
        acts = [X] + [np.ones((W.shape[0], m), dtype=X.dtype) for W in Ws]

        def products():
            out = []
            for l, W in enumerate(Ws):
                out.append(np.dot(W, acts[l]))
                out.append(np.dot(acts[l + 1], acts[l].T))
                if l:
                    out.append(np.dot(W.T, acts[l + 1]))
            return out

        return products


class SklearnMLP:
    """scikit-learn's ``MLPClassifier``, full-batch SGD without momentum, ``fit`` for N epochs
    (timed as ``fit(N + 1) − fit(1)``, so its set-up cancels out)."""

    name = "sklearn"
    min_steps = 1  # fit needs max_iter >= 1

    def __init__(self, X, y, params, dtype, learning_rate):
        from sklearn.neural_network import MLPClassifier

        self.X, self.y = X.astype(dtype, copy=False), y  # shared, as a user's would be
        self.make = lambda steps: MLPClassifier(
            hidden_layer_sizes=tuple(W.shape[0] for W, _ in params[:-1]),
            activation=_activation(params),
            solver="sgd",
            learning_rate_init=learning_rate,
            momentum=0.0,
            nesterovs_momentum=False,
            batch_size=X.shape[0],
            alpha=0.0,
            shuffle=False,
            tol=0.0,
            n_iter_no_change=10**9,
            max_iter=steps,
            random_state=0,
        )

    def run(self, steps):
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.make(steps).fit(self.X, self.y)

    def matmuls(self):
        return None


class SklearnPartialFit(SklearnMLP):
    """The same ``MLPClassifier``, one ``partial_fit`` call per step (input checks each call)."""

    name = "sklearn-partial_fit"
    min_steps = 0

    def __init__(self, X, y, params, dtype, learning_rate):
        super().__init__(X, y, params, dtype, learning_rate)
        self.model = self.make(1)
        self.model.partial_fit(self.X, self.y, classes=np.unique(y))

    def run(self, steps):
        for _ in range(steps):
            self.model.partial_fit(self.X, self.y)


class TorchNN:
    """A PyTorch ``nn.Sequential`` + autograd + ``optim.SGD`` loop: ``BCEWithLogitsLoss`` for
    one output, ``CrossEntropyLoss`` on integer labels for several."""

    name = "torch-nn"

    def __init__(self, X, y, params, dtype, learning_rate, precision=None):
        import torch

        self.torch = torch
        dt = getattr(torch, dtype)
        layers = []
        for i, (W, b) in enumerate(params):
            linear = torch.nn.Linear(W.shape[1], W.shape[0], dtype=dt)
            with torch.no_grad():
                linear.weight.copy_(torch.as_tensor(W))
                linear.bias.copy_(torch.as_tensor(b))
            layers.append(linear)
            if i < len(params) - 1:
                layers.append(torch.nn.ReLU() if len(params) > 2 else torch.nn.Tanh())
        if PLACE == "gpu" and not torch.cuda.is_available():
            raise RuntimeError("torch has no usable CUDA device (torch.cuda.is_available())")
        self.device = torch.device("cuda" if PLACE == "gpu" else "cpu")
        self.model = torch.nn.Sequential(*layers).to(self.device)
        self.X = torch.as_tensor(X, dtype=dt, device=self.device)
        self.binary = _outputs(params) == 1
        if self.binary:
            self.y = torch.as_tensor(y, dtype=dt, device=self.device)
            self.loss = torch.nn.BCEWithLogitsLoss()
        else:
            self.y = torch.as_tensor(y, dtype=torch.long, device=self.device)
            self.loss = torch.nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=learning_rate)
        self.precision = precision

    def _loss(self):
        out = self.model(self.X)
        return self.loss(out[:, 0] if self.binary else out, self.y)

    def _context(self):
        if self.precision is None:
            return contextlib.nullcontext()
        return torch_precision(self.precision)

    def run(self, steps):
        with self._context():
            for _ in range(steps):
                self.opt.zero_grad()
                self._loss().backward()
                self.opt.step()
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def cost(self):
        """The loss at the current parameters."""
        with self.torch.no_grad(), self._context():
            return float(self._loss())

    def matmuls(self):
        return None


class JaxGrad:
    """JAX ``value_and_grad`` of the same loss, the update under ``jax.jit``, a dispatch a step."""

    name = "jax-grad"

    def __init__(self, X, y, params, dtype, learning_rate, precision=None):
        import jax
        import jax.numpy as jnp

        self.jax = jax
        self.loss = _jax_loss(relu=len(params) > 2, binary=_outputs(params) == 1)

        @jax.jit
        def step(ps, X, y):
            value, grads = jax.value_and_grad(self.loss)(ps, X, y)
            new = jax.tree_util.tree_map(lambda p, g: p - learning_rate * g, ps, grads)
            return new, value

        self.step = step
        self.precision = precision
        device = None if PLACE is None else _jax_device(PLACE)

        def put(a, dt):  # (the library's default device: as the CPU benchmark has it)
            if device is None:
                return jnp.asarray(a, dt)
            return jax.device_put(np.asarray(a, dtype=dt), device)

        self.params = [(put(W, dtype), put(b, dtype)) for W, b in params]
        self.X = put(X, dtype)
        self.y = put(y, dtype if _outputs(params) == 1 else np.int32)

    def _context(self):
        if self.precision is None:
            return contextlib.nullcontext()
        return jax_precision(self.precision)

    def run(self, steps):
        ps = self.params
        with self._context():
            for _ in range(steps):
                ps, _value = self.step(ps, self.X, self.y)
        self.jax.block_until_ready(ps)

    def cost(self):
        """The loss at the starting parameters."""
        with self._context():
            return float(self.loss(self.params, self.X, self.y))

    def matmuls(self):
        return None


def _jax_device(platform):
    """JAX's first device of ``platform``; RuntimeError if it has none."""
    import jax

    try:
        return jax.devices(platform)[0]
    except RuntimeError as exc:
        raise RuntimeError(f"JAX has no {platform} device: {str(exc).splitlines()[0]}") from exc


def _jax_loss(*, relu, binary):
    """jax-grad's loss of ``(params, X, y)``: binary cross-entropy from the logits (one
    output, 0/1 labels), or categorical cross-entropy from a log-softmax (integer labels)."""
    import jax
    import jax.numpy as jnp

    def loss(ps, X, y):
        A = X
        for W, b in ps[:-1]:
            Z = A @ W.T + b
            A = jnp.maximum(Z, 0) if relu else jnp.tanh(Z)
        W, b = ps[-1]
        z = A @ W.T + b
        if binary:
            z = z[:, 0]
            return jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))
        logp = jax.nn.log_softmax(z, axis=1)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    return loss


def _synchronised(backend, products, *args, device=None):
    """``products(*args)``, finished on the device (compiled on JAX, arrays as arguments;
    on torch, waited for where ``device`` is a CUDA device)."""
    if backend == "jax":
        import jax

        compiled = jax.jit(products)
        return lambda: jax.block_until_ready(compiled(*args))
    if backend == "cupy":
        import cupy

        def run():
            products(*args)
            cupy.cuda.get_current_stream().synchronize()

        return run
    if backend == "torch" and getattr(device, "type", None) == "cuda":
        import torch

        def run_torch():
            products(*args)
            torch.cuda.synchronize(device)

        return run_torch
    return lambda: products(*args)


def make(name, X, y, params, dtype, learning_rate, precision=None):
    """The contender called ``name`` (``portnet-<backend>`` or a peer), or ImportError.

    ``precision`` (None: the libraries' defaults) is for portnet, torch-nn and jax-grad;
    the others compute IEEE float32 on the CPU and refuse "tf32".
    """
    options = {} if precision is None else {"precision": precision}
    if name.startswith("portnet-"):
        backend, replayed = portnet_backend(name)
        return Portnet(backend, X, y, params, dtype, learning_rate, **options, graphs=replayed)
    cls = {
        "seeds-numpy": Seeds,
        "sklearn": SklearnMLP,
        "sklearn-partial_fit": SklearnPartialFit,
        "torch-nn": TorchNN,
        "jax-grad": JaxGrad,
    }
    if cls[name] in (TorchNN, JaxGrad):
        return cls[name](X, y, params, dtype, learning_rate, **options)
    if precision not in (None, "highest"):
        raise ValueError(f"{name} computes IEEE float32 on the CPU only, not {precision!r}")
    return cls[name](X, y, params, dtype, learning_rate)
