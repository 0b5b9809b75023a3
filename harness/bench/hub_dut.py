"""The topology-2 bench: the hub is the device under test, the harness's EZSP stick plays the ESME.

    suppliers --DUIS (DuisLink)--> DCC --SM WAN (WanLink: cut/restore)--> Comms Hub under test
                                                                               |  HAN: coordinator + trust centre
                                                        MeterStick (raw EZSP) joins as a router with the key from
                                                        ITS install code, serves endpoint 1 (Basic, Metering)

* Emulated hub (rigs/hub-dut-emulated.yaml, CI): the DCC is the emulated one (harness/smets/dcc.py), the hub is the
  CHF model (harness/smets/hub.py) behind an EmulatedWan, and its HAN is an `EmulatedCommsHub` node on the simulated
  medium whose join decisions are the CHF Device Log's (harness/smets/hub_han.py). The stick is the emulated NCP's
  joining side, driven by unmodified bellows over a pty or tcp://. The radio is captured to capture.pcap with a key
  table holding the stick's install-code link key and, once CBKE ran, the key it established.
* CBKE (hub.cbke, on by default for an emulated hub): a test CA generated per bench issues the hub's suite-2
  certificate (its KE server, harness/emulation/hub_cbke.py) and the stick's (installed in the emulated NCP as a
  factory would); the stick runs the KE client through its own EZSP CBKE commands (meter_stick_cbke.py). A join
  counts once CBKE succeeded, and the CHF records the hash of the CBKE key; a failed CBKE makes the hub ask the
  stick to leave (decision cbke-failed). docs/hub-dut.md.
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
from harness.drivers.ezsp_config import not_in_force
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
from harness.smets.duis import CommissionDevice, Keystore, Request, RequestId, SignatureInvalid
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
    """A DCC User on the topology-2 bench: its own install-code store; DUIS requests go through the DuisLink.

    `send` returns the synchronous answer (I99 for a device SRV); `outcome` reads the device's response the DCC
    delivered later (None while none has arrived, or where the link cannot see deliveries: `observes_responses`);
    `send_critical` runs the CV 4 -> CV 5 round trip (Pre-Command, then the signed pre-command, same RequestID).

    Requests are signed with this User's key from the keystore; each answer's signature is checked and noted on
    the timeline.
    """

    def __init__(self, party: Party, link: DuisLink, evidence: EvidenceBundle, counter: Any,
                 now: Callable[[], datetime], *, keystore: Keystore | None = None) -> None:
        self.party = party
        self._now = now  # the sender's clock for time-stamped bodies (8.1.1 CurrentDateTime)
        self.store = InstallCodeStore(party)
        self._link = link
        self._evidence = evidence
        self._counter = counter
        self.replies: list[DuisReply] = []  # every answer received: synchronous and delivered
        self._delivered: dict[str, DuisReply] = {}
        self.observes_responses = True  # False once the link said it cannot collect deliveries
        self._keystore = keystore if keystore is not None else bench_keystore()
        self.signer = self._keystore.signer_for(party.user_id)

    @property
    def name(self) -> str:
        return self.party.name

    async def outcome(self, reply: DuisReply) -> DuisReply | None:
        """The final answer to `reply`'s request: `reply` unless it is an I99; then the delivered response, or None."""
        if reply.code != "I99":
            return reply
        delivered = await self._link.collect(self.party)
        if delivered is None:
            self.observes_responses = False
            return None
        for response in delivered:
            self._delivered[response.request_id] = response
            self.replies.append(response)
            self._evidence.timeline.record("srv.response", supplier=self.name, srv=response.srv,
                                           request_id=response.request_id, code=response.code, delivered=True,
                                           signature=self._signature_of(response.xml))
        return self._delivered.get(reply.request_id)

    async def send_critical(self, body: Any, target: Eui64) -> DuisReply:
        """CV 4: the DCC answers with a Pre-Command and nothing reaches the device; CV 5 sends it back signed under
        the same RequestID (GBCS signing is a non-goal: as issued). The CV 5 answer, or the CV 4 refusal."""
        pre = await self.send(body, target, command_variant=4)
        if pre.code != "I0" or pre.pre_command is None:
            return pre
        signed = Request.signed(RequestId.parse(pre.request_id), pre.srv, pre.pre_command)
        return await self._submit(signed)

    async def send(self, body: Any, target: Eui64, *, command_variant: int | None = None) -> DuisReply:
        if isinstance(body, CommissionDevice):
            body = body.at(self._now())
        request = Request.build(body, originator=self.party.user_id, target=target, counter=self._counter(),
                                command_variant=command_variant)
        return await self._submit(request)

    async def _submit(self, request: Request) -> DuisReply:
        self._evidence.timeline.record("srv.request", supplier=self.name, srv=request.srv,
                                       request_id=str(request.request_id), summary=request.summary(),
                                       command_variant=request.command_variant, via=self._link.name,
                                       signed_by=self.signer.cert.name)
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

    def __init__(self, rig: Rig, evidence: EvidenceBundle, *, stick_cbke_issuer: Any = None) -> None:
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
        # CBKE (emulated hub only): the bench's test CA; `stick_cbke_issuer` (tests) issues the stick's certificate
        # instead, e.g. a CA the hub does not know
        self.cbke_enabled = rig.hub.kind == "emulated" and rig.hub.cbke
        self.cbke_ca: Any = None  # harness.zigbee.cbke.certificate.CertificateAuthority
        self._stick_cbke_issuer = stick_cbke_issuer
        self.hub_cbke: Any = None  # harness.emulation.hub_cbke.HubKeyEstablishment
        self.stick_cbke: Any = None  # harness.drivers.meter_stick_cbke.StickKeyEstablishment
        self._stick_certificate: Any = None
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
        # The meter's MPxN reaches the SMI through the 8.11 ImportMPxN, as with a real DCC: not patched in here.
        self.smi.add_device(self.meter.eui64, self.meter.device_type, mpxn=None)
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
    async def start(cls, rig: Rig, evidence: EvidenceBundle, *, stick_cbke_issuer: Any = None) -> HubDutBench:
        bench = cls(rig, evidence, stick_cbke_issuer=stick_cbke_issuer)
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
            if self.cbke_enabled:
                from harness.drivers.meter_stick_cbke import StickKeyEstablishment

                self.stick_cbke = StickKeyEstablishment(timeout=self.rig.timeout("cbke"))
            self.stick = MeterStick(url, self.meter.link_key, channels=(11, 15, 20, 25), scan_duration=1,
                                    timeout=self.rig.timeout("connect"), key_establishment=self.stick_cbke,
                                    ezsp_config=c.ezsp_config_overrides)
        else:
            assert c.port is not None
            self.stick = MeterStick(c.port.url, self.meter.link_key, baudrate=c.port.baudrate,
                                    flow_control=c.port.flow_control, timeout=self.rig.timeout("connect"),
                                    ezsp_config=c.ezsp_config_overrides)
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
        for problem in not_in_force(self.stick.ezsp_config_report):
            LOGGER.warning("coordinator.ezsp_config not in force on the stick: %s", problem)
            self.evidence.timeline.record("stick.ezsp_config_not_in_force", detail=problem)
        if self.hub_cbke is not None:
            stick_cert = self._stick_certificate
            self.evidence.timeline.record("cbke.enabled", suite=2, hub_issuer=self.hub_cbke.certificate.issuer_hex,
                                          hub_subject=self.hub_cbke.certificate.subject_hex,
                                          stick_issuer=stick_cert.issuer_hex, stick_subject=stick_cert.subject_hex)

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
        if self.cbke_enabled:
            self._cbke_credentials()
        self.hub_node = EmulatedCommsHub(self.medium, self.chf.to_zigpy(), self.authority,
                                         channel=self.rig.hub.channel, key_establishment=self.hub_cbke)
        self.authority.leave_requesters.append(lambda eui: self.hub_node.request_leave(eui.to_zigpy()))
        t = self.evidence.timeline
        self.hub_node.on_decision.append(lambda d: t.record("hub.decision", device=Eui64.parse(d.eui64).dcc,
                                                            outcome=d.outcome, reason=d.reason))
        self.hub_node.power_on()
        self._stack.push_async_callback(self.hub_node.power_off)
        c = self.rig.coordinator
        self.ncp = EmulatedNcp(c.ezsp_version, eui64=self.meter.eui64.to_zigpy(), strict=c.strict,
                               stack=EmulatedJoinerStack(self.medium))
        if self.cbke_enabled:  # what a factory does to a real stick: burn its suite-2 CBKE data
            issuer = self._stick_cbke_issuer or self.cbke_ca
            credentials = issuer.issue(bytes(self.meter.eui64.to_zigpy())[::-1], valid_from=0)
            self.ncp.install_cbke_data(credentials)
            from harness.zigbee.cbke.certificate import parse_certificate

            self._stick_certificate = parse_certificate(credentials.certificate)
        return str(await self._stack.enter_async_context(serve_ncp(self.ncp, c.transport)))

    def _cbke_credentials(self) -> None:
        """The bench's test CA and the hub's KE server with its own certificate (subject: the CHF's EUI-64)."""
        from harness.emulation.hub_cbke import HubKeyEstablishment
        from harness.zigbee.cbke import curve
        from harness.zigbee.cbke.certificate import CertificateAuthority

        self.cbke_ca = CertificateAuthority.generate()
        self.evidence.record.provenance["cbke_ca"] = {"issuer": self.cbke_ca.issuer.hex().upper(),
                                                      "public_key": self.cbke_ca.public_key.hex().upper(),
                                                      "curve_backend": curve.backend_name()}
        hub_credentials = self.cbke_ca.issue(bytes(self.chf.to_zigpy())[::-1], valid_from=0)
        # the emulated hub checks certificate validity on its own (virtual) clock, as the CHF model keeps time
        self.hub_cbke = HubKeyEstablishment(hub_credentials, timeout=self.rig.timeout("cbke"),
                                            unix_time=lambda: self.clock.now().timestamp())
        self.hub_cbke.on_result.append(self._on_hub_cbke)
        self._stack.push_async_callback(self.hub_cbke.close)

    def _on_hub_cbke(self, result: Any) -> None:
        """The hub's KE server finished with a joiner: timeline, duration, and the key for the pcap key table."""
        device = Eui64.parse(result.eui64).dcc
        outcome = result.outcome
        cert = outcome.partner_certificate
        self.evidence.timeline.record(
            "han.cbke", device=device, suite=2, success=outcome.success, reason=outcome.reason,
            status=outcome.status.name if outcome.status is not None else None,
            issuer=cert.issuer_hex if cert is not None else None, subject=cert.subject_hex if cert is not None else None,
            duration_s=round(outcome.duration, 3))
        if outcome.success:
            self.evidence.record.measure(f"cbke_duration.{device}", outcome.duration, "s")
            if result.link_key is not None and self.sniffer is not None:
                self.sniffer.add_key(result.link_key, f"stick ESME {device} CBKE TC link key")

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
        cbke = {}
        if self.stick_cbke is not None and self.stick_cbke.last is not None:  # the stick's view of its CBKE
            cbke = {"cbke_s": round(self.stick_cbke.last.outcome.duration, 3)}
        self.evidence.timeline.record("han.join", device=device.eui64.dcc, nwk=f"0x{joined.nwk:04X}",
                                      pan_id=f"0x{joined.pan_id:04X}", channel=joined.channel,
                                      attempts=joined.attempts, latency_s=round(joined.latency_s, 3), **cbke)
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
                     if d.outcome in ("denied", "no-annce", "cbke-failed")]
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
