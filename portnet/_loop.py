"""The training loop: steps on the device; reads, decisions and checkpoints at log points.

The loop touches the host only at log points (one read of the cost, and of the validation
loss with ``early_stopping``).  Mini-batches are drawn from a permutation made on the host
from the seed once per epoch and copied to the device, so every backend sees the same
batches in the same order.  With ``log_every="epoch"`` a log point is an epoch's end, its
cost the mean of the epoch's batch costs (scikit-learn's ``loss_curve_``), and the host
decisions are taken there: stopping, a held learning rate (:mod:`portnet.optimizers`).
What the loop changes as it runs is declared in :class:`Loop`; nothing outside it sets its
state.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import checkpoints, lbfgs, network
from ._backend import _float_name, to_numpy
from ._history import History
from ._namespace import array_namespace
from ._options import Options
from ._precision import scope
from ._prepare import Prepared
from ._targets import score
from ._trees import tree_leaves, tree_map
from .backends._adapter import quiet
from .network import Network, Params
from .optimizers import Optimizer, train_step, with_rate

Array = Any

__all__ = [
    "DIVERGENCE_GROWTH",
    "DivergenceError",
    "Loop",
    "TrainingInterrupted",
    "advance",
    "advance_batch",
]


class DivergenceError(FloatingPointError):
    """Training produced a non-finite cost.

    Attributes
    ----------
    step : int
        The iteration whose cost was not finite.
    model : Model
        The model at the last log point whose cost was finite (its ``n_steps`` says which),
        with the history up to and including the bad cost; nothing trained is lost.
    """

    def __init__(self, message: str, *, step: int, model: Any) -> None:
        super().__init__(message)
        self.step = step
        self.model = model


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or a ``KeyboardInterrupt`` raised in a callback) stopped training.

    A ``KeyboardInterrupt``: it stops the caller too (a loop of ``train`` calls,
    ``cross_val_score``, ``GridSearchCV``), and ``except Exception`` does not catch it.

    Attributes
    ----------
    step : int
        The updates made when it stopped.
    model : Model
        The model trained so far (``stop_reason="interrupted"``, ``n_steps`` = ``step``), its
        history up to the last log point; nothing trained is lost.
    """

    def __init__(self, message: str, *, step: int, model: Any) -> None:
        super().__init__(message)
        self.step = step
        self.model = model


def _score(
    params: Params, X: Array, Y: Array, *, w: Array | None = None, net: Network, kind: str,
    ops: Any,
) -> Array:  # fmt: skip
    """The score (0-d) of ``params`` on ``(X, Y)`` (``w``: the samples' weights):
    :func:`portnet._targets.score`."""
    return score(array_namespace(X), network.output(params, X, net, ops=ops), Y, kind, w)


def advance(
    carry: tuple[Params, Any],
    X: Array,
    Y: Array,
    w: Array | None = None,
    *,
    net: Network,
    optimizer: Optimizer,
    gradients: Callable[..., Any] = network.cost_and_gradients,
    report: bool = True,
) -> tuple[tuple[Params, Any], Array | None]:
    """One step on the whole batch (``w``: its sample weights): ``(params, state) ->
    (params, state)``, and its cost (computed only when it will be ``report``-ed)."""
    theta, state, J = train_step(
        *carry, X, Y, net, optimizer, w=w, with_cost=report, gradients=gradients
    )
    return (theta, state), J


def advance_batch(
    carry: tuple[Params, Any],
    X: Array,
    Y: Array,
    rows: Array,
    w: Array | None = None,
    *,
    net: Network,
    optimizer: Optimizer,
    gradients: Callable[..., Any] = network.cost_and_gradients,
    report: bool = False,
) -> tuple[tuple[Params, Any], Array | None]:
    """One step on the mini-batch ``rows`` of ``(X, Y)`` (and of the weights ``w``),
    gathered inside the compiled step; its cost ``report``-ed only with
    ``log_every="epoch"`` (else the loop reads the whole training set's at log points)."""
    xp = array_namespace(X)
    Xb, Yb = xp.take(X, rows, axis=0), xp.take(Y, rows, axis=0)
    wb = None if w is None else xp.take(w, rows, axis=0)
    return advance(
        carry, Xb, Yb, wb, net=net, optimizer=optimizer, gradients=gradients, report=report
    )


