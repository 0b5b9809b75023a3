"""Each bench's own EZSP/ASH frame log, although bellows logs to process-global loggers.

bellows writes every frame to the module loggers `bellows.ezsp*`, `bellows.ash`, `bellows.uart`, which every
bellows instance in the process shares. A file handler per bench on those loggers would give each bench's
`ezsp.log` the frames of every other bench running in the same event loop (the fleet runs many), and format each
record once per bench. Instead one dispatching handler sits on the loggers, and a record goes to the frame log of
the bench whose asyncio context emitted it: the bench sets a context variable when it opens its coordinator, and
every task, reader callback and timer bellows creates from there inherits that context (asyncio copies the
context into each Task and Handle). A record from a context with no bench goes to the only open frame log when
exactly one is open (a pytest bench set up in a fixture task), and nowhere when several are.

Lines are buffered and written in blocks (not one write and flush per frame). `deferred=True` keeps the records
in memory and formats them only if the log is kept (`FrameLog.close(keep=True)`): the fleet keeps the frame logs
of failed premises and a sample of passing ones, and formatting is the main cost of a frame log. A deferred
record keeps its arguments only where they cannot change before it is formatted (`_fix_arguments`).
`ash_frames=False` leaves out bellows.ash's DEBUG lines (each ASH frame and its wire hex, which redaction hides
anyway): the log keeps every EZSP command and response and bellows' own messages, at a quarter of the records.
`capture_directly()` (the fleet's workers) lets bellows' DEBUG calls hand a deferred log its message and arguments
without building a LogRecord; the kept file reads the same.
"""

from __future__ import annotations

import contextvars
import enum
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import zigpy.types as zigpy_types

from harness.evidence.redaction import RedactingFormatter

BENCH_LOGGERS = ("bellows.ezsp", "bellows.ash", "bellows.uart")
ASH_LOGGER = "bellows.ash"  # a line per ASH frame sent and received, and its wire hex
FORMAT = "%(asctime)s %(name)s %(message)s"
FLUSH_BYTES = 64 * 1024

_current: contextvars.ContextVar[FrameLog | None] = contextvars.ContextVar("smets2_frame_log", default=None)


class FrameLog:
    """One bench's frame log file. Open with `FrameLog.open(path)`; always `close()`."""

    def __init__(self, path: Path, *, reveal_secrets: bool = False, deferred: bool = False,
                 ash_frames: bool = True) -> None:
        self.path = Path(path)
        self.deferred = deferred
        self.ash_frames = ash_frames  # False: bellows.ash at INFO and above only (no line per ASH frame)
        self.records = 0
        self._formatter = RedactingFormatter(FORMAT, reveal=reveal_secrets)
        # deferred: LogRecords, or (clock, logger name, msg, args) from capture() for records never built
        self._pending: list[logging.LogRecord | tuple[float, str, object, object]] = []
        self._lines: list[str] = []
        self._size = 0
        self._file = None if deferred else self.path.open("w", encoding="utf-8")
        self._closed = False

    @classmethod
    def open(cls, path: Path, *, reveal_secrets: bool = False, deferred: bool = False,
             ash_frames: bool = True) -> FrameLog:
        """Create the log and make it the one for records emitted from the calling asyncio context."""
        log = cls(path, reveal_secrets=reveal_secrets, deferred=deferred, ash_frames=ash_frames)
        _DISPATCHER.register(log)
        _current.set(log)
        return log

    def emit(self, record: logging.LogRecord) -> None:
        if self._closed or (not self.ash_frames and record.levelno < logging.INFO and record.name == ASH_LOGGER):
            return
        self.records += 1
        if self.deferred:
            _fix_arguments(record)
            self._pending.append(record)
            return
        self._add(self._formatter.format(record))

    def capture(self, name: str, msg: object, args: tuple[object, ...]) -> bool:
        """A DEBUG message from bellows' logger `name`, kept without a LogRecord (a deferred log only). False: the
        arguments cannot be kept as they read now, and the caller logs the message the usual way."""
        if not self.deferred:
            return False  # written as it goes: only a LogRecord through emit() reaches the file
        if self._closed or (not self.ash_frames and name == ASH_LOGGER):
            return True  # emit() would drop it too
        if args and len(args) == 1 and isinstance(args[0], Mapping) and args[0]:
            args = args[0]  # type: ignore[assignment]  # as LogRecord does: "%(name)s" formatting
        try:
            kept = _snapshot(args) if args else args
        except _Uncopyable:
            return False
        self.records += 1
        self._pending.append((time.time_ns() if _NS_CLOCK else time.time(), name, msg, kept))
        return True

    def _add(self, line: str) -> None:
        self._lines.append(line)
        self._size += len(line) + 1
        if self._size >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._file is not None and self._lines:
            self._file.write("\n".join(self._lines) + "\n")
            self._file.flush()
        self._lines.clear()
        self._size = 0

    def close(self, *, keep: bool = True) -> None:
        """Stop logging; write what is buffered. A deferred log is formatted and written only if `keep`."""
        if self._closed:
            return
        self._closed = True
        _DISPATCHER.unregister(self)
        if _current.get() is self:
            _current.set(None)
        if self.deferred and keep:
            self._file = self.path.open("w", encoding="utf-8")
            for record in self._pending:
                if isinstance(record, tuple):
                    record = _record(*record)
                self._add(self._formatter.format(record))
        self._pending.clear()
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None


