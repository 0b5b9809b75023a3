"""One evidence bundle per test: a folder holding the timeline, radio capture, key table, EZSP frame log and record.

The bundle is opened before the test body runs and closed in teardown whatever happened, so a failing or
crashing test still leaves its evidence. Files are written as the test goes (timeline, frame log), not only at
the end.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.evidence.record import TestRecord, base_provenance
from harness.evidence.timeline import Timeline

TIMELINE = "timeline.jsonl"
RECORD = "record.json"
PCAP = "capture.pcap"
KEYS = "zigbee_pc_keys"
EZSP_LOG = "ezsp.log"


def safe_name(test_id: str) -> str:
    """A folder name from a pytest node id: tests/bench/test_x.py::test_y[13] -> test_x.test_y-13."""
    tail = test_id.split("/")[-1].replace(".py::", ".").replace("::", ".")
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", tail).strip("-")[:120]


class EvidenceBundle:
    def __init__(self, root: Path, test_id: str, *, sec_refs: list[str] | None = None,
                 reveal_secrets: bool = False) -> None:
        self.dir = root / safe_name(test_id)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.timeline = Timeline(self.dir / TIMELINE, reveal_secrets=reveal_secrets)
        self.record = TestRecord(test_id=test_id, sec_refs=list(sec_refs or []), provenance=base_provenance())
        self.record.files["timeline"] = TIMELINE
        self.reveal_secrets = reveal_secrets
        self._closed = False

    def path(self, name: str) -> Path:
        return self.dir / name

    def attach(self, label: str, name: str) -> Path:
        """Register a file of the bundle (e.g. the pcap) so the record and report link it."""
        self.record.files[label] = name
        return self.dir / name

    def close(self, outcome: str, message: str = "") -> Path:
        if not self._closed:
            self.record.outcome = outcome
            self.record.message = message
            self.timeline.record("test.end", outcome=outcome, message=message[:2000])
            self.timeline.close()
            # Only list files that exist: a crash before the radio came up leaves no pcap.
            self.record.files = {k: v for k, v in self.record.files.items() if (self.dir / v).exists()}
            self.record.files["record"] = RECORD
            self.record.write(self.dir / RECORD)
            self._closed = True
        return self.dir / RECORD
