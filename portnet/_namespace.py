"""``array_namespace`` with its answer remembered per array type.

``array_api_compat.array_namespace`` inspects its arguments afresh on every call (tens of
microseconds); inside a training step it is called for every activation and loss, which
made it a visible share of a small network's step.  An array's namespace depends only on
its type, so the answer is cached by type.
"""

from __future__ import annotations

from typing import Any

import array_api_compat

__all__ = ["array_namespace"]

_BY_TYPE: dict[type, Any] = {}


def array_namespace(*xs: Any) -> Any:
    """The array namespace shared by ``xs`` (as :func:`array_api_compat.array_namespace`)."""
    found = None
    for x in xs:
        xp = _BY_TYPE.get(type(x))
        if xp is None:
            xp = _BY_TYPE.setdefault(type(x), array_api_compat.array_namespace(x))
        if found is None:
            found = xp
        elif xp is not found:
            array_api_compat.array_namespace(*xs)  # raises the library's own error
    return found
