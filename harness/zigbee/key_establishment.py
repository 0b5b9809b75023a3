"""ZCL Key Establishment cluster (0x0800, Smart Energy) and the CBKE initiator/responder state machines.

Declared once here and used by both sides (emulated meters, the hub driver). zigpy 2.4.0 has only an empty stub
for this cluster. Facts (no code) from: ZigBee SE 1.x Annex C and the KE cluster chapter; the Wireshark dissector
packet-zbee-zcl-se.c (field layout, status names); the EmberZNet key-establishment plugin (timeout base of 10 s
added to the partner's advertised generate times; a timeout ends the exchange without a Terminate; a second
partner while busy gets NO_RESOURCES with a back-off); research/vectors.md §4.4 (the frames of a whole exchange).

Frames, client -> server (frame control 0x01) and server -> client (0x09), same command ids both ways:
  0x00 Initiate Key Establishment  suite(uint16 LE) | ephemeral data generate time(1) | confirm key generate time(1)
                                   | identity (suite 2: the 74-byte implicit certificate)
  0x01 Ephemeral Data              QEU / QEV (37 bytes)
  0x02 Confirm Key Data            MACU / MACV (16 bytes)
  0x03 Terminate Key Establishment status(1) | wait time(1) | suite(uint16 LE)
Attribute 0x0000 KeyEstablishmentSuite (enum16 / bitmap16: bit 0 suite 1, bit 1 suite 2).

The machines are pure: no I/O and no wall clock. Time comes from `clock` (seconds, monotonic) for the
timeouts and `unix_time` for certificate validity; the crypto is a `KeCrypto` (the stick's EZSP commands on the
hub, or a CbkeEngine in an emulated meter); frames leave through the `send` coroutine given to the session.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Final, Protocol

from harness.zigbee.cbke.certificate import CERTIFICATE_BYTES, Certificate, CertificateError, parse_certificate
from harness.zigbee.cbke.curve import POINT_BYTES, InvalidPoint, decode_point
from harness.zigbee.cbke.engine import CbkeCryptoError, CbkeEngine, Smacs

CLUSTER_ID: Final = 0x0800
ATTR_KEY_ESTABLISHMENT_SUITE: Final = 0x0000
SUITE_1: Final = 0x0001
SUITE_2: Final = 0x0002  # crypto suite 2: sect283k1, 74-byte certificates
MAC_BYTES: Final = 16
SE_ENDPOINT_DEFAULT: Final = 0x0A  # SE devices commonly put KE on their SE endpoint; the vectors use 0x0A


class Command(enum.IntEnum):
    INITIATE_KEY_ESTABLISHMENT = 0x00
    EPHEMERAL_DATA = 0x01
    CONFIRM_KEY_DATA = 0x02
    TERMINATE_KEY_ESTABLISHMENT = 0x03


class TerminateStatus(enum.IntEnum):
    UNKNOWN_ISSUER = 0x01
    BAD_KEY_CONFIRM = 0x02
    BAD_MESSAGE = 0x03
    NO_RESOURCES = 0x04
    UNSUPPORTED_SUITE = 0x05
    INVALID_CERTIFICATE = 0x06  # SE 1.2 onwards (Wireshark knows it); see KeConfig.invalid_certificate_status


class KeDecodeError(ValueError):
    """A Key Establishment frame that does not decode (truncated, unknown command, wrong length)."""


@dataclass(frozen=True)
class InitiateKeyEstablishment:
    suite: int
    ephemeral_data_generate_time: int
    confirm_key_generate_time: int
    identity: bytes  # the certificate

    def payload(self) -> bytes:
        return (self.suite.to_bytes(2, "little") + bytes([self.ephemeral_data_generate_time,
                                                          self.confirm_key_generate_time]) + self.identity)


@dataclass(frozen=True)
class EphemeralData:
    public_key: bytes

    def payload(self) -> bytes:
        return self.public_key


@dataclass(frozen=True)
class ConfirmKeyData:
    mac: bytes

    def payload(self) -> bytes:
        return self.mac


@dataclass(frozen=True)
class TerminateKeyEstablishment:
    status: int
    wait_time: int
    suite: int

    def payload(self) -> bytes:
        return bytes([self.status, self.wait_time]) + self.suite.to_bytes(2, "little")


KeCommand = InitiateKeyEstablishment | EphemeralData | ConfirmKeyData | TerminateKeyEstablishment
_COMMAND_IDS: Final = {
    InitiateKeyEstablishment: Command.INITIATE_KEY_ESTABLISHMENT,
    EphemeralData: Command.EPHEMERAL_DATA,
    ConfirmKeyData: Command.CONFIRM_KEY_DATA,
    TerminateKeyEstablishment: Command.TERMINATE_KEY_ESTABLISHMENT,
}


@dataclass(frozen=True)
class KeFrame:
    """One Key Establishment ZCL frame: to the server (a request) or to the client (a response)."""

    to_server: bool
    tsn: int
    command: KeCommand

    @property
    def command_id(self) -> Command:
        return _COMMAND_IDS[type(self.command)]

    @property
    def name(self) -> str:
        kind = "Request" if self.to_server else "Response"
        if isinstance(self.command, TerminateKeyEstablishment):
            return "Terminate Key Establishment"
        return {
            Command.INITIATE_KEY_ESTABLISHMENT: f"Initiate Key Establishment {kind}",
            Command.EPHEMERAL_DATA: f"Ephemeral Data {kind}",
            Command.CONFIRM_KEY_DATA: f"Confirm Key Data {kind}",
        }[self.command_id]


# ZCL frame control (ZCL spec 2.4.1.1): bits 0-1 frame type (01: cluster-specific command), bit 2 manufacturer
# specific, bit 3 direction (1: server to client), bit 4 disable default response. Written and read here rather than
# through zigpy's ZCLHeader (a Struct: building and parsing one cost ~50 us a frame); tshark checks these frames
# (tests/emulation/test_cbke_pcap_tshark.py).
_CLUSTER_COMMAND = 0x01
_MANUFACTURER_SPECIFIC = 0x04
_SERVER_TO_CLIENT = 0x08


def encode_frame(frame: KeFrame) -> bytes:
    if not 0 <= frame.tsn <= 0xFF:
        raise ValueError(f"ZCL transaction sequence number {frame.tsn} is not one octet")
    control = _CLUSTER_COMMAND | (0 if frame.to_server else _SERVER_TO_CLIENT)
    return bytes([control, frame.tsn, int(frame.command_id)]) + frame.command.payload()


def decode_frame(data: bytes, *, suite: int = SUITE_2) -> KeFrame:
    """Decode a ZCL Key Establishment frame; lengths are those of `suite` (suite 2 unless told)."""
    data = bytes(data)
    header_length = 5 if data and data[0] & _MANUFACTURER_SPECIFIC else 3  # + a 2-octet manufacturer code
    if len(data) < header_length:
        raise KeDecodeError(f"Key Establishment frame: bad ZCL header ({len(data)} octets): {data.hex()}")
    control, tsn, raw_command = data[0], data[header_length - 2], data[header_length - 1]
    body = data[header_length:]
    if control & 0x03 != _CLUSTER_COMMAND:
        raise KeDecodeError(f"Key Establishment frame: not a cluster command: {data.hex()}")
    to_server = not control & _SERVER_TO_CLIENT
    try:
        command_id = Command(raw_command)
    except ValueError:
        raise KeDecodeError(f"Key Establishment frame: unknown command 0x{raw_command:02X}") from None
    cert_len = CERTIFICATE_BYTES if suite == SUITE_2 else 48
    point_len = POINT_BYTES if suite == SUITE_2 else 22
    expected = {
        Command.INITIATE_KEY_ESTABLISHMENT: 4 + cert_len,
        Command.EPHEMERAL_DATA: point_len,
        Command.CONFIRM_KEY_DATA: MAC_BYTES,
        Command.TERMINATE_KEY_ESTABLISHMENT: 4,
    }[command_id]
    if command_id is Command.INITIATE_KEY_ESTABLISHMENT and len(body) >= 2:
        offered = int.from_bytes(body[:2], "little")
        if offered == SUITE_1:
            expected = 4 + 48
    if len(body) != expected:
        raise KeDecodeError(f"Key Establishment {command_id.name}: payload is {len(body)} bytes, expected {expected}")
    command: KeCommand
    if command_id is Command.INITIATE_KEY_ESTABLISHMENT:
        command = InitiateKeyEstablishment(int.from_bytes(body[:2], "little"), body[2], body[3], body[4:])
    elif command_id is Command.EPHEMERAL_DATA:
        command = EphemeralData(body)
    elif command_id is Command.CONFIRM_KEY_DATA:
        command = ConfirmKeyData(body)
    else:
        command = TerminateKeyEstablishment(body[0], body[1], int.from_bytes(body[2:4], "little"))
    return KeFrame(to_server, tsn, command)


# --- the state machines ---


class KeCrypto(Protocol):
    """One side's CBKE crypto (EZSP suite-2 commands on a stick; CbkeEngine in an emulated meter)."""

    async def local_certificate(self) -> bytes: ...

    async def generate_ephemeral(self) -> bytes: ...

    async def calculate_smacs(self, am_initiator: bool, partner_certificate: bytes,
                              partner_ephemeral: bytes) -> Smacs: ...

    async def finish(self, store_link_key: bool) -> None: ...


