"""The narrow boundaries the bench uses to reach hardware or its emulation.

`Coordinator` is the HAN coordinator / trust centre (a real EZSP stick or the emulated NCP, both through
drivers/ezsp.py). Everything a bench step needs is here and nothing else: errors come out as the harness's own
(harness.errors: LinkError for the link to the stick, JoinTimeout for a device that does not join).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from zigpy.types import EUI64

__all__ = ["CoordinatorInfo", "JoinedDevice", "Coordinator"]


@dataclass(frozen=True)
class CoordinatorInfo:
    """What the coordinator says it is: for the evidence record's rig provenance."""

    protocol_version: int  # EZSP version
    stack_version: str  # EmberZNet "major.minor.patch.special build N"
    eui64: EUI64
    channel: int
    pan_id: int


@dataclass(frozen=True)
class JoinedDevice:
    """A device the coordinator has admitted and interviewed."""

    eui64: EUI64
    nwk: int
    endpoints: tuple[int, ...]
    profiles: tuple[int, ...]


@runtime_checkable
class Coordinator(Protocol):
    async def connect(self) -> None:
        """Open the link (serial/tcp) and talk to the stick, without touching the network."""

    async def form(self) -> None:
        """Start the network, forming one first if the stick has none."""

    async def permit_install_code(self, eui64: EUI64, link_key: bytes, seconds: int) -> None:
        """Let exactly this device join for `seconds`, with the link key from its install code."""

    async def revoke(self, eui64: EUI64) -> None:
        """Withdraw a permit given with permit_install_code (closes joining when none is left)."""

    async def wait_joined(self, eui64: EUI64, timeout: float) -> JoinedDevice:
        """Wait until the device has joined and its interview completed; JoinTimeout otherwise."""

    async def read_attributes(self, eui64: EUI64, endpoint: int, cluster_id: int,
                              attributes: Sequence[int | str]) -> dict[int | str, Any]:
        """Read ZCL attributes (Smart Energy profile included); failed records are left out."""

    async def remove(self, eui64: EUI64) -> None:
        """Ask the device to leave (Mgmt_Leave) and forget it."""

    def info(self) -> CoordinatorInfo: ...

    async def close(self) -> None:
        """Shut the application down and release the port. Safe to call twice."""
