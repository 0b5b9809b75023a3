"""The topology-2 bench: the hub is the device under test, the harness's EZSP stick plays the ESME.

    suppliers --DUIS (DuisLink)--> DCC --SM WAN (WanLink: cut/restore)--> Comms Hub under test
                                                                               |  HAN: coordinator + trust centre
                                                        MeterStick (raw EZSP) joins as a router with the key from
                                                        ITS install code, serves endpoint 1 (Basic, Metering)

* Emulated hub (rigs/hub-dut-emulated.yaml, CI): the DCC is the emulated one (harness/smets/dcc.py), the hub is the
  CHF model (harness/smets/hub.py) behind an EmulatedWan, and its HAN is an `EmulatedCommsHub` node on the simulated
  medium whose join decisions are the CHF Device Log's (harness/smets/hub_han.py). The stick is the emulated NCP's
  joining side, driven by unmodified bellows over a pty or tcp://. The radio is captured to capture.pcap with a key
  table holding only the stick's install-code link key.
* Real hub (a `hub: real` rig): SRVs go to the DCC test system over DUIS/HTTP (`DuisHttpLink`), the WAN is cut by
  an operator or a power switch (`WanLink`), the stick is a real EZSP stick. The harness cannot see inside the DCC
  or the hub, so scenarios assert on DUIS response codes and on what the stick sees on air; the domain assertions
  (SMI status, 0x8F12 at the DCC, the hub's decision log) run only where the DCC and hub are emulated
  (`bench.dcc is not None`).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from dataclasses import dataclass, field
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from harness.bench.bench import (
    GAINING,
    INSTALLING,
    MPAN,
)
from harness.bench.frame_log import BENCH_LOGGERS
from harness.dcc_keystore import bench_keystore, dcc_signatures
from harness.drivers.meter_stick import MeterStick, StickJoin
from harness.drivers.operator import ConsoleOperator, Operator, ScriptedOperator
from harness.drivers.power import CommandPowerSwitch
from harness.drivers.wan import (
    DuisHttpLink,
    DuisLink,
    DuisReply,
    EmulatedDuisLink,
    EmulatedHubWan,
    OperatorWan,
    PowerSwitchWan,
    WanLink,
)
from harness.errors import JoinTimeout, RigError
from harness.evidence.bundle import EZSP_LOG, PCAP, EvidenceBundle
from harness.evidence.redaction import RedactingFormatter, redact_log_text
from harness.rig import Rig
from harness.smets.clock import VirtualClock
from harness.smets.dcc import Dcc
from harness.smets.device_log import ChfDeviceLog, install_code_link_key
from harness.smets.duis import CommissionDevice, Keystore, Request, SignatureInvalid
from harness.smets.hub import CommsHub
from harness.smets.hub_han import ChfJoinAuthority
from harness.smets.identities import DeviceType, Eui64, Party
from harness.smets.install_codes import InstallCodeStore
from harness.smets.registration import Registration
from harness.smets.smi import SmartMeteringInventory, SmiStatus
from harness.smets.wan import EmulatedWan
from harness.zigbee.installcode import derive_link_key

__all__ = ["HubDutBench", "StickMeter", "DutSupplier"]

LOGGER = logging.getLogger(__name__)

STICK_LOGGERS = (*BENCH_LOGGERS, "harness.drivers.meter_stick")
DEFAULT_JOIN_TIME_PERIOD = 90  # RTDS sample value, as bench/supplier.py


@dataclass
class StickMeter:
    """The meter the stick plays: identity from the rig, the code the manufacturer's delivery file gives."""

    role: str
    eui64: Eui64
    device_type: DeviceType
    mpxn: str
    install_code: bytes = field(repr=False)  # a secret
    link_key: bytes = field(repr=False)