@dataclass(frozen=True)
class KeConfig:
    """Knobs where sources differ or a lab wants to probe a device (docs/cbke.md)."""

    ephemeral_data_generate_time: int = 5  # seconds we advertise (the vectors' value)
    confirm_key_generate_time: int = 5
    timeout_margin: float = 10.0  # added to the partner's advertised times (EmberZNet: 10 s)
    # An expired or not-yet-valid certificate: SE 1.2 has INVALID_CERTIFICATE (0x06); SE 1.1 peers only know
    # BAD_MESSAGE. Unsettled which a GB device expects, so configurable.
    invalid_certificate_status: TerminateStatus = TerminateStatus.INVALID_CERTIFICATE
    # EmberZNet sends no Terminate when a partner times out; set a status to send one anyway.
    timeout_terminate_status: TerminateStatus | None = None
    back_off: int = 30  # wait time we report in our Terminate (EmberZNet: 30 s)
    check_validity: bool = True


class State(enum.Enum):
    IDLE = "idle"
    WAIT_INITIATE_RESPONSE = "waiting for Initiate Key Establishment Response"
    WAIT_EPHEMERAL_REQUEST = "waiting for Ephemeral Data Request"
    WAIT_EPHEMERAL_RESPONSE = "waiting for Ephemeral Data Response"
    WAIT_CONFIRM_REQUEST = "waiting for Confirm Key Data Request"
    WAIT_CONFIRM_RESPONSE = "waiting for Confirm Key Data Response"
    DONE = "done"


