"""Device alerts and DCC alerts as the DCC sends them to a User: DUIS `Response` documents.

Shape from DUIS Schema V5.1 (`Response{Header{ResponseCode, ResponseDateTime}, Body{DeviceAlertMessage |
DCCAlertMessage}}`; the Header's RequestID and ResponseID are optional) and [DP] `test/duis.test.ts`
(domain.md §1.2 [V for the shapes]):
* `DeviceAlertMessage{AlertCode (hexBinary, e.g. 8F12), GBCSPayload (base64)}`: the CS14 alert bytes
  (gbcs_frame.cs14_alert; its MAC is a placeholder) or, for a GPF's GCS62, no GBCS encoding yet (not written);
* `DCCAlertMessage{DCCAlertCode, DCCAlert{UpdateHANDeviceLogResult{UpdateHANDeviceLogServiceRequestID}}}` for N24.

The CS14 payload carries the hashed TC link keys of the CHF log: unless `reveal_secrets`, each hash's octets are
written as zeros (its length kept) and an XML comment says so, so the document stays schema-valid and says what
was hidden.

With a `signer` (the DCC's DspXmlSign credential) each document carries the DCC's XML-DSig, as every answer the
emulated DCC sends does (signing.py); the redaction comment sits before the root element, outside what is signed.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import TYPE_CHECKING

from harness.smets.duis.request import SCHEMA_VERSION
from harness.smets.duis.responses import DccAlert
from harness.smets.duis.xmlbits import add, document, sr, xs_datetime
from harness.smets.gbcs_frame import cs14_alert

if TYPE_CHECKING:
    from harness.smets.duis.signing import DuisSigner

__all__ = ["dcc_alert_xml", "device_alert_xml", "REDACTED_NOTE"]

REDACTED_NOTE = ("GBCSPayload: hashed TC link keys written as zero octets (redacted; the run's reveal-secrets option keeps them). "
                 "MAC: 12 zero octets (GBCS security is not computed by the harness).")
MAC_NOTE = "GBCSPayload MAC: 12 zero octets (GBCS security is not computed by the harness)."


def _document(at: datetime) -> tuple[ET.Element, ET.Element]:
    root = ET.Element(sr("Response"), {"schemaVersion": SCHEMA_VERSION})
    header = add(root, "Header")
    add(header, "ResponseCode", "I0")
    add(header, "ResponseDateTime", xs_datetime(at))
    return root, add(root, "Body")


def dcc_alert_xml(alert: DccAlert, *, signer: DuisSigner | None = None) -> str:
    """N24 (and any DCC alert carrying an UpdateHANDeviceLogResult) as a DUIS DCCAlertMessage."""
    root, body = _document(alert.at)
    msg = add(body, "DCCAlertMessage")
    add(msg, "DCCAlertCode", alert.code)
    result = add(add(msg, "DCCAlert"), "UpdateHANDeviceLogResult")
    add(result, "UpdateHANDeviceLogServiceRequestID", str(alert.request_id))
    return document(root, signer)


def device_alert_xml(alert: object, *, counter: int = 1, reveal_secrets: bool = False,
                     signer: DuisSigner | None = None) -> str | None:
    """A CHF's CS14 (0x8F12) as a DUIS DeviceAlertMessage; None for alerts the harness has no GBCS encoding of."""
    entries = getattr(alert, "entries", None)
    if getattr(alert, "code", None) != 0x8F12 or entries is None:
        return None
    shown = tuple((eui, hashed if reveal_secrets else bytes(len(hashed))) for eui, hashed in entries)
    payload = cs14_alert(chf=alert.chf, at=alert.at, backup_at=alert.at,  # type: ignore[attr-defined]
                         extended_pan_id=alert.extended_pan_id, entries=shown,  # type: ignore[attr-defined]
                         counter=counter)
    root, body = _document(alert.at)  # type: ignore[attr-defined]
    msg = add(body, "DeviceAlertMessage")
    add(msg, "AlertCode", f"{alert.code:04X}")  # type: ignore[attr-defined]
    add(msg, "GBCSPayload", base64.b64encode(payload).decode("ascii"))
    text = document(root, signer)
    note = MAC_NOTE if reveal_secrets else REDACTED_NOTE
    return text.replace("\n", f"\n<!-- {note} -->\n", 1)
