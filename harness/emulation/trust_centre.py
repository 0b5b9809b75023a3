"""The trust centre model of the emulated coordinator: permit window, TRUST_CENTER_POLICY, join decisions.

EmberZNet decides a join from the TRUST_CENTER_POLICY bitmask (EZSP v8+, bellows' EzspDecisionBitmask) and its
transient-key table (ezsp.md 2.6, 9.3 step 5). This model follows that bitmask:

* no ALLOW_JOINS bit                  -> DENY_JOIN;
* JOINS_USE_INSTALL_CODE_KEY set      -> the joiner needs a transient key imported for ITS EUI-64, else DENY_JOIN;
* otherwise                           -> its own transient key, else the wildcard FF..FF entry (bellows' pre_permit
                                         imports "ZigBeeAlliance09" there), else DENY_JOIN.

UNVERIFIED on real firmware (ezsp.md 0.3): whether the wildcard FF..FF entry satisfies JOINS_USE_INSTALL_CODE_KEY.
`wildcard_satisfies_install_code_policy` selects it; the default (False) is the strict reading, under which only a
key imported for the joiner's own EUI-64 lets it in. Settle it on hardware with a "default key refused" test.

Every attempt is recorded in `decisions` with the reason, so a test can say why a meter did not join.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from zigpy.types import EUI64, KeyData

from harness.emulation.stack_api import (
    TC_ALLOW_JOINS,
    TC_JOINS_USE_INSTALL_CODE_KEY,
    TrustCentreKeys,
)

__all__ = [
    "WILDCARD_EUI64",
    "PERMIT_UNTIL_CLOSED",
    "JoinDecision",
    "DeviceUpdate",
    "JoinRecord",
    "PermitWindow",
    "TrustCentre",
]

LOGGER = logging.getLogger(__name__)

WILDCARD_EUI64 = EUI64.convert("FF:FF:FF:FF:FF:FF:FF:FF")
PERMIT_UNTIL_CLOSED = 255  # permitJoining(255): open until explicitly closed (ZigBee NLME-PERMIT-JOINING)


class JoinDecision(IntEnum):
    """EmberJoinDecision, as reported in trustCenterJoinHandler."""

    USE_PRECONFIGURED_KEY = 0
    SEND_KEY_IN_THE_CLEAR = 1
    DENY_JOIN = 2
    NO_ACTION = 3


class DeviceUpdate(IntEnum):
    """EmberDeviceUpdate, the status of trustCenterJoinHandler."""

    STANDARD_SECURITY_SECURED_REJOIN = 0
    STANDARD_SECURITY_UNSECURED_JOIN = 1
    DEVICE_LEFT = 2
    STANDARD_SECURITY_UNSECURED_REJOIN = 3


@dataclass(frozen=True)
class JoinRecord:
    """One join attempt as the trust centre saw it. `key_source` is "install-code", "wildcard" or ""."""

    eui64: EUI64
    time: float
    decision: JoinDecision
    reason: str
    key_source: str = ""


@dataclass
class PermitWindow:
    """When association is allowed: closed, open until `until` (loop time), or open until closed."""

    until: float | None = 0.0  # None: open until closed (255)

    def open(self, seconds: int, now: float) -> None:
        if not 0 <= seconds <= 255:
            raise ValueError(f"permit duration {seconds} s out of range 0..255")
        if seconds == PERMIT_UNTIL_CLOSED:
            self.until = None
        else:
            self.until = now + seconds

    def is_open(self, now: float) -> bool:
        return self.until is None or now < self.until


@dataclass
class _Verdict:
    decision: JoinDecision
    reason: str
    link_key: KeyData | None = field(default=None, repr=False)  # a secret
    key_source: str = ""


class TrustCentre:
    """Decides joins from the NCP's key state; remembers the link key each admitted device joined with."""

    def __init__(
        self,
        keys: TrustCentreKeys,
        now: Callable[[], float],
        *,
        wildcard_satisfies_install_code_policy: bool = False,
    ) -> None:
        self.keys = keys
        self.now = now
        self.wildcard_satisfies_install_code_policy = wildcard_satisfies_install_code_policy
        self.permit = PermitWindow()
        self.decisions: list[JoinRecord] = []
        # Link keys of admitted devices (the key their Transport Key went under).
        self.link_keys: dict[EUI64, KeyData] = {}

    # -- permit window -------------------------------------------------------------------------------------

    def permit_joining(self, seconds: int) -> None:
        self.permit.open(seconds, self.now())

    def permits_joining(self) -> bool:
        return self.permit.is_open(self.now())

    # -- keys ----------------------------------------------------------------------------------------------

    def _own_transient_key(self, eui64: EUI64) -> KeyData | None:
        """The transient key imported for exactly this EUI-64 (not the wildcard)."""
        exact = getattr(self.keys, "exact_transient_key_for", None)
        if exact is not None:  # the NCP can tell us directly
            return exact(eui64)
        key = self.keys.transient_key_for(eui64)
        if key is None:
            return None
        # transient_key_for falls back to the wildcard entry; a key equal to the wildcard's is taken as that.
        wildcard = self.keys.transient_key_for(WILDCARD_EUI64)
        if wildcard is not None and bytes(wildcard) == bytes(key) and eui64 != WILDCARD_EUI64:
            return None
        return key

    def _wildcard_key(self) -> KeyData | None:
        return self.keys.transient_key_for(WILDCARD_EUI64)

    # -- the decision --------------------------------------------------------------------------------------

    def _verdict(self, eui64: EUI64) -> _Verdict:
        policy = self.keys.policy_bitmask()
        if not policy & TC_ALLOW_JOINS:
            return _Verdict(JoinDecision.DENY_JOIN, f"TRUST_CENTER_POLICY 0x{policy:04X} lacks ALLOW_JOINS")
        own = self._own_transient_key(eui64)
        if own is not None:
            return _Verdict(
                JoinDecision.USE_PRECONFIGURED_KEY, f"transient key imported for {eui64}", own, "install-code"
            )
        wildcard = self._wildcard_key()
        if policy & TC_JOINS_USE_INSTALL_CODE_KEY:
            if wildcard is not None and self.wildcard_satisfies_install_code_policy:
                return _Verdict(
                    JoinDecision.USE_PRECONFIGURED_KEY,
                    "wildcard FF:FF:FF:FF:FF:FF:FF:FF transient key accepted under JOINS_USE_INSTALL_CODE_KEY "
                    "(wildcard_satisfies_install_code_policy=True)",
                    wildcard,
                    "wildcard",
                )
            extra = " (the wildcard FF..FF entry does not count)" if wildcard is not None else ""
            return _Verdict(
                JoinDecision.DENY_JOIN,
                f"no transient key for {eui64}; policy 0x{policy:04X} requires an install-code key{extra}",
            )
        if wildcard is not None:
            return _Verdict(
                JoinDecision.USE_PRECONFIGURED_KEY,
                f"no transient key for {eui64}; wildcard FF:FF:FF:FF:FF:FF:FF:FF key used "
                f"(policy 0x{policy:04X} does not require install-code keys)",
                wildcard,
                "wildcard",
            )
        return _Verdict(JoinDecision.DENY_JOIN, f"no transient key for {eui64} and no wildcard entry")

    def decide(self, eui64: EUI64) -> tuple[JoinRecord, KeyData | None]:
        """Decide one join attempt, record it, and return the record and the key for the Transport Key."""
        verdict = self._verdict(eui64)
        record = JoinRecord(eui64, self.now(), verdict.decision, verdict.reason, verdict.key_source)
        self.decisions.append(record)
        LOGGER.debug("trust centre: %s -> %s (%s)", eui64, verdict.decision.name, verdict.reason)
        if verdict.link_key is not None:
            self.link_keys[eui64] = verdict.link_key
        return record, verdict.link_key

    def forget(self, eui64: EUI64) -> None:
        self.link_keys.pop(eui64, None)

    def decisions_for(self, eui64: EUI64) -> list[JoinRecord]:
        return [record for record in self.decisions if record.eui64 == eui64]