@dataclass
class KeOutcome:
    success: bool
    reason: str
    status: TerminateStatus | None = None  # the Terminate status sent or received, if any
    terminate_sent: bool = False
    terminate_received: bool = False
    timed_out: bool = False
    partner_certificate: Certificate | None = None
    started: float = 0.0
    finished: float = 0.0

    @property
    def duration(self) -> float:
        return self.finished - self.started


@dataclass
class _PartnerTimes:
    ephemeral: int = 0
    confirm: int = 0


Send = Callable[[KeFrame], Awaitable[None]]


@dataclass
class _Session:
    crypto: KeCrypto
    local_eui64: bytes  # big-endian, as in certificates
    send: Send
    clock: Callable[[], float]
    unix_time: Callable[[], float]
    partner_eui64: bytes | None = None  # big-endian; when known, the partner's certificate subject must match
    config: KeConfig = field(default_factory=KeConfig)
    state: State = State.IDLE
    deadline: float | None = None
    outcome: KeOutcome | None = None
    partner_certificate: Certificate | None = None
    _local_issuer: bytes | None = None
    _smacs: Smacs | None = None
    _tsn: int = 0
    _times: _PartnerTimes = field(default_factory=_PartnerTimes)
    _started: float = 0.0
    _received: list[bytes] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.outcome is not None

    # -- helpers -------------------------------------------------------------------------------------------

    async def _local_cert(self) -> bytes:
        cert = await self.crypto.local_certificate()
        self._local_issuer = parse_certificate(cert).issuer
        return cert

    def _finish(self, success: bool, reason: str, **kw: object) -> KeOutcome:
        self.state = State.DONE
        self.deadline = None
        self.outcome = KeOutcome(success, reason, partner_certificate=self.partner_certificate,
                                 started=self._started, finished=self.clock(), **kw)  # type: ignore[arg-type]
        return self.outcome

    async def _terminate(self, status: TerminateStatus, reason: str, *, to_server: bool) -> KeOutcome:
        frame = KeFrame(to_server, self._tsn, TerminateKeyEstablishment(int(status), self.config.back_off, SUITE_2))
        outcome = self._finish(False, reason, status=status, terminate_sent=True)
        try:
            await self.crypto.finish(False)
        finally:
            await self.send(frame)
        return outcome

    def _check_certificate(self, identity: bytes) -> tuple[TerminateStatus, str] | Certificate:
        try:
            cert = parse_certificate(identity)
        except CertificateError as exc:
            return TerminateStatus.BAD_MESSAGE, f"partner certificate does not parse: {exc}"
        self.partner_certificate = cert
        if self._local_issuer is not None and cert.issuer != self._local_issuer:
            return (TerminateStatus.UNKNOWN_ISSUER,
                    f"partner certificate issuer {cert.issuer_hex} is not our CA "
                    f"({self._local_issuer.hex().upper()}); subject {cert.subject_hex}")
        if self.partner_eui64 is not None and cert.subject != self.partner_eui64:
            return (TerminateStatus.BAD_MESSAGE,
                    f"partner certificate subject {cert.subject_hex} is not the sender's EUI-64 "
                    f"{self.partner_eui64.hex().upper()}")
        if self.config.check_validity and not cert.valid_at(self.unix_time()):
            end = cert.expires
            return (self.config.invalid_certificate_status,
                    f"partner certificate (subject {cert.subject_hex}) is not valid now: valid from "
                    f"{cert.valid_from}, to {'no expiry' if end is None else end} (Unix time), now {int(self.unix_time())}")
        try:
            decode_point(cert.reconstruction)
        except InvalidPoint as exc:
            return TerminateStatus.BAD_MESSAGE, f"partner certificate public-key reconstruction point: {exc}"
        return cert

    async def check_timeout(self) -> KeOutcome | None:
        """Call when the clock passes `deadline`: the partner took too long."""
        if self.deadline is None or self.clock() < self.deadline or self.done:
            return None
        reason = f"timed out {self.state.value}"
        status = self.config.timeout_terminate_status
        if status is not None:
            return await self._terminate(status, reason, to_server=isinstance(self, KeInitiator))
        outcome = self._finish(False, reason, timed_out=True)
        await self.crypto.finish(False)
        return outcome

    def _is_duplicate(self, data: bytes) -> bool:
        # A retransmitted frame (same sequence number and bytes) is dropped, as EmberZNet drops duplicate
        # APS sequence numbers; it must not end the exchange as an "unexpected" message.
        data = bytes(data)
        if data in self._received:
            return True
        self._received.append(data)
        return False

    def _received_terminate(self, command: TerminateKeyEstablishment) -> KeOutcome:
        try:
            status: TerminateStatus | None = TerminateStatus(command.status)
            name = status.name  # type: ignore[union-attr]
        except ValueError:
            status, name = None, f"0x{command.status:02X}"
        return self._finish(False, f"partner terminated key establishment: {name} (wait {command.wait_time} s)",
                            status=status, terminate_received=True)


