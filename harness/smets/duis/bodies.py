"""Typed DUIS request bodies, each read from and written to its RTDS-shaped XML element.

Element names and order follow the RTDS templates ([DT]; domain.md §1.2, §1.5, §1.6, §1.9, §1.10, §1.11 [V]). Value
lists (CHFInstallType, CHFLocation, PremiseType, ...) are [U] beyond the sample values, so they are free text here.
8.1.1 is `CommissionDeviceSynchroniseClock` (RTDS ECS70 / GCS28).
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

from harness.errors import InputError
from harness.smets.identities import Eui64
from harness.smets.duis.xmlbits import Reader, add, sr, xs_bool, xs_datetime

__all__ = [
    "Body",
    "UpdateHanDeviceLog",
    "ChfInstallSuccessSmWan",
    "ChfInstallSuccessNoSmWan",
    "ChfFaultReturn",
    "ChfNoFaultReturn",
    "CommissionDevice",
    "ReadInventory",
    "ReadDeviceLog",
    "RestoreHanDeviceLog",
    "RequestWanMatrix",
    "DevicePrenotification",
    "RequestHandover",
    "UpdateSecurityCredentialsCoS",
    "SignedPreCommand",
    "CANCELLATION_DATE_TIME",
    "BODY_TYPES",
    "INSTALL_CODE_OCTETS",
]

INSTALL_CODE_OCTETS = 16  # DUIS InstallCode: 32 hex chars, no CRC ([DT] 8.11 template, domain.md §1.2/§4.4 [V])
# The DUIS schema types InstallCode as hexBinary of 6..16 octets; ZigBee SE install codes are 6, 8, 12 or 16 octets
# before the CRC (domain.md §4.4 [ESP]). Any other length cannot derive a ZigBee link key: a DCC rule, not schema.
INSTALL_CODE_LENGTHS = frozenset({6, 8, 12, 16})
JOIN_TIME_PERIOD_MAX = 3600  # DUIS Schema V5.1 JoinTimePeriod: xs:positiveInteger, maxInclusive 3600
_MPXN = {"low": 6, "high": 13}  # MPRN 6-10 digits, MPAN core 13 (identities.py); schema-level check only
# Future-dated bodies (DUIS Schema V5.1 `FutureDatedAbstractType`: an optional ExecutionDateTime, first in the body)
# name this date-time to cancel: every RTDS *_CANCELLATION_* template carries it ([DT] npm duis-templates 0.7.0).
CANCELLATION_DATE_TIME = datetime(3000, 12, 31, tzinfo=UTC)


def _write_execution(body: ET.Element, when: datetime | None) -> None:
    if when is not None:
        add(body, "ExecutionDateTime", xs_datetime(when))


class Body:
    SRV: ClassVar[str]
    ELEMENT: ClassVar[str]

    def write(self, parent: ET.Element) -> None:  # pragma: no cover - every body overrides
        raise NotImplementedError

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> Body | None:  # pragma: no cover
        raise NotImplementedError

    def describe(self) -> str:
        return ""


@dataclass(frozen=True)
class UpdateHanDeviceLog(Body):
    """SRV 8.11 (domain.md §1.2): Add (with the whitelist block) or Remove one device in the CHF Device Log."""

    SRV: ClassVar[str] = "8.11"
    ELEMENT: ClassVar[str] = "UpdateHANDeviceLog"

    device_id: Eui64
    request_type: str  # "Add" | "Remove"
    join_time_period: int | None = None
    install_code: bytes | None = field(default=None, repr=False)  # a secret: kept out of repr
    import_mpxn: str | None = None
    secondary_import_mpan: str | None = None
    execution_date_time: datetime | None = None  # future-dated (schema V5.1 FutureDatedAbstractType)

    @classmethod
    def add(cls, device_id: Eui64, install_code: bytes, *, join_time_period: int = 90,
            import_mpxn: str | None = None, secondary_import_mpan: str | None = None,
            execution_date_time: datetime | None = None) -> UpdateHanDeviceLog:
        return cls(device_id, "Add", join_time_period, install_code, import_mpxn, secondary_import_mpan,
                   execution_date_time)

    @classmethod
    def remove(cls, device_id: Eui64, *, execution_date_time: datetime | None = None) -> UpdateHanDeviceLog:
        return cls(device_id, "Remove", execution_date_time=execution_date_time)

    @property
    def is_add(self) -> bool:
        return self.request_type == "Add"

    def write(self, parent: ET.Element) -> None:
        body = add(parent, self.ELEMENT)
        _write_execution(body, self.execution_date_time)
        add(body, "DeviceID", self.device_id.dcc)
        add(body, "RequestType", self.request_type)
        if self.is_add:
            block = add(body, "AddDeviceToCHFWhitelist")
            add(block, "JoinTimePeriod", str(self.join_time_period))
            add(block, "InstallCode", (self.install_code or b"").hex().upper())
            if self.import_mpxn is not None:
                add(block, "ImportMPxN", self.import_mpxn)
            if self.secondary_import_mpan is not None:
                add(block, "SecondaryImportMPAN", self.secondary_import_mpan)

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> UpdateHanDeviceLog | None:
        when = r.date_time(elem, "ExecutionDateTime", required=False)
        device = r.eui(elem, "DeviceID")
        kind = r.text(elem, "RequestType")
        if kind is not None and kind not in ("Add", "Remove"):
            r.problem("RequestType", f"{kind!r} is not Add or Remove", elem.find(sr("RequestType")))
            kind = None
        block = r.child(elem, "AddDeviceToCHFWhitelist", required=kind == "Add")
        if kind == "Remove" and block is not None:
            r.problem("AddDeviceToCHFWhitelist", "not allowed with RequestType Remove", block)
        jtp = code = mpxn = second = None
        if kind == "Add" and block is not None:
            jtp = r.integer(block, "JoinTimePeriod", low=1, high=JOIN_TIME_PERIOD_MAX)
            code = r.hex_octets(block, "InstallCode", length=INSTALL_CODE_LENGTHS)
            mpxn = r.digits(block, "ImportMPxN", required=False, **_MPXN)
            second = r.digits(block, "SecondaryImportMPAN", low=13, high=13, required=False)
        if device is None or kind is None or (kind == "Add" and (jtp is None or code is None)):
            return None
        return cls(device, kind, jtp, code, mpxn, second, when)

    def describe(self) -> str:
        return f"{self.request_type} {self.device_id.dcc}"


@dataclass(frozen=True)
class ChfInstallSuccessSmWan(Body):
    """SRV 8.14.1 (domain.md §1.9 [V])."""

    SRV: ClassVar[str] = "8.14.1"
    ELEMENT: ClassVar[str] = "CHFInstallSuccessSMWAN"

    device_id: Eui64
    mpxn: str
    aerial_install: bool = False
    chf_location: str = "Basement or Cellar"
    chf_install_type: str = "New CHF Install"

    def write(self, parent: ET.Element) -> None:
        _write_chf_install(add(parent, self.ELEMENT), self)

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> ChfInstallSuccessSmWan | None:
        vals = _read_chf_install(elem, r)
        if None in vals:
            return None
        device, kind, mpxn, aerial, location = vals
        return cls(device, mpxn, aerial, location, kind)  # type: ignore[arg-type]

    def describe(self) -> str:
        return f"CHF {self.device_id.dcc}"


@dataclass(frozen=True)
class ChfInstallSuccessNoSmWan(Body):
    """SRV 8.14.2 (domain.md §1.9 [V]): installed with no SM WAN (install and leave)."""

    SRV: ClassVar[str] = "8.14.2"
    ELEMENT: ClassVar[str] = "CHFInstallSuccessNoSMWAN"

    device_id: Eui64
    mpxn: str
    aerial_install: bool = False
    chf_location: str = "Basement or Cellar"
    premise_type: str = "Low Rise Apartment (MDU <= 5 floors)"
    metal_obstruction_check: bool = False
    connectivity_obstruction_check: bool = False
    shared_obstruction_check: bool = False
    chf_install_type: str = "CHF Install - no SM WAN"

    def write(self, parent: ET.Element) -> None:
        body = add(parent, self.ELEMENT)
        _write_chf_install(body, self)
        add(body, "PremiseType", self.premise_type)
        add(body, "MetalObstructionCheck", xs_bool(self.metal_obstruction_check))
        add(body, "ConnectivityObstructionCheck", xs_bool(self.connectivity_obstruction_check))
        add(body, "SharedObstructionCheck", xs_bool(self.shared_obstruction_check))

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> ChfInstallSuccessNoSmWan | None:
        vals = _read_chf_install(elem, r) + (
            r.text(elem, "PremiseType"), r.boolean(elem, "MetalObstructionCheck"),
            r.boolean(elem, "ConnectivityObstructionCheck"), r.boolean(elem, "SharedObstructionCheck"))
        if None in vals:
            return None
        device, kind, mpxn, aerial, location, premise, metal, conn, shared = vals
        return cls(device, mpxn, aerial, location, premise, metal, conn, shared, kind)  # type: ignore[arg-type]

    def describe(self) -> str:
        return f"CHF {self.device_id.dcc}"


def _write_chf_install(body: ET.Element, srv: ChfInstallSuccessSmWan | ChfInstallSuccessNoSmWan) -> None:
    """The elements 8.14.1 and 8.14.2 share, in template order."""
    add(body, "DeviceID", srv.device_id.dcc)
    add(body, "CHFInstallType", srv.chf_install_type)
    add(body, "MPxN", srv.mpxn)
    add(body, "AerialInstall", xs_bool(srv.aerial_install))
    add(body, "CHFLocation", srv.chf_location)


def _read_chf_install(elem: ET.Element, r: Reader
                      ) -> tuple[Eui64 | None, str | None, str | None, bool | None, str | None]:
    """(device, install type, MPxN, aerial, location) of 8.14.1/8.14.2; None where missing or bad."""
    return (r.eui(elem, "DeviceID"), r.text(elem, "CHFInstallType"), r.digits(elem, "MPxN", **_MPXN),
            r.boolean(elem, "AerialInstall"), r.text(elem, "CHFLocation"))


@dataclass(frozen=True)
class ChfFaultReturn(Body):
    """SRV 8.14.3 (domain.md §1.9 [V])."""

    SRV: ClassVar[str] = "8.14.3"
    ELEMENT: ClassVar[str] = "CHFFaultReturn"

    device_id: Eui64
    fault_return_type: str = "Fault identified prior to installation"
    other_device_id: Eui64 | None = None
    connection_method: str = "Hot-shoe"
    fault_reason: str = "Damaged case"

    def write(self, parent: ET.Element) -> None:
        body = add(parent, self.ELEMENT)
        add(body, "DeviceID", self.device_id.dcc)
        add(body, "CHFFaultReturnType", self.fault_return_type)
        if self.other_device_id is not None:
            add(body, "OtherDeviceID", self.other_device_id.dcc)
        add(body, "CHFConnectionMethod", self.connection_method)
        add(body, "CHFFaultReason", self.fault_reason)

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> ChfFaultReturn | None:
        device, kind = r.eui(elem, "DeviceID"), r.text(elem, "CHFFaultReturnType")
        other = r.eui(elem, "OtherDeviceID")  # required by the DUIS schema (V5.1 CHFFaultReturn)
        method, reason = r.text(elem, "CHFConnectionMethod"), r.text(elem, "CHFFaultReason")
        if None in (device, kind, other, method, reason):
            return None
        return cls(device, kind, other, method, reason)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ChfNoFaultReturn(Body):
    """SRV 8.14.4 (domain.md §1.9 [V])."""

    SRV: ClassVar[str] = "8.14.4"
    ELEMENT: ClassVar[str] = "CHFNoFaultReturn"

    device_id: Eui64
    no_fault_return_type: str = "No Fault Return (general)"

    def write(self, parent: ET.Element) -> None:
        body = add(parent, self.ELEMENT)
        add(body, "DeviceID", self.device_id.dcc)
        add(body, "CHFNoFaultReturnType", self.no_fault_return_type)

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> ChfNoFaultReturn | None:
        device, kind = r.eui(elem, "DeviceID"), r.text(elem, "CHFNoFaultReturnType")
        return None if device is None or kind is None else cls(device, kind)


@dataclass(frozen=True)
class CommissionDevice(Body):
    """SRV 8.1.1 Commission Device: `CommissionDeviceSynchroniseClock{CurrentDateTime, TolerancePeriod}`, as in the
    DCC's RTDS templates ECS70 (ESME) and GCS28 (GSME) and the DUIS Schema V5.1 ([DT], npm duis-templates 0.7.0).

    `current_date_time` is the time the sender's clock reads; the domain has no wall clock, so the sender fills it
    (bench: the virtual clock). Writing a body without it raises InputError. TolerancePeriod is in seconds (60 in
    the templates).
    """

    SRV: ClassVar[str] = "8.1.1"
    ELEMENT: ClassVar[str] = "CommissionDeviceSynchroniseClock"

    current_date_time: datetime | None = None
    tolerance_period: int = 60

    def at(self, now: datetime) -> CommissionDevice:
        """This body with CurrentDateTime set to `now` (unchanged if already set)."""
        return self if self.current_date_time is not None else CommissionDevice(now, self.tolerance_period)

    def write(self, parent: ET.Element) -> None:
        if self.current_date_time is None:
            raise InputError("not set: 8.1.1 needs the sender's current date-time (CommissionDevice.at(now))",
                             where="CommissionDeviceSynchroniseClock.CurrentDateTime")
        body = add(parent, self.ELEMENT)
        add(body, "CurrentDateTime", xs_datetime(self.current_date_time))
        add(body, "TolerancePeriod", str(self.tolerance_period))

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> CommissionDevice | None:
        when = r.date_time(elem, "CurrentDateTime")
        tolerance = r.integer(elem, "TolerancePeriod", low=0, high=(1 << 32) - 1)
        return None if when is None or tolerance is None else cls(when, tolerance)


@dataclass(frozen=True)
class ReadInventory(Body):
    """SRV 8.2 ([DT] template: one DeviceID)."""

    SRV: ClassVar[str] = "8.2"
    ELEMENT: ClassVar[str] = "ReadInventory"

    device_id: Eui64

    def write(self, parent: ET.Element) -> None:
        add(add(parent, self.ELEMENT), "DeviceID", self.device_id.dcc)

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> ReadInventory | None:
        device = r.eui(elem, "DeviceID")
        return None if device is None else cls(device)


@dataclass(frozen=True)
class ReadDeviceLog(Body):
    """SRV 8.9 (domain.md §1.6): empty body = CCS06 (active devices); `ReadSecurityDetails` = CCS07 (logs+hashes)."""

    SRV: ClassVar[str] = "8.9"
    ELEMENT: ClassVar[str] = "ReadDeviceLog"

    read_security_details: bool = False

    def write(self, parent: ET.Element) -> None:
        body = add(parent, self.ELEMENT)
        if self.read_security_details:
            add(body, "ReadSecurityDetails")

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> ReadDeviceLog:
        return cls(r.child(elem, "ReadSecurityDetails", required=False) is not None)


@dataclass(frozen=True)
class RestoreHanDeviceLog(Body):
    """SRV 8.12.1 (domain.md §1.5 [V]): restore the old CHF's log onto the target (new) CHF."""

    SRV: ClassVar[str] = "8.12.1"
    ELEMENT: ClassVar[str] = "RestoreHANDeviceLog"

    old_chf_id: Eui64

    def write(self, parent: ET.Element) -> None:
        add(add(parent, self.ELEMENT), "OldCHFID", self.old_chf_id.dcc)

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> RestoreHanDeviceLog | None:
        old = r.eui(elem, "OldCHFID")
        return None if old is None else cls(old)


