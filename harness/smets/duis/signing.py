"""XML-DSig for DUIS documents: sign a request or response as the DCC's signing tool does, verify one on receipt.

The profile, read from the DCC's own signing tool (GitHub `SmartDCCInnovation/dccboxed-signing-tool` v1.0.6, the
jar inside npm `@smartdcc/duis-sign-wrap` 0.1.2: `Sign.java`, `Validate.java`, `CertificateLibrary.java`) and the
signed samples it ships (`message.xml`, `readfw-response.xml`); docs/duis-and-dcc.md "Signing" has the details:

* one enveloped `ds:Signature`, the last child of the root element;
* SignedInfo canonicalised with exclusive C14N (`xml-exc-c14n#`), signed with ECDSA P-256 / SHA-256
  (`xmldsig-more#ecdsa-sha256`, the value r||s, 64 octets, RFC 4051 / XML-DSig 1.1);
* one Reference, URI "" (the whole document), the enveloped-signature transform only, digest SHA-256; with no
  canonicalisation transform listed, XML-DSig canonicalises the referenced node-set with inclusive C14N 1.0;
* KeyInfo names the signer by `X509IssuerSerial` (issuer DN as RFC 4514, serial in decimal). The tool finds the
  certificate by that serial; the signing key by the RequestID's business originator, matched against the
  certificate subject's x500UniqueIdentifier (the User ID).

The DCC's tool parses with element-content whitespace ignored (schema-aware DOM), so a digest over indented XML
differs between it and a plain XML-DSig verifier; signed documents are therefore written without indentation, as
the tool writes them, and both sides then agree.

Pure: no file I/O. Keys come in as `Credential`s from harness.smets.duis.keystore; private keys never appear in a
repr or an error message.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import NameOID

from harness.errors import InputError, SecurityError
from harness.smets.duis.codes import ResponseCode
from harness.smets.duis.xmlbits import DS_NS, MAX_DOCUMENT_BYTES
from harness.smets.identities import Eui64

if TYPE_CHECKING:
    from lxml import etree as _etree

__all__ = [
    "C14N_EXCLUSIVE",
    "ECDSA_SHA256",
    "ENVELOPED_SIGNATURE",
    "SHA256",
    "PLACEHOLDER",
    "SignerCert",
    "Credential",
    "DuisSigner",
    "DuisVerifier",
    "Verified",
    "SignatureInvalid",
    "TrustStore",
    "DccSignatures",
    "normalise_dn",
]

C14N_EXCLUSIVE = "http://www.w3.org/2001/10/xml-exc-c14n#"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
ENVELOPED_SIGNATURE = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
PLACEHOLDER = "ZGVmYXVsdA=="  # base64 "default": the RTDS templates' digest and signature values (not a signature)
_P256_OCTETS = 32


def _ds(name: str) -> str:
    return f"{{{DS_NS}}}{name}"


class SignatureInvalid(SecurityError):
    """A DUIS document whose signature does not verify. `reason` is one of: missing, placeholder, malformed,
    algorithm, unknown signer, key usage, digest, signature, wrong signer."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(f"signature {reason}: {message}")


@dataclass(frozen=True)
class SignerCert:
    """A signer's X.509 certificate and what the DCC reads from it: User ID (subject x500UniqueIdentifier),
    SMKI remote-party role (subject OU, hex: 02 supplier, 87 = 135 XmlSign, 89 = 137 DspXmlSign), issuer, serial."""

    certificate: x509.Certificate = field(repr=False, compare=False)
    name: str
    issuer: str  # RFC 4514, as X509IssuerName carries it ("CN=Z1,OU=07")
    serial: int
    eui: Eui64 | None
    role: int | None

    @classmethod
    def of(cls, certificate: x509.Certificate, *, name: str | None = None, role: int | None = None) -> SignerCert:
        eui = None
        for attr in certificate.subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER):
            raw = attr.value if isinstance(attr.value, bytes) else b""
            if len(raw) == 9 and raw[0] == 0:  # BIT STRING: unused-bits octet 0, then the 8 octets of the EUI-64
                eui = Eui64(int.from_bytes(raw[1:], "big"))
        if role is None:
            for attr in certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME):
                try:
                    role = int(str(attr.value), 16)
                except ValueError:
                    pass
        label = name or f"serial {certificate.serial_number}"
        return cls(certificate, label, certificate.issuer.rfc4514_string(), certificate.serial_number, eui, role)

    @property
    def digital_signature(self) -> bool:
        try:
            usage = self.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            return True
        return bool(usage.digital_signature)

    def describe(self) -> str:
        who = self.eui.dcc if self.eui is not None else "no User ID"
        return f"{self.name} (User ID {who}, issuer {self.issuer}, serial {self.serial})"


