"""GBCS message framing for what the harness reports in DUIS: the CS14 alert 0x8F12 and its DLMS payload.

Layout, byte for byte as in the RTDS 4.5.0 responses in [GP] (e.g. `CCS01_8.11_SUCCESS_RESPONSE_GBCS.HEX`,
`CS03B_8.7.2_SUCCESS_RESPONSE_GBCS.HEX`; domain.md §1.3, §5.1, §5.3 [V]):

    DD 00 00 00 00 00 00  <length of the rest>  11 00 00 00 00
    DF 09 <CRA flag> <originator counter, 8>  08 <originator>  08 <recipient>  00 (no date-time)
    <other-information length> <message code, 2> [...]  <content length> <content>
    00 (no signature)  <MAC, 12>

CS14 (§5.3 [V]): CRA flag 3 (alert), originator the CHF, recipient the DCC ACB, message code 0x0018, content a DLMS
DATA-NOTIFICATION `structure{long-unsigned 0x8F12, date-time, structure{date-time, extended PAN ID,
array{structure{EUI, hashed TC link key}}}}`. Lengths above 127 use BER long form [U: no RTDS vector that long].

Not done: the MAC. GBCS security is a non-goal of this harness (docs/duis-and-dcc.md), so the 12 MAC octets are
zero, as the DUIS Signature is a placeholder; `MAC_PLACEHOLDER` names it and the evidence says so.
"""

from __future__ import annotations

from datetime import datetime, timezone

from harness.smets.identities import Eui64

__all__ = ["CRA_RESPONSE", "CRA_ALERT", "MAC_PLACEHOLDER", "CCS01_SUCCESS", "CCS01_LOG_FULL", "frame", "cs14_alert",
           "ccs01_response", "cosem_date_time"]

CRA_RESPONSE = 0x02
CRA_ALERT = 0x03
MAC_PLACEHOLDER = bytes(12)
CS14_MESSAGE_CODE = 0x0018
DCC_ACB = Eui64.parse("90-B3-D5-1F-30-00-00-02")

# DLMS A-XDR data tags (IEC 62056-6-2): array, structure, octet-string, long-unsigned; DATA-NOTIFICATION APDU.
_ARRAY, _STRUCTURE, _OCTETS, _LONG_UNSIGNED, _DATA_NOTIFICATION = 0x01, 0x02, 0x09, 0x12, 0x0F


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def frame(cra: int, counter: int, originator: Eui64, recipient: Eui64, other_info: bytes, content: bytes,
          mac: bytes = MAC_PLACEHOLDER) -> bytes:
    """A GBCS message in the RTDS layout above (no signature)."""
    body = (bytes.fromhex("1100000000") + b"\xDF\x09" + bytes([cra]) + counter.to_bytes(8, "big")
            + b"\x08" + originator.to_bytes() + b"\x08" + recipient.to_bytes() + b"\x00"
            + _length(len(other_info)) + other_info + _length(len(content)) + content + b"\x00" + mac)
    return bytes.fromhex("DD000000000000") + _length(len(body)) + body


def cosem_date_time(at: datetime) -> bytes:
    """COSEM date-time (12 octets), UTC with deviation 0 and clock status 0."""
    t = at.astimezone(timezone.utc)
    return (t.year.to_bytes(2, "big") + bytes([t.month, t.day, t.isoweekday(), t.hour, t.minute, t.second,
                                              t.microsecond // 10000]) + b"\x00\x00\x00")


def _octets(value: bytes) -> bytes:
    return bytes([_OCTETS]) + _length(len(value)) + value


def cs14_alert(*, chf: Eui64, at: datetime, backup_at: datetime, extended_pan_id: Eui64,
               entries: tuple[tuple[Eui64, bytes], ...], counter: int, alert_code: int = 0x8F12) -> bytes:
    """The CS14 "CHF Device Log Changed" alert as the CHF sends it to the DCC ACB (module docstring)."""
    log = bytes([_ARRAY]) + _length(len(entries)) + b"".join(
        bytes([_STRUCTURE, 2]) + _octets(eui.to_bytes()) + _octets(hashed) for eui, hashed in entries)
    snapshot = bytes([_STRUCTURE, 3]) + _octets(cosem_date_time(backup_at)) + _octets(extended_pan_id.to_bytes()) + log
    data = (bytes([_STRUCTURE, 3, _LONG_UNSIGNED]) + alert_code.to_bytes(2, "big") + _octets(cosem_date_time(at))
            + snapshot)
    apdu = bytes([_DATA_NOTIFICATION]) + counter.to_bytes(4, "big") + b"\x00" + data  # no date-time of its own
    return frame(CRA_ALERT, counter, chf, DCC_ACB, CS14_MESSAGE_CODE.to_bytes(2, "big"), apdu)


# CCS01 response content (ACCESS.response, [GP] RTDS 8.11 SUCCESS / ERROR vectors, domain.md §1.3 [V]): three null
# data, then the results of ACTION register_device, SET join_timeout, SET enable_disable_joining.
CCS01_SUCCESS = (0x00, 0x00, 0x00)
# A full CHF log: register_device fails. Which DLMS result a CH gives is [U] (§4.2); 250 "other-reason" for all
# three (the RTDS ERROR vector uses 1 and 250 on the SETs).
CCS01_LOG_FULL = (0xFA, 0xFA, 0xFA)


def ccs01_response(*, chf: Eui64, supplier: Eui64, supplier_counter: int, counter: int,
                   results: tuple[int, int, int] = CCS01_SUCCESS, mac: bytes = MAC_PLACEHOLDER) -> bytes:
    """The CHF's CCS01 response to the DCC ACB; Other Information carries the supplier's ID and counter (§1.3)."""
    action, set_timeout, set_joining = results
    content = (b"\xDA" + (0x20000000 | (counter & 0xFFFFFF)).to_bytes(4, "big") + b"\x00\x00\x03\x00\x00\x00\x03"
               + bytes([0x03, action, 0x02, set_timeout, 0x02, set_joining]))
    other = (0x0001).to_bytes(2, "big") + supplier.to_bytes() + supplier_counter.to_bytes(8, "big")
    return frame(CRA_RESPONSE, counter, chf, DCC_ACB, other, content, mac)
