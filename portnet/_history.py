"""What training read back at its log points."""

from __future__ import annotations

import dataclasses

__all__ = ["History"]


@dataclasses.dataclass
class History:
    """The costs read back at log points.

    Attributes
    ----------
    step : list of int
        Updates done when the cost was taken: ``0, log_every, 2·log_every, ...`` and the
        last step.
    cost : list of float
        The training cost ``J`` (with its L2 term) at those parameters, on the whole
        training set.
    val_cost : list of float
        With ``early_stopping``: the loss on the held-out validation set (no L2 term).
    val_score : list of float
        With ``early_stopping`` and ``validation_metric="score"``: instead, the accuracy
        (classifiers) or R² (regression) on the held-out validation set.

    With ``log_every="epoch"`` a log point is an epoch's end: ``step`` the updates done by
    then, ``cost`` the mean of that epoch's batch costs (each at the parameters before its
    update, L2 term included, weighted by the batch's rows: scikit-learn's ``loss_curve_``).
    """

    step: list[int] = dataclasses.field(default_factory=list)
    cost: list[float] = dataclasses.field(default_factory=list)
    val_cost: list[float] = dataclasses.field(default_factory=list)
    val_score: list[float] = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return len(self.cost)

    def copy(self) -> History:
        return History(list(self.step), list(self.cost), list(self.val_cost), list(self.val_score))
