"""One evidence bundle per test: a folder holding the timeline, radio capture, key table, EZSP frame log and record.

The bundle is opened before the test body runs and closed in teardown whatever happened, so a failing test still
leaves its evidence; and because every file is written as the test goes (the record says "incomplete" until the
test's verdict is in, the timeline is line-buffered, the key table is written when the capture starts), a test
that kills its process still leaves everything up to that moment.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

from harness.evidence.record import TestRecord, base_provenance
from harness.evidence.timeline import Timeline

TIMELINE = "timeline.jsonl"
RECORD = "record.json"
PCAP = "capture.pcap"
KEYS = "zigbee_pc_keys"
KEY_TABLE = f"{PCAP}.{KEYS}"
EZSP_LOG = "ezsp.log"
SECRET_SUFFIXES = (f".{KEYS}",)  # files that must hold keys (Wireshark needs them): owner-only, listed as secret


def safe_name(test_id: str) -> str:
    """A folder name from the whole pytest node id, safe on any file system and unique per id.

    `harness/scenarios/test_x.py::test_y[a/b]` -> `harness.scenarios.test_x.test_y-a-b-1f3c9e2a`: the path is kept
    (two tests of one name in two folders differ), every character outside [A-Za-z0-9_.-] becomes '-', and a hash
    of the exact id is appended, so ids that read the same once cleaned (`[a/b]` and `[a-b]`) still differ.
    """
    readable = test_id.replace(".py::", ".").replace("::", ".").replace("/", ".")
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", readable).strip("-.")
    readable = re.sub(r"\.{2,}", ".", readable)
    while len(readable) > 100 and "." in readable:  # long: drop leading folders first, then cut the tail
        readable = readable.split(".", 1)[1]
    readable = readable[:100]
    digest = hashlib.blake2s(test_id.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()
    return f"{readable}-{digest}"


class EvidenceBundle:
    def __init__(self, root: Path, test_id: str, *, sec_refs: list[str] | None = None,
                 reveal_secrets: bool = False, coalesce_saves: bool | float = False) -> None:
        """`coalesce_saves`: the record is not rewritten on every change but once per event-loop iteration (True)
        or at most that many seconds after a change (TestRecord.autosave), and the timeline and the bench's capture
        are flushed in the same rhythm (`write_interval`); the fleet's choice, where thousands of premises share
        two processes. Secret files are protected before each write either way."""
        self.dir = root / safe_name(test_id)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.reveal_secrets = reveal_secrets
        # None: every file is written as it changes; seconds: the timeline, the record and the bench's capture are
        # written in batches at most that far behind (0: once per loop iteration), and completely on close.
        self.write_interval: float | None = (None if coalesce_saves is False
                                             else 0.0 if coalesce_saves is True else float(coalesce_saves))
        self.timeline = Timeline(self.dir / TIMELINE, reveal_secrets=reveal_secrets,
                                 write_interval=self.write_interval)
        self.record = TestRecord(test_id=test_id, sec_refs=list(sec_refs or []), provenance=base_provenance(),
                                 outcome="incomplete", reveal_secrets=reveal_secrets)
        self.record.files["timeline"] = TIMELINE
        # a crash from here on leaves the last good state
        self.record.autosave(self.dir / RECORD, interval=self.write_interval,
                             before_write=self.protect_secret_files if self.write_interval is not None else None)
        self._closed = False

    def path(self, name: str) -> Path:
        return self.dir / name

    def attach(self, label: str, name: str) -> Path:
        """Register a file of the bundle (e.g. the pcap) so the record and report link it."""
        self.record.files[label] = name
        if name == PCAP:  # the capture's key table sits beside it (written by the sniffer when it starts)
            self.record.files["key_table"] = KEY_TABLE
        self.save()
        return self.dir / name

    def protect_secret_files(self) -> list[str]:
        """Key tables are owner-only (0600) and listed in the record as secret material."""
        secret = []
        for path in sorted(self.dir.iterdir()):
            if path.name.endswith(SECRET_SUFFIXES) and path.is_file():
                os.chmod(path, 0o600)
                secret.append(path.name)
        self.record.secret_files = secret
        return secret

    def save(self) -> None:
        if not self.record.coalesced:  # coalesced: protected when the record is written (before_write)
            self.protect_secret_files()
        self.record.save()

    def close(self, outcome: str, message: str = "") -> Path:
        if not self._closed:
            self.record.outcome = outcome
            self.record.message = message
            self.timeline.record("test.end", outcome=outcome, message=message[:2000])
            self.timeline.close()
            # Only list files that exist: a crash before the radio came up leaves no pcap.
            self.record.files = {k: v for k, v in self.record.files.items() if (self.dir / v).exists()}
            self.record.files["record"] = RECORD
            self.protect_secret_files()
            self.record.flush()
            self._closed = True
        return self.dir / RECORD

    def discard(self, outcome: str, message: str = "") -> bool:
        """Delete the bundle instead of closing it (a passing premises the fleet does not keep): its verdict is not
        written first, since nothing will read it (the record's final rewrite was ~1 % of a fleet premises' CPU).
        False if the folder could not be removed: the bundle is then closed with `outcome`, so what is left on disk
        says how the test ended rather than "incomplete". A folder already gone counts as removed."""
        if self._closed:
            return False
        self.record.cancel_saves()
        self.timeline.close()
        try:
            shutil.rmtree(self.dir)
        except OSError:
            if self.dir.exists():  # part of it is left: it says how the test ended
                self.timeline.rewrite()
                self.close(outcome, message)
                return False
        self._closed = True
        return True
