"""The trust centre model: join decisions from TRUST_CENTER_POLICY + transient keys, and joins on the radio."""

from __future__ import annotations

import asyncio

import pytest
from zigpy.types import EUI64, KeyData

from harness.emulation.devices import EmulatedEsme
from harness.emulation.medium import Medium
from harness.emulation.trust_centre import JoinDecision, TrustCentre
from tests.emulation.radio_side import (
    FAST,
    OTHER_INSTALL_CODE,
    OTHER_LINK_KEY,
    SPEC_INSTALL_CODE,
    SPEC_LINK_KEY,
    WELL_KNOWN_KEY,
    WILDCARD,
    NcpSide,
    start_coordinator,
)

METER = EUI64.convert("00:0D:6F:00:00:00:00:01")
STRANGER = EUI64.convert("00:0D:6F:00:00:00:00:99")


def reached_a_network(meter: EmulatedEsme) -> list:  # type: ignore[type-arg]
    """The join attempts that heard a permitting network. On a busy machine a scan can miss the beacons (the
    emulated radio runs in real time), so a test about the trust centre's answer looks only at these."""
    return [attempt for attempt in meter.join_attempts if attempt.channel is not None]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- decisions (no radio) -----------------------------------------------------------------------------------


def test_install_code_policy_admits_only_the_device_with_its_own_key() -> None:
    side = NcpSide(policy=0x11, keys={METER: KeyData(SPEC_LINK_KEY)})
    centre = TrustCentre(side, FakeClock())
    record, key = centre.decide(METER)
    assert record.decision is JoinDecision.USE_PRECONFIGURED_KEY
    assert bytes(key) == SPEC_LINK_KEY
    record, key = centre.decide(STRANGER)
    assert record.decision is JoinDecision.DENY_JOIN and key is None
    assert "no transient key for 00:0d:6f:00:00:00:00:99" in record.reason
    assert "install-code key" in record.reason
    assert [(r.eui64, r.decision) for r in centre.decisions] == [
        (METER, JoinDecision.USE_PRECONFIGURED_KEY), (STRANGER, JoinDecision.DENY_JOIN)]
    assert centre.decisions[0].time == 100.0


def test_wildcard_does_not_satisfy_the_install_code_policy_by_default() -> None:
    side = NcpSide(policy=0x11, keys={WILDCARD: WELL_KNOWN_KEY})
    record, key = TrustCentre(side, FakeClock()).decide(METER)
    assert record.decision is JoinDecision.DENY_JOIN and key is None
    assert "wildcard" in record.reason


def test_wildcard_satisfies_the_install_code_policy_when_configured() -> None:
    side = NcpSide(policy=0x11, keys={WILDCARD: WELL_KNOWN_KEY})
    centre = TrustCentre(side, FakeClock(), wildcard_satisfies_install_code_policy=True)
    record, key = centre.decide(METER)
    assert record.decision is JoinDecision.USE_PRECONFIGURED_KEY
    assert record.key_source == "wildcard" and bytes(key) == b"ZigBeeAlliance09"


def test_without_install_code_policy_the_wildcard_key_is_used() -> None:
    # bellows' pre_permit state: ALLOW_JOINS | ALLOW_UNSECURED_REJOINS with the well-known wildcard key.
    side = NcpSide(policy=0x03, keys={WILDCARD: WELL_KNOWN_KEY})
    record, key = TrustCentre(side, FakeClock()).decide(METER)
    assert record.decision is JoinDecision.USE_PRECONFIGURED_KEY and bytes(key) == b"ZigBeeAlliance09"


@pytest.mark.parametrize("policy", [0x00, 0x10])
def test_policy_without_allow_joins_denies_everyone(policy: int) -> None:
    side = NcpSide(policy=policy, keys={METER: KeyData(SPEC_LINK_KEY)})
    record, _ = TrustCentre(side, FakeClock()).decide(METER)
    assert record.decision is JoinDecision.DENY_JOIN
    assert "lacks ALLOW_JOINS" in record.reason


def test_no_keys_at_all_denies() -> None:
    record, _ = TrustCentre(NcpSide(policy=0x01), FakeClock()).decide(METER)
    assert record.decision is JoinDecision.DENY_JOIN and "no wildcard" in record.reason


def test_permit_window_opens_expires_and_255_stays_open() -> None:
    clock = FakeClock()
    centre = TrustCentre(NcpSide(), clock)
    assert not centre.permits_joining()
    centre.permit_joining(60)
    clock.now += 59.9
    assert centre.permits_joining()
    clock.now += 0.2
    assert not centre.permits_joining()
    centre.permit_joining(255)
    clock.now += 100_000
    assert centre.permits_joining()
    centre.permit_joining(0)
    assert not centre.permits_joining()
    with pytest.raises(ValueError, match="256"):
        centre.permit_joining(256)


# -- joins on the radio --------------------------------------------------------------------------------------


