"""The SE test-vector credentials (ZigBee Smart Energy Annex C, crypto suite 2; research/vectors.md §4.3) as a CBKE
credential set a rig may choose instead of a per-run test CA (`coordinator.cbke_credentials: se-test-vectors`).

These are published spec values, so a capture made with them can be checked by anyone holding the spec: the CA's
public key and four certificates, each with its static private key. The CA's private key is not published, so no
other subject can be issued: a device must carry one of the four subjects as its EUI-64.
"""

from __future__ import annotations

from functools import cache

from harness.zigbee.cbke.certificate import DeviceCredentials, parse_certificate

__all__ = ["CA_PUBLIC_KEY", "ISSUER", "credentials_for", "subjects"]

_H = bytes.fromhex
CA_PUBLIC_KEY = _H("0207A445022D9F39F49BDC38380026A27A9E0A1799313AB28C5C1A1C6B605154DB1DFF6752")
ISSUER = "1112131415161718"

# (certificate, static private key): Annex C.4.2's responder V and initiator U, then the two extra test
# certificates (cs2_test1.txt).
_CREDENTIALS = (
    ("002622A505E8938F270D081112131415161718005292A35BFFFFFFFF0A0B0C0D0E0F1011880303B4E9DC543A64333C982308022B54"
     "E67E2F15F532551B0A11E2E2C1C1D3097A4324E7ED",
     0x0151CD0DBCB80474BF7AC9FEEBE39C7A32A63518938FCA9754AAE132BC9C73BE94A7E1BE),
    ("0084A933B37F018DEC0D081112131415161718005292A38AFFFFFFFF0A0B0C0D0E0F10128803076277E2F7E2252B16A0E92B6E8771"
     "BB3F207946CBD4A45D9A9DF6EDAB8C796A48E89DEC",
     0x00F2561ADB39EF49C1D62EF5186C6E0C158A5A45BFCE38660931ACC3694592D5ACDE9006),
    ("008E99D80082C5278B0D08111213141516171800595E2A59FFFFFFFF20000000000000000802032ED67F6571E22CB1A0C1ADBD15E3"
     "4BC102003A714EA34E7309A537F26D1E936DAECFE1",
     0x00EFF081369A882AEB53D454633FC813E5AA76A1498A437BEFD7F14A5E3D8B2B1F47E0F0),
    ("006CD4EA5002DD01D20D08111213141516171800595E2A92FFFFFFFF20000000000000010803031FECE33D02BF62B735AFFDD9607D"
     "A85B98ACF47AE0E9D26BDF41BFBA337CE5F0AB7289",
     0x0057E4300D19E57C1A4CDE992EEBD1D1EC2B8C23BB022F0E63C6716F433EFEDCD82B1395),
)


@cache  # parsed once: a rig load asks about each device, a bench about each meter
def _by_subject() -> dict[str, DeviceCredentials]:
    found = {}
    for cert_hex, private in _CREDENTIALS:
        cert = _H(cert_hex)
        found[parse_certificate(cert).subject_hex.upper()] = DeviceCredentials(cert, private, CA_PUBLIC_KEY)
    return found


def subjects() -> tuple[str, ...]:
    """The EUI-64s (16 hex digits, as the certificates name them) that have test-vector credentials."""
    return tuple(_by_subject())


def credentials_for(eui64: str) -> DeviceCredentials | None:
    """The test-vector credentials whose certificate names `eui64` (any separators), or None."""
    return _by_subject().get(eui64.replace("-", "").replace(":", "").upper())