@dataclass(frozen=True)
class RequestWanMatrix(Body):
    """SRV 12.1 (domain.md §1.10): PartialAddress{PostCode, AddressIdentifier} ([DT]) or UPRN ([DP] test)."""

    SRV: ClassVar[str] = "12.1"
    ELEMENT: ClassVar[str] = "RequestWANMatrix"

    post_code: str | None = None
    address_identifier: str | None = None
    uprn: str | None = None

    def write(self, parent: ET.Element) -> None:
        body = add(parent, self.ELEMENT)
        if self.uprn is not None:
            add(body, "UPRN", self.uprn)
        else:
            part = add(body, "PartialAddress")
            add(part, "PostCode", self.post_code or "")
            if self.address_identifier is not None:
                add(part, "AddressIdentifier", self.address_identifier)

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> RequestWanMatrix | None:
        part = r.child(elem, "PartialAddress", required=False)
        uprn = r.digits(elem, "UPRN", low=1, high=12, required=False)
        if part is not None and uprn is not None:
            r.problem("RequestWANMatrix", "give PartialAddress or UPRN, not both", elem)
            return None
        if part is not None:
            post = r.text(part, "PostCode")
            ident = r.text(part, "AddressIdentifier")  # the schema's PartialAddress needs both
            return None if post is None or ident is None else cls(post_code=post, address_identifier=ident)
        if uprn is not None:
            return cls(uprn=uprn)
        r.problem("RequestWANMatrix", "needs PartialAddress{PostCode, AddressIdentifier} or UPRN", elem)
        return None

    def describe(self) -> str:
        return f"UPRN {self.uprn}" if self.uprn else f"PostCode {self.post_code}"


