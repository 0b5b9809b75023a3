"""Alert codes the domain model raises, and the [U] trigger of DCC Alert N24.

* 0x8F12 "CHF Device Log Changed" (CS14, message code 0x0018): domain.md §1.2 item 3 [V] ([DT], [WS]).
* 0x8F48 / 0x8F49 "Device joining failed / succeeded", 0x8F4A / 0x8F4B unjoining: §1.7 [V] ([WS]) (named here for
  the bench; the CHF model raises only 0x8F12).
* DCC Alert N24 `UpdateHANDeviceLogResult{UpdateHANDeviceLogServiceRequestID}`: shape [V] ([DP] test), trigger [U].
  PROPOSED MODEL (§1.2): the DCC raises it when the CS14 following an 8.11 shows the device's hash populated, or when
  the join window expires. `N24Trigger` chooses; the default is BOTH.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["GBCS_ALERT_NAMES", "N24", "N24Trigger"]

GBCS_ALERT_NAMES: dict[int, str] = {
    0x8F12: "CHF Device Log Changed",
    0x8F48: "Device joining failed",
    0x8F49: "Device joining succeeded",
    0x8F4A: "Device unjoining failed",
    0x8F4B: "Device unjoining succeeded",
}

N24 = "N24"


class N24Trigger(StrEnum):
    HASH_POPULATED = "hash"  # the CS14 after the 8.11 shows the device's hashed TC link key
    JOIN_WINDOW_EXPIRED = "expiry"  # the 8.11's join window ended with no hash
    BOTH = "both"  # default: domain.md §1.2 proposed model
    NEVER = "never"

    @property
    def on_hash(self) -> bool:
        return self in (N24Trigger.HASH_POPULATED, N24Trigger.BOTH)

    @property
    def on_expiry(self) -> bool:
        return self in (N24Trigger.JOIN_WINDOW_EXPIRED, N24Trigger.BOTH)