class DutSupplier:
    """A DCC User on the topology-2 bench: its own install-code store; DUIS requests go through the DuisLink,
    signed with this User's key from the keystore; the answer's signature is checked and noted on the timeline."""

    def __init__(self, party: Party, link: DuisLink, evidence: EvidenceBundle, counter: Any,
                 now: Callable[[], datetime], *, keystore: Keystore | None = None) -> None:
        self.party = party
        self._now = now  # the sender's clock for time-stamped bodies (8.1.1 CurrentDateTime)
        self.store = InstallCodeStore(party)
        self._link = link
        self._evidence = evidence
        self._counter = counter
        self._keystore = keystore if keystore is not None else bench_keystore()
        self.signer = self._keystore.signer_for(party.user_id)
        self.replies: list[DuisReply] = []

    @property
    def name(self) -> str:
        return self.party.name

    async def send(self, body: Any, target: Eui64, *, command_variant: int | None = None) -> DuisReply:
        if isinstance(body, CommissionDevice):
            body = body.at(self._now())
        request = Request.build(body, originator=self.party.user_id, target=target, counter=self._counter(),
                                command_variant=command_variant)
        self._evidence.timeline.record("srv.request", supplier=self.name, srv=request.srv,
                                       request_id=str(request.request_id), summary=request.summary(),
                                       via=self._link.name, signed_by=self.signer.cert.name)
        reply = await self._link.submit(request.to_xml(self.signer), self.party)
        self.replies.append(reply)
        self._evidence.timeline.record("srv.response", supplier=self.name, srv=reply.srv,
                                       request_id=reply.request_id, code=reply.code,
                                       signature=self._signature_of(reply.xml))
        return reply

    def _signature_of(self, xml: str) -> str:
        """What the answer's XML-DSig says: 'valid (signer)', 'unsigned' (DUIS allows it) or 'invalid: why'."""
        try:
            return f"valid ({self._keystore.verifier().verify(xml).signer.name})"
        except SignatureInvalid as exc:
            return "unsigned" if exc.reason == "missing" else f"invalid: {exc}"


