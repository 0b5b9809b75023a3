"""The timeline: every SRV, alert, join, WAN and power event of a test, with virtual and wall time.

Written as JSONL as it happens (line-buffered), so a test that crashes still leaves everything up to the crash.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from harness.evidence.deferred_write import DeferredWrite
from harness.evidence.redaction import redact_fields, redact_text


@dataclass(frozen=True)
class TimelineEvent:
    kind: str  # e.g. "srv.request", "srv.response", "alert", "join", "wan", "power", "operator", "note"
    virtual_time: str | None
    wall_time: float
    fields: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "virtual_time": self.virtual_time, "wall_time": self.wall_time, **self.fields}


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class Timeline:
    def __init__(
        self,
        path: Path | None = None,
        *,
        virtual_now: Callable[[], datetime] | None = None,
        reveal_secrets: bool = False,
        write_interval: float | None = None,
    ) -> None:
        """`write_interval`: None writes every event as it happens (line-buffered); a number of seconds writes
        them in batches at most that far behind (harness/evidence/deferred_write.py; the fleet)."""
        self.events: list[TimelineEvent] = []
        self._virtual_now = virtual_now
        self._reveal = reveal_secrets
        buffering = 1 if write_interval is None else -1
        self._buffering = buffering
        self._file: IO[str] | None = path.open("a", buffering=buffering) if path else None
        self._flushes = DeferredWrite(self._flush, write_interval)
        self.path = path

    def bind_clock(self, virtual_now: Callable[[], datetime]) -> None:
        self._virtual_now = virtual_now

    def record(self, kind: str, **fields: Any) -> TimelineEvent:
        vt = self._virtual_now().isoformat() if self._virtual_now else None
        safe = _jsonable(redact_fields(fields, reveal=self._reveal))
        event = TimelineEvent(kind, vt, time.time(), safe)
        self.events.append(event)
        if self._file:
            self._file.write(self._line(event))
            self._flushes.changed()
        return event

    def _line(self, event: TimelineEvent) -> str:
        return redact_text(json.dumps(event.to_json()), reveal=self._reveal) + "\n"

    def rewrite(self) -> None:
        """Write the file anew from the events held, and keep it open: after a deletion of the bundle that failed
        part-way, the file on disk holds every event again."""
        if self.path is None:
            return
        self.close()
        self._file = self.path.open("w", buffering=self._buffering)
        self._file.writelines(self._line(event) for event in self.events)
        self._file.flush()

    def _flush(self) -> None:
        if self._file:
            self._file.flush()

    def of_kind(self, kind: str) -> list[TimelineEvent]:
        return [e for e in self.events if e.kind == kind]

    def close(self) -> None:
        self._flushes.written()
        if self._file:
            self._file.close()
            self._file = None
