"""The CHF model: CCS01/CCS02/CCS03/CCS07 processing and the 0x8F12 alert (domain.md §1.2-§1.6, §4.2)."""

from __future__ import annotations

import pytest

from harness.errors import DomainError
from harness.smets.clock import VirtualClock
from harness.smets.device_log import ChfDeviceLog, NotInDeviceLog
from harness.smets.duis import DeviceLogRead, DeviceResult, RequestId
from harness.smets.hub import (
    ALERT_CHF_DEVICE_LOG_CHANGED,
    ChfAlert,
    CommsHub,
    DeviceLogChange,
    HubCommand,
    LogChangeKind,
)
from harness.smets.identities import DeviceType, Eui64

from tests.smets.premises import CHF, ESME, GPF, GSME
from tests.smets.premises import RTDS_CODE as CODE
from tests.smets.premises import SUPPLIER_A as SUPPLIER

OTHER_CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505")
HASH = bytes(range(16))


def _rid(counter: int = 1) -> RequestId:
    return RequestId(SUPPLIER, CHF, counter)


def _add(device: Eui64 = ESME, code: bytes = CODE, join: int = 90, kind: DeviceType = DeviceType.ESME) -> HubCommand:
    return HubCommand(_rid(), "8.11", "CCS01", CHF, device, kind, code, join)


def _remove(device: Eui64 = ESME) -> HubCommand:
    return HubCommand(_rid(), "8.11", "CCS02", CHF, device)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def hub(clock: VirtualClock) -> CommsHub:
    return CommsHub(clock, CHF, GPF)


def test_ccs01_adds_the_device_and_raises_8f12_with_an_empty_hash(hub: CommsHub, clock: VirtualClock) -> None:
    seen: list[ChfAlert] = []
    hub.alert_observers.append(seen.append)
    result = hub.handle(_add())
    assert result == DeviceResult(True, "added to the CHF device log")
    assert ESME in hub.device_log
    [alert] = seen
    assert alert.code == ALERT_CHF_DEVICE_LOG_CHANGED == 0x8F12
    assert alert.name == "CHF Device Log Changed"
    assert alert.at == clock.now()
    assert alert.hash_of(ESME) == b""  # zero-length until joined (§1.2 item 3)
    assert hub.alerts == seen


def test_device_joined_fills_the_hash_and_raises_8f12_again(hub: CommsHub, clock: VirtualClock) -> None:
    hub.handle(_add())
    clock.advance(minutes=10)
    hub.device_joined(ESME, HASH)
    assert hub.device_log.entry(ESME).hashed_tc_link_key == HASH
    assert [a.cause for a in hub.alerts] == [LogChangeKind.ADDED, LogChangeKind.JOINED]
    assert hub.alerts[-1].hash_of(ESME) == HASH
    assert hub.alerts[-1].at == clock.now()


def test_duplicate_add_succeeds_keeps_the_key_and_raises_no_alert(hub: CommsHub) -> None:
    hub.handle(_add())
    hub.device_joined(ESME, HASH)
    key_before = hub.device_log.entry(ESME).tc_link_key
    result = hub.handle(_add(code=OTHER_CODE))  # scenario 6: a different (wrong) code
    assert isinstance(result, DeviceResult) and result.success
    assert hub.device_log.entry(ESME).tc_link_key == key_before
    assert hub.device_log.entry(ESME).hashed_tc_link_key == HASH
    assert len(hub.alerts) == 2


def test_ccs02_for_a_device_not_in_the_log_fails_with_action_result_1(hub: CommsHub) -> None:
    result = hub.handle(_remove(GSME))
    assert isinstance(result, DeviceResult) and not result.success
    assert "action result 1" in result.detail
    assert hub.alerts == []


def test_ccs02_removes_and_moves_a_joined_device_to_historic(hub: CommsHub) -> None:
    hub.handle(_add())
    hub.device_joined(ESME, HASH)
    result = hub.handle(_remove())
    assert isinstance(result, DeviceResult) and result.success
    assert ESME not in hub.device_log
    assert ESME in hub.device_log.historic
    assert hub.alerts[-1].cause is LogChangeKind.REMOVED and hub.alerts[-1].hash_of(ESME) is None


