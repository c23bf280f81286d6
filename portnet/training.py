"""``portnet.train``: a fully-connected network trained on ``(X, y)``.

The options are checked in one place (:class:`portnet._options.Options`, shared with
:meth:`portnet.Model.fit`, the estimators and the command line); the run is prepared
(:mod:`portnet._prepare`) and looped (:mod:`portnet._loop`) by :func:`portnet.model.fit`.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

from ._loop import DivergenceError, TrainingInterrupted
from ._options import Options
from .model import Model, fit

__all__ = ["DivergenceError", "TrainingInterrupted", "train"]


def train(X: Any, y: Any, **options: Any) -> Model:
    """Train a fully-connected network.

    The defaults are the course's shallow network: one tanh hidden layer of 4 units, full-batch
    gradient descent with learning rate 1.2, 10 000 iterations.

    Parameters
    ----------
    X : array, shape (m, n_features)
        Inputs, samples first: real numbers (bool, integers, floats), finite. Any array
        namespace (a torch tensor that requires grad is detached), a pandas DataFrame
        (nullable ``Float64``/``Int64``/``boolean`` columns too; a missing value counts as
        NaN), or anything NumPy accepts (not a ragged list, nor a masked array with masked
        values). ``predict``, ``score`` and ``cost`` check ``X`` alike. Full-batch
        training on NumPy works on a column-major copy (made once; none if ``X`` is
        column-major already, e.g. ``np.asfortranarray(X)``), the layout its matrix
        products run faster on.
    y : array, shape (m,) or (m, k)
        Class labels (any values: 0/1, {-1, 1}, strings, class numbers; none missing),
        one-hot rows, multi-label 0/1 rows, or real (finite) targets for regression.
    hidden : sequence of int, optional
        Hidden layer widths: ``()`` is logistic regression, ``(4,)`` the default shallow
        network, ``(20, 7, 5)`` an L-layer network. Taken from ``params`` when given.
    activation : str or Activation
        Hidden activation: "sigmoid", "tanh", "relu", "leaky_relu" (slope 0.01; use
        ``portnet.activations.leaky_relu(slope)`` for another) or "identity".
    loss : str or Loss
        "binary_crossentropy": sigmoid outputs (two classes, or multi-label rows);
        "categorical_crossentropy": softmax output (classes, or one-hot rows);
        "squared_error": identity output, ½·mean‖ŷ−y‖²; "poisson": exponential output, half
        the Poisson deviance (``y >= 0``: counts, rates). "auto" (default) picks from ``y``:
        labels (bool, integers, text, whole-number floats) with 2 classes → binary, more →
        categorical; 0/1 rows → categorical if one-hot, else multi-label; other reals →
        squared error.
    optimizer : {"sgd", "momentum", "nesterov", "adam", "lbfgs"} or Optimizer
        The update rule (:mod:`portnet.optimizers`); an object carries its own options.
        "lbfgs" (or ``portnet.optimizers.lbfgs(memory=10)``): L-BFGS (:mod:`portnet.lbfgs`),
        full batch, each step found by a line search satisfying the strong Wolfe
        conditions; it stops as SciPy's L-BFGS-B (as scikit-learn's ``solver="lbfgs"``):
        when ``max|∇J| ≤ tol`` (``stop_reason="tol"``), when an iteration lowers the cost by
        less than ``2.2e-9·max(|J|, 1)`` ("ftol"), after the iteration in which the cost's
        evaluations pass ``max_fun`` ("max_fun"), when no step satisfies the Wolfe
        conditions, nor lowers the cost enough along ``−∇J`` ("line_search"), or after
        ``iterations``. No ``learning_rate``, ``batch_size``, ``checkpoint`` or ``resume``.
        ``momentum(0.1, nesterov=True, rate_in_velocity=True)``, ``adam(0.001,
        eps_hat=True)``: scikit-learn's forms of the updates.
    learning_rate : float or Schedule, optional
        Step size, or a schedule of the step (``portnet.optimizers.inverse_scaling`` ...).
        Default: 1.2 for "sgd" (the course), 0.1 for momentum, 0.001 for Adam. A held
        schedule (``adaptive(α)``, ``inverse_scaling(α, p, per="sample")``: scikit-learn's
        "adaptive" and "invscaling") is set on the host at epoch ends and needs
        ``log_every="epoch"``.
    iterations : int, optional
        Number of updates (default 10 000; L-BFGS: iterations). Give this or ``epochs``,
        not both.
    epochs : int, optional
        Number of passes over the training data (``ceil(m / batch_size)`` updates each).
    batch_size : int, optional
        Mini-batch size; None is the full batch, as in the course. Batches are drawn from a
        permutation of the training samples made anew every epoch from ``seed``. On Dask a
        batch is a whole chunk of ``batch_size`` rows, the chunks visited in an order drawn
        anew every epoch.
    shuffle : bool
        False: the batches in the samples' order, every epoch (no permutation).
    chunks : int, optional
        Dask only: rows per chunk of ``X`` and ``y`` (default: ``X``'s own chunks, or dask's
        automatic ones for NumPy input; ``batch_size`` with mini-batches).
    l2 : float
        L2 strength λ: the cost gains ``λ/(2m)·Σ‖W‖²``, each ``dW`` gains ``λW/m`` (``m`` is
        the batch size; with weights, the batch's ``Σw``).
    sample_weight : array, shape (m,), optional
        Non-negative, finite weights, not all zero (any array namespace, a list, a pandas
        Series). Each batch's cost is the weighted mean of its samples' losses and the batch
        size ``m`` becomes its total weight ``Σw`` throughout, as in scikit-learn's MLP::

            J = (1/Σw)·Σ_i w_i·L_i + (λ/2Σw)·Σ‖W‖²      dZ_L = w ∘ (A_L − Y)/Σw

        so a weight of ``k`` counts a sample ``k`` times (full batch: to rounding, the run on
        the repeated samples), and a sample of weight 0 is left out before the validation
        split and the batches (bit for bit the run without it; see ``zero_weights``). All
        ones is the unweighted run, bit for bit. The history's costs, and with
        ``early_stopping`` the validation loss, are weighted alike.
    class_weight : "balanced" or dict, optional
        Classifiers with one class per sample: each sample's weight is multiplied by its
        class's: ``{label: weight}`` (labels as in ``y``, one-hot columns by number; the
        others 1), or "balanced", scikit-learn's ``n / (n_classes · n_c)`` for the ``n_c``
        samples of class ``c`` (weighted counts with ``sample_weight``). Real targets or
        multi-label rows: an error.
    zero_weights : {"drop", "keep"}
        Samples whose weight (``sample_weight`` times ``class_weight``) is 0: "drop"
        (default) leaves them out before the validation split and the batches; "keep" keeps
        them in the batches, where they count for nothing but take places (scikit-learn's
        MLP: its batches, its ``loss_curve_``). A batch of them alone, or a split part of
        them alone, is then a ``ValueError`` (its weighted mean would be 0/0).
    init : {"auto", "small", "he", "glorot", "glorot_uniform", "zeros"}
        Initialiser (see :mod:`portnet.init`); "auto" is "he" for ReLU-type hidden layers,
        else "glorot"; "glorot_uniform" is scikit-learn's MLP's. Drawn on the host in
        float64, so every backend starts identically.
    seed : int, numpy.random.RandomState or None
        Seed of the initialiser, the shuffling and the validation split. A ``RandomState``
        (scikit-learn's ``random_state``) is drawn from as scikit-learn's MLP draws: the
        initial parameters, the split, then each epoch's shuffle of the previous epoch's
        order (with ``init="glorot_uniform"``, scikit-learn's numbers).
    tol, n_iter_no_change : float or None, int
        Stop when the training cost (with ``early_stopping``, the validation loss) has not
        improved by more than ``tol`` for ``n_iter_no_change`` consecutive log points.
        ``tol=None`` (default) never stops on the training cost. With "lbfgs", ``tol`` is
        the gradient's tolerance instead (SciPy's ``gtol``; None: its default, 1e-5).
    max_fun : int, optional
        "lbfgs" only: the evaluations of the cost and gradient after which it stops
        (SciPy's ``maxfun``; default 15 000).
    tol_reference : {"improvement", "best"}
        Where an improvement by ``tol`` is measured from: the last value that improved by
        ``tol`` ("improvement"), or the best value seen ("best", scikit-learn's rule: the
        best is the lowest value, and with ``early_stopping`` its parameters are kept,
        whenever a value is lower).
    early_stopping : bool
        Hold out ``validation_fraction`` of the samples (a seeded random split), watch the
        loss on them at every log point, stop as above (``tol`` None counts any
        improvement) and keep the parameters with the best validation loss.
    validation_fraction : float
        Share of the samples held out for ``early_stopping``.
    validation_data : (X, y) or (X, y, sample_weight), optional
        The held-out samples ``early_stopping`` watches, instead of a split of the training
        samples (``validation_fraction`` is then unused); checked and encoded as ``X``, ``y``
        and ``sample_weight`` are (the weights weigh their loss or score).
    validation_metric : {"loss", "score"}
        What ``early_stopping`` watches on the held-out samples: their loss, or their score
        (accuracy for classifiers, R² for regression; higher is better), recorded in
        ``history.val_cost`` or ``history.val_score``.
    callbacks : callable or sequence of callables, optional
        Called at every log point as ``callback(step, cost, model)`` (``model`` holds the
        parameters whose cost that is); returning ``False`` stops training.
    backend : str, array namespace or None
        "numpy", "cupy", "jax", "torch", "array_api_strict", a namespace, or "auto" (a GPU
        backend when one is usable, else NumPy; the ``PORTNET_BACKEND`` environment variable
        overrides the detection). None uses the namespace of ``X`` when it is a non-NumPy
        array, else ``PORTNET_BACKEND`` if set, else NumPy. Other input is moved there. An
        explicit GPU backend without a usable GPU is an error, never a silent CPU run.
    device : device or str, optional
        Where data and parameters live (e.g. ``"cpu:1"`` on JAX, ``"cuda:0"`` on torch);
        default: the device of ``X`` when it is already on the backend, else the default.
    dtype : {"float32", "float64"}, optional
        Or another spelling of one: ``np.float32``, ``np.dtype("float32")``, ``"f4"``,
        ``float`` (float64), a library's (``torch.float32``, ``jnp.float32``). Default:
        ``X``'s floating dtype, else the backend's default floating dtype. float64 where it
        is unavailable (JAX without x64) is an error, never a silent float32.
    precision : {"highest", "tf32"}
        How float32 matrix products are computed: "highest", full IEEE float32 on every
        backend (JAX's GPU default, TF32, overridden for portnet's computations alone);
        "tf32", TF32 tensor-core products on a CUDA GPU (CuPy, JAX, torch; faster, about
        3 decimal digits per input). A backend that cannot honour the mode is an error.
        The model keeps it for its predictions.
    params : sequence of (W, b), optional
        Start from these parameters (warm start), e.g. another model's ``params``; the
        optimiser's state starts afresh, unless ``state`` is given.
    state : optimiser state, optional
        Continue with this optimiser state (with ``params``), e.g. a model's
        ``optimizer_state``: momentum's velocity, Adam's moments and step count, a held
        learning rate.
    log_every : int or "epoch"
        Read the cost back to the host every ``log_every`` updates (the only
        synchronisation in the loop) into ``model.history``. "epoch": at every epoch's end,
        the cost being the mean of that epoch's batch costs, each taken at the parameters
        before its update (scikit-learn's ``loss_curve_``: no separate pass over the data);
        stopping, a held learning rate and checkpoints are decided there; with "lbfgs",
        every iteration (each is a pass over the full batch).
    verbose : bool
        Print the cost at each log point.
    checkpoint, checkpoint_every : path, int, optional
        Write the parameters, the optimiser state, the step, the mini-batch shuffling state
        and the history to ``checkpoint`` (atomically: written beside it and renamed) every
        ``checkpoint_every`` updates (default ``log_every``; a multiple of it). A folder
        that is missing or not writable, or a ``checkpoint`` that is a folder, is an
        ``OSError`` before training (as :meth:`Model.save` raises).
    resume : path, optional
        Continue from such a checkpoint to ``iterations``, with the same data and options:
        the result is that of the uninterrupted run (the stopping rules' patience restarts).
        The checkpoint records its run; other data, sample weights, dtype, optimizer,
        learning rate, l2, batch size or validation split, or fewer ``iterations`` than it
        has made, is a ``ValueError`` (to go on with other settings, pass its ``params``
        instead).
        A file that cannot be read is an ``OSError`` before training.

    Returns
    -------
    Model

    Raises
    ------
    InvalidOptionError
        An unknown option, or one of the wrong type or out of its range (a ``ValueError``
        and a ``TypeError``), before the data is looked at (``sample_weight``: not 1-D, not
        finite, negative, all zero; its length is checked with the data, a ``ValueError``).
    DivergenceError
        A cost read at a log point is not finite, or is more than 1000 times the run's
        starting cost (1000 when that is below 1); ``error.model`` is the model at the last
        log point before. Where the starting parameters' cost already is not finite, the
        message names the cause (non-finite parameters, numbers too large for the dtype).
    TrainingInterrupted
        Ctrl-C (or ``KeyboardInterrupt`` raised in a callback): a ``KeyboardInterrupt``,
        so it stops the caller too; ``error.model`` is the model trained so far
        (``stop_reason="interrupted"``).
    """
    return fit(X, y, Options.given(**options))


# the options as train's keyword-only parameters, for help() and inspect.signature
train.__signature__ = inspect.Signature(
    [
        inspect.Parameter("X", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("y", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        *(
            inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default)
            for f in dataclasses.fields(Options)
        ),
    ],
    return_annotation="Model",
)
