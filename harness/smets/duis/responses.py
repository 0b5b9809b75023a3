"""DUIS responses: the record the emulated DCC keeps for each answer, and its XML in the DCC's shape.

Shape from [DP] `test/resources/acknowledgement-error.xml` and `test/duis.test.ts` (domain.md §1.10/§1.12 [V for
shapes]): root `Response` with `schemaVersion`; `Header{RequestID, ResponseCode, ResponseDateTime}`;
`Body{ResponseMessage{ServiceReference, ServiceReferenceVariant, <payload>}}`. Payloads written here: DSPWANMatrix
(12.1) and DSPInventory (8.2). Device responses would carry a base64 GBCSPayload; GBCS encoding is not this module's
job, so device results are kept typed on the record and left out of the XML.

The 12.1 "no premises found" outcome (MP097, domain.md §10.16) has no element of its own in DUIS Schema V5.1: the
harness writes CSPRegion "Unknown", CoverageAvailability false and the statement in AdditionalInformation.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from harness.smets.identities import Eui64
from harness.smets.duis.codes import ResponseCode
from harness.smets.duis.request import SCHEMA_VERSION
from harness.smets.duis.request_id import RequestId
from harness.smets.duis.xmlbits import add, document, sr, xs_bool

if TYPE_CHECKING:
    from harness.smets.duis.signing import DuisSigner

__all__ = [
    "Response",
    "DspWanMatrix",
    "NoPremisesFound",
    "InventoryDevice",
    "DspInventory",
    "DeviceResult",
    "DeviceLogRead",
    "DccAlert",
    "PreCommand",
]


@dataclass(frozen=True)
class DspWanMatrix:
    """12.1 answer ([DP] test): CSPRegion, CoverageAvailability, WANTechnology, ConnectivityLikelihood."""

    csp_region: str
    coverage_availability: bool
    wan_technology: str
    connectivity_likelihood: str
    anticipated_coverage_date: date | None = None  # where coverage is coming (DUIS V5.1 AnticipatedCoverageDate)

    def write(self, parent: ET.Element, request_elems: dict[str, str]) -> None:
        m = add(parent, "DSPWANMatrix")
        _write_request_echo(m, request_elems)
        add(m, "CSPRegion", self.csp_region)
        add(m, "CoverageAvailability", xs_bool(self.coverage_availability))
        if self.anticipated_coverage_date is not None:
            add(m, "AnticipatedCoverageDate", self.anticipated_coverage_date.isoformat())
        add(m, "WANTechnology", self.wan_technology)
        add(m, "ConnectivityLikelihood", self.connectivity_likelihood)


@dataclass(frozen=True)
class NoPremisesFound:
    """12.1 found no premises for the address or UPRN (MP097; DUIS spelling [U])."""

    detail: str = ""

    def write(self, parent: ET.Element, request_elems: dict[str, str]) -> None:
        # DUIS Schema V5.1 has no "no premises" element: CSPRegion "Unknown" (in the schema's CSPRegion list), no
        # coverage, and the statement in AdditionalInformation. WANTechnology is required (1..30 chars, no code
        # list in V5.1): "Unknown" [U].
        m = add(parent, "DSPWANMatrix")
        _write_request_echo(m, request_elems)
        add(m, "CSPRegion", "Unknown")
        add(m, "CoverageAvailability", "false")
        add(m, "WANTechnology", "Unknown")
        add(m, "ConnectivityLikelihood", "Low")
        add(m, "AdditionalInformation", ("No premises found. " + self.detail)[:250].strip())


def _write_request_echo(parent: ET.Element, request_elems: dict[str, str]) -> None:
    req = add(parent, "Request")
    if "UPRN" in request_elems:
        add(req, "UPRN", request_elems["UPRN"])
    else:
        part = add(req, "PartialAddress")
        for key in ("PostCode", "AddressIdentifier"):
            if key in request_elems:
                add(part, key, request_elems[key])


@dataclass(frozen=True)
class InventoryDevice:
    """One `DSPInventory.Device` ([DP] test; fields the SMI model holds)."""

    device_id: Eui64
    device_type: str
    device_status: str | None
    device_model: str = ""
    import_mpxn: str | None = None
    device_manufacturer: str = ""  # from 12.2 pre-notification; empty when the DCC was never told

    def write(self, parent: ET.Element) -> None:
        d = add(parent, "Device")
        add(d, "DeviceID", self.device_id.dcc)
        add(d, "DeviceType", self.device_type)
        if self.device_status is not None:
            add(d, "DeviceStatus", self.device_status)
        # Both required by the schema's Device (V5.1), in this order.
        add(d, "DeviceManufacturer", self.device_manufacturer)
        add(d, "DeviceModel", self.device_model)
        if self.import_mpxn is not None:
            add(d, "ImportMPxN", self.import_mpxn)


@dataclass(frozen=True)
class DspInventory:
    devices: tuple[InventoryDevice, ...]

    def write(self, parent: ET.Element, request_elems: dict[str, str]) -> None:
        inv = add(parent, "DSPInventory")
        for device in self.devices:
            device.write(inv)


@dataclass(frozen=True)
class PreCommand:
    """The answer to a CV 4 (transform) request: `PreCommand{GBCSVersion, GBCSPayload}` for the User to sign and send
    back with CV 5 (DUIS Schema V5.1; [DP] cv.ts CV 4 "return Pre-Command to User for Correlation and Digital
    Signing"). The emulated DCC does not build GBCS: its payload is an opaque token it recognises when the signed
    pre-command comes back, and `gbcs_version` says so."""

    gbcs_version: str
    gbcs_payload: bytes

    def write(self, parent: ET.Element, request_elems: dict[str, str]) -> None:
        pre = add(parent, "PreCommand")
        add(pre, "GBCSVersion", self.gbcs_version)
        add(pre, "GBCSPayload", base64.b64encode(self.gbcs_payload).decode("ascii"))


@dataclass(frozen=True)
class DeviceResult:
    """What the device (the CHF, or a device behind it) answered: success or not, with the reason."""

    success: bool
    detail: str = ""
    reached: bool = True  # False: the device is not on the CH's HAN, nothing answered (the DCC gives E20)
    gbcs_response_code: int | None = None  # join / unjoin / GCS59 response code (domain.md §1.7), if any
    gbcs: bytes | None = field(default=None, repr=False, compare=False)  # the device's GBCS response, where encoded (gbcs_frame)


@dataclass(frozen=True)
class DeviceLogRead:
    """8.9 CCS07 (domain.md §1.6): the CHF Device Log and Historic Device Log, `{EUI: hashed key or b''}`."""

    device_log: tuple[tuple[Eui64, bytes], ...]
    historic_log: tuple[tuple[Eui64, bytes], ...] = ()

    def __repr__(self) -> str:  # hashes of link keys are not printed
        return f"DeviceLogRead(device_log={[e.dcc for e, _ in self.device_log]}, historic={len(self.historic_log)})"


@dataclass
class Response:
    """One DUIS answer with its virtual times: `sent_at` when the request reached the DCC, `answered_at` when this
    answer was given (later than sent_at for a device response that waited in the WAN queue)."""

    request_id: RequestId
    srv: str
    code: ResponseCode
    sent_at: datetime
    answered_at: datetime
    detail: str = ""
    payload: DspWanMatrix | NoPremisesFound | DspInventory | PreCommand | DeviceResult | DeviceLogRead | None = None
    request_elems: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.code.is_success

    def to_xml(self, signer: DuisSigner | None = None) -> str:
        """The DCC's answer, signed by `signer` (the DCC's DspXmlSign credential) when given; DUIS lets a Response
        go unsigned (the schema's Signature is optional there, and DCC Boxed sends error responses unsigned)."""
        root = ET.Element(sr("Response"), {"schemaVersion": SCHEMA_VERSION})
        header = add(root, "Header")
        add(header, "RequestID", str(self.request_id))
        add(header, "ResponseCode", self.code.value)
        add(header, "ResponseDateTime", self.answered_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
        msg = add(add(root, "Body"), "ResponseMessage")
        spec_ref = ".".join(self.srv.split(".")[:2])
        add(msg, "ServiceReference", spec_ref)
        add(msg, "ServiceReferenceVariant", self.srv)
        if isinstance(self.payload, (DspWanMatrix, NoPremisesFound, DspInventory, PreCommand)):
            self.payload.write(msg, self.request_elems)
        elif isinstance(self.payload, DeviceResult) and self.payload.gbcs is not None and self.code.is_success:
            add(msg, "GBCSPayload", base64.b64encode(self.payload.gbcs).decode("ascii"))  # the device's own answer
        return document(root, signer)


@dataclass(frozen=True)
class DccAlert:
    """A DCC alert to a User, e.g. N24 `UpdateHANDeviceLogResult{UpdateHANDeviceLogServiceRequestID}` ([DP] test,
    domain.md §1.2 [V for the shape]; its trigger is [U], see alerts.N24Trigger)."""

    code: str
    at: datetime
    request_id: RequestId | None
    device_id: Eui64 | None
    outcome: str  # e.g. "joined", "join window expired"