_IMMUTABLE = (str, bytes, int, float, type(None), enum.Enum, frozenset)  # with their subclasses (zigpy's ints)
_FROZEN_TYPES: dict[type, bool] = {}


class _Uncopyable(Exception):
    """A value `_snapshot` cannot copy faithfully (rare: the record is then formatted at once)."""


def _frozen_type(kind: type) -> bool:
    known = _FROZEN_TYPES.get(kind)
    if known is None:
        params = getattr(kind, "__dataclass_params__", None)  # bellows' ASH frames: frozen, of bytes and ints
        known = _FROZEN_TYPES[kind] = issubclass(kind, _IMMUTABLE) or bool(params is not None and params.frozen)
    return known


def _snapshot(value: object, depth: int = 0) -> object:
    """`value` as it reads now, without formatting it: itself if it cannot change; a copy of a dict, tuple, zigpy
    list (EUI64, KeyData, LVList) or zigpy Struct (EmberApsFrame, ...) made of such values, built without running
    the type's constructor (zigpy's binds its signature), so it formats later exactly as the original would have
    now; `_Uncopyable` for anything else. bellows passes a zigpy value to a log call and is done with it, but
    nothing promises it, and a log that read differently from what was sent would be false evidence.

    Called for every argument of ~340 records a premises: items of a known immutable type are taken without a
    call (`_FROZEN_TYPES` lookup inline), and a value that cannot be copied raises instead of being looked for."""
    kind = type(value)
    if _FROZEN_TYPES.get(kind) or _frozen_type(kind):
        return value
    if depth > 4:
        raise _Uncopyable
    frozen, deeper = _FROZEN_TYPES, depth + 1
    if kind is tuple:
        items = value  # type: tuple[object, ...]
        return tuple([item if frozen.get(type(item)) else _snapshot(item, deeper) for item in items])
    if kind is dict:
        return {key: item if frozen.get(type(item)) else _snapshot(item, deeper)
                for key, item in value.items()}  # type: ignore[attr-defined]
    if isinstance(value, zigpy_types.Struct):
        clone = object.__new__(kind)
        # past Struct.__setattr__: a frozen original makes a frozen copy
        vars(clone).update({name: item if frozen.get(type(item)) else _snapshot(item, deeper)
                            for name, item in vars(value).items()})
        return clone
    if kind is list or isinstance(value, list) and kind.__module__.startswith(("zigpy.", "bellows.")):
        if not all(_frozen_type(type(item)) for item in value):  # type: ignore[attr-defined]
            raise _Uncopyable
        clone = list.__new__(kind)
        list.extend(clone, value)  # type: ignore[arg-type]
        if hasattr(value, "__dict__"):
            vars(clone).update(vars(value))
        return clone
    raise _Uncopyable


def _fix_arguments(record: logging.LogRecord) -> None:
    """A deferred record must read later as it would have now. Arguments that cannot change are kept as they are
    (formatting them is most of a frame log's cost, and most records are never formatted); dicts, tuples and
    zigpy values made of such are copied (`_snapshot`); anything else fixes the message now."""
    args = record.args
    if not args:
        return
    try:
        record.args = _snapshot(args)  # type: ignore[assignment]
    except _Uncopyable:
        record.msg, record.args = record.getMessage(), None


# CPython 3.13 stamps a LogRecord with time.time_ns() (and keeps logging._startTime in ns); 3.11 and 3.12 with
# time.time(). capture() reads the same clock and _record() derives created/msecs/relativeCreated as LogRecord.__init__
# of the running version does, so a captured line carries the timestamp the LogRecord path would have printed.
_NS_CLOCK = isinstance(getattr(logging, "_startTime", 0.0), int)