@dataclass(frozen=True)
class Credential:
    """A signer's certificate and private key. The key is a secret: it is in no repr, str or message."""

    cert: SignerCert
    private_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.private_key, ec.EllipticCurvePrivateKey) or \
                not isinstance(self.private_key.curve, ec.SECP256R1):
            raise InputError("the private key is not an EC P-256 (prime256v1) key", where=self.cert.name)


class TrustStore(Protocol):
    """Where a verifier finds a signer's certificate by issuer and serial (a Keystore is one)."""

    source: str

    def find(self, issuer: str, serial: int) -> SignerCert | None: ...


def normalise_dn(dn: str) -> str:
    """Compare DNs as the tool's lookup would accept them: case and spaces around separators do not matter."""
    return re.sub(r"\s*([,=+])\s*", r"\1", dn.strip()).lower()


def _parser() -> _etree.XMLParser:
    from lxml import etree

    return etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False, huge_tree=False,
                           remove_blank_text=False)


def _parse(xml: str | bytes) -> _etree._Element:
    from lxml import etree

    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    if len(data) > MAX_DOCUMENT_BYTES:
        raise SignatureInvalid("malformed", f"document is {len(data)} bytes, over the {MAX_DOCUMENT_BYTES}-byte limit")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise SignatureInvalid("malformed", f"not well-formed XML: {exc.msg}") from None
    if root.getroottree().docinfo.doctype:
        raise SignatureInvalid("malformed", "DTDs are not allowed in a DUIS document")
    return root


def _remove_keeping_tail(element: _etree._Element) -> None:
    """Drop an element but not the text after it (lxml keeps that text on the element; the DOM does not)."""
    parent = element.getparent()
    tail = element.tail
    previous = element.getprevious()
    parent.remove(element)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _strip_element_whitespace(root: _etree._Element) -> None:
    """Whitespace-only text between elements goes, as the DCC's tool's schema-aware parser drops it (DUIS has no
    mixed content); text of leaf elements is untouched."""
    for element in root.iter():
        if len(element) and element.text is not None and not element.text.strip():
            element.text = None
        if element is not root and element.tail is not None and not element.tail.strip():
            element.tail = None


def _digest(root: _etree._Element, signature: _etree._Element | None) -> bytes:
    """SHA-256 of the document minus its Signature (enveloped transform), as inclusive C14N 1.0 without comments."""
    from lxml import etree

    if signature is None:
        data = etree.tostring(root, method="c14n", exclusive=False, with_comments=False)
    else:
        clone = copy.deepcopy(root)
        position = list(root).index(signature)
        _remove_keeping_tail(clone[position])
        data = etree.tostring(clone, method="c14n", exclusive=False, with_comments=False)
    return hashlib.sha256(data).digest()


def _c14n_signed_info(signed_info: _etree._Element) -> bytes:
    from lxml import etree

    return etree.tostring(signed_info, method="c14n", exclusive=True, with_comments=False)


