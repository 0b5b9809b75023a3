"""A DUIS request: Header + Body + XML-DSig Signature, to and from the DCC's XML shape, and stateless validation.

Shape from the RTDS templates ([DT]; domain.md §1.2 [V]): root `Request` in namespace
`http://www.dccinterface.co.uk/ServiceUserGateway` with a `schemaVersion` attribute; `Header` holds RequestID,
CommandVariant, ServiceReference, ServiceReferenceVariant; then `Body`; then an enveloped XML-DSig `Signature`
(exclusive c14n, ECDSA-SHA256, X509IssuerSerial key info).

`to_xml(signer)` signs (harness.smets.duis.signing, the DCC signing tool's profile). `to_xml()` without a signer is
the explicit unsigned form: the Signature structure with the RTDS templates' placeholder values, indented for
reading; a DCC that verifies signatures refuses it. `validate()` checks the Signature element is present; the
signature itself is checked by `DuisVerifier` (docs/duis-and-dcc.md "Signing").
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from harness.errors import InputError
from harness.smets.identities import Eui64
from harness.smets.duis.bodies import BODY_TYPES, Body, SignedPreCommand
from harness.smets.duis.catalogue import CATALOGUE, DCC_ACB_EUI, SrvSpec
from harness.smets.duis.request_id import RequestId
from harness.smets.duis.xmlbits import (
    DS_NS,
    SR_NS,
    Problem,
    Reader,
    XmlSyntaxError,
    add,
    document,
    local_name,
    parse_xml,
    sr,
)

if TYPE_CHECKING:
    from harness.smets.duis.signing import DuisSigner

__all__ = [
    "Request",
    "DuisSchemaError",
    "parse_request",
    "read_request",
    "validate",
    "check",
    "SCHEMA_VERSION",
]

# Command Variants whose body is the User's SignedPreCommand, not the SRV's own element ([DP] cv.ts: input
# "Signed Pre-Command" for CV 5, 6 and 7).
SIGNED_PRE_COMMAND_CVS = frozenset({5, 6, 7})
SCHEMA_VERSION = "5.4"  # the newest schemaVersion in the RTDS templates read ([DT])
_PLACEHOLDER = "ZGVmYXVsdA=="  # RTDS templates carry this placeholder digest/signature too ([DT])


class DuisSchemaError(InputError):
    """A request that is not a well-formed DUIS request; `problems` lists every element found wrong."""

    def __init__(self, problems: list[Problem], *, where: str | None = None) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems), where=where)


@dataclass(frozen=True)
class Request:
    request_id: RequestId
    command_variant: int
    srv: str  # Service Reference Variant
    body: Body
    schema_version: str = SCHEMA_VERSION

    @property
    def spec(self) -> SrvSpec:
        return CATALOGUE[self.srv]

    @property
    def service_reference(self) -> str:
        return self.spec.service_reference

    @classmethod
    def build(cls, body: Body, *, originator: Eui64 | str, target: Eui64 | str, counter: int,
              command_variant: int | None = None) -> Request:
        """A request with the SRV's usual Command Variant (the first one the catalogue allows)."""
        spec = CATALOGUE[body.SRV]
        cv = command_variant if command_variant is not None else min(spec.command_variants)
        rid = RequestId(Eui64.parse(originator, where="originator"), Eui64.parse(target, where="target"), counter)
        return cls(rid, cv, body.SRV, body)

    @classmethod
    def signed(cls, request_id: RequestId, srv: str, gbcs_payload: bytes, *, command_variant: int = 5,
               execution_date_time: datetime | None = None) -> Request:
        """The CV 5 (6, 7) request that sends back the Pre-Command a CV 4 request was answered with, signed: same
        RequestID as the CV 4 request (SmartDCCInnovation dccboxed-nodered-nodes `dccboxed-send`, preserveCounter)."""
        return cls(request_id, command_variant, srv, SignedPreCommand(gbcs_payload, execution_date_time))

    def summary(self) -> str:
        detail = self.body.describe()
        return f"{self.srv} {self.spec.name}{' ' + detail if detail else ''}"

    def to_element(self, *, placeholder_signature: bool = True) -> ET.Element:
        root = ET.Element(sr("Request"), {"schemaVersion": self.schema_version})
        header = add(root, "Header")
        add(header, "RequestID", str(self.request_id))
        add(header, "CommandVariant", str(self.command_variant))
        add(header, "ServiceReference", self.service_reference)
        add(header, "ServiceReferenceVariant", self.srv)
        self.body.write(add(root, "Body"))
        if placeholder_signature:
            root.append(_signature_stub())
        return root

    def to_xml(self, signer: DuisSigner | None = None) -> str:
        """Signed by `signer` (compact, as the DCC's tool writes it), or without one the explicit unsigned form
        (placeholder signature values, indented)."""
        return document(self.to_element(placeholder_signature=signer is None), signer)


