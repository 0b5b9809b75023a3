"""CHF Device Log ("whitelist"), CHF Historic Device Log and GPF Device Log: the rules a Comms Hub applies.

Sources (facts only; the code is ours). All from domain.md; section and source key per rule below:
* Entry = {EUI-64, hashed TC link key: 16 octets, or zero-length until a TC link key exists}: §4.2 [V]
  ([DT] CS14/CCS07/CCS03 text).
* CCS01 Add: a duplicate add succeeds and discards the new key; a device in the Historic log may, for the first
  half of the join window, use its historic TC link key, and for the second half its install code; otherwise the
  install code for the whole window: §1.4 [V] ([DT] gbcs-mapping-table.json CCS01 text).
* CCS02 Remove: copies key + EUI to the Historic log if a TC link key was established, HHT excluded; an EUI
  already there is updated; 15 entries, oldest overwritten; a GPF never gets there: §1.4 [V] ([DT] CCS02 text).
* Removing a device that is not in the log fails (RTDS ERROR vector returns 1): §10 scenario 25 ([GP]).
* CHF log capacity [U] (§4.2: build-time parameter in [SL]); full-log behaviour [U]; JoinTimePeriod unit [U]
  (§1.2, §4.5, RTDS sample 90): all constructor options, defaults listed in docs/domain-model.md.
* GPF Device Log entries {deviceId, deviceType}, capacity [U]: §4.3 [V] ([GP] ASN.1).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from harness.errors import DomainError, InputError
from harness.smets.clock import Clock
from harness.smets.identities import DeviceType, Eui64

__all__ = [
    "DeviceLogEntry",
    "HistoricEntry",
    "AddOutcome",
    "ChfDeviceLog",
    "HistoricDeviceLog",
    "GpfDeviceLog",
    "GpfLogEntry",
    "DeviceLogFull",
    "NotInDeviceLog",
    "DEFAULT_CHF_LOG_CAPACITY",
    "HISTORIC_LOG_CAPACITY",
    "DEFAULT_JOIN_TIME_UNIT",
    "DEFAULT_GPF_LOG_CAPACITY",
    "install_code_link_key",
]

DEFAULT_CHF_LOG_CAPACITY = 16  # [U] domain.md §4.2: not found; [SL] makes it a build-time parameter
HISTORIC_LOG_CAPACITY = 15  # [V] domain.md §1.4 / §4.2 ([DT] CCS02 text)
DEFAULT_JOIN_TIME_UNIT = timedelta(minutes=1)  # [U] domain.md §4.5 / §9.4: "assume minutes"
DEFAULT_GPF_LOG_CAPACITY = 16  # [U] domain.md §4.3
KEY_LENGTH = 16

LinkKeyDeriver = Callable[[bytes], bytes]
_E = TypeVar("_E")


def _redact(secret: bytes | None) -> str:
    return "None" if secret is None else f"<redacted {len(secret)} bytes>"


def install_code_link_key(crc_mode: str = "append") -> LinkKeyDeriver:
    """A deriver: install code bytes -> link key, by harness.zigbee.installcode (AES-MMO; CRC per `crc_mode`).

    Whether a GB hub hashes the bare 16 octets or appends the CRC first is [U] (domain.md §4.4).
    """

    def derive(code: bytes) -> bytes:
        from harness.zigbee.installcode import derive_link_key  # lazy: keeps smets importable on its own

        return derive_link_key(bytes(code), crc_mode, where="install code")  # type: ignore[arg-type]

    return derive


class DeviceLogFull(DomainError):
    """A device log that has no room for another entry ([SL] "Too many entries"; GBCS "Device Log Full" 4)."""

    def __init__(self, message: str, *, capacity: int) -> None:
        self.capacity = capacity
        super().__init__(message)


class NotInDeviceLog(DomainError, KeyError):
    """A device asked about (or removed) that is not in the log."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(repr=False)