async def test_meter_joins_with_its_install_code_key_and_announces_itself() -> None:
    medium, side = Medium(), NcpSide()
    stack = start_coordinator(medium, side)
    meter = EmulatedEsme(medium, METER, SPEC_INSTALL_CODE, **FAST)
    side.keys[METER] = KeyData(SPEC_LINK_KEY)
    stack.permit_joining(60)
    meter.power_on()
    try:
        await meter.wait_joined(3)
        annce = await side.wait_for(lambda: side.message(0x0013))
        assert annce.broadcast and annce.src_eui64 == METER and annce.src_nwk == meter.nwk
        assert side.tc_joins == [(meter.nwk, METER, 1, int(JoinDecision.USE_PRECONFIGURED_KEY), 0x0000)]
        assert side.child_joins[0][1:4] == (True, meter.nwk, METER)
        assert meter.network_key == stack.network_key
        assert meter.join_attempts[-1].joined
    finally:
        await meter.power_off()


async def test_meter_with_a_different_install_code_does_not_join_and_says_why() -> None:
    medium, side = Medium(), NcpSide()
    stack = start_coordinator(medium, side)
    # The trust centre holds the key of the spec install code; the meter's own code is another one.
    meter = EmulatedEsme(medium, METER, OTHER_INSTALL_CODE, **FAST)
    assert bytes(meter.link_key) == OTHER_LINK_KEY
    side.keys[METER] = KeyData(SPEC_LINK_KEY)
    stack.permit_joining(60)
    meter.power_on()
    try:
        await side.wait_for(lambda: len(meter.join_attempts) >= 2)
        assert not meter.joined
        reasons = {attempt.reason for attempt in meter.join_attempts}
        assert any("MIC check failed" in reason for reason in reasons), reasons
        assert side.message(0x0013) is None
        assert stack.decisions[0].decision is JoinDecision.USE_PRECONFIGURED_KEY
    finally:
        await meter.power_off()


async def test_nobody_joins_without_a_permitted_key_and_the_trust_centre_records_why() -> None:
    medium, side = Medium(), NcpSide()
    stack = start_coordinator(medium, side)
    meter = EmulatedEsme(medium, METER, SPEC_INSTALL_CODE, **FAST)
    stack.permit_joining(60)
    meter.power_on()
    try:
        await side.wait_for(lambda: reached_a_network(meter))
        assert not meter.joined
        assert all(record.decision is JoinDecision.DENY_JOIN for record in stack.decisions)
        assert "no transient key for 00:0d:6f:00:00:00:00:01" in stack.decisions[0].reason
        assert "no Transport Key" in reached_a_network(meter)[0].reason
        assert side.tc_joins[0][3] == int(JoinDecision.DENY_JOIN)
    finally:
        await meter.power_off()


async def test_closed_network_is_not_joined_and_no_decision_is_made() -> None:
    medium, side = Medium(), NcpSide()
    stack = start_coordinator(medium, side)
    meter = EmulatedEsme(medium, METER, SPEC_INSTALL_CODE, **FAST)
    side.keys[METER] = KeyData(SPEC_LINK_KEY)
    meter.power_on()  # permit window never opened
    try:
        await side.wait_for(lambda: len(meter.join_attempts) >= 2)
        assert "no network permitting joining" in meter.join_attempts[0].reason
        assert stack.decisions == []
    finally:
        await meter.power_off()


@pytest.mark.parametrize("wildcard_counts", [False, True])
async def test_well_known_wildcard_never_admits_an_se_meter(wildcard_counts: bool) -> None:
    """With the well-known key only, an SE meter cannot get in: either the TC denies (default), or the
    Transport Key goes under ZigBeeAlliance09, which the meter cannot decrypt with its install-code key."""
    medium, side = Medium(), NcpSide(keys={WILDCARD: WELL_KNOWN_KEY})
    stack = start_coordinator(medium, side, wildcard_satisfies_install_code_policy=wildcard_counts)
    meter = EmulatedEsme(medium, METER, SPEC_INSTALL_CODE, **FAST)
    stack.permit_joining(60)
    meter.power_on()
    try:
        await side.wait_for(lambda: reached_a_network(meter))
        assert not meter.joined
        expected = JoinDecision.USE_PRECONFIGURED_KEY if wildcard_counts else JoinDecision.DENY_JOIN
        assert stack.decisions[0].decision is expected
        if wildcard_counts:
            assert "MIC check failed" in reached_a_network(meter)[0].reason
    finally:
        await meter.power_off()


async def test_leave_is_reported_as_device_left() -> None:
    medium, side = Medium(), NcpSide()
    stack = start_coordinator(medium, side)
    meter = EmulatedEsme(medium, METER, SPEC_INSTALL_CODE, rejoin_after_leave=False, **FAST)
    side.keys[METER] = KeyData(SPEC_LINK_KEY)
    stack.permit_joining(60)
    meter.power_on()
    try:
        await meter.wait_joined(3)
        nwk = meter.nwk
        stack.remove_device(METER)
        await side.wait_for(lambda: any(join[2] == 2 for join in side.tc_joins))
        assert (nwk, METER, 2, int(JoinDecision.NO_ACTION)) == side.tc_joins[-1][:4]
        assert not meter.joined and meter.leaves
        await asyncio.sleep(0.2)
        assert not meter.joined  # told not to come back
    finally:
        await meter.power_off()