class HubDutBench:
    """Build with `await HubDutBench.start(rig, evidence)`; always `await bench.stop()` (the fixture does)."""

    topology = "hub-under-test"

    def __init__(self, rig: Rig, evidence: EvidenceBundle) -> None:
        if not rig.hub.under_test:
            raise RigError(f"{rig.path}: hub.kind is {rig.hub.kind!r}; the hub-under-test bench needs emulated or real")
        self.rig = rig
        self.evidence = evidence
        self.clock = VirtualClock()
        evidence.timeline.bind_clock(self.clock.now)
        self.chf = Eui64.parse(rig.hub.eui64)
        role, spec = next((r, d) for r, d in rig.devices.items() if d.kind == "stick")
        code = rig.install_code(role)
        self.meter = StickMeter(role, Eui64.parse(spec.eui64), DeviceType.ESME, MPAN, code.code,
                                bytes(code.link_key()))
        self.operator: Operator = ScriptedOperator() if rig.is_emulated else ConsoleOperator()
        counter = itertools.count(2000).__next__
        # Emulated hub: the whole domain is here. Real hub: only the link to the DCC test system.
        self.smi: SmartMeteringInventory | None = None
        self.registration: Registration | None = None
        self.hub: CommsHub | None = None
        self.authority: ChfJoinAuthority | None = None
        self.emulated_wan: EmulatedWan | None = None
        self.dcc: Dcc | None = None
        self.hub_node: Any = None  # harness.emulation.comms_hub.EmulatedCommsHub
        # DUIS is signed: the DCC Boxed test keystore when installed (what a DCC Boxed test system trusts), else a
        # per-run test CA that only the emulated DCC trusts (docs/duis-and-dcc.md "Signing").
        self.keystore = bench_keystore()
        evidence.record.provenance["duis_keystore"] = self.keystore.source
        self.ncp: Any = None
        self.medium: Any = None
        self.sniffer: Any = None
        if rig.hub.kind == "emulated":
            self._emulated_domain()
            assert self.dcc is not None
            link: DuisLink = EmulatedDuisLink(self.dcc)
            self.wan: WanLink = EmulatedHubWan(self.emulated_wan, self.chf)
        else:
            link = self._dcc_test_system()
            self.wan = self._real_wan()
        # A real hub and DCC test system keep real time, so their senders stamp 8.1.1 with the wall clock; the
        # emulated domain runs on the bench's virtual clock.
        now = self.clock.now if rig.hub.kind == "emulated" else (lambda: datetime.now(timezone.utc))
        self.installing_supplier = DutSupplier(INSTALLING, link, evidence, counter, now, keystore=self.keystore)
        self.gaining_supplier = DutSupplier(GAINING, link, evidence, counter, now, keystore=self.keystore)
        self.installing_supplier.store.put(self.meter.eui64, self.meter.install_code, "manufacturer delivery file")
        self.stick: MeterStick | None = None
        self._stack = contextlib.AsyncExitStack()
        self._log_handler: logging.Handler | None = None
        self._log_levels: dict[str, int] = {}

    # -- construction --------------------------------------------------------------------------------------

    def _emulated_domain(self) -> None:
        clock = self.clock
        self.smi = SmartMeteringInventory(clock)
        self.registration = Registration(clock)
        self.hub = CommsHub(clock, self.chf, device_log=ChfDeviceLog(
            clock, derive_link_key=install_code_link_key(self.rig.install_code_crc_mode)))
        self.authority = ChfJoinAuthority(self.hub, clock)
        self.emulated_wan = EmulatedWan(clock)
        self.emulated_wan.attach(self.hub, up=True)
        self.dcc = Dcc(clock, self.smi, self.registration, self.hub, self.emulated_wan,
                       signatures=dcc_signatures(self.keystore))
        self.smi.add_device(self.chf, DeviceType.CHF)
        self.registration.register(MPAN, INSTALLING, clock.now())
        self.smi.add_device(self.meter.eui64, self.meter.device_type, mpxn=None)
        self.registration.associate(self.meter.eui64, MPAN)
        t = self.evidence.timeline
        self.hub.alert_observers.append(lambda a: t.record(
            "alert", code=f"0x{a.code:04X}", name=a.name, cause=str(a.cause),
            device=a.device.dcc if a.device else None))
        self.emulated_wan.add_state_listener(
            lambda chf, up, at: t.record("wan", chf=chf.dcc, state="up" if up else "down"))

    def _dcc_test_system(self) -> DuisHttpLink:
        spec = self.rig.hub.dcc
        assert spec is not None
        headers = {}
        if spec.api_key_env:
            key = os.environ.get(spec.api_key_env)
            if key is None:
                raise RigError(f"{self.rig.path}: hub.dcc.api_key_env: environment variable {spec.api_key_env} "
                               "is not set")
            headers[spec.api_key_header] = key
        return DuisHttpLink(spec.url, timeout=spec.timeout, headers=headers)

    def _real_wan(self) -> WanLink:
        spec = self.rig.hub.wan_link
        assert spec is not None
        if spec.kind == "power":
            assert spec.on and spec.off
            return PowerSwitchWan(CommandPowerSwitch(spec.on, spec.off), settle=spec.settle)
        kwargs = {k: v for k, v in (("cut", spec.cut), ("restore", spec.restore)) if v}
        return OperatorWan(self.operator, timeout=self.rig.timeout("join"), **kwargs)

    # -- start / stop --------------------------------------------------------------------------------------

    @classmethod
    async def start(cls, rig: Rig, evidence: EvidenceBundle) -> HubDutBench:
        bench = cls(rig, evidence)
        try:
            await bench._open_stick()
        except BaseException:
            await bench.stop(check_emulator=False)
            raise
        return bench

    async def _open_stick(self) -> None:
        self._log_handler = logging.FileHandler(self.evidence.attach("ezsp_log", EZSP_LOG))
        self._log_handler.setFormatter(RedactingFormatter("%(asctime)s %(name)s %(message)s",
                                                          reveal=self.evidence.reveal_secrets))
        for name in STICK_LOGGERS:
            logger = logging.getLogger(name)
            self._log_levels[name] = logger.level
            logger.addHandler(self._log_handler)
            logger.setLevel(logging.DEBUG)
        c = self.rig.coordinator
        if self.rig.hub.kind == "emulated":
            url = await self._start_emulated_radio()
            self.stick = MeterStick(url, self.meter.link_key, channels=(11, 15, 20, 25), scan_duration=1,
                                    timeout=self.rig.timeout("connect"))
        else:
            assert c.port is not None
            self.stick = MeterStick(c.port.url, self.meter.link_key, baudrate=c.port.baudrate,
                                    flow_control=c.port.flow_control, timeout=self.rig.timeout("connect"))
        await self.stick.connect()
        stick_eui = Eui64.parse(self.stick.eui64)
        if stick_eui != self.meter.eui64:
            raise RigError(f"{self.rig.path}: devices.{self.meter.role}.eui64 is {self.meter.eui64.dcc} but the "
                           f"stick on {self.stick.port} is {stick_eui.dcc}")
        self.evidence.record.provenance["stick"] = {**self.stick.info(), "port": self.stick.port if c.kind == "serial"
                                                    else f"emulated ({c.transport})"}
        self.evidence.record.provenance["hub"] = {"kind": self.rig.hub.kind, "chf": self.chf.dcc,
                                                  "firmware": self.rig.hub.firmware, "wan": self.wan.name}
        self.evidence.timeline.record("stick.up", **self.evidence.record.provenance["stick"])

    async def _start_emulated_radio(self) -> str:
        from harness.emulation.comms_hub import EmulatedCommsHub
        from harness.emulation.medium import Medium, PcapSniffer
        from harness.emulation.ncp.joining import EmulatedJoinerStack
        from harness.emulation.ncp.ncp import EmulatedNcp
        from harness.emulation.ncp.transport import serve_ncp

        assert self.authority is not None
        self.medium = Medium()
        self.sniffer = PcapSniffer(self.medium, self.evidence.attach("pcap", PCAP),
                                   [(self.meter.link_key, f"stick ESME {self.meter.eui64.dcc} install-code link key")])
        self._stack.callback(self.sniffer.close)
        self.hub_node = EmulatedCommsHub(self.medium, self.chf.to_zigpy(), self.authority,
                                         channel=self.rig.hub.channel)
        self.authority.leave_requesters.append(lambda eui: self.hub_node.request_leave(eui.to_zigpy()))
        t = self.evidence.timeline
        self.hub_node.on_decision.append(lambda d: t.record("hub.decision", device=Eui64.parse(d.eui64).dcc,
                                                            outcome=d.outcome, reason=d.reason))
        self.hub_node.power_on()
        self._stack.push_async_callback(self.hub_node.power_off)
        c = self.rig.coordinator
        self.ncp = EmulatedNcp(c.ezsp_version, eui64=self.meter.eui64.to_zigpy(), strict=c.strict,
                               stack=EmulatedJoinerStack(self.medium))
        return str(await self._stack.enter_async_context(serve_ncp(self.ncp, c.transport)))

    async def stop(self, *, check_emulator: bool = True) -> None:
        try:
            if self.stick is not None:
                await self.stick.close()
            await self._stack.aclose()
        finally:
            self._write_ncp_log()
            if self._log_handler is not None:
                for name in STICK_LOGGERS:
                    logger = logging.getLogger(name)
                    logger.removeHandler(self._log_handler)
                    logger.setLevel(self._log_levels.get(name, logging.NOTSET))
                self._log_handler.close()
        if check_emulator:
            if self.ncp is not None and self.rig.coordinator.strict:
                self.ncp.check()
            if self.medium is not None and self.medium.node_errors:
                raise RigError(f"emulated radio: nodes failed while receiving: {self.medium.node_errors}")
            if self.authority is not None and self.authority.join_errors:
                raise RigError(f"the CHF refused joins the hub node completed: {self.authority.join_errors}")

    def _write_ncp_log(self) -> None:
        if self.ncp is None:
            return
        path = self.evidence.attach("ncp_command_log", "ncp-commands.log")
        with path.open("w") as out:
            for entry in [*map(str, self.ncp.command_log), *self.ncp.join_log]:
                out.write(f"{entry if self.evidence.reveal_secrets else redact_log_text(entry)}\n")

    # -- what scenarios use --------------------------------------------------------------------------------

    def device(self, role: str) -> StickMeter:
        if role != self.meter.role:
            raise RigError(f"{self.rig.path}: this scenario needs a {role}; the stick plays the {self.meter.role}")
        return self.meter

    def supplier_for(self, device: StickMeter, *, gaining: bool = False) -> DutSupplier:
        return self.gaining_supplier if gaining else self.installing_supplier

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0) -> None:
        target = self.clock.now() + timedelta(days=days, hours=hours, minutes=minutes)
        self.evidence.timeline.record("clock.advance", to=target.isoformat(), days=days, hours=hours, minutes=minutes)
        self.clock.advance_to(target)

    def status(self, device: StickMeter) -> SmiStatus | None:
        return self.smi.status(device.eui64) if self.smi is not None else None

    async def cut_wan(self) -> None:
        self.evidence.timeline.record("wan.cut", via=self.wan.name)
        await self.wan.cut()

    async def restore_wan(self) -> None:
        self.evidence.timeline.record("wan.restore", via=self.wan.name)
        await self.wan.restore()

    async def join(self, device: StickMeter, *, timeout: float | None = None) -> StickJoin:
        """The stick tries to join the hub's HAN until it does (JoinTimeout otherwise)."""
        assert self.stick is not None
        joined = await self.stick.join(self.rig.timeout("join") if timeout is None else timeout)
        self.evidence.timeline.record("han.join", device=device.eui64.dcc, nwk=f"0x{joined.nwk:04X}",
                                      pan_id=f"0x{joined.pan_id:04X}", channel=joined.channel,
                                      attempts=joined.attempts, latency_s=round(joined.latency_s, 3))
        self.evidence.record.measure(f"join_latency.{device.eui64.dcc}", joined.latency_s, "s")
        return joined

    async def expect_refused(self, device: StickMeter, *, within: float) -> str:
        """The stick must not get onto the hub's HAN within `within` s; returns why, from the hub if emulated."""
        assert self.stick is not None
        try:
            await self.stick.join(within)
        except JoinTimeout as exc:
            reason = self.hub_refusal(device) or str(exc)
            self.evidence.timeline.record("han.no_join", device=device.eui64.dcc, reason=reason)
            return reason
        raise AssertionError(f"the stick ({device.eui64.dcc}) joined the hub's HAN, but it should not have")

    def hub_refusal(self, device: StickMeter) -> str | None:
        """The emulated hub's last word on this device (its decision log), if it has one."""
        if self.hub_node is None:
            return None
        decisions = [d for d in self.hub_node.decisions_for(device.eui64.to_zigpy())
                     if d.outcome in ("denied", "no-annce")]
        return f"{decisions[-1].outcome}: {decisions[-1].reason}" if decisions else None

    async def wait_left(self, device: StickMeter, *, timeout: float | None = None) -> None:
        assert self.stick is not None
        await self.stick.wait_left(self.rig.timeout("join") if timeout is None else timeout)
        self.evidence.timeline.record("han.left", device=device.eui64.dcc)

    async def read_metering(self, device: StickMeter) -> dict[int, Any]:
        """The emulated hub reads the stick's Metering cluster over the HAN (a real hub is read by its DCC)."""
        if self.hub_node is None:
            raise RigError("reading the meter from the hub needs an emulated hub")
        values = await self.hub_node.read_attributes(device.eui64.to_zigpy(), 0x0702, [0x0000])
        self.evidence.timeline.record("zcl.read", device=device.eui64.dcc, cluster="Metering",
                                      values={str(k): str(v) for k, v in values.items()})
        return values

    def wrong_code_for(self, device: StickMeter) -> bytes:
        """A different install code (one bit off, CRC mode kept valid): what a mistyped delivery file holds."""
        wrong = bytearray(device.install_code)
        wrong[0] ^= 0x01
        derive_link_key(bytes(wrong), self.rig.install_code_crc_mode)  # a well-formed code, just not this device's
        return bytes(wrong)