@dataclass(frozen=True)
class DevicePrenotification(Body):
    """SRV 12.2 (domain.md §1.10 [V])."""

    SRV: ClassVar[str] = "12.2"
    ELEMENT: ClassVar[str] = "DevicePrenotification"

    device_id: Eui64
    device_type: str  # DUIS spelling: ESME, GSME, CHF, GPF, PPMID, HCALCS, IHD ...
    device_manufacturer: str = "AB01"
    device_model: str = "010A030B"
    smets_chts_version: str = "SMETS V1.58"
    firmware_version: str = "0002012F"
    esme_variant: str | None = None

    def write(self, parent: ET.Element) -> None:
        body = add(parent, self.ELEMENT)
        add(body, "DeviceID", self.device_id.dcc)
        add(body, "DeviceManufacturer", self.device_manufacturer)
        add(body, "DeviceModel", self.device_model)
        add(body, "DeviceType", self.device_type)
        add(body, "SMETSCHTSVersion", self.smets_chts_version)
        add(body, "FirmwareVersion", self.firmware_version)
        if self.esme_variant is not None:
            add(body, "ESMEVariant", self.esme_variant)

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> DevicePrenotification | None:
        vals = (r.eui(elem, "DeviceID"), r.text(elem, "DeviceManufacturer"), r.text(elem, "DeviceModel"),
                r.text(elem, "DeviceType"), r.text(elem, "SMETSCHTSVersion"), r.text(elem, "FirmwareVersion"))
        variant = r.text(elem, "ESMEVariant", required=False)
        if None in vals:
            return None
        device, maker, model, kind, smets, fw = vals
        return cls(device, kind, maker, model, smets, fw, variant)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RequestHandover(Body):
    """SRV 6.21 Request Handover of DCC Controlled Device (domain.md §1.11; certificates are opaque base64 here)."""

    SRV: ClassVar[str] = "6.21"
    ELEMENT: ClassVar[str] = "RequestHandoverOfDCCControlledDevice"

    remote_party_role: str = "Supplier"
    floor_seq_number: int = 0
    prepayment_top_up_floor_seq_number: int | None = 0
    certificates: tuple[str, ...] = ()  # DigitalSigning, KeyAgreement, KeyAgreementTopUp (base64, not checked)
    apply_time_based_cpv_checks: bool = True
    certification_path: tuple[str, ...] = ()  # CertificationPathCertificates/Certificate (base64, not checked)
    execution_date_time: datetime | None = None  # future-dated (schema V5.1 FutureDatedAbstractType)

    def write(self, parent: ET.Element) -> None:
        body = add(parent, self.ELEMENT)
        _write_execution(body, self.execution_date_time)
        add(body, "RemotePartyRole", self.remote_party_role)
        _write_credentials(body, _HANDOVER_TAGS, self.floor_seq_number, self.prepayment_top_up_floor_seq_number,
                           self.certificates, self.apply_time_based_cpv_checks, self.certification_path)

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> RequestHandover | None:
        when = r.date_time(elem, "ExecutionDateTime", required=False)
        role = r.text(elem, "RemotePartyRole")
        floor, topup, certs, cpv, path = _read_credentials(elem, r, _HANDOVER_TAGS)
        if None in (role, floor, certs, cpv):
            return None
        return cls(role, floor, topup, certs, cpv, path, when)  # type: ignore[arg-type]


