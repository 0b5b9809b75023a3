"""The Key Establishment cluster and both state machines, wired back to back (no radio).

Frames are checked against the SE vectors' exchange (vectors.md §4.4); every failure case ends in the Terminate
status the SE spec / EmberZNet give it, and the side that detects it sends that Terminate.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from harness.zigbee import key_establishment as ke
from harness.zigbee.cbke.certificate import CertificateAuthority, DeviceCredentials
from harness.zigbee.cbke.engine import CbkeEngine
from tests.zigbee import test_cbke_vectors as v

METER = bytes.fromhex("0A0B0C0D0E0F1012")
HUB = bytes.fromhex("0A0B0C0D0E0F1011")
NOW = 1_800_000_000


@dataclass
class Clock:
    t: float = 100.0

    def __call__(self) -> float:
        return self.t


@dataclass
class Wire:
    frames: list[ke.KeFrame] = field(default_factory=list)

    async def send(self, frame: ke.KeFrame) -> None:
        self.frames.append(frame)


def _pair(meter_creds: DeviceCredentials, hub_creds: DeviceCredentials, *, config: ke.KeConfig = ke.KeConfig(),
          clock: Clock | None = None, meter_id: bytes = METER, hub_id: bytes = HUB):
    clock = clock or Clock()
    to_hub, to_meter = Wire(), Wire()
    meter_crypto = ke.EngineCrypto(CbkeEngine(meter_creds))
    hub_crypto = ke.EngineCrypto(CbkeEngine(hub_creds))
    initiator = ke.KeInitiator(meter_crypto, meter_id, to_hub.send, clock, lambda: NOW, partner_eui64=hub_id,
                               config=config)
    responder = ke.KeResponder(hub_crypto, hub_id, to_meter.send, clock, lambda: NOW, partner_eui64=meter_id,
                               config=config)
    return initiator, responder, to_hub, to_meter, meter_crypto, hub_crypto


async def _pump(initiator: ke.KeInitiator, responder: ke.KeResponder, to_hub: Wire, to_meter: Wire,
                tamper=None) -> None:
    """Deliver frames both ways until both machines are done or nothing is in flight."""
    delivered_hub = delivered_meter = 0
    while not (initiator.done and responder.done):
        progressed = False
        while delivered_hub < len(to_hub.frames):
            data = ke.encode_frame(to_hub.frames[delivered_hub])
            delivered_hub += 1
            await responder.receive(tamper(data, True) if tamper else data)
            progressed = True
        while delivered_meter < len(to_meter.frames):
            data = ke.encode_frame(to_meter.frames[delivered_meter])
            delivered_meter += 1
            await initiator.receive(tamper(data, False) if tamper else data)
            progressed = True
        if not progressed:
            break


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.generate(bytes.fromhex("5445535443413031"))


@pytest.fixture(scope="module")
def creds(ca: CertificateAuthority) -> tuple[DeviceCredentials, DeviceCredentials]:
    return ca.issue(METER, valid_from=NOW - 10), ca.issue(HUB, valid_from=NOW - 10)


def test_frames_match_the_se_exchange_bytes() -> None:
    init = ke.KeFrame(True, 16, ke.InitiateKeyEstablishment(2, 5, 5, v.CERT_U))
    assert ke.encode_frame(init) == bytes.fromhex("011000") + bytes.fromhex("02000505") + v.CERT_U
    rsp = ke.KeFrame(False, 16, ke.InitiateKeyEstablishment(2, 5, 5, v.CERT_V))
    assert ke.encode_frame(rsp)[:3] == bytes.fromhex("091000")
    confirm = ke.KeFrame(False, 18, ke.ConfirmKeyData(v.MACV))
    assert ke.encode_frame(confirm) == bytes.fromhex("091202") + v.MACV
    for frame in (init, rsp, confirm, ke.KeFrame(True, 3, ke.TerminateKeyEstablishment(1, 30, 2)),
                  ke.KeFrame(True, 17, ke.EphemeralData(v.QEU))):
        assert ke.decode_frame(ke.encode_frame(frame)) == frame


def test_truncated_frames_do_not_decode() -> None:
    data = ke.encode_frame(ke.KeFrame(True, 17, ke.EphemeralData(v.QEU)))
    with pytest.raises(ke.KeDecodeError, match="36 bytes, expected 37"):
        ke.decode_frame(data[:-1])
    with pytest.raises(ke.KeDecodeError):
        ke.decode_frame(b"\x01")


def test_the_zcl_header_is_read_by_its_frame_control() -> None:
    body = ke.encode_frame(ke.KeFrame(False, 9, ke.ConfirmKeyData(v.MACV)))[3:]
    # manufacturer specific (bit 2): a 2-octet manufacturer code sits before the sequence number
    frame = ke.decode_frame(bytes([0x09 | 0x04, 0x34, 0x12, 9, 2]) + body)
    assert frame == ke.KeFrame(False, 9, ke.ConfirmKeyData(v.MACV))
    with pytest.raises(ke.KeDecodeError, match="bad ZCL header"):
        ke.decode_frame(bytes([0x0D, 0x34, 0x12, 9]))  # manufacturer specific, cut before the command id
    with pytest.raises(ke.KeDecodeError, match="not a cluster command"):
        ke.decode_frame(bytes([0x08, 9, 2]) + body)  # frame type 00: a global (profile-wide) command
    with pytest.raises(ke.KeDecodeError, match="unknown command 0x07"):
        ke.decode_frame(bytes([0x09, 9, 7]) + body)


def test_whole_exchange_with_the_se_test_vector_keys() -> None:
    # Static keys and certificates from the SE vectors; both sides agree on KeyData.
    meter = DeviceCredentials(v.CERT_U, v.STATIC_U, v.CA_PUB)
    hub = DeviceCredentials(v.CERT_V, v.STATIC_V, v.CA_PUB)

    async def run():
        initiator, responder, to_hub, to_meter, mc, hc = _pair(meter, hub)
        await initiator.start()
        await _pump(initiator, responder, to_hub, to_meter)
        return initiator, responder, to_hub, to_meter, mc, hc

    initiator, responder, to_hub, to_meter, mc, hc = asyncio.run(run())
    assert initiator.outcome and initiator.outcome.success, initiator.outcome
    assert responder.outcome and responder.outcome.success, responder.outcome
    assert mc.stored is not None and hc.stored is not None
    assert mc.stored == (HUB, hc.stored[1]) and hc.stored[0] == METER
    assert mc.stored[1] == hc.stored[1]
    assert [f.name for f in to_hub.frames] == ["Initiate Key Establishment Request", "Ephemeral Data Request",
                                               "Confirm Key Data Request"]
    assert [f.tsn for f in to_meter.frames] == [f.tsn for f in to_hub.frames]


def _run_case(meter: DeviceCredentials, hub: DeviceCredentials, tamper=None, **kw):
    async def run():
        initiator, responder, to_hub, to_meter, mc, hc = _pair(meter, hub, **kw)
        await initiator.start()
        await _pump(initiator, responder, to_hub, to_meter, tamper)
        return initiator, responder, to_hub, to_meter, mc

    return asyncio.run(run())


def _terminates(frames: list[ke.KeFrame]) -> list[int]:
    return [f.command.status for f in frames if isinstance(f.command, ke.TerminateKeyEstablishment)]


def test_certificate_from_another_issuer_is_unknown_issuer(creds) -> None:
    other = CertificateAuthority.generate(bytes.fromhex("4F54484552434121")).issue(METER, valid_from=NOW - 10)
    initiator, responder, _to_hub, to_meter, mc = _run_case(other, creds[1])
    assert responder.outcome.status is ke.TerminateStatus.UNKNOWN_ISSUER
    assert "4F54484552434121" in responder.outcome.reason
    assert _terminates(to_meter.frames) == [ke.TerminateStatus.UNKNOWN_ISSUER]
    assert initiator.outcome.terminate_received and initiator.outcome.status is ke.TerminateStatus.UNKNOWN_ISSUER
    assert mc.stored is None


def test_expired_certificate(ca, creds) -> None:
    expired = ca.issue(METER, valid_from=NOW - 3600, valid_to=60)
    initiator, responder, _h, to_meter, _mc = _run_case(expired, creds[1])
    assert responder.outcome.status is ke.TerminateStatus.INVALID_CERTIFICATE
    assert "not valid now" in responder.outcome.reason
    # the SE 1.1 behaviour, configurable
    _i, responder, _h, to_meter, _mc = _run_case(
        expired, creds[1], config=ke.KeConfig(invalid_certificate_status=ke.TerminateStatus.BAD_MESSAGE))
    assert _terminates(to_meter.frames) == [ke.TerminateStatus.BAD_MESSAGE]


def test_subject_not_the_sender_is_bad_message(ca, creds) -> None:
    stranger = ca.issue(bytes.fromhex("1122334455667788"), valid_from=NOW - 10)
    _i, responder, _h, to_meter, _mc = _run_case(stranger, creds[1])
    assert responder.outcome.status is ke.TerminateStatus.BAD_MESSAGE
    assert "1122334455667788" in responder.outcome.reason


def test_wrong_mac_is_bad_key_confirm(creds) -> None:
    def flip_macu(data: bytes, to_hub: bool) -> bytes:
        if to_hub and data[2] == ke.Command.CONFIRM_KEY_DATA:
            return data[:-1] + bytes([data[-1] ^ 1])
        return data

    initiator, responder, _h, to_meter, mc = _run_case(*creds, tamper=flip_macu)
    assert responder.outcome.status is ke.TerminateStatus.BAD_KEY_CONFIRM and not responder.outcome.success
    assert initiator.outcome.status is ke.TerminateStatus.BAD_KEY_CONFIRM and initiator.outcome.terminate_received
    assert mc.stored is None

    def flip_macv(data: bytes, to_hub: bool) -> bytes:
        if not to_hub and data[2] == ke.Command.CONFIRM_KEY_DATA:
            return data[:-1] + bytes([data[-1] ^ 1])
        return data

    initiator, _r, to_hub, _m, mc = _run_case(*creds, tamper=flip_macv)
    assert initiator.outcome.status is ke.TerminateStatus.BAD_KEY_CONFIRM and initiator.outcome.terminate_sent
    assert _terminates(to_hub.frames) == [ke.TerminateStatus.BAD_KEY_CONFIRM]
    assert mc.stored is None


def test_invalid_ephemeral_point_is_bad_message(creds) -> None:
    def bad_point(data: bytes, to_hub: bool) -> bytes:
        if to_hub and data[2] == ke.Command.EPHEMERAL_DATA:
            return data[:3] + b"\x02" + bytes(36)  # x = 0: the point of order 2
        return data

    initiator, responder, _h, to_meter, _mc = _run_case(*creds, tamper=bad_point)
    assert responder.outcome.status is ke.TerminateStatus.BAD_MESSAGE
    assert "subgroup" in responder.outcome.reason
    assert initiator.outcome.status is ke.TerminateStatus.BAD_MESSAGE


def test_invalid_certificate_point_is_bad_message(ca, creds) -> None:
    good = ca.issue(METER, valid_from=NOW - 10)
    raw = bytearray(good.certificate)
    raw[37:74] = b"\x03" + bytes(35) + b"\x01"  # x = 1 is not on the curve's order-n subgroup (or the curve)
    broken = DeviceCredentials(bytes(raw), good.private_key, good.ca_public_key)
    _i, responder, _h, _m, _mc = _run_case(broken, creds[1])
    assert responder.outcome.status is ke.TerminateStatus.BAD_MESSAGE
    assert "reconstruction" in responder.outcome.reason


def test_truncated_message_is_bad_message(creds) -> None:
    def truncate(data: bytes, to_hub: bool) -> bytes:
        return data[:-5] if to_hub and data[2] == ke.Command.EPHEMERAL_DATA else data

    initiator, responder, _h, to_meter, _mc = _run_case(*creds, tamper=truncate)
    assert responder.outcome.status is ke.TerminateStatus.BAD_MESSAGE
    assert _terminates(to_meter.frames) == [ke.TerminateStatus.BAD_MESSAGE]
    assert initiator.outcome.status is ke.TerminateStatus.BAD_MESSAGE


def test_unsupported_suite(creds) -> None:
    def suite1(data: bytes, to_hub: bool) -> bytes:
        if to_hub and data[2] == ke.Command.INITIATE_KEY_ESTABLISHMENT:
            return data[:3] + b"\x04\x00" + data[5:]  # a suite bit we do not support, suite-2 length kept
        return data

    _i, responder, _h, to_meter, _mc = _run_case(*creds, tamper=suite1)
    assert responder.outcome.status is ke.TerminateStatus.UNSUPPORTED_SUITE
    assert _terminates(to_meter.frames) == [ke.TerminateStatus.UNSUPPORTED_SUITE]


def test_busy_hub_reports_no_resources(creds) -> None:
    class NoCert(ke.EngineCrypto):
        async def local_certificate(self) -> bytes:
            from harness.zigbee.cbke.engine import CbkeCryptoError

            raise CbkeCryptoError("NCP has no suite-2 certificate")

    async def run():
        clock = Clock()
        to_hub, to_meter = Wire(), Wire()
        initiator = ke.KeInitiator(ke.EngineCrypto(CbkeEngine(creds[0])), METER, to_hub.send, clock, lambda: NOW)
        responder = ke.KeResponder(NoCert(CbkeEngine(creds[1])), HUB, to_meter.send, clock, lambda: NOW)
        await initiator.start()
        await _pump(initiator, responder, to_hub, to_meter)
        return responder, to_meter

    responder, to_meter = asyncio.run(run())
    assert responder.outcome.status is ke.TerminateStatus.NO_RESOURCES
    assert _terminates(to_meter.frames) == [ke.TerminateStatus.NO_RESOURCES]


def test_timeouts_honour_the_advertised_generate_times(creds) -> None:
    async def run():
        clock = Clock()
        config = ke.KeConfig(ephemeral_data_generate_time=7, confirm_key_generate_time=9, timeout_margin=10)
        initiator, responder, to_hub, to_meter, mc, _hc = _pair(*creds, config=config, clock=clock)
        await initiator.start()
        assert initiator.deadline == clock.t + 10
        await responder.receive(ke.encode_frame(to_hub.frames[0]))  # Initiate Request
        # the responder waits the initiator's ephemeral data generate time (7) plus the margin
        assert responder.deadline == clock.t + 7 + 10
        await initiator.receive(ke.encode_frame(to_meter.frames[0]))  # Initiate Response -> Ephemeral Request
        assert initiator.deadline == clock.t + 7 + 10
        # the responder never answers the Ephemeral Data Request: the meter times out (and the hub too)
        clock.t += 16.9
        assert await initiator.check_timeout() is None
        clock.t += 0.2
        outcome = await initiator.check_timeout()
        hub_outcome = await responder.check_timeout()
        return outcome, hub_outcome, to_hub, mc

    outcome, hub_outcome, to_hub, mc = asyncio.run(run())
    assert outcome.timed_out and not outcome.success and "Ephemeral Data Response" in outcome.reason
    assert hub_outcome.timed_out and "Ephemeral Data Request" in hub_outcome.reason
    assert _terminates(to_hub.frames) == []  # EmberZNet sends no Terminate on a timeout
    assert mc.stored is None


def test_timeout_can_send_a_terminate(creds) -> None:
    async def run():
        clock = Clock()
        config = ke.KeConfig(timeout_terminate_status=ke.TerminateStatus.NO_RESOURCES)
        initiator, _r, to_hub, _m, _mc, _hc = _pair(*creds, config=config, clock=clock)
        await initiator.start()
        clock.t += 60
        return await initiator.check_timeout(), to_hub

    outcome, to_hub = asyncio.run(run())
    assert outcome.status is ke.TerminateStatus.NO_RESOURCES
    assert _terminates(to_hub.frames) == [ke.TerminateStatus.NO_RESOURCES]
