"""What the CH does with Join / Unjoin (8.7.x / 8.8.x) and GCS59 Restore GPF Device Log (8.12.2).

Rules, with their sources (domain.md; the code is ours):
* The GPF Device Log {deviceId, deviceType} is filled by Join Service commands addressed to the GPF and emptied by
  Unjoin; never by 8.11 (§1.2, §4.3 [V]). The GSME reaches it this way: 8.11 puts the GSME in the CHF log, then an
  8.7.x to the GPF with OtherDeviceID = the GSME (§2.1 step 6; which join method is [U]).
* Join response codes: 0 Success, 3 Incompatible with Existing Entry, 4 Device Log Full, ...; Unjoin: 0 Success,
  1 Not in Device Log, 2 Other Failure (§1.7 [V], [GBCS-ED] p.195 / [GP]).
* Every change of the GPF log raises GCS62 (message code 0x00B2) with alert 0x8071 "GPF Device Log Changed" and the
  whole log, which the DCC keeps as the backup that 8.12.2 restores (§4.3 [V]; "the DCC keeps it": inference, as
  for the CHF log and 8.12.1).
* GCS59 (8.12.2) replaces the target GPF's log with the given {deviceId, deviceType} entries, with a per-entry join
  response code (§1.5 [V]); more entries than the log holds answer 4 Device Log Full for the whole restore [U].
* A join or unjoin addressed to a meter or other HAN device goes to that device: its own device log is not
  modelled, so it answers like any device SRV (a plugged-in responder, else success once joined; hub.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from harness.errors import InputError
from harness.smets.device_log import DeviceLogFull, NotInDeviceLog
from harness.smets.duis.responses import DeviceResult
from harness.smets.identities import DeviceType, Eui64

if TYPE_CHECKING:
    from harness.smets.hub import CommsHub, HubCommand, LogChangeKind

__all__ = ["ALERT_GPF_DEVICE_LOG_CHANGED", "GCS62_MESSAGE_CODE", "JOIN_CODES", "UNJOIN_CODES", "GpfAlert",
           "join", "unjoin", "restore_gpf_log"]

ALERT_GPF_DEVICE_LOG_CHANGED = 0x8071  # §4.3 [V]
GCS62_MESSAGE_CODE = 0x00B2  # §4.3 [V]
JOIN_CODES = {0: "Success", 3: "Incompatible with Existing Entry", 4: "Device Log Full"}  # §1.7 (subset used)
UNJOIN_CODES = {0: "Success", 1: "Not in Device Log", 2: "Other Failure"}  # §1.7


@dataclass(frozen=True)
class GpfAlert:
    """GCS62 from the GPF: alert 0x8071 with the GPF log snapshot. `chf` is the CH it came through (WAN routing);
    `entries` has the ChfAlert shape (no hashes: the GPF log holds none), `gpf_entries` the {EUI, type} pairs."""

    code: int
    at: datetime
    chf: Eui64
    gpf: Eui64
    cause: LogChangeKind
    device: Eui64 | None
    gpf_entries: tuple[tuple[Eui64, DeviceType], ...]

    @property
    def name(self) -> str:
        return "GPF Device Log Changed"

    @property
    def entries(self) -> tuple[tuple[Eui64, bytes], ...]:
        return tuple((eui, b"") for eui, _ in self.gpf_entries)


def _result(ok: bool, code: int, names: dict[int, str], what: str) -> DeviceResult:
    return DeviceResult(ok, f"{what}: response code {code} {names.get(code, '')}".rstrip(), gbcs_response_code=code)


def join(hub: CommsHub, c: HubCommand) -> DeviceResult:
    """CS03x (8.7.x): `c.target` joins `c.device` (of `c.device_type`)."""
    if c.device is None or c.device_type is None:
        raise InputError(f"join for {c.request_id} lacks the other device or its type")
    if c.target != hub.gpf:
        return hub._for_device(c)
    try:
        added = hub.gpf_log.add(c.device, c.device_type)
    except DeviceLogFull as exc:
        return _result(False, 4, JOIN_CODES, f"GPF join of {c.device.dcc} failed ({exc})")
    if added:
        _alert(hub, _kind("ADDED"), c.device)
    return _result(True, 0, JOIN_CODES, f"{c.device.dcc} {'added to' if added else 'already in'} the GPF device log")


def unjoin(hub: CommsHub, c: HubCommand) -> DeviceResult:
    """CS04x (8.8.x): `c.target` unjoins `c.device`."""
    if c.device is None:
        raise InputError(f"unjoin for {c.request_id} lacks the other device")
    if c.target != hub.gpf:
        return hub._for_device(c)
    try:
        hub.gpf_log.remove(c.device)
    except NotInDeviceLog:
        return _result(False, 1, UNJOIN_CODES, f"{c.device.dcc} is not in the GPF device log")
    _alert(hub, _kind("REMOVED"), c.device)
    return _result(True, 0, UNJOIN_CODES, f"{c.device.dcc} removed from the GPF device log")


def restore_gpf_log(hub: CommsHub, c: HubCommand) -> DeviceResult:
    """GCS59 (8.12.2): replace the GPF log with the restore entries."""
    entries = [(eui, kind) for eui, kind, _ in c.restore_entries]
    try:
        hub.gpf_log.restore(entries)
    except DeviceLogFull as exc:
        return _result(False, 4, JOIN_CODES, f"GCS59 restore failed ({exc})")
    _alert(hub, _kind("RESTORED"), None)
    return _result(True, 0, JOIN_CODES, f"restored {len(entries)} GPF device log entries")


def _kind(name: str) -> LogChangeKind:
    from harness.smets.hub import LogChangeKind  # hub.py imports this module lazily; keep the cycle one-way

    return LogChangeKind[name]


def _alert(hub: CommsHub, cause: LogChangeKind, device: Eui64 | None) -> None:
    assert hub.gpf is not None
    alert = GpfAlert(ALERT_GPF_DEVICE_LOG_CHANGED, hub._clock.now(), hub.chf, hub.gpf, cause, device,
                     tuple((e.eui64, e.device_type) for e in hub.gpf_log.entries()))
    hub.alerts.append(alert)  # type: ignore[arg-type]
    for observer in list(hub.alert_observers):
        observer(alert)  # type: ignore[arg-type]


USE_CASES = {"CS03": join, "CS04": unjoin, "GCS59": restore_gpf_log}  # what hub.CommsHub.handle routes here
