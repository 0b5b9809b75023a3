"""DUIS response codes and Command Variants.

Sources: response codes from domain.md §1.12 ([RC], secondary; E65 seen in [DP]); Command Variants from domain.md
§1.1 ([DP] `cv.ts`, [V]).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["ResponseCode", "CommandVariant"]


class ResponseCode(StrEnum):
    """The DUIS response codes the emulated DCC gives (domain.md §1.12 [RC] [S])."""

    I0 = "I0"  # Success
    I99 = "I99"  # Acknowledgement: accepted, passed access control
    E1 = "E1"  # Invalid User/Role
    E2 = "E2"  # Role not permitted for SRV
    E4 = "E4"  # Role not authorised for Device at the date/time
    E5 = "E5"  # Device SMI Status incompatible with SRV
    E11 = "E11"  # SRV / device type mismatch
    E12 = "E12"  # Request / Command Variant mismatch
    E19 = "E19"  # Device doesn't exist
    E20 = "E20"  # Unable to communicate with Device

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]

    @property
    def is_success(self) -> bool:
        return self.value.startswith("I")


_MEANINGS = {
    ResponseCode.I0: "Success",
    ResponseCode.I99: "Acknowledgement: accepted and passed access control",
    ResponseCode.E1: "Invalid User/Role",
    ResponseCode.E2: "User Role not permitted for this Service Reference Variant",
    ResponseCode.E4: "User Role not authorised for Device and required date & time",
    ResponseCode.E5: "Device SMI Status incompatible with Service Reference Variant",
    ResponseCode.E11: "Service Reference Variant / device type mismatch",
    ResponseCode.E12: "Request / Command Variant mismatch",
    ResponseCode.E19: "Device doesn't exist",
    ResponseCode.E20: "Unable to communicate with Device",
}


class CommandVariant(IntEnum):
    """DUIS Command Variants (domain.md §1.1, [DP] cv.ts [V])."""

    NON_CRITICAL_WAN = 1
    NON_CRITICAL_LOCAL = 2
    NON_CRITICAL_WAN_AND_LOCAL = 3
    CRITICAL_TRANSFORM = 4  # transform a critical SR into a Pre-Command for the User to sign
    SIGNED_PRE_COMMAND_WAN = 5
    SIGNED_PRE_COMMAND_LOCAL = 6
    SIGNED_PRE_COMMAND_WAN_AND_LOCAL = 7
    NON_DEVICE = 8
