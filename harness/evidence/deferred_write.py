"""Evidence written in batches: a change marks the file dirty and one write follows, not one write per change.

The fleet runs thousands of premises in two processes; each premises' record, timeline and capture changed a few
hundred times in a second or two of wall time, and every change was a write system call (the record a whole
rewrite). With an interval, the first change after a write arms one timer and the write happens when it fires, so
a file on disk is at most `interval` seconds behind while the test runs; closing writes at once. Interval 0 writes at
the end of the current event-loop iteration. Without a running loop (synchronous use) every change is written at
once, as it is with no interval at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class DeferredWrite:
    def __init__(self, write: Callable[[], None], interval: float | None) -> None:
        self._write = write
        self.interval = interval  # None: write on every change
        self.pending = False
        self._handle: asyncio.Handle | None = None

    def changed(self) -> None:
        """Something to write: now, or once the interval has passed."""
        if self.interval is None:
            self._write()
            return
        if self.pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._write()
            return
        self.pending = True
        if self.interval > 0:
            self._handle = loop.call_later(self.interval, self._fire)
        else:
            self._handle = loop.call_soon(self._fire)

    def written(self) -> None:
        """The owner wrote everything itself (close, an explicit flush): the armed timer has nothing left to do, and
        is cancelled so that it stops holding the owner (and, through a timeline's clock, a whole finished bench)."""
        self.pending = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        if self.pending:
            self.pending = False
            self._write()