def _record(clock: float, name: str, msg: object, args: Any) -> logging.LogRecord:
    """The LogRecord bellows' call would have made at `clock` (what FORMAT shows: time, logger, message)."""
    record = logging.LogRecord(name, logging.DEBUG, "", 0, msg, None, None)
    record.args = args  # after __init__, which would unwrap a mapping a second time
    start = logging._startTime  # type: ignore[attr-defined]
    if _NS_CLOCK:
        ns = int(clock)
        record.created = ns / 1e9
        record.msecs = (ns % 1_000_000_000) // 1_000_000 + 0.0
        record.relativeCreated = (ns - start) / 1e6
    else:
        record.created = clock
        record.msecs = int((clock - int(clock)) * 1000) + 0.0
        record.relativeCreated = (clock - start) * 1000
    return record


def _direct_debug(logger: logging.Logger) -> Callable[..., None]:
    """`logger.debug` for capture_directly: to the deferred frame log of the calling bench, else the usual path."""
    name, enabled = logger.name, logger.isEnabledFor
    usual = logging.Logger.debug.__get__(logger)  # the class's, even if this logger's is already ours

    def debug(msg: object, *args: object, **kwargs: Any) -> None:
        if kwargs:  # exc_info, stack_info, extra: only a LogRecord carries them
            usual(msg, *args, **kwargs)
            return
        if not enabled(logging.DEBUG):
            return
        log = _current.get()
        if log is None or not log.deferred or not log.capture(name, msg, args):
            usual(msg, *args)  # no bench in this context, a log written as it goes, or arguments to fix now

    return debug


def capture_directly() -> None:
    """For a process whose bellows records go only to frame logs (the fleet's workers): bellows' DEBUG calls on
    the frame-log loggers that exist now put message and arguments straight into the calling bench's deferred log.
    What that skips is the LogRecord (~30 attributes, kept until the premises ends) and the walk over the logger
    hierarchy's handlers: 12-14 -> 6-8 us for a record with bellows' usual dict and Struct arguments (7.7 -> 6.1 us
    with a short tuple), ~310 records a premises. Any other handler on bellows' loggers
    (a console at DEBUG, pytest's caplog) would miss those records, hence a process-wide switch;
    `capture_through_logging()` turns it off."""
    for logger in _frame_loggers():
        logger.debug = _direct_debug(logger)  # type: ignore[method-assign]


def capture_through_logging() -> None:
    """Undo capture_directly(): bellows' DEBUG calls build LogRecords again."""
    for logger in _frame_loggers():
        logger.__dict__.pop("debug", None)


def _frame_loggers() -> list[logging.Logger]:
    """The loggers under BENCH_LOGGERS that exist (a placeholder, a name no module has asked for, stays one)."""
    return [logger for name, logger in list(logging.Logger.manager.loggerDict.items())
            if isinstance(logger, logging.Logger)
            and any(name == root or name.startswith(root + ".") for root in BENCH_LOGGERS)]


def lean_log_records() -> None:
    """For a process whose log records go only to frame logs (the fleet's workers): records stop collecting the
    caller's file and line (a stack walk per record) and thread and process names, which FORMAT never shows.
    logging's own switches (logging/__init__.py: _srcfile, logThreads, logProcesses, logMultiprocessing)."""
    logging._srcfile = None  # type: ignore[attr-defined]  # documented there as the way to skip findCaller
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


class _Dispatcher(logging.Handler):
    """The one handler on bellows' loggers while any frame log is open."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._open: list[FrameLog] = []
        self._levels: dict[str, int] = {}

    def register(self, log: FrameLog) -> None:
        if not self._open:
            for name in BENCH_LOGGERS:
                logger = logging.getLogger(name)
                self._levels[name] = logger.level
                logger.setLevel(logging.DEBUG)
                logger.addHandler(self)
        self._open.append(log)
        self._set_ash_level()

    def unregister(self, log: FrameLog) -> None:
        if log in self._open:
            self._open.remove(log)
        if not self._open:
            for name in BENCH_LOGGERS:
                logger = logging.getLogger(name)
                logger.removeHandler(self)
                logger.setLevel(self._levels.get(name, logging.NOTSET))
            self._levels.clear()
        else:
            self._set_ash_level()

    def _set_ash_level(self) -> None:
        # bellows.ash writes four DEBUG records per EZSP command (three quarters of all); while no open log wants
        # them, the logger does not even create them.
        # setLevel clears every logger's level cache in the process: only when the level changes, not per bench.
        level = logging.DEBUG if any(log.ash_frames for log in self._open) else logging.INFO
        ash = logging.getLogger(ASH_LOGGER)
        if ash.level != level:
            ash.setLevel(level)

    def handle(self, record: logging.LogRecord) -> bool:  # no lock needed: one event loop thread emits
        log = _current.get()
        if log is None and len(self._open) == 1:
            log = self._open[0]
        if log is not None:
            log.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover - handle() does the work
        self.handle(record)


_DISPATCHER = _Dispatcher()


def open_frame_logs() -> int:
    """How many frame logs are open in this process (for tests and the fleet's checks)."""
    return len(_DISPATCHER._open)