@dataclass(frozen=True)
class UpdateSecurityCredentialsCoS(Body):
    """SRV 6.23 Update Security Credentials (CoS) (domain.md §1.11; certificates opaque base64)."""

    SRV: ClassVar[str] = "6.23"
    ELEMENT: ClassVar[str] = "UpdateSecurityCredentialsCoS"

    import_mpxn: str
    supplier_floor_seq_number: int = 0
    supplier_prepayment_top_up_floor_seq_number: int | None = 0
    certificates: tuple[str, ...] = ()
    apply_time_based_cpv_checks: bool = True
    certification_path: tuple[str, ...] = ()
    # Future-dated variant; CANCELLATION_DATE_TIME in the RTDS cancellation template. The DCC schedules it.
    execution_date_time: datetime | None = None

    def write(self, parent: ET.Element) -> None:
        body = add(parent, self.ELEMENT)
        _write_execution(body, self.execution_date_time)
        _write_credentials(body, _COS_TAGS, self.supplier_floor_seq_number,
                           self.supplier_prepayment_top_up_floor_seq_number, self.certificates,
                           self.apply_time_based_cpv_checks, self.certification_path)
        add(body, "ImportMPxN", self.import_mpxn)

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> UpdateSecurityCredentialsCoS | None:
        when = r.date_time(elem, "ExecutionDateTime", required=False)
        floor, topup, certs, cpv, path = _read_credentials(elem, r, _COS_TAGS)
        mpxn = r.digits(elem, "ImportMPxN", **_MPXN)
        if None in (floor, certs, cpv, mpxn):
            return None
        return cls(mpxn, floor, topup, certs, cpv, path, when)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SignedPreCommand(Body):
    """The body of a CV 5/6/7 request: the Pre-Command the DCC returned for a CV 4 request, signed by the User
    (DUIS Schema V5.1 `SignedPreCommand{ExecutionDateTime?, GBCSPayload}`; the CV 4 -> 5 round trip with the same
    RequestID as SmartDCCInnovation dccboxed-nodered-nodes `dccboxed-send` drives DCC Boxed). It belongs to no one
    SRV: the request's header names it. GBCS signing is a non-goal: the payload is carried as given."""

    SRV: ClassVar[str] = ""
    ELEMENT: ClassVar[str] = "SignedPreCommand"

    gbcs_payload: bytes
    execution_date_time: datetime | None = None

    def write(self, parent: ET.Element) -> None:
        body = add(parent, self.ELEMENT)
        _write_execution(body, self.execution_date_time)
        add(body, "GBCSPayload", base64.b64encode(self.gbcs_payload).decode("ascii"))

    @classmethod
    def read(cls, elem: ET.Element, r: Reader) -> SignedPreCommand | None:
        when = r.date_time(elem, "ExecutionDateTime", required=False)
        text = r.text(elem, "GBCSPayload")
        if text is None:
            return None
        try:
            payload = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            r.problem("GBCSPayload", f"{text[:40]!r} is not base64", elem.find(sr("GBCSPayload")))
            return None
        return cls(payload, when)

    def describe(self) -> str:
        return f"signed pre-command ({len(self.gbcs_payload)} octets)"