class DuisSigner:
    """Signs DUIS documents with one credential. `sign(xml)` returns the signed document (any earlier Signature is
    replaced, element-content whitespace dropped, as the DCC's tool does)."""

    def __init__(self, credential: Credential) -> None:
        self._credential = credential

    @property
    def cert(self) -> SignerCert:
        return self._credential.cert

    def __repr__(self) -> str:
        return f"DuisSigner({self.cert.describe()})"

    def sign(self, xml: str | bytes) -> str:
        from lxml import etree

        root = _parse(xml)
        for old in root.findall(_ds("Signature")):
            _remove_keeping_tail(old)
        _strip_element_whitespace(root)
        digest = _digest(root, None)

        sig = etree.SubElement(root, _ds("Signature"), nsmap=None if root.nsmap.get("ds") == DS_NS else {"ds": DS_NS})
        info = etree.SubElement(sig, _ds("SignedInfo"))
        etree.SubElement(info, _ds("CanonicalizationMethod"), Algorithm=C14N_EXCLUSIVE)
        etree.SubElement(info, _ds("SignatureMethod"), Algorithm=ECDSA_SHA256)
        ref = etree.SubElement(info, _ds("Reference"), URI="")
        etree.SubElement(etree.SubElement(ref, _ds("Transforms")), _ds("Transform"), Algorithm=ENVELOPED_SIGNATURE)
        etree.SubElement(ref, _ds("DigestMethod"), Algorithm=SHA256)
        etree.SubElement(ref, _ds("DigestValue")).text = base64.b64encode(digest).decode("ascii")
        value = etree.SubElement(sig, _ds("SignatureValue"))
        serial = etree.SubElement(etree.SubElement(etree.SubElement(sig, _ds("KeyInfo")), _ds("X509Data")),
                                  _ds("X509IssuerSerial"))
        etree.SubElement(serial, _ds("X509IssuerName")).text = self.cert.issuer
        etree.SubElement(serial, _ds("X509SerialNumber")).text = str(self.cert.serial)

        der = self._credential.private_key.sign(_c14n_signed_info(info), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        value.text = base64.b64encode(r.to_bytes(_P256_OCTETS, "big") + s.to_bytes(_P256_OCTETS, "big")).decode()
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="unicode") + "\n"


@dataclass(frozen=True)
class Verified:
    """A signature that verified: who signed (the certificate found in the trust store)."""

    signer: SignerCert


def _algorithm(parent: _etree._Element | None, name: str, expected: str) -> None:
    found = parent.find(_ds(name)) if parent is not None else None
    value = found.get("Algorithm") if found is not None else None
    if value != expected:
        raise SignatureInvalid("algorithm", f"{name} is {value!r}; DUIS uses {expected}")


def _b64(element: _etree._Element | None, name: str) -> bytes:
    text = "".join((element.text or "").split()) if element is not None else ""
    if not text:
        raise SignatureInvalid("malformed", f"{name} missing or empty")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise SignatureInvalid("malformed", f"{name} is not base64") from None