def _on_data(objective: Callable[..., Any], *data: Array) -> tuple[Any, Array]:
    """``objective(x, X, Y[, w])`` for ``data = (X, Y[, w], x)``: L-BFGS's
    ``value_and_grad`` of a training run."""
    *samples, x = data
    return objective(x, *samples)


@dataclasses.dataclass
class Stopper:
    """Stop when the watched cost has not improved by ``tol`` for ``patience`` log points.

    ``from_best`` (``tol_reference="best"``, scikit-learn's rule): improving by ``tol`` is
    measured from the lowest value seen, which (with its parameters) is kept whenever a
    value is lower; else from the last value that improved by ``tol``.
    """

    tol: float
    patience: int
    from_best: bool = False
    best: float = math.inf
    best_step: int | None = None
    best_params: Params | None = None
    waited: int = 0

    def update(self, step: int, value: float, params: Params) -> bool:
        if self.from_best:
            self.waited = self.waited + 1 if value > self.best - self.tol else 0
            if value < self.best:
                self.best, self.best_step, self.best_params = value, step, params
        elif value < self.best - self.tol:
            self.best, self.best_step, self.best_params, self.waited = value, step, params, 0
        else:
            self.waited += 1
        return self.waited >= self.patience


#: a cost this many times its starting value (or this many units, when it started below 1)
#: is divergence, finite or not: a run that has grown by orders of magnitude has left the
#: course's descent, and what it would return is useless
DIVERGENCE_GROWTH = 1000.0