def _signature_stub() -> ET.Element:
    def ds(name: str) -> str:
        return f"{{{DS_NS}}}{name}"

    sig = ET.Element(ds("Signature"))
    info = ET.SubElement(sig, ds("SignedInfo"))
    ET.SubElement(info, ds("CanonicalizationMethod"), Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    ET.SubElement(info, ds("SignatureMethod"), Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256")
    ref = ET.SubElement(info, ds("Reference"), URI="")
    transforms = ET.SubElement(ref, ds("Transforms"))
    ET.SubElement(transforms, ds("Transform"), Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature")
    ET.SubElement(ref, ds("DigestMethod"), Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    ET.SubElement(ref, ds("DigestValue")).text = _PLACEHOLDER
    ET.SubElement(sig, ds("SignatureValue")).text = _PLACEHOLDER
    serial = ET.SubElement(ET.SubElement(ET.SubElement(sig, ds("KeyInfo")), ds("X509Data")), ds("X509IssuerSerial"))
    ET.SubElement(serial, ds("X509IssuerName")).text = "CN=U1, OU=07"
    ET.SubElement(serial, ds("X509SerialNumber")).text = "1234567890"
    return sig


def _read(xml_text: str | bytes, dcc_eui: Eui64) -> tuple[Request | None, list[Problem]]:
    try:
        root, positions = parse_xml(xml_text)
    except XmlSyntaxError as exc:
        return None, [Problem("XML", f"syntax error: {exc.reason}", exc.line, exc.column)]
    r = Reader(positions)
    if root.tag != sr("Request"):
        r.problem(local_name(root.tag), f"root element must be Request in namespace {SR_NS}, found {root.tag}", root)
        return None, r.problems
    schema_version = root.get("schemaVersion")
    if not schema_version:
        r.problem("Request", "schemaVersion attribute missing", root)
    header = r.child(root, "Header")
    body_elem = r.child(root, "Body")
    if root.find(f"{{{DS_NS}}}Signature") is None:
        r.problem("Signature", "missing XML-DSig Signature element (structure required; the signature value is "
                  "not verified)", root)
    if header is None:
        return None, r.problems

    rid = None
    rid_text = r.text(header, "RequestID")
    if rid_text is not None:
        try:
            rid = RequestId.parse(rid_text)
        except InputError as exc:
            message = str(exc).removeprefix("RequestID: ").removeprefix("RequestID ")
            r.problem("RequestID", message, header.find(sr("RequestID")))
    cv = r.integer(header, "CommandVariant", low=1, high=8)
    ref = r.text(header, "ServiceReference")
    srv = r.text(header, "ServiceReferenceVariant")
    spec = CATALOGUE.get(srv) if srv else None
    if srv is not None and spec is None:
        r.problem("ServiceReferenceVariant", f"{srv!r} is not a supported SRV (supported: "
                  f"{', '.join(CATALOGUE)})", header.find(sr("ServiceReferenceVariant")))
    if spec is not None and ref is not None and ref != spec.service_reference:
        r.problem("ServiceReference", f"{ref!r} does not match ServiceReferenceVariant {srv} (expected "
                  f"{spec.service_reference})", header.find(sr("ServiceReference")))
    if spec is not None and cv is not None and cv not in spec.command_variants:
        allowed = ", ".join(str(v) for v in sorted(spec.command_variants))
        r.problem("CommandVariant", f"CommandVariant {cv} not valid for {srv} (allowed: {allowed})",
                  header.find(sr("CommandVariant")), code="E12")
    if spec is not None and spec.non_device and rid is not None and rid.target != dcc_eui:
        r.problem("RequestID", f"target {rid.target.dcc} must be the DCC ({dcc_eui.dcc}) for non-device SRV {srv}",
                  header.find(sr("RequestID")), code="E11")

    body = None
    if body_elem is not None and spec is not None:
        children = list(body_elem)
        signed = spec.critical and cv in SIGNED_PRE_COMMAND_CVS
        element = SignedPreCommand.ELEMENT if signed else spec.body_element
        if len(children) != 1 or children[0].tag != sr(element):
            found = ", ".join(local_name(c.tag) for c in children) or "nothing"
            why = f"{srv} CommandVariant {cv}" if signed else srv
            r.problem("Body", f"expected one {element} element for {why}, found {found}", body_elem)
        else:
            body = (SignedPreCommand if signed else BODY_TYPES[srv]).read(children[0], r)
    # A request whose only problems carry a DUIS response code (E11/E12) still parses: the DCC answers it with
    # that code instead of refusing it as malformed.
    if any(p.response_code is None for p in r.problems) or None in (rid, cv, srv, body):
        return None, r.problems
    return Request(rid, cv, srv, body, schema_version or SCHEMA_VERSION), r.problems  # type: ignore[arg-type]


def validate(xml_text: str | bytes, *, dcc_eui: Eui64 | str = DCC_ACB_EUI) -> list[Problem]:
    """Every stateless problem with a DUIS request (XML syntax, structure, field formats, Command Variant).

    Rules that need the DCC's state (role registration, SMI status, replay) are the DCC's, not this function's.
    """
    return _read(xml_text, Eui64.parse(dcc_eui))[1]


def read_request(
    xml_text: str | bytes, *, dcc_eui: Eui64 | str = DCC_ACB_EUI, where: str | None = None
) -> tuple[Request, list[Problem]]:
    """For the DCC: the request plus the problems it answers with a response code (E11/E12); any other problem
    raises DuisSchemaError."""
    request, problems = _read(xml_text, Eui64.parse(dcc_eui))
    if request is None:
        raise DuisSchemaError(problems or [Problem("Request", "not a DUIS request")], where=where)
    return request, problems


def parse_request(xml_text: str | bytes, *, dcc_eui: Eui64 | str = DCC_ACB_EUI, where: str | None = None) -> Request:
    """The typed request, or DuisSchemaError listing every problem."""
    request, problems = _read(xml_text, Eui64.parse(dcc_eui))
    if problems or request is None:
        raise DuisSchemaError(problems or [Problem("Request", "not a DUIS request")], where=where)
    return request


def check(xml_text: str | bytes, *, dcc_eui: Eui64 | str = DCC_ACB_EUI, where: str | None = None) -> Request:
    """Alias of parse_request for scripts: the request if it passes every stateless rule, else DuisSchemaError."""
    return parse_request(xml_text, dcc_eui=dcc_eui, where=where)