class DuisVerifier:
    """Verifies the XML-DSig of DUIS documents against a trust store (the keystore of known signers).

    `verify(xml, signer_eui=...)` returns Verified or raises SignatureInvalid naming what failed: no signature,
    the RTDS placeholder, an algorithm DUIS does not use, a signer not in the store, a certificate without the
    digitalSignature key usage, a digest that does not match the content, a signature value that does not verify,
    or (when `signer_eui` is given) a signer whose User ID is not that one.
    """

    def __init__(self, trust: TrustStore) -> None:
        self.trust = trust

    def __repr__(self) -> str:
        return f"DuisVerifier({self.trust.source})"

    def verify(self, xml: str | bytes, *, signer_eui: Eui64 | None = None) -> Verified:
        root = _parse(xml)
        signatures = root.findall(f".//{_ds('Signature')}")
        if not signatures:
            raise SignatureInvalid("missing", "the document has no ds:Signature")
        if len(signatures) > 1 or signatures[0].getparent() is not root:
            raise SignatureInvalid("malformed", "DUIS carries exactly one ds:Signature, as the root's child")
        sig = signatures[0]
        info = sig.find(_ds("SignedInfo"))
        refs = info.findall(_ds("Reference")) if info is not None else []
        ref = refs[0] if len(refs) == 1 else None
        digest_value = ref.find(_ds("DigestValue")) if ref is not None else None
        if digest_value is not None and (digest_value.text or "").strip() == PLACEHOLDER:
            raise SignatureInvalid("placeholder", f"DigestValue is the RTDS placeholder {PLACEHOLDER!r}: the "
                                   "document is not signed")
        if info is None:
            raise SignatureInvalid("malformed", "ds:SignedInfo missing")
        _algorithm(info, "CanonicalizationMethod", C14N_EXCLUSIVE)
        _algorithm(info, "SignatureMethod", ECDSA_SHA256)
        if ref is None:
            raise SignatureInvalid("malformed", f"SignedInfo has {len(refs)} References; DUIS has one")
        if ref.get("URI") != "":
            raise SignatureInvalid("malformed", f"Reference URI is {ref.get('URI')!r}; DUIS signs the whole "
                                   "document (URI \"\")")
        transforms = [t.get("Algorithm") for t in ref.findall(f"{_ds('Transforms')}/{_ds('Transform')}")]
        if transforms != [ENVELOPED_SIGNATURE]:
            raise SignatureInvalid("algorithm", f"Reference transforms are {transforms}; DUIS uses only "
                                   f"{ENVELOPED_SIGNATURE}")
        _algorithm(ref, "DigestMethod", SHA256)

        signer = self._signer(sig)
        if not signer.digital_signature:
            raise SignatureInvalid("key usage", f"{signer.describe()} lacks the digitalSignature key usage")
        if not hmac.compare_digest(_digest(root, sig), _b64(digest_value, "DigestValue")):
            raise SignatureInvalid("digest", "DigestValue does not match the document: the signed content was "
                                   "changed after signing")
        raw = _b64(sig.find(_ds("SignatureValue")), "SignatureValue")
        if len(raw) != 2 * _P256_OCTETS:
            raise SignatureInvalid("malformed", f"SignatureValue is {len(raw)} octets; ECDSA P-256 r||s is 64")
        der = encode_dss_signature(int.from_bytes(raw[:_P256_OCTETS], "big"), int.from_bytes(raw[_P256_OCTETS:], "big"))
        public = signer.certificate.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve, ec.SECP256R1):
            raise SignatureInvalid("key usage", f"{signer.describe()} does not hold an EC P-256 key")
        try:
            public.verify(der, _c14n_signed_info(info), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise SignatureInvalid("signature", f"SignatureValue does not verify with {signer.describe()}") from None
        if signer_eui is not None and signer.eui != signer_eui:
            raise SignatureInvalid("wrong signer", f"signed by {signer.describe()}, not by User ID {signer_eui.dcc}")
        return Verified(signer)

    def _signer(self, sig: _etree._Element) -> SignerCert:
        serial_elem = sig.find(f"{_ds('KeyInfo')}/{_ds('X509Data')}/{_ds('X509IssuerSerial')}")
        if serial_elem is None:
            raise SignatureInvalid("malformed", "KeyInfo has no X509Data/X509IssuerSerial (DUIS names the signer "
                                   "by issuer and serial)")
        issuer = (serial_elem.findtext(_ds("X509IssuerName")) or "").strip()
        serial_text = (serial_elem.findtext(_ds("X509SerialNumber")) or "").strip()
        if not serial_text.isdigit():
            raise SignatureInvalid("malformed", f"X509SerialNumber {serial_text[:40]!r} is not a decimal integer")
        found = self.trust.find(issuer, int(serial_text))
        if found is None:
            raise SignatureInvalid("unknown signer", f"no certificate issuer {issuer!r} serial {serial_text} in "
                                   f"{self.trust.source}")
        return found


@dataclass
class DccSignatures:
    """The emulated DCC's signature rules (docs/duis-and-dcc.md "Signing"): each request must verify against
    `verifier` and be signed by its RequestID's business originator, else the DCC answers `failure_code`; the DCC
    signs its own responses with `signer` (its DspXmlSign credential) when it has one."""

    verifier: DuisVerifier
    signer: DuisSigner | None = None
    failure_code: ResponseCode = ResponseCode.E1

    def refusal(self, xml: str | bytes, originator: Eui64) -> str | None:
        """None if the request's signature is good, else why not (the detail of the refusal)."""
        try:
            self.verifier.verify(xml, signer_eui=originator)
        except SignatureInvalid as exc:
            return str(exc)
        return None