@dataclass
class KeInitiator(_Session):
    """The KE client (a meter after joining): Initiate -> Ephemeral -> Confirm, as U in the SE spec."""

    async def start(self) -> None:
        self._started = self.clock()
        cert = await self._local_cert()
        self._tsn = (self._tsn + 1) & 0xFF
        # state first: the answer may arrive while the frame is still being sent
        self.state = State.WAIT_INITIATE_RESPONSE
        self.deadline = self.clock() + self.config.timeout_margin
        await self.send(KeFrame(True, self._tsn, InitiateKeyEstablishment(
            SUITE_2, self.config.ephemeral_data_generate_time, self.config.confirm_key_generate_time, cert)))

    async def receive(self, data: bytes) -> KeOutcome | None:
        if self.done or self._is_duplicate(data):
            return None
        try:
            frame = decode_frame(data)
        except KeDecodeError as exc:
            return await self._terminate(TerminateStatus.BAD_MESSAGE, str(exc), to_server=True)
        command = frame.command
        if frame.to_server:
            return None  # a request to a server: not for the client side
        if isinstance(command, TerminateKeyEstablishment):
            outcome = self._received_terminate(command)
            await self.crypto.finish(False)
            return outcome
        if self.state is State.WAIT_INITIATE_RESPONSE and isinstance(command, InitiateKeyEstablishment):
            if command.suite != SUITE_2:
                return await self._terminate(TerminateStatus.UNSUPPORTED_SUITE,
                                             f"partner answered with suite 0x{command.suite:04X}", to_server=True)
            checked = self._check_certificate(command.identity)
            if not isinstance(checked, Certificate):
                return await self._terminate(*checked, to_server=True)
            self._times = _PartnerTimes(command.ephemeral_data_generate_time, command.confirm_key_generate_time)
            try:
                qeu = await self.crypto.generate_ephemeral()
            except CbkeCryptoError as exc:
                return await self._terminate(TerminateStatus.NO_RESOURCES, f"ephemeral key: {exc}", to_server=True)
            self._tsn = (self._tsn + 1) & 0xFF
            # state first: the answer may arrive while the frame is still being sent
            self.state = State.WAIT_EPHEMERAL_RESPONSE
            self.deadline = self.clock() + self._times.ephemeral + self.config.timeout_margin
            await self.send(KeFrame(True, self._tsn, EphemeralData(qeu)))
            return None
        if self.state is State.WAIT_EPHEMERAL_RESPONSE and isinstance(command, EphemeralData):
            assert self.partner_certificate is not None
            try:
                decode_point(command.public_key)
                self._smacs = await self.crypto.calculate_smacs(True, self.partner_certificate.raw, command.public_key)
            except (InvalidPoint, CbkeCryptoError) as exc:
                return await self._terminate(TerminateStatus.BAD_MESSAGE, f"partner ephemeral data (QEV): {exc}",
                                             to_server=True)
            self._tsn = (self._tsn + 1) & 0xFF
            # state first: the answer may arrive while the frame is still being sent
            self.state = State.WAIT_CONFIRM_RESPONSE
            self.deadline = self.clock() + self._times.confirm + self.config.timeout_margin
            await self.send(KeFrame(True, self._tsn, ConfirmKeyData(self._smacs.initiator_mac)))
            return None
        if self.state is State.WAIT_CONFIRM_RESPONSE and isinstance(command, ConfirmKeyData):
            assert self._smacs is not None
            if command.mac != self._smacs.responder_mac:
                return await self._terminate(TerminateStatus.BAD_KEY_CONFIRM,
                                             "MACV from the partner does not match ours", to_server=True)
            await self.crypto.finish(True)
            return self._finish(True, "key established")
        return await self._terminate(TerminateStatus.BAD_MESSAGE,
                                     f"unexpected {frame.name} while {self.state.value}", to_server=True)


