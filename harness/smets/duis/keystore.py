"""Keystores of DUIS signers: the DCC Boxed test keystore, or a per-run generated test CA when that is absent.

* `Keystore.from_json(data)` reads the JSON database of npm `@smartdcc/dccboxed-keystore` 0.4.2 (`keystore.json`:
  `{eui: {"digitalSignature" | "keyAgreement": {serial: {certificate, privateKey, name, role}}}}`, its README and
  `schema.json`). Only digital-signature entries sign XML. The ZAZ1 test PKI in it is the one DCC Boxed and the
  DCC's signing tool use, so what the harness signs with it the DCC's tool accepts.
* `GeneratedKeystore()` makes an EC P-256 test CA in memory and issues a certificate to each User ID when first
  asked, in the SMKI profile's shape (subject OU = role in hex, x500UniqueIdentifier = the EUI-64). Nothing outside
  the run trusts it: it lets a bench without the DCC's tools still sign and verify for real.

Which certificate signs for a User ID (`signer_for`), as the DCC's tool picks (its CertificateLibrary list, v1.0.6):
an XmlSign (role 135) or DspXmlSign (137) certificate first, else the organisation's digital-signature certificate
from the primary `Z1` set rather than the alternate `Z1b` set.

Pure: `from_json` takes parsed JSON; reading the file is harness.dcc_keystore's job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type  # the public API has no other way to write a BIT STRING attribute
from cryptography.x509.oid import NameOID

from harness.errors import InputError
from harness.smets.duis.signing import Credential, DuisSigner, DuisVerifier, SignerCert, normalise_dn
from harness.smets.identities import Eui64

__all__ = ["Keystore", "GeneratedKeystore", "NoCredential", "ROLE_XML_SIGN", "ROLE_DSP_XML_SIGN"]

ROLE_XML_SIGN = 135  # SMKI remote-party role XmlSign ([keystore] certificateSearch.d.ts CertificateRole)
ROLE_DSP_XML_SIGN = 137  # DspXmlSign: the DCC's own DUIS signing certificate


class NoCredential(InputError):
    """The keystore holds no signing key for a User ID."""


def _preference(cred: Credential) -> tuple[bool, bool, str]:
    return (cred.cert.role not in (ROLE_XML_SIGN, ROLE_DSP_XML_SIGN), cred.cert.name.startswith("Z1b-"),
            cred.cert.name)


class Keystore:
    """Signers' certificates (and keys, where held), looked up by User ID or by issuer and serial."""

    def __init__(self, credentials: Iterable[Credential] = (), *, certificates: Iterable[SignerCert] = (),
                 source: str) -> None:
        self.source = source
        self._credentials: list[Credential] = []
        self._certs: dict[tuple[str, int], SignerCert] = {}
        self.skipped: list[str] = []  # entries of a loaded file that could not be used, and why
        for cred in credentials:
            self.add(cred)
        for cert in certificates:
            self._certs[(normalise_dn(cert.issuer), cert.serial)] = cert

    def __repr__(self) -> str:
        return f"Keystore({self.source}: {len(self._certs)} certificates)"

    def add(self, credential: Credential) -> None:
        self._credentials.append(credential)
        self._certs[(normalise_dn(credential.cert.issuer), credential.cert.serial)] = credential.cert

    def find(self, issuer: str, serial: int) -> SignerCert | None:
        return self._certs.get((normalise_dn(issuer), serial))

    def certificates(self) -> list[SignerCert]:
        return list(self._certs.values())

    def credentials_for(self, user_id: Eui64 | str) -> list[Credential]:
        eui = Eui64.parse(user_id, where="User ID")
        usable = [c for c in self._credentials if c.cert.eui == eui and c.cert.digital_signature]
        return sorted(usable, key=_preference)

    def signer_for(self, user_id: Eui64 | str) -> DuisSigner:
        found = self.credentials_for(user_id)
        if not found:
            eui = Eui64.parse(user_id, where="User ID")
            raise NoCredential(f"no digital-signature key for User ID {eui.dcc} in {self.source}",
                               where="DUIS signing")
        return DuisSigner(found[0])

    def verifier(self) -> DuisVerifier:
        return DuisVerifier(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, source: str) -> Keystore:
        """The dccboxed-keystore JSON database; a malformed entry is an InputError naming its EUI and serial."""
        if not isinstance(data, Mapping):
            raise InputError("top level is not a JSON object", where=source)
        store = cls(source=source)
        for eui_text, usages in data.items():
            signing = usages.get("digitalSignature", {}) if isinstance(usages, Mapping) else None
            if not isinstance(signing, Mapping):
                raise InputError("digitalSignature is not an object", where=f"{source}: {eui_text}")
            for serial, entry in signing.items():
                where = f"{source}: {eui_text}.digitalSignature.{serial}"
                store._add_entry(entry, where)
        return store

    def _add_entry(self, entry: Any, where: str) -> None:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("certificate"), str):
            raise InputError("no certificate", where=where)
        try:
            certificate = x509.load_pem_x509_certificate(entry["certificate"].encode("ascii"))
        except ValueError as exc:
            # keystore.json 0.4.2 holds one such entry (mdr-ds: a NULL parameter after ecdsa-with-SHA256, which DER
            # forbids, RFC 5758 §3.2); it signs nothing the harness sends, so it is left out and listed.
            self.skipped.append(f"{where}: certificate does not parse as DER X.509 ({exc})")
            return
        role = entry.get("role")
        cert = SignerCert.of(certificate, name=str(entry.get("name") or where), role=role if isinstance(role, int)
                             else None)
        key_pem = entry.get("privateKey")
        if not isinstance(key_pem, str):
            self._certs[(normalise_dn(cert.issuer), cert.serial)] = cert
            return
        try:
            key = serialization.load_pem_private_key(key_pem.encode("ascii"), password=None)
        except (ValueError, TypeError):
            raise InputError("privateKey is not an unencrypted PEM PKCS#8 key", where=where) from None  # no key text
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise InputError("privateKey is not an EC key", where=where)
        self.add(Credential(cert, key))


