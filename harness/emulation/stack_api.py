"""The boundary between the emulated NCP (EZSP side) and the emulated ZigBee stack (radio side).

The NCP (`harness/emulation/ncp/`) owns what bellows can see: ASH/EZSP, config, policies, NV tokens. The
coordinator stack (`harness/emulation/stack.py`) owns what goes on air: NWK/APS with security, the trust
centre's join decision, children, the simulated medium. They meet only here, so each can be tested alone:
the NCP runs with no stack at all (no radio: only self-addressed ZDO loops back), and the stack runs under a
test that plays the NCP's part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from zigpy.types import EUI64, KeyData

BROADCAST_ALL = 0xFFFF
BROADCAST_RX_ON_WHEN_IDLE = 0xFFFD
BROADCAST_ROUTERS = 0xFFFC

# TRUST_CENTER_POLICY bits (EZSP v8+; bellows' EzspDecisionBitmask).
TC_ALLOW_JOINS = 0x0001
TC_ALLOW_UNSECURED_REJOINS = 0x0002
TC_SEND_KEY_IN_CLEAR = 0x0004
TC_IGNORE_UNSECURED_REJOINS = 0x0008
TC_JOINS_USE_INSTALL_CODE_KEY = 0x0010
TC_DEFER_JOINS = 0x0020


@dataclass(frozen=True)
class NetworkParams:
    """What a formed network is: enough for the stack to put frames on air."""

    eui64: EUI64
    nwk: int
    pan_id: int
    extended_pan_id: EUI64
    channel: int
    network_key: KeyData = field(repr=False)  # secrets: kept out of repr
    network_key_seq: int
    tc_link_key: KeyData = field(repr=False)  # the (hashed) TC link key bellows sets with setInitialSecurityState


@dataclass(frozen=True)
class ApsMessage:
    """An APS data frame as the application sees it (no NWK). `aps_encrypted`: sent (or received) APS-secured
    with the partner's link key, EZSP's APS_OPTION_ENCRYPTION."""

    profile_id: int
    cluster_id: int
    src_ep: int
    dst_ep: int
    payload: bytes
    aps_counter: int = 0
    group_id: int = 0
    aps_encrypted: bool = False


class StackEvents(Protocol):
    """Implemented by the NCP: what the stack reports upward (each becomes an EZSP callback)."""

    def stack_message_received(
        self, src_nwk: int, src_eui64: EUI64 | None, message: ApsMessage, *, broadcast: bool, lqi: int, rssi: int
    ) -> None: ...

    def stack_trust_center_join(self, nwk: int, eui64: EUI64, status: int, decision: int, parent: int) -> None:
        """status: EmberDeviceUpdate (STANDARD_SECURITY_UNSECURED_JOIN=1, DEVICE_LEFT=2, ...);
        decision: EmberJoinDecision (USE_PRECONFIGURED_KEY=0, SEND_KEY_IN_THE_CLEAR=1, DENY_JOIN=2, NO_ACTION=3)."""

    def stack_child_join(self, index: int, joining: bool, nwk: int, eui64: EUI64, node_type: int) -> None: ...


class TrustCentreKeys(Protocol):
    """The NCP's key state the stack's trust centre decides joins from."""

    def policy_bitmask(self) -> int: ...

    def transient_key_for(self, eui64: EUI64) -> KeyData | None:
        """The unexpired transient key for this joiner, or the wildcard FF..FF entry's key, or None."""

    def link_key_for(self, eui64: EUI64) -> KeyData | None:
        """The key-table link key for this partner (e.g. the one CBKE stored), for APS-secured data; or None."""


class CoordinatorStack(Protocol):
    """Implemented by the emulated stack: what the NCP asks of the radio side."""

    def start(self, params: NetworkParams, events: StackEvents, keys: TrustCentreKeys) -> None:
        """The network is up (formNetwork or networkInit on a formed NCP): begin beaconing and relaying."""

    def stop(self) -> None:
        """The network is down (leaveNetwork, reset, port closed)."""

    def permit_joining(self, seconds: int) -> None:
        """Open (seconds > 0; 255 = until closed) or close (0) association on this node."""

    def send_unicast(self, dst_nwk: int, message: ApsMessage) -> bool:
        """Queue a unicast. False if the destination is unknown (the NCP then reports a delivery failure)."""

    def send_broadcast(self, dst: int, message: ApsMessage, radius: int) -> None: ...

    def remove_device(self, eui64: EUI64) -> None:
        """Forget a child/neighbour (leave handled by the stack)."""