@dataclass
class KeResponder(_Session):
    """The KE server (the trust centre / Comms Hub side), as V in the SE spec."""

    async def receive(self, data: bytes) -> KeOutcome | None:
        if self.done or self._is_duplicate(data):
            return None
        try:
            frame = decode_frame(data)
        except KeDecodeError as exc:
            if self.state is State.IDLE:
                self._started = self.clock()
            return await self._terminate(TerminateStatus.BAD_MESSAGE, str(exc), to_server=False)
        command = frame.command
        if not frame.to_server:
            return None
        self._tsn = frame.tsn  # responses echo the request's sequence number
        if isinstance(command, TerminateKeyEstablishment):
            outcome = self._received_terminate(command)
            await self.crypto.finish(False)
            return outcome
        if self.state is State.IDLE and isinstance(command, InitiateKeyEstablishment):
            self._started = self.clock()
            if not command.suite & SUITE_2:
                return await self._terminate(TerminateStatus.UNSUPPORTED_SUITE,
                                             f"partner offered suite 0x{command.suite:04X}, we support only suite 2",
                                             to_server=False)
            try:
                cert = await self._local_cert()
            except CbkeCryptoError as exc:
                return await self._terminate(TerminateStatus.NO_RESOURCES, f"no local certificate: {exc}",
                                             to_server=False)
            checked = self._check_certificate(command.identity)
            if not isinstance(checked, Certificate):
                return await self._terminate(*checked, to_server=False)
            self._times = _PartnerTimes(command.ephemeral_data_generate_time, command.confirm_key_generate_time)
            # state first: the answer may arrive while the frame is still being sent
            self.state = State.WAIT_EPHEMERAL_REQUEST
            self.deadline = self.clock() + self._times.ephemeral + self.config.timeout_margin
            await self.send(KeFrame(False, self._tsn, InitiateKeyEstablishment(
                SUITE_2, self.config.ephemeral_data_generate_time, self.config.confirm_key_generate_time, cert)))
            return None
        if self.state is State.WAIT_EPHEMERAL_REQUEST and isinstance(command, EphemeralData):
            assert self.partner_certificate is not None
            try:
                decode_point(command.public_key)
                qev = await self.crypto.generate_ephemeral()
                self._smacs = await self.crypto.calculate_smacs(False, self.partner_certificate.raw, command.public_key)
            except (InvalidPoint, CbkeCryptoError) as exc:
                return await self._terminate(TerminateStatus.BAD_MESSAGE, f"partner ephemeral data (QEU): {exc}",
                                             to_server=False)
            # state first: the answer may arrive while the frame is still being sent
            self.state = State.WAIT_CONFIRM_REQUEST
            self.deadline = self.clock() + self._times.confirm + self.config.timeout_margin
            await self.send(KeFrame(False, self._tsn, EphemeralData(qev)))
            return None
        if self.state is State.WAIT_CONFIRM_REQUEST and isinstance(command, ConfirmKeyData):
            assert self._smacs is not None
            if command.mac != self._smacs.initiator_mac:
                return await self._terminate(TerminateStatus.BAD_KEY_CONFIRM,
                                             "MACU from the partner does not match ours", to_server=False)
            await self.send(KeFrame(False, self._tsn, ConfirmKeyData(self._smacs.responder_mac)))
            await self.crypto.finish(True)
            return self._finish(True, "key established")
        return await self._terminate(TerminateStatus.BAD_MESSAGE,
                                     f"unexpected {frame.name} while {self.state.value}", to_server=False)


class EngineCrypto:
    """KeCrypto over an in-process CbkeEngine (the emulated meters' side)."""

    def __init__(self, engine: CbkeEngine) -> None:
        self.engine = engine
        self.stored: tuple[bytes, bytes] | None = None

    async def local_certificate(self) -> bytes:
        return self.engine.certificate

    async def generate_ephemeral(self) -> bytes:
        return self.engine.generate_ephemeral()

    async def calculate_smacs(self, am_initiator: bool, partner_certificate: bytes, partner_ephemeral: bytes) -> Smacs:
        return self.engine.calculate_smacs(am_initiator, partner_certificate, partner_ephemeral)

    async def finish(self, store_link_key: bool) -> None:
        self.stored = self.engine.clear_temporary_data(store_link_key)
