"""CHF Device Log, Historic Device Log and GPF Device Log rules (domain.md §1.4, §4.2, §4.3; scenarios 6-10, 25)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import DomainError, InputError
from harness.smets.clock import VirtualClock
from harness.smets.device_log import (
    ChfDeviceLog,
    DeviceLogFull,
    GpfDeviceLog,
    install_code_link_key,
)
from harness.smets.identities import DeviceType, Eui64

from tests.smets.premises import ESME, GPF, GSME, RTDS_CODE
from tests.smets.premises import IHD as PPMID  # any fourth device EUI; the tests only need it distinct
from tests.smets.premises import RTDS_LINK_KEY as RTDS_KEY_WITH_CRC

# domain.md §4.4 verified vectors: RTDS install code "0123456789ABCDEF" (above) and its link key without the CRC.
RTDS_KEY_NO_CRC = bytes.fromhex("3528C16449E1C30F62AFD614580B7AD0")
ZBTK_CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505")
ZBTK_KEY = bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")
WRONG_CODE = bytes(range(16))
HASH_1 = bytes.fromhex("11" * 16)  # a hashed TC link key as a CS14 would report it
HASH_2 = bytes.fromhex("22" * 16)


def toy_key(code: bytes) -> bytes:
    """A stand-in derivation for rule tests that don't care about the crypto (injected via the constructor)."""
    return bytes(b ^ 0x5A for b in code)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def log(clock: VirtualClock) -> ChfDeviceLog:
    return ChfDeviceLog(clock)


def eui(n: int) -> Eui64:
    return Eui64(0x00DB123456780000 + n)


# --- adding and joining ------------------------------------------------------------------------------------------


def test_add_logs_the_device_with_an_empty_hash_and_an_install_code_key(log: ChfDeviceLog, clock: VirtualClock) -> None:
    outcome = log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    assert outcome.added and not outcome.duplicate and not outcome.historic
    entry = log.get(ESME)
    assert entry is not None and ESME in log
    assert entry.hashed_tc_link_key == b""  # CS14 after CCS01 has a zero-length hash (§1.2)
    assert entry.added_at == clock.now()
    assert entry.join_window_closes - entry.join_window_opens == timedelta(minutes=90)  # default unit [U]
    # Default derivation: AES-MMO of code + CRC (domain.md §4.4 vector).
    assert log.accepted_link_keys(ESME) == [RTDS_KEY_WITH_CRC]


def test_link_key_derivation_modes_match_the_research_vectors() -> None:
    assert install_code_link_key("append")(RTDS_CODE) == RTDS_KEY_WITH_CRC
    assert install_code_link_key("none")(RTDS_CODE) == RTDS_KEY_NO_CRC
    assert install_code_link_key("append")(ZBTK_CODE) == ZBTK_KEY


def test_crc_mode_is_a_constructor_choice(clock: VirtualClock) -> None:
    log = ChfDeviceLog(clock, derive_link_key=install_code_link_key("none"))
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    assert log.accepted_link_keys(ESME) == [RTDS_KEY_NO_CRC]


def test_join_time_unit_is_configurable(clock: VirtualClock) -> None:
    log = ChfDeviceLog(clock, join_time_unit=timedelta(seconds=1))
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    assert log.join_window_open(ESME, clock.now() + timedelta(seconds=89))
    assert not log.join_window_open(ESME, clock.now() + timedelta(seconds=90))


def test_a_device_not_in_the_log_has_no_key(log: ChfDeviceLog) -> None:
    assert log.accepted_link_keys(ESME) == []
    assert not log.join_window_open(ESME)
    assert log.get(ESME) is None


def test_marking_joined_records_the_hash_and_the_key_in_use(log: ChfDeviceLog, clock: VirtualClock) -> None:
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    clock.advance(minutes=5)
    entry = log.mark_joined(ESME, HASH_1)
    assert entry.hashed_tc_link_key == HASH_1 and entry.joined and entry.joined_at == clock.now()
    assert entry.joined_with == "install_code"
    # A joined device keeps its key after the join window closes.
    clock.advance(minutes=200)
    assert log.accepted_link_keys(ESME) == [RTDS_KEY_WITH_CRC]


