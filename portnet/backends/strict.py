"""array-api-strict: the conformance check, run the standard's way (the plain Ops)."""

from __future__ import annotations

from typing import Any

from ._adapter import Adapter
from ._table import TABLE

__all__ = ["ADAPTER", "StrictAdapter"]


class StrictAdapter(Adapter):
    """array-api-strict: its devices by name (``"CPU_DEVICE"``, ``"device1"``, ...)."""

    def parse_device(self, xp: Any, device: str | int) -> Any:
        return xp.Device(device)


ADAPTER = StrictAdapter(TABLE["array_api_strict"])