def test_log_observers_get_the_install_code_for_the_bench(hub: CommsHub, clock: VirtualClock) -> None:
    changes: list[DeviceLogChange] = []
    hub.log_observers.append(changes.append)
    hub.handle(_add(join=30))
    hub.device_joined(ESME, HASH)
    hub.handle(_remove())
    assert [c.kind for c in changes] == [LogChangeKind.ADDED, LogChangeKind.JOINED, LogChangeKind.REMOVED]
    added = changes[0]
    assert added.install_code == CODE
    assert added.device_type is DeviceType.ESME
    assert added.join_window_closes is not None and added.join_window_closes > clock.now()
    assert "3031" not in repr(added)  # the install code is a secret


def test_join_after_the_window_is_refused(hub: CommsHub, clock: VirtualClock) -> None:
    hub.handle(_add(join=90))  # 90 units of 1 minute by default ([U] unit)
    clock.advance(minutes=91)
    with pytest.raises(DomainError, match="join window closed"):
        hub.device_joined(ESME, HASH)
    assert hub.device_log.entry(ESME).hashed_tc_link_key == b""


def test_join_of_a_device_not_whitelisted_is_refused(hub: CommsHub) -> None:
    with pytest.raises(NotInDeviceLog):
        hub.device_joined(ESME, HASH)


def test_full_log_makes_ccs01_fail(clock: VirtualClock) -> None:
    hub = CommsHub(clock, CHF, device_log=ChfDeviceLog(clock, capacity=1))
    assert hub.handle(_add(ESME)).success  # type: ignore[union-attr]
    result = hub.handle(_add(GSME, kind=DeviceType.GSME))
    assert isinstance(result, DeviceResult) and not result.success and "full" in result.detail


def test_ccs07_reads_the_log_and_the_historic_log(hub: CommsHub) -> None:
    hub.handle(_add(ESME))
    hub.device_joined(ESME, HASH)
    hub.handle(_add(GSME, kind=DeviceType.GSME))
    hub.handle(_remove(ESME))
    result = hub.handle(HubCommand(_rid(), "8.9", "CCS07", CHF))
    assert isinstance(result, DeviceLogRead)
    assert result.device_log == ((GSME, b""),)
    assert result.historic_log == ((ESME, HASH),)
    ccs06 = hub.handle(HubCommand(_rid(), "8.9", "CCS06", CHF))
    assert isinstance(ccs06, DeviceLogRead) and ccs06.historic_log == ()


def test_ccs03_restores_joined_entries_without_install_codes(clock: VirtualClock) -> None:
    new_chf = Eui64.parse("00-DB-12-34-56-78-90-B2")
    hub = CommsHub(clock, new_chf)
    old_pan = Eui64.parse("00-DB-12-34-56-78-90-95")
    command = HubCommand(_rid(), "8.12.1", "CCS03", new_chf, restore_entries=((ESME, DeviceType.ESME, HASH),),
                         restore_extended_pan_id=old_pan)
    assert hub.handle(command).success  # type: ignore[union-attr]
    entry = hub.device_log.entry(ESME)
    assert entry.joined and entry.install_code is None
    assert hub.extended_pan_id == old_pan  # GBCS: the CH forms its network with the restored Extended PAN ID
    assert hub.alerts[-1].cause is LogChangeKind.RESTORED


def test_device_srvs_reach_only_joined_devices(hub: CommsHub) -> None:
    command = HubCommand(_rid(), "8.1.1", "8.1.1", ESME)
    assert not hub.handle(command).success  # type: ignore[union-attr]
    hub.handle(_add())
    assert not hub.handle(command).success  # type: ignore[union-attr]
    hub.device_joined(ESME, HASH)
    assert hub.handle(command).success  # type: ignore[union-attr]


def test_a_bench_responder_answers_for_its_device(hub: CommsHub) -> None:
    hub.device_responders[ESME] = lambda c: DeviceResult(False, "meter says no")
    assert hub.handle(HubCommand(_rid(), "6.23", "6.23", ESME)) == DeviceResult(False, "meter says no")