_CERT_NAMES = ("DigitalSigningCertificate", "KeyAgreementCertificate", "KeyAgreementTopUpCertificate")
_SEQ_MAX = (1 << 64) - 1
# 6.21 and 6.23 carry the same floor sequence numbers, replacement certificates and CPV flag under their own names:
# (floor seq number, prepayment top-up floor seq number, certificates)
_HANDOVER_TAGS = ("RemotePartyFloorSeqNumber", "RemotePartyPrepaymentTopUpFloorSeqNumber", "ReplacementCertificates")
_COS_TAGS = ("SupplierFloorSeqNumber", "SupplierPrepaymentTopUpFloorSeqNumber", "SupplierReplacementCertificates")


def _write_credentials(body: ET.Element, tags: tuple[str, str, str], floor: int, topup: int | None,
                       certs: tuple[str, ...], cpv: bool, path: tuple[str, ...]) -> None:
    """Schema order (DUIS V5.1): floors, replacement certificates, CertificationPathCertificates, CPV flag."""
    floor_tag, topup_tag, certs_tag = tags
    add(body, floor_tag, str(floor))
    if topup is not None:  # optional in the schema (absent in the RTDS network-operator 6.21 template)
        add(body, topup_tag, str(topup))
    cert_block = add(body, certs_tag)
    for name, value in zip(_CERT_NAMES, certs, strict=False):
        add(cert_block, name, value)
    path_block = add(body, "CertificationPathCertificates")
    for value in path:
        add(path_block, "Certificate", value)
    add(body, "ApplyTimeBasedCPVChecks", xs_bool(cpv))