def test_mark_joined_checks_its_input(log: ChfDeviceLog) -> None:
    with pytest.raises(DomainError, match="00-DB-12-34-56-78-90-A0: not in the CHF device log"):
        log.mark_joined(ESME, HASH_1)
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    with pytest.raises(InputError, match="00-DB-12-34-56-78-90-A0: hashed TC link key is 3 bytes, expected 16"):
        log.mark_joined(ESME, b"abc")


def test_bad_add_inputs_name_the_device_and_field(log: ChfDeviceLog) -> None:
    with pytest.raises(InputError, match="JoinTimePeriod.*00-DB-12-34-56-78-90-A0.*-1"):
        log.add(ESME, DeviceType.ESME, RTDS_CODE, -1)
    with pytest.raises(InputError, match="install code"):
        log.add(ESME, DeviceType.ESME, b"", 90)
    with pytest.raises(InputError, match="00-DB-12-34-56-78-90-A0: install code") as err:  # 15 octets: neither GB nor ZigBee
        log.add(ESME, DeviceType.ESME, RTDS_CODE[:15], 90)
    assert RTDS_CODE[:15].hex() not in str(err.value).lower()  # the secret is not echoed
    assert len(log) == 0


def test_entry_repr_redacts_secrets(log: ChfDeviceLog) -> None:
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    log.mark_joined(ESME, HASH_1)
    text = repr(log.get(ESME)) + repr(log.add(ESME, DeviceType.ESME, RTDS_CODE, 90))
    assert "redacted" in text
    for secret in (RTDS_CODE, RTDS_KEY_WITH_CRC):
        assert secret.hex() not in text.lower() and repr(secret) not in text
    log.remove(ESME)
    assert RTDS_KEY_WITH_CRC.hex() not in repr(log.historic.entries()).lower()


# --- §10 scenario 6: duplicate add ---------------------------------------------------------------------------


def test_scenario_6_duplicate_add_with_a_wrong_code_keeps_the_key(log: ChfDeviceLog, clock: VirtualClock) -> None:
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    log.mark_joined(ESME, HASH_1)
    clock.advance(days=30)
    outcome = log.add(ESME, DeviceType.ESME, WRONG_CODE, 90)
    assert outcome.duplicate and not outcome.added  # success, key parameter discarded (§1.4)
    entry = log.get(ESME)
    assert entry is not None
    assert entry.hashed_tc_link_key == HASH_1
    assert entry.install_code == RTDS_CODE
    assert log.accepted_link_keys(ESME) == [RTDS_KEY_WITH_CRC]  # still communicating with its key
    assert len(log) == 1


def test_duplicate_add_of_an_unjoined_device_keeps_its_window_by_default(log: ChfDeviceLog, clock: VirtualClock) -> None:
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    closes = log.entry(ESME).join_window_closes
    clock.advance(minutes=100)
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    assert log.entry(ESME).join_window_closes == closes
    assert log.accepted_link_keys(ESME) == []


def test_duplicate_add_may_restart_the_window_if_configured(clock: VirtualClock) -> None:
    log = ChfDeviceLog(clock, duplicate_add_restarts_join_window=True)
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    clock.advance(minutes=100)
    log.add(ESME, DeviceType.ESME, WRONG_CODE, 90)
    assert log.accepted_link_keys(ESME) == [RTDS_KEY_WITH_CRC]  # window reopened, key still the original


# --- §10 scenario 7: re-add after remove ---------------------------------------------------------------------