class DeviceLogEntry:
    """One CHF Device Log entry. `install_code`, `tc_link_key` and `historic_key` are secrets (redacted in repr)."""

    eui64: Eui64
    device_type: DeviceType
    hashed_tc_link_key: bytes  # b"" until the device has joined and a TC link key exists (§1.2 [V])
    added_at: datetime
    install_code: bytes | None
    join_window_opens: datetime
    join_window_closes: datetime
    is_hht: bool = False
    historic_key: bytes | None = None  # the key from the Historic log, valid for the first half of the window
    tc_link_key: bytes | None = None  # the TC link key in use once joined (what CCS02 copies to Historic)
    joined_at: datetime | None = None
    joined_with: str | None = None  # "install_code" | "historic_key" | "link_key"

    @property
    def joined(self) -> bool:
        return bool(self.hashed_tc_link_key)

    @property
    def historic_half_ends(self) -> datetime:
        """End of the first half of the join window (§1.4): the historic key is valid before it."""
        return self.join_window_opens + (self.join_window_closes - self.join_window_opens) / 2

    def __repr__(self) -> str:
        return (
            f"DeviceLogEntry(eui64={self.eui64.dcc}, device_type={self.device_type.name}, "
            f"hashed_tc_link_key={self.hashed_tc_link_key.hex().upper() or 'empty'}, "
            f"added_at={self.added_at.isoformat()}, install_code={_redact(self.install_code)}, "
            f"join_window={self.join_window_opens.isoformat()}..{self.join_window_closes.isoformat()}, "
            f"is_hht={self.is_hht}, historic_key={_redact(self.historic_key)}, "
            f"tc_link_key={_redact(self.tc_link_key)})"
        )


@dataclass(repr=False)
class HistoricEntry:
    """CHF Historic Device Log record: EUI + TC link key (secret) + the hash CS14 reported for it."""

    eui64: Eui64
    link_key: bytes
    hashed_tc_link_key: bytes
    stored_at: datetime

    def __repr__(self) -> str:
        return (
            f"HistoricEntry(eui64={self.eui64.dcc}, link_key={_redact(self.link_key)}, "
            f"hashed_tc_link_key={self.hashed_tc_link_key.hex().upper()}, stored_at={self.stored_at.isoformat()})"
        )


@dataclass(frozen=True)
class AddOutcome:
    """What a CCS01 Add did. `duplicate`: the EUI was already logged, the new key was discarded (§1.4 [V])."""

    entry: DeviceLogEntry
    duplicate: bool
    historic: bool  # the device is in the Historic log: first half of the window uses the historic key

    @property
    def added(self) -> bool:
        return not self.duplicate


class _LogByEui(Generic[_E]):
    """The queries every device log here answers from `_entries` (EUI-64 -> entry, kept in log order)."""

    _entries: dict[Eui64, _E]

    def get(self, eui: Eui64 | str) -> _E | None:
        return self._entries.get(Eui64.parse(eui, where="device ID"))

    def entries(self) -> list[_E]:
        """In log order: oldest first (the order added, unless the log moves an updated entry to newest)."""
        return list(self._entries.values())

    def __contains__(self, eui: object) -> bool:
        try:
            return Eui64.parse(eui) in self._entries  # type: ignore[arg-type]
        except InputError:
            return False

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[_E]:
        return iter(self.entries())


class HistoricDeviceLog(_LogByEui[HistoricEntry]):
    """Bounded FIFO of {EUI, TC link key}; when full the oldest entry is overwritten (§1.4 [V], [DT] CCS02)."""

    def __init__(self, capacity: int = HISTORIC_LOG_CAPACITY, *, update_moves_to_newest: bool = False) -> None:
        if capacity < 0:
            raise InputError(f"historic log capacity {capacity} is negative", where="historic_capacity")
        self.capacity = capacity
        self.update_moves_to_newest = update_moves_to_newest
        self._entries: OrderedDict[Eui64, HistoricEntry] = OrderedDict()

    def store(self, entry: HistoricEntry) -> HistoricEntry | None:
        """Store or update; returns the evicted (oldest) entry, if any.

        An EUI already present is updated: the CCS02 text says "that record is updated", which by default we read
        as keeping its slot in the overwrite order; `update_moves_to_newest=True` makes it the newest instead
        (an interpretation either way, see docs/domain-model.md).
        """
        if entry.eui64 in self._entries:
            self._entries[entry.eui64] = entry
            if self.update_moves_to_newest:
                self._entries.move_to_end(entry.eui64)
            return None
        if self.capacity == 0:
            return entry
        evicted = None
        if len(self._entries) >= self.capacity:
            _, evicted = self._entries.popitem(last=False)
        self._entries[entry.eui64] = entry
        return evicted