def _read_credentials(elem: ET.Element, r: Reader, tags: tuple[str, str, str]
                      ) -> tuple[int | None, int | None, tuple[str, ...] | None, bool | None, tuple[str, ...]]:
    """(floor, top-up floor, certificates, CPV flag, certification path); None where missing or bad. The
    prepayment top-up floor is optional in the schema; certificates are not checked (the schema types them)."""
    floor_tag, topup_tag, certs_tag = tags
    floor = r.integer(elem, floor_tag, low=0, high=_SEQ_MAX)
    topup = r.integer(elem, topup_tag, low=0, high=_SEQ_MAX, required=False)
    cert_block = r.child(elem, certs_tag)
    certs = None if cert_block is None else tuple((c.text or "").strip() for c in cert_block)
    path_block = r.child(elem, "CertificationPathCertificates", required=False)
    path = () if path_block is None else tuple((c.text or "").strip() for c in path_block)
    return floor, topup, certs, r.boolean(elem, "ApplyTimeBasedCPVChecks"), path


BODY_TYPES: dict[str, type[Body]] = {
    cls.SRV: cls
    for cls in (
        UpdateHanDeviceLog, ChfInstallSuccessSmWan, ChfInstallSuccessNoSmWan, ChfFaultReturn, ChfNoFaultReturn,
        CommissionDevice, ReadInventory, ReadDeviceLog, RestoreHanDeviceLog, RequestWanMatrix,
        DevicePrenotification, RequestHandover, UpdateSecurityCredentialsCoS,
    )
}