@dataclasses.dataclass
class Loop:
    """A training run from ``run`` with ``options``; ``make_model(theta, **info)`` makes the
    models it hands out (to callbacks, checkpoints, a :class:`DivergenceError`, its caller).

    State, changed by the loop alone: ``history`` (the log points), ``steps`` (updates
    made when it stopped), ``started`` (the starting parameters and step), ``current`` (the
    latest parameters known whole and their step: what Ctrl-C keeps), ``dispatched`` (the
    latest parameters asked of the device: what Ctrl-C waits for), ``last_finite`` (the last
    log point within the divergence rule: what a divergence keeps), ``stopper`` (the
    stopping rule's record), ``order`` (the sample order of a resumed epoch), ``state``
    (the optimiser state training ended with), ``record`` (what the run is, as its
    checkpoints record it: :func:`portnet.checkpoints.describe`).
    """

    run: Prepared
    options: Options
    make_model: Callable[..., Any]
    history: History = dataclasses.field(default_factory=History)
    steps: int = 0
    started: tuple[Params, int] | None = None
    current: tuple[Params, int] | None = None
    dispatched: Params | None = None
    record: dict[str, Any] | None = None
    last_finite: tuple[Params, int] | None = None
    stopper: Stopper | None = None
    order: Any = None
    state: Any = None

    def __post_init__(self) -> None:
        o = self.options
        quasi_newton = isinstance(o.rule, lbfgs.LBFGS)  # its tol: the gradient's (lbfgs.py)
        if o.early_stopping or (o.tol is not None and not quasi_newton):
            tol = 0.0 if quasi_newton else o.tol or 0.0
            self.stopper = Stopper(tol, o.n_iter_no_change, o.tol_reference == "best")
        net, ops = self.run.net, self.run.be.ops()  # log points: the backend's Ops, no workspace
        self._cost = self.run.be.compile(network.cost, net=net, ops=ops)
        self._validation_loss = self.run.be.compile(network.cost, net=net._replace(l2=0.0), ops=ops)
        self._validation_score = self.run.be.compile(
            _score, net=net, kind=self.run.targets.kind, ops=ops
        )

    def train(self) -> Any:
        """Run to the end (or to a stop) and return the model; Ctrl-C raises
        :class:`TrainingInterrupted` holding the model trained so far."""
        theta, state, start = self._start()
        self.started = self.current = (theta, start)
        try:
            with scope(self.run.be, self.run.precision):
                theta, reason = self._run(theta, state, start)
        except KeyboardInterrupt:  # Ctrl-C: keep what was trained, and stop the caller too
            raise self._interrupted() from None
        return self._model(theta, reason)

    def _model(self, theta: Params, reason: str | None) -> Any:
        """The model the run ends with (with ``early_stopping``, the best one it saw)."""
        best_step = None
        if self.options.early_stopping and self.stopper.best_params is not None:
            theta, best_step = self.stopper.best_params, self.stopper.best_step
        return self.make_model(
            theta, history=self.history, n_steps=self.steps, stop_reason=reason,
            best_step=best_step, optimizer_state=self.state,
        )  # fmt: skip

    def _interrupted(self) -> TrainingInterrupted:
        """The interrupt to raise: the latest parameters, once the device has computed them
        (JAX runs dispatched steps on: waited for here, not by the next call); pressed again
        while waiting, the last log point's."""
        theta, self.steps = self.current
        try:
            self.run.be.wait((self.dispatched, theta))
        except KeyboardInterrupt:
            theta, self.steps = self.last_finite or self.started
        return TrainingInterrupted(
            f"training interrupted at iteration {self.steps}; the exception's .model holds the "
            "model trained so far",
            step=self.steps,
            model=self._model(theta, "interrupted"),
        )

    def _start(self) -> tuple[Params, Any, int]:
        """The starting parameters, optimiser state and step: the run's, or a checkpoint's
        (whose history, generator state and epoch order the loop takes over)."""
        run, rule = self.run, self.options.rule
        if self.options.resume is None:
            return run.theta, self._given_state(), 0
        found = checkpoints.read(
            self.options.resume, run.be, run.dtype, rule.init(run.theta), run.theta
        )
        self.record = checkpoints.describe(run, rule)
        checkpoints.check_same_run(self.options.resume, found, self.record, run.iterations)
        self.history = found.history.copy()
        run.shuffling.bit_generator.state = found.rng
        self.order = found.order
        return found.params, found.state, found.n_steps

    def _given_state(self) -> Any:
        """``state=``, checked against a fresh state of this optimiser and network and placed
        on the run's backend and device in its dtype (None: start afresh)."""
        given, run = self.options.state, self.run
        if given is None:
            return None
        fresh = self.options.rule.init(run.theta)
        shape = lambda leaf: tuple(getattr(leaf, "shape", ()))  # noqa: E731
        mine, theirs = tree_leaves(fresh), tree_leaves(given)
        if type(given) is not type(fresh) or list(map(shape, mine)) != list(map(shape, theirs)):
            raise ValueError(
                f"state does not fit: optimizer {self.options.rule.name!r} on this network "
                f"keeps a {type(fresh).__name__} of shapes {list(map(shape, mine))}, got "
                f"{type(given).__name__} of shapes {list(map(shape, theirs))}"
            )
        return tree_map(lambda leaf, new: run.be.asarray(leaf, new.dtype), given, fresh)

    def _run(self, theta: Params, state: Any, start: int) -> tuple[Params, str | None]:
        run = self.run
        be, X = run.be, run.X
        theta = be.to_working(theta)
        if isinstance(self.options.rule, lbfgs.LBFGS):
            return self._run_lbfgs(theta)
        state = self.options.rule.init(theta) if state is None else be.to_working(state)
        if self.options.log_every == "epoch":
            return self._run_epochs(theta, state, start)
        if run.batch >= X.shape[0]:
            theta, reason = self._run_full(theta, state, start)
        else:
            theta, reason = self._run_batches(theta, state, start)
        if reason is None:
            self.steps = run.iterations
            self._log(run.iterations, theta, self._training_cost(theta), final=True)
        return theta, reason

    def _step(
        self, fn: Callable[..., Any], *, repeat: bool = False, **static: Any
    ) -> Callable[..., Any]:
        """``fn`` (:func:`advance`, :func:`advance_batch`) compiled for this run, with the
        run's own Ops (NumPy, torch: memory reused from step to step)."""
        be = self.run.be
        compile = be.compile_repeat if repeat else be.compile
        return compile(
            fn, net=self.run.net, optimizer=self.options.rule, gradients=be.run_gradients(),
            **static,
        )  # fmt: skip

    def _run_full(self, theta: Params, state: Any, start: int) -> tuple[Params, str | None]:
        """Full batch: the steps between two log points run as one call (one program on JAX)."""
        run, every = self.run, self.options.log_every
        repeat = self._step(advance, repeat=True)
        for i in range(start, run.iterations, every):
            before = theta
            n = min(every, run.iterations - i)
            (theta, state), J = repeat((theta, state), *run.data, n=n)
            self.dispatched = theta  # JAX: maybe still running
            reason = self._log(i, before, run.be.read(J))  # J: the cost at `before`
            self.current = (theta, i + n)
            self._checkpoint(i + n, theta, state, None)
            if reason is not None:
                self.steps = i
                return before, reason
        self.state = state
        return theta, None

    def _run_batches(self, theta: Params, state: Any, start: int) -> tuple[Params, str | None]:
        """Mini-batches: one compiled step per batch (its rows gathered inside the step, or on
        Dask a whole chunk), an epoch's order drawn on the host and copied once."""
        run, every = self.run, self.options.log_every
        chunked = run.be.batches_are_chunks
        step = self._step(advance if chunked else advance_batch)
        if chunked:  # a chunk's cost is never read: the whole set's is, at log points
            step = functools.partial(step, report=False)
        batches = _Batches(run, self.order, shuffle=self.options.shuffle)
        for i in range(start, run.iterations):
            k, logging = i % run.per_epoch, i % every == 0
            if logging and i > start:  # before this epoch's permutation is drawn
                self._checkpoint(i, theta, state, batches.host_order if k else None)
            if k == 0:
                batches.new_epoch(i // run.per_epoch + 1)
            if logging:
                reason = self._log(i, theta, self._training_cost(theta))
                if reason is not None:
                    self.steps = i
                    return theta, reason
            (theta, state), _ = step((theta, state), *batches.batch(k))
            self.current = (theta, i + 1)
        self.state = state
        return theta, None

    def _run_lbfgs(self, theta: Params) -> tuple[Params, str | None]:
        """L-BFGS (:mod:`portnet.lbfgs`) on the full batch, an iteration at a time (its line
        search reads a few scalars each); a log point every ``log_every`` iterations and
        where it stops, its cost the iterate's own (no evaluation more)."""
        run, o = self.run, self.options
        shapes = lbfgs.shapes_of(theta)
        objective = run.be.compile(
            lbfgs.objective, net=run.net, shapes=shapes, gradients=run.be.run_gradients()
        )
        value_and_grad = functools.partial(_on_data, objective, *run.data)
        read, iterate = run.be.read, quiet(lbfgs.iterate)  # a trial step may overflow
        every = 1 if o.log_every == "epoch" else o.log_every  # an iteration: a full pass
        gtol = lbfgs.GTOL if o.tol is None else o.tol  # SciPy's defaults where None
        limits = {"gtol": gtol, "max_fun": o.max_fun or lbfgs.MAX_FUN}
        state = lbfgs.start(value_and_grad, lbfgs.flatten(theta), read=read)
        while True:
            i, theta = state.iteration, lbfgs.unflatten(state.x, shapes)
            self.current, self.dispatched = (theta, i), theta
            reason = lbfgs.stop_reason(state, **limits)
            if reason is not None or i >= run.iterations:
                self.steps = i
                if not self.history.step or self.history.step[-1] != i:
                    self._log(i, theta, state.f, final=True)
                return theta, reason
            if i % every == 0 and (reason := self._log(i, theta, state.f)) is not None:
                self.steps = i
                return theta, reason
            state = iterate(value_and_grad, state, o.rule, read=read)

    def _run_epochs(self, theta: Params, state: Any, start: int) -> tuple[Params, str | None]:
        """``log_every="epoch"``: every batch's cost kept on the device, their mean read at the
        epoch's end; there, the log point, the stopping rule, a held learning rate's update
        (:meth:`_epoch_end`) and a checkpoint."""
        run = self.run
        step = self._step(advance if run.be.batches_are_chunks else advance_batch, report=True)
        batches = _Batches(run, self.order, shuffle=self.options.shuffle)
        schedule = self.options.rule.learning_rate
        rate = float(to_numpy(state.rate)) if schedule.held else None
        seen = (start // run.per_epoch) * run.X.shape[0]  # samples trained on
        reason = None
        for first in range(start, run.iterations, run.per_epoch):
            batches.new_epoch(first // run.per_epoch + 1)
            total, rows = 0.0, 0
            for k in range(min(run.per_epoch, run.iterations - first)):
                (theta, state), J = step((theta, state), *batches.batch(k))
                total, rows = total + J * batches.size(k), rows + batches.size(k)
                self.current = (theta, first + k + 1)
            self.dispatched, self.steps, seen = theta, first + k + 1, seen + rows
            reason = self._log(self.steps, theta, run.be.read(total) / rows)
            if schedule.held:
                rate, reason = self._epoch_end(schedule, rate, seen, reason)
                state = with_rate(state, rate)
            self.state = state
            self._checkpoint(self.steps, theta, state, None)
            if reason is not None:
                break
        return theta, reason

    def _epoch_end(
        self, schedule: Any, rate: float, seen: int, reason: str | None
    ) -> tuple[float, str | None]:
        """A held rate at an epoch's end: ``schedule.fn``'s; where the stopping rule fired
        and the schedule has a plateau rule (:func:`portnet.optimizers.adaptive`), the rate
        it gives and the patience restarted, instead of stopping."""
        rate = schedule.fn(rate, seen)
        if reason in ("tol", "early_stopping") and schedule.plateau is not None:
            lower = schedule.plateau(rate)
            if lower is not None:
                rate, reason, self.stopper.waited = lower, None, 0
        return rate, reason

    # -- log points ------------------------------------------------------------------------------
    def _training_cost(self, theta: Params) -> float:
        """The cost on the whole training set (weighted, where the run is), read to the host."""
        run = self.run
        return run.be.read(self._cost(theta, run.X, run.Y, w=run.w))

    def _log(self, step: int, theta: Params, J: float, *, final: bool = False) -> str | None:
        """Record a log point; return why to stop, if training should stop here."""
        self.history.step.append(step)
        self.history.cost.append(J)
        limit = DIVERGENCE_GROWTH * max(self.history.cost[0], 1.0)
        if not math.isfinite(J) or limit < J:
            self._diverged(step, J)
        self.last_finite = (theta, step)
        watched = J
        line = f"Cost after iteration {step}: {J:.6f}"
        if self.run.validation is not None:
            watched, said = self._validate(theta)
            line += said
        if self.options.verbose:
            print(line)
        reason = None
        if self.stopper is not None and self.stopper.update(step, watched, theta):
            reason = "early_stopping" if self.run.validation is not None else "tol"
        for callback in self.options.callbacks:
            said = callback(step, J, self.snapshot(theta, n_steps=step))
            if isinstance(said, (bool, np.bool_)) and not said:  # False, NumPy's False_
                reason = reason or "callback"
        return None if final else reason

    def _validate(self, theta: Params) -> tuple[float, str]:
        """The value the stopping rule watches on the held-out samples, recorded in the
        history: their loss, or minus their score (``validation_metric="score"``)."""
        read, (Xv, Yv, wv) = self.run.be.read, self.run.validation
        if self.options.validation_metric == "score":
            value = read(self._validation_score(theta, Xv, Yv, w=wv))
            self.history.val_score.append(value)
            return -value, f"  validation score: {value:.6f}"
        value = read(self._validation_loss(theta, Xv, Yv, w=wv))
        self.history.val_cost.append(value)
        return value, f"  validation loss: {value:.6f}"

    def _diverged(self, step: int, J: float) -> None:
        """Raise :class:`DivergenceError` keeping the last log point within the rule (at the
        first log point, before any update, the starting parameters and the actual cause)."""
        if self.last_finite is None:
            theta, good = self.started
            message = self._cannot_start(step, J)
        else:
            theta, good = self.last_finite
            start, before = self.history.cost[0], self.history.cost[-2]
            grew = f"the cost is {J:.6g} at iteration {step}"
            if math.isfinite(J):
                grew += f", more than {DIVERGENCE_GROWTH:g} times its starting {start:.6g}"
            message = (
                f"training diverged: {grew}; it was {before:.6g} at iteration {good}. "
                f"{self._advice()}; the error's .model holds the parameters of iteration {good}"
            )
        model = self.snapshot(theta, n_steps=good, stop_reason="diverged")
        raise DivergenceError(message, step=step, model=model)

    def _advice(self) -> str:
        """What to change after a divergence: the learning rate, or (L-BFGS, which has none)
        the data's scale."""
        rate = getattr(self.options.rule, "learning_rate", None)
        if rate is None:
            return "Scale the data (e.g. standardise X and y) or add l2"
        now = f" (now {rate.options[0][1]:g})" if rate.name == "constant" else ""
        return f"Try a smaller learning_rate{now}"

    def _cannot_start(self, step: int, J: float) -> str:
        """Why the cost of the starting parameters is not finite (no update made: not the
        learning rate): non-finite parameters, or numbers too large for the dtype."""
        run, xp = self.run, self.run.be.xp
        largest = lambda a: run.be.read(xp.max(xp.abs(a)))  # noqa: E731
        given = "the checkpoint" if self.options.resume is not None else "params="
        weights = [p for layer in self.started[0] for p in layer]
        if not all(math.isfinite(largest(p)) for p in weights):
            return (
                f"training cannot start: the starting parameters (from {given}) hold NaN or "
                f"infinite values, so the cost is {J} at iteration {step}, before any update"
            )
        sizes = ", ".join(
            f"largest |{name}| {value:.3g}"
            for name, value in (("W", max(map(largest, weights))), ("X", largest(run.X)),
                                ("y", largest(run.Y)))
        )  # fmt: skip
        dtype = _float_name(run.dtype)
        wider = ", or dtype='float64'" if dtype == "float32" else ""
        return (
            f"training cannot start: the cost of the starting parameters is {J} at iteration "
            f"{step}, before any update (the learning rate is not the cause): the numbers "
            f"overflow {dtype} ({sizes}). Scale the data (e.g. standardise X and y){wider}"
        )

    def _checkpoint(self, step: int, theta: Params, state: Any, order: Any) -> None:
        path, every = (
            self.options.checkpoint,
            self.options.checkpoint_every or self.options.log_every,
        )
        if path is None or (every != "epoch" and step % every):
            return
        model = self.snapshot(theta, n_steps=step)
        if self.record is None:  # what the run is, for a resume to match: made once
            self.record = checkpoints.describe(self.run, self.options.rule)
        checkpoints.write(path, model, state, self.run.shuffling, order, run=self.record)

    def snapshot(self, theta: Params, **info: Any) -> Any:
        """A model with a copy of the history so far (which training goes on appending to)."""
        return self.make_model(theta, history=self.history.copy(), **info)


class _Batches:
    """An epoch's batches: rows of a permutation drawn on the host (one copy to the device
    an epoch), or on Dask (batches are chunks) whole chunks in a permuted order; without
    ``shuffle``, in order.  A ``RandomState`` seed shuffles the previous epoch's order, as
    scikit-learn's MLP does."""

    def __init__(self, run: Prepared, resumed_order: Any, *, shuffle: bool = True) -> None:
        self.run, self.chunked, self.shuffle = run, run.be.batches_are_chunks, shuffle
        self.previous = None  # a RandomState's cumulative order
        m, batch = run.X.shape[0], run.batch
        # Dask: chunk c is rows [c·batch, (c+1)·batch), sliced once for the whole run
        edges = [(c * batch, min((c + 1) * batch, m)) for c in range(run.per_epoch)]
        self.blocks = [tuple(a[s:e] for a in run.data) for s, e in edges] if self.chunked else []
        self.host_order = resumed_order
        self.order = (
            None if resumed_order is None or self.chunked else run.be.asarray(resumed_order)
        )

    def new_epoch(self, epoch: int) -> None:
        """One permutation (of the samples, or on Dask of the chunks), one copy to the device;
        samples of weight 0 kept (``zero_weights="keep"``): a batch of them alone is an
        error, before the epoch's first step."""
        run = self.run
        count = run.per_epoch if self.chunked else run.X.shape[0]
        if not self.shuffle:
            self.host_order = np.arange(count)
        elif isinstance(run.shuffling, np.random.RandomState):
            shuffled = run.shuffling.permutation(count)
            self.host_order = shuffled if self.previous is None else self.previous[shuffled]
            self.previous = self.host_order
        else:
            self.host_order = run.shuffling.permutation(count)
        if run.zero_rows is not None:
            self._check_weighed(epoch)
        self.order = None if self.chunked else run.be.asarray(self.host_order)

    def _check_weighed(self, epoch: int) -> None:
        """Every batch of the epoch weighs something: a batch whose samples all have weight
        0 would average their losses over a total weight of 0 (scikit-learn's MLP raises
        ``ZeroDivisionError`` there)."""
        run = self.run
        starts = np.arange(0, run.X.shape[0], run.batch)  # (per_epoch,)
        if self.chunked:  # chunk c: rows [c·batch, (c+1)·batch), the k-th step's host_order[k]
            empty = np.logical_and.reduceat(run.zero_rows, starts)[self.host_order]
        else:
            empty = np.logical_and.reduceat(run.zero_rows[self.host_order], starts)
        if empty.any():
            k = int(np.argmax(empty))
            raise ValueError(
                f"batch {k + 1} of epoch {epoch} ({self.size(k)} samples) holds only samples "
                "of weight 0: its loss, a mean weighted by them, would be 0/0. Use a larger "
                "batch_size, or leave the samples of weight 0 out (portnet.train's default "
                "zero_weights='drop')"
            )

    def size(self, k: int) -> int:
        """The rows of the ``k``-th batch of the epoch."""
        run = self.run
        c = self.host_order[k] if self.chunked else k
        return min((c + 1) * run.batch, run.X.shape[0]) - c * run.batch

    def batch(self, k: int) -> tuple[Array, ...]:
        """The arguments after the carry of the ``k``-th step of the epoch."""
        if self.chunked:  # chunk host_order[k]
            return self.blocks[self.host_order[k]]
        run = self.run
        rows = self.order[k * run.batch : min((k + 1) * run.batch, run.X.shape[0])]  # (≤ batch,)
        return (run.X, run.Y, rows) if run.w is None else (run.X, run.Y, rows, run.w)
