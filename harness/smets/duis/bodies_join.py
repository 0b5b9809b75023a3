"""DUIS bodies for the Join / Unjoin services (8.7.x, 8.8.x), 8.12.2 Restore GPF Device Log, 8.3 Decommission
Device and 8.4 Update Inventory.

Element names and order are the DUIS Schema V5.1 ones (`JoinOrUnjoinDevice{OtherDeviceID}`,
`RestoreGPFDeviceLog{OldGPFID}`, `DecommissionDevice{DeviceID}`, `UpdateInventory{DeviceID, choice}`), checked
against the RTDS templates CS03A1/CS03B/CS04ACCritical/CS04B, GCS59, 8.3 and 8.4 in npm duis-templates 0.7.0 ([DT];
domain.md §1.5, §1.7). Of 8.4's five choices the harness writes and reads `DeleteDevice` (the RTDS sample) and
`UpdateMPxN{ImportMPxN}` (how a supplier records a meter's MPxN in the SMI; schema [V], its use here [U]).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import ClassVar

from harness.smets.duis.bodies import Body
from harness.smets.duis.xmlbits import Reader, add
from harness.smets.identities import Eui64

__all__ = [
    "JoinService",
    "JoinServiceCritical",
    "JoinServiceNonCritical",
    "UnjoinService",
    "UnjoinServiceCritical",
    "UnjoinServiceNonCritical",
    "RestoreGpfDeviceLog",
    "DecommissionDevice",
    "UpdateInventory",
    "JOIN_BODY_TYPES",
]

_MPXN = {"low": 6, "high": 13}


@dataclass(frozen=True)
class _OtherDevice(Body):
    """`JoinOrUnjoinDevice{OtherDeviceID}`: the target device (RequestID) joins / unjoins the other device."""

    other_device_id: Eui64

    def write(self, parent: ET.Element) -> None:
        add(add(parent, self.ELEMENT), "OtherDeviceID", self.other_device_id.dcc)

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> _OtherDevice | None:
        other = r.eui(elem, "OtherDeviceID")
        return None if other is None else cls(other)

    def describe(self) -> str:
        return f"with {self.other_device_id.dcc}"


class JoinService(_OtherDevice):
    """8.7.x Join Service (domain.md §1.7): the DCC builds the GBCS JoinDevice from the SMI types."""


class UnjoinService(_OtherDevice):
    """8.8.x Unjoin Service (domain.md §1.7)."""


@dataclass(frozen=True)
class JoinServiceCritical(JoinService):
    SRV: ClassVar[str] = "8.7.1"
    ELEMENT: ClassVar[str] = "JoinServiceCritical"


@dataclass(frozen=True)
class JoinServiceNonCritical(JoinService):
    SRV: ClassVar[str] = "8.7.2"
    ELEMENT: ClassVar[str] = "JoinServiceNonCritical"


@dataclass(frozen=True)
class UnjoinServiceCritical(UnjoinService):
    SRV: ClassVar[str] = "8.8.1"
    ELEMENT: ClassVar[str] = "UnjoinServiceCritical"


@dataclass(frozen=True)
class UnjoinServiceNonCritical(UnjoinService):
    SRV: ClassVar[str] = "8.8.2"
    ELEMENT: ClassVar[str] = "UnjoinServiceNonCritical"


@dataclass(frozen=True)
class RestoreGpfDeviceLog(Body):
    """8.12.2 (domain.md §1.5 [V]): restore the old GPF's log (its last GCS62 backup) onto the target GPF."""

    SRV: ClassVar[str] = "8.12.2"
    ELEMENT: ClassVar[str] = "RestoreGPFDeviceLog"

    old_gpf_id: Eui64

    def write(self, parent: ET.Element) -> None:
        add(add(parent, self.ELEMENT), "OldGPFID", self.old_gpf_id.dcc)

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> RestoreGpfDeviceLog | None:
        old = r.eui(elem, "OldGPFID")
        return None if old is None else cls(old)


@dataclass(frozen=True)
class DecommissionDevice(Body):
    """8.3 Decommission Device (non-device, CV 8, IS/GS; domain.md §1.1, §3)."""

    SRV: ClassVar[str] = "8.3"
    ELEMENT: ClassVar[str] = "DecommissionDevice"

    device_id: Eui64

    def write(self, parent: ET.Element) -> None:
        add(add(parent, self.ELEMENT), "DeviceID", self.device_id.dcc)

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> DecommissionDevice | None:
        device = r.eui(elem, "DeviceID")
        return None if device is None else cls(device)

    def describe(self) -> str:
        return self.device_id.dcc


@dataclass(frozen=True)
class UpdateInventory(Body):
    """8.4 Update Inventory (non-device, CV 8, all roles; domain.md §1.1): `DeleteDevice` or
    `UpdateMPxN{ImportMPxN}` (schema order: DeviceID, then the choice)."""

    SRV: ClassVar[str] = "8.4"
    ELEMENT: ClassVar[str] = "UpdateInventory"

    device_id: Eui64
    import_mpxn: str | None = None  # UpdateMPxN; None means DeleteDevice

    @classmethod
    def delete(cls, device_id: Eui64) -> UpdateInventory:
        return cls(device_id)

    @classmethod
    def update_mpxn(cls, device_id: Eui64, import_mpxn: str) -> UpdateInventory:
        return cls(device_id, import_mpxn)

    @property
    def is_delete(self) -> bool:
        return self.import_mpxn is None

    def write(self, parent: ET.Element) -> None:
        body = add(parent, self.ELEMENT)
        add(body, "DeviceID", self.device_id.dcc)
        if self.is_delete:
            add(body, "DeleteDevice")
        else:
            add(add(body, "UpdateMPxN"), "ImportMPxN", self.import_mpxn)

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> UpdateInventory | None:
        device = r.eui(elem, "DeviceID")
        delete = r.child(elem, "DeleteDevice", required=False)
        update = r.child(elem, "UpdateMPxN", required=False)
        if (delete is None) == (update is None):
            r.problem("UpdateInventory", "needs exactly one of DeleteDevice or UpdateMPxN{ImportMPxN} (the other "
                      "schema choices are not supported by the harness)", elem)
            return None
        mpxn = r.digits(update, "ImportMPxN", **_MPXN) if update is not None else None
        if device is None or (update is not None and mpxn is None):
            return None
        return cls(device, mpxn)

    def describe(self) -> str:
        return f"{self.device_id.dcc} {'DeleteDevice' if self.is_delete else 'UpdateMPxN ' + str(self.import_mpxn)}"


JOIN_BODY_TYPES: dict[str, type[Body]] = {
    cls.SRV: cls
    for cls in (JoinServiceCritical, JoinServiceNonCritical, UnjoinServiceCritical, UnjoinServiceNonCritical,
                RestoreGpfDeviceLog, DecommissionDevice, UpdateInventory)
}