class ChfDeviceLog(_LogByEui[DeviceLogEntry]):
    """The Comms Hub Function's Device Log and Historic Device Log, on an injected clock.

    Options ([U] unless said): `capacity` (16), `historic_capacity` (15, [V] but adjustable for experiments),
    `join_time_unit` (1 minute: the unit of DUIS JoinTimePeriod), `derive_link_key` (install code -> link key;
    default AES-MMO of code + CRC via harness.zigbee.installcode), `duplicate_add_restarts_join_window` (False:
    the CCS01 text says only that the key is discarded, so the entry is left exactly as it was),
    `historic_update_moves_to_newest` (False: a re-removed device keeps its Historic slot).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        capacity: int = DEFAULT_CHF_LOG_CAPACITY,
        historic_capacity: int = HISTORIC_LOG_CAPACITY,
        join_time_unit: timedelta = DEFAULT_JOIN_TIME_UNIT,
        derive_link_key: LinkKeyDeriver | None = None,
        duplicate_add_restarts_join_window: bool = False,
        historic_update_moves_to_newest: bool = False,
    ) -> None:
        if capacity < 1:
            raise InputError(f"CHF device log capacity {capacity} must be at least 1", where="capacity")
        if join_time_unit <= timedelta(0):
            raise InputError(f"join time unit {join_time_unit} must be positive", where="join_time_unit")
        self._clock = clock
        self.capacity = capacity
        self.join_time_unit = join_time_unit
        self._derive = derive_link_key or install_code_link_key("append")
        self.duplicate_add_restarts_join_window = duplicate_add_restarts_join_window
        self._entries: dict[Eui64, DeviceLogEntry] = {}
        self.historic = HistoricDeviceLog(
            historic_capacity, update_moves_to_newest=historic_update_moves_to_newest
        )
        self.evicted: list[HistoricEntry] = []  # historic entries overwritten, oldest first (for evidence)

    # -- CCS01 ------------------------------------------------------------------------------------------------
    def add(
        self,
        eui: Eui64 | str,
        device_type: DeviceType,
        install_code: bytes,
        join_time_period: int,
        *,
        is_hht: bool = False,
    ) -> AddOutcome:
        """CCS01 Add Device to CHF device log (§1.4 [V])."""
        eui = Eui64.parse(eui, where="device ID")
        device_type = DeviceType(device_type)
        if not isinstance(install_code, (bytes, bytearray)) or not install_code:
            raise InputError(
                f"{eui.dcc}: install code must be non-empty bytes, got {type(install_code).__name__}",
                where="install code",
            )
        if not isinstance(join_time_period, int) or isinstance(join_time_period, bool) or join_time_period < 0:
            raise InputError(
                f"{eui.dcc}: join time period {join_time_period!r} is not a non-negative integer",
                where="JoinTimePeriod",
            )
        try:  # checks the code's form (length, CRC) even if a duplicate add then discards it
            self._derive(bytes(install_code))
        except InputError as exc:
            raise InputError(f"{eui.dcc}: {exc}") from None

        now = self._clock.now()
        existing = self._entries.get(eui)
        if existing is not None:
            # Duplicate add: success, the key parameter is discarded, the link key untouched (§1.4 [V]).
            if self.duplicate_add_restarts_join_window and not existing.joined:
                existing.join_window_opens = now
                existing.join_window_closes = now + join_time_period * self.join_time_unit
            return AddOutcome(existing, duplicate=True, historic=existing.historic_key is not None)

        if len(self._entries) >= self.capacity:
            # Full-log behaviour of the CHF is [U] (§4.2); we refuse like [SL]'s "Too many entries".
            raise DeviceLogFull(
                f"{eui.dcc}: CHF device log is full ({len(self._entries)} of capacity {self.capacity})",
                capacity=self.capacity,
            )
        historic = self.historic.get(eui)
        entry = DeviceLogEntry(
            eui64=eui,
            device_type=device_type,
            hashed_tc_link_key=b"",  # CS14 right after CCS01 carries an empty hash (§1.2 [V])
            added_at=now,
            install_code=bytes(install_code),
            join_window_opens=now,
            join_window_closes=now + join_time_period * self.join_time_unit,
            is_hht=is_hht,
            historic_key=historic.link_key if historic is not None else None,
        )
        self._entries[eui] = entry
        return AddOutcome(entry, duplicate=False, historic=historic is not None)

    # -- CCS02 ------------------------------------------------------------------------------------------------
    def remove(self, eui: Eui64 | str) -> DeviceLogEntry:
        """CCS02 Remove device from CHF device log (§1.4 [V]); a joined non-HHT device goes to Historic."""
        eui = Eui64.parse(eui, where="device ID")
        entry = self._entries.pop(eui, None)
        if entry is None:
            raise NotInDeviceLog(f"{eui.dcc}: not in the CHF device log, so it cannot be removed")
        # Only a device with an established TC link key goes to Historic; HHT excluded; a GPF never has one.
        if entry.joined and not entry.is_hht and entry.device_type is not DeviceType.GPF:
            key = entry.tc_link_key if entry.tc_link_key is not None else entry.hashed_tc_link_key
            evicted = self.historic.store(
                HistoricEntry(entry.eui64, key, entry.hashed_tc_link_key, self._clock.now())
            )
            if evicted is not None:
                self.evicted.append(evicted)
        return entry

    # -- joining ----------------------------------------------------------------------------------------------
    def join_window_open(self, eui: Eui64 | str, at: datetime | None = None) -> bool:
        """True while the entry's join window [opens, closes) contains `at` (default: now)."""
        entry = self.get(eui)
        if entry is None:
            return False
        t = self._clock.now() if at is None else at
        return entry.join_window_opens <= t < entry.join_window_closes

    def accepted_link_keys(self, eui: Eui64 | str, at: datetime | None = None) -> list[bytes]:
        """The link keys a joiner may use at `at` (default now).

        * not in the log: none (the whitelist, §1.4 [V]);
        * already joined: its TC link key (a duplicate add never changes it, §1.4 [V]);
        * in the window, device in Historic: the historic key in the first half, the install code's key in the
          second (§1.4 [V]);
        * in the window, otherwise: the install code's key for the whole window;
        * after the window: none.
        """
        entry = self.get(eui)
        if entry is None:
            return []
        if entry.joined:
            return [entry.tc_link_key] if entry.tc_link_key is not None else []
        t = self._clock.now() if at is None else at
        if not entry.join_window_opens <= t < entry.join_window_closes:
            return []
        if entry.historic_key is not None and t < entry.historic_half_ends:
            return [entry.historic_key]
        if entry.install_code is None:
            return []
        return [self._derive(entry.install_code)]

    def try_join(self, eui: Eui64 | str, link_key: bytes, at: datetime | None = None) -> bool:
        """Would a joiner presenting `link_key` be accepted now? (No state change.)"""
        return bytes(link_key) in self.accepted_link_keys(eui, at)

    def mark_joined(
        self, eui: Eui64 | str, hashed_tc_link_key: bytes, *, link_key: bytes | None = None
    ) -> DeviceLogEntry:
        """Record that the device joined and a TC link key exists (the CS14 then carries the hash).

        `link_key`: the TC link key now in use (what CCS02 will copy to Historic). If not given, it is the key
        the device was allowed to join with right now (historic key in the first half, else the install code's).
        """
        eui = Eui64.parse(eui, where="device ID")
        entry = self._entries.get(eui)
        if entry is None:
            raise NotInDeviceLog(f"{eui.dcc}: not in the CHF device log, so it cannot join")
        hashed = bytes(hashed_tc_link_key)
        if len(hashed) != KEY_LENGTH:
            raise InputError(
                f"{eui.dcc}: hashed TC link key is {len(hashed)} bytes, expected {KEY_LENGTH}",
                where="hashed_tc_link_key",
            )
        now = self._clock.now()
        if not entry.joined and not entry.join_window_opens <= now < entry.join_window_closes:
            raise DomainError(
                f"{eui.dcc}: join window closed at {entry.join_window_closes.isoformat()}; "
                "the CHF refuses the join"
            )
        if link_key is None and not entry.joined:
            accepted = self.accepted_link_keys(eui, now)
            link_key = accepted[0] if accepted else None
            using_historic = entry.historic_key is not None and now < entry.historic_half_ends
            entry.joined_with = "historic_key" if using_historic and link_key is not None else "install_code"
        elif link_key is not None:
            entry.joined_with = (
                "historic_key" if entry.historic_key is not None and link_key == entry.historic_key else "link_key"
            )
        if link_key is not None:
            entry.tc_link_key = bytes(link_key)
        entry.hashed_tc_link_key = hashed
        entry.joined_at = now
        return entry

    # -- queries (get, entries, in, len, iter: _LogByEui) -------------------------------------------------------
    def entry(self, eui: Eui64 | str) -> DeviceLogEntry:
        """Like get(), but a device not in the log raises NotInDeviceLog."""
        found = self.get(eui)
        if found is None:
            raise NotInDeviceLog(f"{Eui64.parse(eui).dcc}: not in the CHF device log")
        return found

    def restore(self, entries: list[tuple[Eui64 | str, DeviceType, bytes]]) -> None:
        """Replace the log with joined entries (CCS03 restore_PAN, §1.5 [V]): {EUI, type, 16-octet key}.

        restore_PAN carries {mac, hashed_link_key} per device; a replacement CH inherits the joined devices without
        install codes (§1.5 inference), so the restored 16 octets are both the reported hash and the link key the
        device may use. The Historic log is left as it was.
        """
        now = self._clock.now()
        if len(entries) > self.capacity:
            raise DeviceLogFull(
                f"restore of {len(entries)} entries exceeds CHF device log capacity {self.capacity}",
                capacity=self.capacity,
            )
        self._entries.clear()
        for eui, device_type, key in entries:
            e = Eui64.parse(eui, where="device ID")
            self._entries[e] = DeviceLogEntry(
                eui64=e,
                device_type=DeviceType(device_type),
                hashed_tc_link_key=bytes(key),
                added_at=now,
                install_code=None,
                join_window_opens=now,
                join_window_closes=now,
                tc_link_key=bytes(key),
                joined_at=now,
                joined_with="link_key",
            )