# A fixed validity window: certificates must not depend on the wall clock (the bench runs on a virtual one).
_NOT_BEFORE = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
_NOT_AFTER = dt.datetime(2120, 1, 1, tzinfo=dt.timezone.utc)


class GeneratedKeystore(Keystore):
    """A per-run test PKI: an in-memory CA that issues an XmlSign certificate (DspXmlSign for `dcc_ids`) to every
    User ID `signer_for` is asked about. Trusted by nothing outside this process."""

    def __init__(self, *, dcc_ids: Iterable[Eui64 | str] = ()) -> None:
        super().__init__(source="per-run generated test CA (no DCC Boxed keystore: `make dcc-tools` installs it)")
        self._dcc_ids = {Eui64.parse(e) for e in dcc_ids}
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        self._ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "07"),
                                   x509.NameAttribute(NameOID.COMMON_NAME, "smets2-harness per-run test CA")])

    def signer_for(self, user_id: Eui64 | str) -> DuisSigner:
        if not self.credentials_for(user_id):
            self.issue(Eui64.parse(user_id, where="User ID"))
        return super().signer_for(user_id)

    def issue(self, eui: Eui64, *, role: int | None = None) -> Credential:
        """A new credential for `eui` (role XmlSign, or DspXmlSign for a DCC ID), signed by this CA."""
        role = role if role is not None else (ROLE_DSP_XML_SIGN if eui in self._dcc_ids else ROLE_XML_SIGN)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"{role:02X}"),
            x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, b"\x00" + eui.to_bytes(), _ASN1Type.BitString),
        ])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_NOT_BEFORE)
            .not_valid_after(_NOT_AFTER)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(self._ca_key, hashes.SHA256())
        )
        credential = Credential(SignerCert.of(certificate, name=f"generated-xml-sign-{eui.compact}-ds", role=role),
                                key)
        self.add(credential)
        return credential