def test_scenario_7_readd_after_remove_uses_the_historic_key_in_the_first_half_only(
    log: ChfDeviceLog, clock: VirtualClock
) -> None:
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    log.mark_joined(ESME, HASH_1)
    removed = log.remove(ESME)
    assert removed.eui64 == ESME and ESME not in log
    assert log.historic.get(ESME) is not None

    outcome = log.add(ESME, DeviceType.ESME, WRONG_CODE, 90)  # deliberately wrong code
    assert outcome.historic
    start = clock.now()
    wrong_key = install_code_link_key()(WRONG_CODE)
    # First half (45 of 90 minutes): the historic key, and nothing else.
    assert log.accepted_link_keys(ESME, start) == [RTDS_KEY_WITH_CRC]
    assert log.accepted_link_keys(ESME, start + timedelta(minutes=44, seconds=59)) == [RTDS_KEY_WITH_CRC]
    # Second half: only the install code given with the add.
    assert log.accepted_link_keys(ESME, start + timedelta(minutes=45)) == [wrong_key]
    assert not log.try_join(ESME, RTDS_KEY_WITH_CRC, start + timedelta(minutes=60))
    # Window over: nothing.
    assert log.accepted_link_keys(ESME, start + timedelta(minutes=90)) == []

    clock.advance(minutes=10)
    entry = log.mark_joined(ESME, HASH_1)
    assert entry.joined_with == "historic_key"
    assert log.accepted_link_keys(ESME) == [RTDS_KEY_WITH_CRC]


def test_readd_with_the_right_code_joins_in_the_second_half(log: ChfDeviceLog, clock: VirtualClock) -> None:
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    log.mark_joined(ESME, HASH_1, link_key=HASH_2)  # after CBKE the TC link key is a new one
    log.remove(ESME)
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    assert log.accepted_link_keys(ESME) == [HASH_2]  # the historic TC link key
    clock.advance(minutes=50)
    assert log.accepted_link_keys(ESME) == [RTDS_KEY_WITH_CRC]
    assert log.mark_joined(ESME, HASH_1).joined_with == "install_code"


def test_remove_of_an_unjoined_device_does_not_go_to_historic(log: ChfDeviceLog) -> None:
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    log.remove(ESME)
    assert ESME not in log.historic and len(log.historic) == 0


def test_hht_is_never_copied_to_historic(log: ChfDeviceLog) -> None:
    hht = eui(0x99)
    log.add(hht, DeviceType.TYPE2, RTDS_CODE, 90, is_hht=True)
    log.mark_joined(hht, HASH_1)
    log.remove(hht)
    assert hht not in log.historic


def test_removing_a_device_that_is_not_logged_fails(log: ChfDeviceLog) -> None:
    # domain.md §10 scenario 25 (RTDS ERROR vector returns 1)
    with pytest.raises(DomainError, match="00-DB-12-34-56-78-90-A0: not in the CHF device log"):
        log.remove(ESME)


def test_a_historic_record_is_updated_in_place(clock: VirtualClock) -> None:
    log = ChfDeviceLog(clock, derive_link_key=toy_key)
    for n in (1, 2, 3):
        log.add(eui(n), DeviceType.ESME, RTDS_CODE, 90)
        log.mark_joined(eui(n), HASH_1, link_key=bytes([n]) * 16)
        log.remove(eui(n))
    log.add(eui(1), DeviceType.ESME, RTDS_CODE, 90)
    log.mark_joined(eui(1), HASH_2, link_key=b"\x77" * 16)
    log.remove(eui(1))
    assert [h.eui64 for h in log.historic.entries()] == [eui(1), eui(2), eui(3)]
    assert log.historic.get(eui(1)).link_key == b"\x77" * 16  # type: ignore[union-attr]
    assert len(log.historic) == 3


# --- §10 scenario 8: historic overflow -----------------------------------------------------------------------


def test_scenario_8_historic_overflow_evicts_the_oldest_which_cannot_rejoin_by_historic_key(
    log: ChfDeviceLog, clock: VirtualClock
) -> None:
    devices = [eui(n) for n in range(16)]
    for n, d in enumerate(devices):
        log.add(d, DeviceType.ESME, RTDS_CODE, 90)
        log.mark_joined(d, HASH_1, link_key=bytes([n + 1]) * 16)
    for d in devices:
        clock.advance(minutes=1)
        log.remove(d)
    assert len(log.historic) == 15
    assert [h.eui64 for h in log.historic.entries()] == devices[1:]  # oldest first; the first one is gone
    assert [h.eui64 for h in log.evicted] == [devices[0]]

    log.add(devices[0], DeviceType.ESME, WRONG_CODE, 90)
    assert log.accepted_link_keys(devices[0]) == [install_code_link_key()(WRONG_CODE)]  # no historic key, even first half
    assert not log.try_join(devices[0], bytes([1]) * 16)
    # the newest removed one still can
    log.add(devices[15], DeviceType.ESME, WRONG_CODE, 90)
    assert log.accepted_link_keys(devices[15]) == [bytes([16]) * 16]