@dataclass(frozen=True)
class GpfLogEntry:
    """GPF Device Log entry {deviceId, deviceType} (§4.3 [V], [GP] ASN.1)."""

    eui64: Eui64
    device_type: DeviceType


@dataclass
class GpfDeviceLog(_LogByEui[GpfLogEntry]):
    """The GPF's Device Log: populated by Join Service commands (8.7.x), never by 8.11 (§1.2 [V]).

    Entries never go to a Historic log: a GPF never establishes a TC link key with the CHF (§1.4 [V]).
    `capacity` is [U] (§4.3).
    """

    capacity: int = DEFAULT_GPF_LOG_CAPACITY
    _entries: dict[Eui64, GpfLogEntry] = field(default_factory=dict, repr=False)

    def add(self, eui: Eui64 | str, device_type: DeviceType) -> bool:
        """Add; True if new, False if already present (the entry is kept). Full: DeviceLogFull."""
        eui = Eui64.parse(eui, where="device ID")
        if eui in self._entries:
            return False
        if len(self._entries) >= self.capacity:
            raise DeviceLogFull(
                f"{eui.dcc}: GPF device log is full ({len(self._entries)} of capacity {self.capacity})",
                capacity=self.capacity,
            )
        self._entries[eui] = GpfLogEntry(eui, DeviceType(device_type))
        return True

    def remove(self, eui: Eui64 | str) -> GpfLogEntry:
        eui = Eui64.parse(eui, where="device ID")
        entry = self._entries.pop(eui, None)
        if entry is None:
            raise NotInDeviceLog(f"{eui.dcc}: not in the GPF device log, so it cannot be removed")
        return entry

    def restore(self, entries: list[tuple[Eui64 | str, DeviceType]]) -> None:
        """GCS59 Restore GPF Device Log (8.12.2): replace the contents."""
        if len(entries) > self.capacity:
            raise DeviceLogFull(
                f"restore of {len(entries)} entries exceeds GPF device log capacity {self.capacity}",
                capacity=self.capacity,
            )
        self._entries = {}
        for eui, device_type in entries:
            e = Eui64.parse(eui, where="device ID")
            self._entries[e] = GpfLogEntry(e, DeviceType(device_type))
