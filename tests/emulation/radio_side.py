"""Test helper: plays the emulated NCP's part towards the coordinator stack (stack_api.StackEvents and
TrustCentreKeys), so the radio side can be tested without ASH/EZSP or bellows."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable

from zigpy.types import EUI64, KeyData

from harness.emulation.medium import Medium
from harness.emulation.stack import EmulatedCoordinatorStack
from harness.emulation.stack_api import ApsMessage, NetworkParams

WILDCARD = EUI64.convert("FF:FF:FF:FF:FF:FF:FF:FF")
TC_EUI64 = EUI64.convert("11:22:33:44:55:66:77:88")
# research/vectors.md 3.4: network key and PAN of the worked frames.
NETWORK_KEY = KeyData(bytes.fromhex("01030507090B0D0F00020406080A0C0D"))
PAN_ID = 0x1A62
# research/vectors.md 1.2: spec install code -> link key; zigpy's 8-byte vector.
SPEC_INSTALL_CODE = "83FED3407A939723A5C639B26916D505C3B5"
SPEC_LINK_KEY = bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")
OTHER_INSTALL_CODE = "11223344556677884AF7"
OTHER_LINK_KEY = bytes.fromhex("41618FC0C83B0E14A589954B16E31466")
WELL_KNOWN_KEY = KeyData(b"ZigBeeAlliance09")

FAST = {"scan_interval": 0.05, "scan_dwell": 0.005, "key_timeout": 0.3, "association_timeout": 0.2,
        "poll_interval": 0.05}


@dataclass
class Received:
    src_nwk: int
    src_eui64: EUI64 | None
    message: ApsMessage
    broadcast: bool


@dataclass
class NcpSide:
    """What the NCP would hold (policy, transient keys) and what it would turn into EZSP callbacks."""

    policy: int = 0x0011  # ALLOW_JOINS | JOINS_USE_INSTALL_CODE_KEY, as bellows' permit_with_link_key sets
    keys: dict[EUI64, KeyData] = field(default_factory=dict)
    messages: list[Received] = field(default_factory=list)
    tc_joins: list[tuple[int, EUI64, int, int, int]] = field(default_factory=list)
    child_joins: list[tuple[Any, ...]] = field(default_factory=list)

    def policy_bitmask(self) -> int:
        return self.policy

    def transient_key_for(self, eui64: EUI64) -> KeyData | None:
        return self.keys.get(EUI64(eui64)) or self.keys.get(WILDCARD)

    def stack_message_received(self, src_nwk: int, src_eui64: EUI64 | None, message: ApsMessage, *,
                               broadcast: bool, lqi: int, rssi: int) -> None:
        self.messages.append(Received(src_nwk, src_eui64, message, broadcast))

    def stack_trust_center_join(self, nwk: int, eui64: EUI64, status: int, decision: int, parent: int) -> None:
        self.tc_joins.append((nwk, eui64, status, decision, parent))

    def stack_child_join(self, index: int, joining: bool, nwk: int, eui64: EUI64, node_type: int) -> None:
        self.child_joins.append((index, joining, nwk, eui64, node_type))

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 3.0) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            result = predicate()
            if result:
                return result
            await asyncio.sleep(0.01)
        raise AssertionError(f"condition not met within {timeout} s")

    def message(self, cluster_id: int, src_nwk: int | None = None) -> Received | None:
        for received in self.messages:
            if received.message.cluster_id == cluster_id and (src_nwk is None or received.src_nwk == src_nwk):
                return received
        return None


def start_coordinator(medium: Medium, side: NcpSide, *, channel: int = 15,
                      **options: Any) -> EmulatedCoordinatorStack:
    stack = EmulatedCoordinatorStack(medium, **options)
    params = NetworkParams(TC_EUI64, 0x0000, PAN_ID, EUI64.convert("DD:DD:DD:DD:DD:DD:DD:DD"), channel,
                           NETWORK_KEY, 0, KeyData(bytes(16)))
    stack.start(params, side, side)
    return stack