# --- §10 scenario 9: join window expiry ----------------------------------------------------------------------


def test_scenario_9_join_window_expiry(log: ChfDeviceLog, clock: VirtualClock) -> None:
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    clock.advance(minutes=89)
    assert log.join_window_open(ESME) and log.accepted_link_keys(ESME) == [RTDS_KEY_WITH_CRC]
    clock.advance(minutes=1)
    assert not log.join_window_open(ESME)
    assert log.accepted_link_keys(ESME) == []
    assert not log.try_join(ESME, RTDS_KEY_WITH_CRC)
    assert log.entry(ESME).hashed_tc_link_key == b""  # no hash in CS14


def test_zero_join_time_period_gives_no_window(log: ChfDeviceLog) -> None:
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 0)
    assert log.accepted_link_keys(ESME) == []


# --- §10 scenario 10: full log -------------------------------------------------------------------------------


def test_scenario_10_a_full_log_refuses_naming_its_capacity(clock: VirtualClock) -> None:
    log = ChfDeviceLog(clock, capacity=3, derive_link_key=toy_key)
    for n in range(3):
        log.add(eui(n), DeviceType.ESME, RTDS_CODE, 90)
    with pytest.raises(DeviceLogFull, match="00-DB-12-34-56-78-00-03: CHF device log is full.*capacity 3") as err:
        log.add(eui(3), DeviceType.ESME, RTDS_CODE, 90)
    assert err.value.capacity == 3
    assert log.add(eui(0), DeviceType.ESME, RTDS_CODE, 90).duplicate  # a duplicate still succeeds when full
    log.remove(eui(1))
    assert log.add(eui(3), DeviceType.ESME, RTDS_CODE, 90).added


def test_default_capacity_is_16(log: ChfDeviceLog) -> None:
    assert log.capacity == 16 and log.historic.capacity == 15


# --- GPF Device Log ------------------------------------------------------------------------------------------


def test_gpf_log_holds_id_and_type_and_refuses_when_full() -> None:
    gpf_log = GpfDeviceLog(2)
    assert gpf_log.add(GSME, DeviceType.GSME)
    assert not gpf_log.add(GSME, DeviceType.GSME)  # already present
    assert gpf_log.add(PPMID, DeviceType.PPMID)
    with pytest.raises(DeviceLogFull, match="GPF device log is full.*capacity 2"):
        gpf_log.add(ESME, DeviceType.ESME)
    assert [(e.eui64, e.device_type) for e in gpf_log.entries()] == [(GSME, DeviceType.GSME), (PPMID, DeviceType.PPMID)]
    assert gpf_log.remove(GSME).eui64 == GSME and GSME not in gpf_log
    assert not hasattr(gpf_log, "historic")  # GPF entries never go to a historic log
    with pytest.raises(DomainError, match="not in the GPF device log"):
        gpf_log.remove(GSME)


