"""Alerts in the evidence bundle as the DCC's DUIS documents: every CS14 the DCC receives (DeviceAlertMessage with
the GBCS payload) and every DCC alert it raises (DCCAlertMessage, e.g. N24), each an XML file under `duis/` and a
`duis.alert` timeline event carrying the same XML (harness/smets/duis/alerts_xml.py), signed by the DCC when it has a
signing key."""

from __future__ import annotations

import itertools

from harness.evidence.bundle import EvidenceBundle
from harness.smets.dcc import Dcc
from harness.smets.duis.alerts_xml import dcc_alert_xml, device_alert_xml

__all__ = ["ALERT_DIR", "observe_alerts"]

ALERT_DIR = "duis"


def observe_alerts(evidence: EvidenceBundle, dcc: Dcc) -> None:
    """From now on, write each alert the DCC receives or raises into `evidence` (files and timeline)."""
    numbers = itertools.count(1)
    signer = dcc.signer  # the DCC signs its alerts as it signs its answers
    gbcs_counter = itertools.count(1)  # the CHF's originator counter in the rebuilt CS14 frames

    def write(kind: str, code: str, xml: str, **fields: object) -> None:
        n = next(numbers)
        name = f"{ALERT_DIR}/{n:03d}-{kind}-{code}.xml"
        path = evidence.path(name)
        if n == 1:
            path.parent.mkdir(exist_ok=True)
            evidence.attach("duis_alerts", ALERT_DIR)
        path.write_text(xml)
        evidence.timeline.record("duis.alert", alert=kind, code=code, file=name, xml=xml, **fields)

    def on_device_alert(alert: object) -> None:
        xml = device_alert_xml(alert, counter=next(gbcs_counter), reveal_secrets=evidence.reveal_secrets,
                               signer=signer)
        if xml is not None:
            write("device-alert", f"{alert.code:04X}", xml)  # type: ignore[attr-defined]

    dcc.device_alert_observers.append(on_device_alert)
    dcc.alert_observers.append(lambda alert: write("dcc-alert", alert.code, dcc_alert_xml(alert, signer=signer),
                                                   outcome=alert.outcome))
