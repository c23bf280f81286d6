"""What the benchmark times: portnet on each backend, and the peers it must beat.

Every contender is built from the same data (samples-first NumPy ``X`` and 0/1 labels ``y``)
and the same starting parameters, and offers ``run(steps)``: that many full-batch training
steps of the same network (tanh hidden layer, or ReLU hidden layers for deep nets; sigmoid
output; binary cross-entropy; plain gradient descent), finished on the device before it
returns.  ``matmuls()`` gives a function doing the step's matrix products alone, for the
"step over its products" figure.
"""

from __future__ import annotations

import warnings

import numpy as np
from seeds_reference import SeedsLoop

import portnet
from portnet.network import _matmul

__all__ = ["PEERS", "PORTNET_BACKENDS", "make"]

PORTNET_BACKENDS = ("numpy", "jax", "torch", "cupy")
PEERS = ("seeds-numpy", "sklearn", "sklearn-partial_fit", "torch-nn", "jax-grad")


def _activation(params) -> str:
    return "relu" if len(params) > 2 else "tanh"


#: set by ``bench.py --gpu``: contenders that can run on CUDA do
GPU = False


class Portnet:
    """``portnet.train`` on one backend, warm-started from the given parameters each run."""

    def __init__(self, backend, X, y, params, dtype, learning_rate):
        self.name = f"portnet-{backend}"
        self.backend = backend
        device = portnet._backend.gpu_device(backend) if GPU and backend != "numpy" else None
        be = portnet._backend.resolve_backend(backend, device=device)
        dt = be.dtype(dtype)
        self.be = be
        self.X, self.y = be.asarray(X, dt), be.asarray(y)
        self.params = [(be.asarray(W, dt), be.asarray(b, dt)) for W, b in params]
        self.options = dict(
            activation=_activation(params), learning_rate=learning_rate, backend=backend
        )

    def run(self, steps):
        # log_every > steps: the cost is read at step 0 and at the end, nowhere between;
        # iterations=0 is the set-up alone (labels, parameters, the final cost)
        portnet.train(
            self.X,
            self.y,
            params=self.params,
            iterations=steps,
            log_every=steps + 1,
            **self.options,
        )

    def matmuls(self):
        xp = self.be.xp
        (X,) = self.be.full_batch(self.X)  # laid out as train's full-batch steps read it
        Ws = [W for W, _ in self.params]
        # the step's own products on features-first (n, m) arrays of ones laid out in memory
        # as the step lays them: made by the step's own _matmul (samples-first in memory on
        # torch), as outer products
        row = xp.ones((1, X.shape[0]), dtype=X.dtype)
        acts = [X.T] + [_matmul(xp.ones((W.shape[0], 1), dtype=X.dtype), row, xp) for W in Ws]

        # written where train's steps write them: a workspace's arrays on NumPy and torch
        # (reused from call to call, as from step to step), fresh arrays elsewhere
        ws = self.be.workspace()

        def products(acts, Ws):
            out = []
            for l, W in enumerate(Ws):
                # forward: (n_out, n_in) @ (n_in, m)
                out.append(_matmul(W, acts[l], xp, ws, ("Z", l)))
                out.append(acts[l + 1] @ acts[l].T)  # dW: (n_out, m) @ (m, n_in)
                if l and W.shape[0] > 1:  # dA_prev (a broadcast product when n_out = 1)
                    out.append(_matmul(W.T, acts[l + 1], xp, ws, ("dA", l)))
            return out

        return _synchronised(self.backend, products, acts, Ws)


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
        self.model.partial_fit(self.X, self.y, classes=[0, 1])

    def run(self, steps):
        for _ in range(steps):
            self.model.partial_fit(self.X, self.y)


class TorchNN:
    """A PyTorch ``nn.Sequential`` + ``BCEWithLogitsLoss`` + autograd + ``optim.SGD`` loop."""

    name = "torch-nn"

    def __init__(self, X, y, params, dtype, learning_rate):
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
        if GPU and not torch.cuda.is_available():
            raise RuntimeError("torch has no usable CUDA device (torch.cuda.is_available())")
        self.device = torch.device("cuda" if GPU else "cpu")
        self.model = torch.nn.Sequential(*layers).to(self.device)
        self.X = torch.as_tensor(X, dtype=dt, device=self.device)
        self.y = torch.as_tensor(y, dtype=dt, device=self.device)
        self.loss = torch.nn.BCEWithLogitsLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=learning_rate)

    def run(self, steps):
        for _ in range(steps):
            self.opt.zero_grad()
            self.loss(self.model(self.X)[:, 0], self.y).backward()
            self.opt.step()
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def matmuls(self):
        return None


class JaxGrad:
    """JAX ``value_and_grad`` of the same loss, the update under ``jax.jit``, a dispatch a step."""

    name = "jax-grad"

    def __init__(self, X, y, params, dtype, learning_rate):
        import jax
        import jax.numpy as jnp

        self.jax = jax
        dt = getattr(jnp, dtype)
        relu = len(params) > 2

        def loss(ps, X, y):
            A = X
            for W, b in ps[:-1]:
                Z = A @ W.T + b
                A = jnp.maximum(Z, 0) if relu else jnp.tanh(Z)
            W, b = ps[-1]
            z = (A @ W.T + b)[:, 0]
            return jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))

        @jax.jit
        def step(ps, X, y):
            value, grads = jax.value_and_grad(loss)(ps, X, y)
            new = jax.tree_util.tree_map(lambda p, g: p - learning_rate * g, ps, grads)
            return new, value

        self.step = step
        self.params = [(jnp.asarray(W, dt), jnp.asarray(b, dt)) for W, b in params]
        self.X, self.y = jnp.asarray(X, dt), jnp.asarray(y, dt)

    def run(self, steps):
        ps = self.params
        for _ in range(steps):
            ps, _value = self.step(ps, self.X, self.y)
        self.jax.block_until_ready(ps)

    def matmuls(self):
        return None


def _synchronised(backend, products, *args):
    """``products(*args)``, finished on the device (compiled on JAX, arrays as arguments)."""
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
    return lambda: products(*args)


def make(name, X, y, params, dtype, learning_rate):
    """The contender called ``name`` (``portnet-<backend>`` or a peer), or ImportError."""
    if name.startswith("portnet-"):
        return Portnet(name.removeprefix("portnet-"), X, y, params, dtype, learning_rate)
    cls = {
        "seeds-numpy": Seeds,
        "sklearn": SklearnMLP,
        "sklearn-partial_fit": SklearnPartialFit,
        "torch-nn": TorchNN,
        "jax-grad": JaxGrad,
    }
    return cls[name](X, y, params, dtype, learning_rate)