# --- property tests ------------------------------------------------------------------------------------------

ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 24), st.booleans(), st.integers(0, 3)),
        st.tuples(st.just("join"), st.integers(0, 24)),
        st.tuples(st.just("remove"), st.integers(0, 24)),
        st.tuples(st.just("tick"), st.integers(1, 120)),
    ),
    max_size=120,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_device_log_invariants(operations: list[tuple]) -> None:
    clock = VirtualClock()
    log = ChfDeviceLog(clock, capacity=8, derive_link_key=toy_key)
    expected_historic: list[Eui64] = []  # a plain model of the Historic log: FIFO of 15, updates keep their slot
    for op in operations:
        kind = op[0]
        if kind == "add":
            _, n, is_hht, code_n = op
            d = eui(n)
            before = log.get(d)
            key_before = (before.tc_link_key, before.hashed_tc_link_key, before.install_code) if before else None
            try:
                outcome = log.add(d, DeviceType.ESME, bytes([code_n]) * 16, 30, is_hht=is_hht)
            except DeviceLogFull:
                assert len(log) == 8 and d not in log
                continue
            if before is not None:
                after = log.entry(d)
                assert outcome.duplicate
                assert (after.tc_link_key, after.hashed_tc_link_key, after.install_code) == key_before
        elif kind == "join":
            d = eui(op[1])
            if d in log and log.accepted_link_keys(d):
                log.mark_joined(d, HASH_1)
        elif kind == "remove":
            d = eui(op[1])
            if d in log:
                entry = log.remove(d)
                if entry.joined and not entry.is_hht and d not in expected_historic:
                    expected_historic.append(d)
                    del expected_historic[:-15]
            else:
                with pytest.raises(DomainError):
                    log.remove(d)
        else:
            clock.advance(minutes=op[1])
        assert len(log) <= 8
        assert len(log.historic) <= 15
        # FIFO, oldest overwritten; only joined non-HHT removals get there
        assert [h.eui64 for h in log.historic.entries()] == expected_historic


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=60))
def test_historic_never_exceeds_15_and_hht_never_enters(removals: list[int]) -> None:
    clock = VirtualClock()
    log = ChfDeviceLog(clock, capacity=64, derive_link_key=toy_key)
    for n in removals:
        d = eui(n)
        is_hht = n % 7 == 0
        log.add(d, DeviceType.TYPE2 if is_hht else DeviceType.ESME, RTDS_CODE, 30, is_hht=is_hht)
        if log.accepted_link_keys(d):
            log.mark_joined(d, HASH_1)
        log.remove(d)
        assert len(log.historic) <= 15
        assert all(h.eui64.value % 0x10000 % 7 != 0 for h in log.historic.entries())


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=16, max_size=16), st.lists(st.binary(min_size=16, max_size=16), max_size=5), st.booleans())
def test_duplicate_add_never_changes_the_key(first: bytes, others: list[bytes], joined: bool) -> None:
    clock = VirtualClock()
    log = ChfDeviceLog(clock, derive_link_key=toy_key)
    log.add(ESME, DeviceType.ESME, first, 90)
    if joined:
        log.mark_joined(ESME, HASH_1)
    keys = log.accepted_link_keys(ESME)
    for other in others:
        assert log.add(ESME, DeviceType.ESME, other, 90).duplicate
        assert log.accepted_link_keys(ESME) == keys == [toy_key(first)]


def test_historic_update_may_move_to_newest_if_configured(clock: VirtualClock) -> None:
    log = ChfDeviceLog(clock, derive_link_key=toy_key, historic_update_moves_to_newest=True)
    for n in (1, 2, 1):
        log.add(eui(n), DeviceType.ESME, RTDS_CODE, 90)
        log.mark_joined(eui(n), HASH_1)
        log.remove(eui(n))
    assert [h.eui64 for h in log.historic.entries()] == [eui(2), eui(1)]


def test_restore_inherits_joined_devices_without_install_codes(log: ChfDeviceLog) -> None:
    # CCS03 restore_PAN (domain.md §1.5): {mac, hashed link key} per device.
    log.add(PPMID, DeviceType.PPMID, RTDS_CODE, 90)
    log.restore([(ESME, DeviceType.ESME, HASH_1), (GSME, DeviceType.GSME, HASH_2)])
    assert [e.eui64 for e in log.entries()] == [ESME, GSME]
    assert log.entry(ESME).joined and log.entry(ESME).install_code is None
    assert log.accepted_link_keys(GSME) == [HASH_2]
    with pytest.raises(DeviceLogFull):
        ChfDeviceLog(VirtualClock(), capacity=1).restore([(ESME, DeviceType.ESME, HASH_1), (GSME, DeviceType.GSME, HASH_2)])


def test_a_join_after_the_window_is_refused(log: ChfDeviceLog, clock: VirtualClock) -> None:
    log.add(ESME, DeviceType.ESME, RTDS_CODE, 90)
    clock.advance(minutes=91)
    with pytest.raises(DomainError, match="00-DB-12-34-56-78-90-A0: join window closed"):
        log.mark_joined(ESME, HASH_1)
    assert not log.entry(ESME).joined
