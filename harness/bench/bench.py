"""The bench: a rig's roles wired together, topology 1 (harness as hub, devices under test are meters).

    DCC (emulated) --WAN (emulated, cut/restore)--> CHF model (harness) --HanLink--> Coordinator (EZSP)
                                                                                     |  real stick, or the
    suppliers (installing, gaining) send DUIS requests to the DCC                   |  emulated NCP + HAN
                                                                                     v
                                                                           meters: emulated, or real ones
                                                                           an operator powers and presses

The domain runs on a virtual clock (90 days pass in a call); the radio runs in real time. Everything that happens
goes on the test's evidence timeline.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import zigpy.types as zt

from harness.bench.duis_evidence import observe_alerts
from harness.bench.frame_log import FrameLog
from harness.bench.han_link import HanLink
from harness.bench.supplier import Supplier
from harness.coverage_file import load_coverage_db
from harness.dcc_keystore import bench_keystore, dcc_signatures
from harness.drivers.base import JoinedDevice
from harness.drivers.ezsp import EzspCoordinator
from harness.drivers.ezsp_config import ConfigReport, not_in_force
from harness.bench import clean_state
from harness.bench.identity import identity_problems, network_config
from harness.drivers.operator import Operator, OperatorAction, RecordedOperator, ScriptedOperator, make_operator
from harness.drivers.operator import OperatorChannel
from harness.drivers.power import CommandPowerSwitch, ManualPowerSwitch, PowerSwitch
from harness.errors import JoinTimeout, RigError
from harness.evidence.bundle import EZSP_LOG, PCAP, EvidenceBundle
from harness.evidence.redaction import redact_log_text
from harness.rig import DeviceSpec, Rig
from harness.smets.clock import VirtualClock
from harness.smets.dcc import Dcc
from harness.smets.device_log import ChfDeviceLog, install_code_link_key
from harness.smets.hub import CommsHub
from harness.smets.identities import DeviceType, Eui64, Party, Role
from harness.smets.registration import Registration
from harness.smets.service_management import DccServiceDesk
from harness.smets.smi import SmartMeteringInventory, SmiStatus
from harness.smets.wan import EmulatedWan

# Roles in the rig file -> GBCS device types (domain.md §4.1) and the fuel whose MPxN they sit under.
LOGGER = logging.getLogger(__name__)
# ezsp.log: written as it goes; deferred (kept only if asked), EZSP level or with ASH lines; none
FRAME_LOG_MODES = ("on", "deferred", "deferred-ash", "off")
DEVICE_TYPES = {"esme": DeviceType.ESME, "gsme": DeviceType.GSME, "ihd": DeviceType.TYPE2, "ppmid": DeviceType.PPMID}
# Example MPxNs with valid check digits (identities.Mpan); a bench premises has one electricity and one gas supply.
MPAN = "1312345678118"
MPRN = "1234567890"

INSTALLING = Party("Installing supplier", Eui64.parse("90-B3-D5-1F-30-01-00-00"), Role.IS)
INSTALLING_GAS = Party("Installing supplier (gas)", Eui64.parse("90-B3-D5-1F-30-01-00-00"), Role.GS)
GAINING = Party("Gaining supplier", Eui64.parse("90-B3-D5-1F-30-03-00-00"), Role.IS)

# The SM WAN coverage database the emulated DCC answers SR 12.1 from (invented data; see the file's header).
COVERAGE_DB = Path(__file__).resolve().parents[1] / "fixtures" / "coverage_db.yaml"  # shipped in the package


@dataclass
class BenchDevice:
    """A device on the bench: its identity from the rig, and how the bench reaches it."""

    role: str
    spec: DeviceSpec
    eui64: Eui64
    device_type: DeviceType
    mpxn: str
    install_code: bytes  # the 16-byte code as the manufacturer's delivery file gives it (secret)
    power: PowerSwitch | None
    emulated: Any = None  # harness.emulation.devices.EmulatedDevice on an emulated rig

    def __repr__(self) -> str:
        return f"BenchDevice({self.role} {self.eui64.dcc})"


class _PlacePower:
    """A device's power switch in the coordinator's labgrid place, looked up when first used."""

    def __init__(self, bench: Bench, spec: DeviceSpec) -> None:
        self._bench, self._spec = bench, spec

    def _switch(self) -> PowerSwitch:
        if self._bench.place is None:
            raise RigError(f"{self._bench.rig.path}: devices.{self._spec.role}.power is a labgrid power port, but "
                           "the coordinator is not in a labgrid place (coordinator.kind: labgrid)")
        assert self._spec.power.resource is not None
        return self._bench.place.power_switch(self._spec.power.resource)

    async def on(self) -> None:
        await self._switch().on()

    async def off(self) -> None:
        await self._switch().off()


class Bench:
    """Build with `await Bench.start(rig, evidence)`; always `await bench.stop()` (the pytest fixture does)."""

    def __init__(self, rig: Rig, evidence: EvidenceBundle, *, operator: Operator | None = None) -> None:
        self.rig = rig
        self.evidence = evidence
        self.clock = VirtualClock()
        self.clock_started_at = self.clock.now()
        evidence.timeline.bind_clock(self.clock.now)
        self.chf = Eui64.parse(rig.hub.eui64)
        self.smi = SmartMeteringInventory(self.clock)
        self.registration = Registration(self.clock)
        self.hub = CommsHub(self.clock, self.chf, device_log=ChfDeviceLog(
            self.clock, derive_link_key=install_code_link_key(rig.install_code_crc_mode)))
        self.wan = EmulatedWan(self.clock)
        self.wan.attach(self.hub, up=True)
        self.coverage = load_coverage_db(COVERAGE_DB, clock=self.clock)
        # DUIS is signed end to end: suppliers sign with their keys, the DCC verifies and signs its answers.
        self.keystore = bench_keystore()
        evidence.record.provenance["duis_keystore"] = self.keystore.source
        self.dcc = Dcc(self.clock, self.smi, self.registration, self.hub, self.wan, coverage=self.coverage,
                       signatures=dcc_signatures(self.keystore))
        counter = itertools.count(1000).__next__
        self.installing_supplier = Supplier(INSTALLING, self.dcc, evidence, counters=counter, keystore=self.keystore)
        self.installing_gas_supplier = Supplier(INSTALLING_GAS, self.dcc, evidence, counters=counter,
                                                keystore=self.keystore)
        self.gaining_supplier = Supplier(GAINING, self.dcc, evidence, keystore=self.keystore)
        self.devices: dict[str, BenchDevice] = {}
        if operator is None:
            operator = ScriptedOperator() if rig.is_emulated else make_operator(OperatorChannel("auto"))
        self.operator: Operator = RecordedOperator(operator, evidence.timeline)  # prompts and answers on the timeline
        self.coordinator: EzspCoordinator | None = None
        self.han: Any = None  # EmulatedHan on an emulated rig
        self.ncp: Any = None
        self.cbke_ca: Any = None  # the per-run test CA (None with coordinator.cbke_credentials: se-test-vectors)
        self.link: HanLink | None = None
        self._stack = contextlib.AsyncExitStack()
        self._ncp_nv: Any = None
        self._run_cbke_ca: Any = None
        self.cbke_on = True
        self.place: Any = None  # harness.drivers.labgrid_place.LabgridPlace when the rig names one
        self.frame_log: FrameLog | None = None
        # The fleet keeps a premises' frame log only if it fails (or is sampled): see harness/bench/frame_log.py.
        self.frame_log_mode = "on"
        self.keep_frame_log = True
        self._observe()

    # -- start / stop --------------------------------------------------------------------------------------
    @classmethod
    async def start(cls, rig: Rig, evidence: EvidenceBundle, *, frame_log: str = "on", ncp_nv: Any = None,
                    operator: Operator | None = None, cbke_ca: Any = None, cbke: bool = True) -> Bench:
        """`frame_log`: "on" (ezsp.log written as it goes), "deferred" (formatted and written at stop only if
        `keep_frame_log`, without bellows.ash's line per ASH frame: EZSP commands, responses and bellows' messages,
        a quarter of the records), "deferred-ash" (deferred with the ASH lines), "off" (bellows' loggers stay
        quiet); the fleet's --frame-log choices are the deferred ones and off. `ncp_nv`: an emulated NCP's NvState
        to start from (a formed network: bellows then starts the network it finds, about 100 EZSP commands,
        instead of forming one, about 590; the fleet does this). `cbke_ca`: the run's CertificateAuthority when
        several benches make one run (the fleet), instead of a test CA generated for this bench. `cbke=False` (the
        fleet's `--cbke off`, emulated rigs only): no suite-2 data on the NCP or the meters, so no key
        establishment after the join; the timeline says so (`cbke.off`)."""
        if frame_log not in FRAME_LOG_MODES:
            raise ValueError(f"frame_log={frame_log!r} is not one of {', '.join(FRAME_LOG_MODES)}")
        bench = cls(rig, evidence, operator=operator)
        bench.frame_log_mode = frame_log
        bench._ncp_nv = ncp_nv
        bench._run_cbke_ca = cbke_ca
        bench.cbke_on = cbke or rig.coordinator.kind != "emulated"
        try:
            bench._premises()
            await bench._open_coordinator()
        except BaseException:
            await bench.stop(check_emulator=False)  # the start-up failure is the error to report
            raise
        return bench

    async def stop(self, *, check_emulator: bool = True) -> None:
        """Close everything. On an emulated rig, then fail if the emulator saw a problem the scenario could not:
        in strict mode an EZSP command with no handler or a handler that raised; a radio node that raised."""
        try:
            if self.link is not None:
                with contextlib.suppress(Exception):
                    await self.link.settle()
            if self.coordinator is not None:
                await self.coordinator.close()
            await self._stack.aclose()
        finally:
            self._write_ncp_log()
            if self.frame_log is not None:
                self.frame_log.close(keep=self.keep_frame_log)
        if check_emulator:
            self._check_emulator()

    def _check_emulator(self) -> None:
        if self.ncp is not None and self.rig.coordinator.strict:
            self.ncp.check()  # StrictModeError names the commands (also in ncp-commands.log)
        if self.han is not None and self.han.medium.node_errors:
            raise RigError(f"emulated radio: nodes failed while receiving: {self.han.medium.node_errors}")

    def _premises(self) -> None:
        """The SMI, registration and install-code delivery files of one premises, before anything is installed."""
        self.smi.add_device(self.chf, DeviceType.CHF)
        self.registration.register(MPAN, INSTALLING, self.clock.now())
        self.registration.register(MPRN, INSTALLING_GAS, self.clock.now())
        for role, spec in self.rig.devices.items():
            eui = Eui64.parse(spec.eui64)
            code = self.rig.install_code(role)
            device_type = DEVICE_TYPES[role]
            mpxn = MPRN if device_type is DeviceType.GSME else MPAN
            # Which MPxN the meter serves reaches the SMI through DUIS (8.11 ImportMPxN, 8.4 UpdateMPxN), not here.
            self.smi.add_device(eui, device_type, mpxn=None)
            device = BenchDevice(role, spec, eui, device_type, mpxn, code.code, self._power_for(spec))
            self.supplier_for(device).store.put(eui, code.code, "manufacturer delivery file")
            self.devices[role] = device

    def _power_for(self, spec: DeviceSpec) -> PowerSwitch | None:
        if spec.power.kind == "command":
            assert spec.power.on and spec.power.off
            return CommandPowerSwitch(spec.power.on, spec.power.off)
        if spec.power.kind == "manual":
            return ManualPowerSwitch(self.operator, spec.role.upper(), timeout=self.rig.timeout("operator"),
                                     role=spec.role, eui64=spec.eui64)
        if spec.power.kind == "labgrid":
            return _PlacePower(self, spec)  # resolved once the place is acquired
        return None

    async def _open_coordinator(self) -> None:
        # This bench's frames only, even with other benches in the same event loop (harness/bench/frame_log.py).
        if self.frame_log_mode != "off":
            self.frame_log = FrameLog.open(self.evidence.attach("ezsp_log", EZSP_LOG),
                                           reveal_secrets=self.evidence.reveal_secrets,
                                           deferred=self.frame_log_mode != "on",
                                           ash_frames=self.frame_log_mode in ("on", "deferred-ash"))

        c = self.rig.coordinator
        await self._start_sniffer()
        if c.kind == "emulated":
            url = await self._start_emulated_han()
            self.coordinator = EzspCoordinator(url, timeout=self.rig.timeout("connect"), channel=c.channel,
                                               ezsp_config=c.ezsp_config_overrides)
        elif c.kind == "labgrid":
            assert c.labgrid is not None
            from harness.drivers.labgrid_place import LabgridPlace

            self.place = LabgridPlace(c.labgrid.place, c.labgrid.coordinator, timeout=self.rig.timeout("connect"))
            await self.place.acquire()
            self._stack.push_async_callback(self.place.release)  # released at stop, also after a crash
            url = self.place.serial_url()
            self.evidence.timeline.record("labgrid.acquired", place=c.labgrid.place,
                                          coordinator=self.place.coordinator, port=url)
            self.coordinator = EzspCoordinator(url, baudrate=c.labgrid.baudrate, flow_control=c.labgrid.flow_control,
                                               timeout=self.rig.timeout("connect"),
                                               ezsp_config=c.ezsp_config_overrides)
        else:
            assert c.port is not None
            self.coordinator = EzspCoordinator(c.port.url, baudrate=c.port.baudrate,
                                               flow_control=c.port.flow_control,
                                               timeout=self.rig.timeout("connect"),
                                               ezsp_config=c.ezsp_config_overrides)
        self.coordinator.config.setdefault("network", {}).update(network_config(self.rig))
        await self.coordinator.connect()
        await self.coordinator.form()
        await self._enable_cbke()
        await self._known_state()
        self._sniffer_keys = self._capture_keys()
        ezsp_config = await self._ezsp_config_in_force()
        info = self.coordinator.info()
        self.evidence.record.provenance["coordinator"] = {
            "port": self.coordinator.port if c.kind != "emulated" else f"emulated ({c.transport})",
            **({"labgrid_place": c.labgrid.place} if c.labgrid is not None else {}),
            "ezsp_protocol_version": info.protocol_version, "stack_version": info.stack_version,
            "eui64": str(info.eui64), "channel": info.channel, "pan_id": f"0x{info.pan_id:04X}",
            **({"ezsp_config": ezsp_config} if ezsp_config else {}),
        }
        self.evidence.record.provenance["devices"] = {
            role: {"eui64": d.eui64.dcc, "kind": d.spec.kind, "firmware": d.spec.firmware,
                   "install_code_source": d.spec.install_code.describe()} for role, d in self.devices.items()}
        self.evidence.timeline.record("coordinator.up", **self.evidence.record.provenance["coordinator"])
        self.link = HanLink(self.hub, self.coordinator, self.evidence, self.clock, on_permit=self._prompt_operator,
                            cbke_timeout=self.rig.timeout("cbke"))
        if self.han is not None:
            self.han.start()  # emulated meters power on and scan; they join only once permitted with their key

    async def _ezsp_config_in_force(self) -> ConfigReport:
        """The rig's coordinator.ezsp_config read back from the NCP: recorded, and a value not in force is a warning
        in the log and the timeline (bellows itself only logs the refusal at DEBUG)."""
        requested = self.rig.coordinator.ezsp_config_overrides
        if not requested:
            return {}
        assert self.coordinator is not None
        report = await self.coordinator.ezsp_config_in_force(requested)
        for problem in not_in_force(report):
            LOGGER.warning("coordinator.ezsp_config not in force: %s", problem)
            self.evidence.timeline.record("coordinator.ezsp_config_not_in_force", detail=problem)
        return report

    async def _enable_cbke(self) -> None:
        """The KE server on the SE endpoint: always on the emulated NCP (a per-bench CA issued its data); on a real
        stick only when it holds suite-2 CBKE data (`rig check` says whether it does, and who issued it)."""
        assert self.coordinator is not None
        if not self.cbke_on:
            self.evidence.timeline.record("cbke.off", suite=2, reason="asked for (fleet --cbke off)")
            return
        if self.rig.coordinator.kind != "emulated":
            data = await self.coordinator.stick_cbke()
            self.evidence.record.provenance["coordinator_cbke"] = {
                "present": data.present, "reason": data.reason, "issuer": data.issuer, "subject": data.subject}
            if not data.present:
                self.evidence.timeline.record("cbke.unavailable", suite=2, reason=data.reason)
                LOGGER.warning("CBKE off: %s; a real SMETS2 meter will leave after joining", data.reason)
                return
        server = await self.coordinator.enable_cbke()
        cert = server.local_certificate
        self.evidence.timeline.record("cbke.enabled", suite=2, issuer=cert.issuer_hex, subject=cert.subject_hex)

    async def _start_emulated_han(self) -> str:
        from harness.emulation.ncp.transport import serve_ncp
        from harness.emulation.network import DeviceSpec as HanDeviceSpec
        from harness.emulation.network import EmulatedHan

        if self.cbke_on:
            self._start_cbke_issuer()
        specs = [HanDeviceSpec(role, d.eui64.to_zigpy(), d.install_code.hex(), self.rig.install_code_crc_mode,
                               options={"cbke": self._cbke_credentials(role, d.eui64.to_zigpy())
                                        if self.cbke_on else None})
                 for role, d in self.devices.items() if role in ("esme", "gsme", "ihd")]
        self.han = EmulatedHan(specs, pcap_path=self.evidence.attach("pcap", PCAP),
                               pcap_flush_interval=self.evidence.write_interval)
        if self.han.sniffer is not None:  # the key table exists from the first frame on, so a crash keeps it
            self.han.sniffer.write_key_table()
            self.evidence.save()
        self._stack.push_async_callback(self.han.close)
        # Topology 1: the coordinator is the hub's HAN radio, so it carries hub.eui64 on the air and in the record.
        coordinator_eui = self.rig.hub.eui64.replace("-", ":")
        self.ncp = self.han.make_ncp(self.rig.coordinator.ezsp_version, eui64=coordinator_eui,
                                     strict=self.rig.coordinator.strict, nv=self._ncp_nv)
        if self.cbke_on:
            self.ncp.install_cbke_data(self._cbke_credentials(None, zt.EUI64.convert(coordinator_eui)))
        for device in self.devices.values():
            device.emulated = self.han.devices.get(device.eui64.to_zigpy())
        return await self._stack.enter_async_context(serve_ncp(self.ncp, self.rig.coordinator.transport))

    def _start_cbke_issuer(self) -> None:
        """Who issues the suite-2 credentials of the NCP and the emulated meters, once per bench: a test CA
        generated now, or the SE spec's test-vector certificates when the rig asks for them; into provenance."""
        from harness.zigbee.cbke import curve, se_vectors
        from harness.zigbee.cbke.certificate import CertificateAuthority

        if self.rig.coordinator.cbke_credentials == "se-test-vectors":
            self.evidence.record.provenance["cbke_ca"] = {
                "issuer": se_vectors.ISSUER, "public_key": se_vectors.CA_PUBLIC_KEY.hex().upper(),
                "source": "SE test vectors (Annex C, suite 2)", "curve_backend": curve.backend_name()}
            return
        self.cbke_ca = self._run_cbke_ca or CertificateAuthority.generate()
        self.evidence.record.provenance["cbke_ca"] = {
            "issuer": self.cbke_ca.issuer.hex().upper(), "public_key": self.cbke_ca.public_key.hex().upper(),
            "source": "per-run test CA" if self._run_cbke_ca is None else "the fleet run's test CA",
            "curve_backend": curve.backend_name()}  # which code did the emulated side's curve arithmetic

    def _cbke_credentials(self, role: str | None, eui64: zt.EUI64) -> Any:
        """Suite-2 credentials for the NCP (`role` None) or an emulated meter, from `_start_cbke_issuer`'s choice."""
        from harness.zigbee.cbke import se_vectors

        subject = bytes(eui64)[::-1]  # certificates name the EUI-64 most significant octet first
        issuer = getattr(self, "cbke_device_issuers", {}).get(role, self.cbke_ca)  # tests: another CA for a role
        if issuer is None:  # the SE test vectors: rig.py checked that every subject has one
            return se_vectors.credentials_for(subject.hex())
        return issuer.issue(subject, valid_from=0)

    async def _start_sniffer(self) -> None:
        """The rig's `sniffer:` (drivers/sniffer.py), unless it is the emulated medium, which captures anyway."""
        spec = self.rig.sniffer
        if spec is None or spec.kind == "emulated":
            return
        from harness.drivers.sniffer import make_capture

        # On a real rig it is the capture; beside an emulated medium's capture.pcap it gets its own name.
        name = PCAP if self.rig.coordinator.kind == "serial" else "sniffer.pcap"
        capture = make_capture(spec.kind, self.evidence.attach("sniffer_pcap" if name != PCAP else "pcap", name),
                               path=spec.path, interface=spec.interface, command=spec.command)
        await capture.start()
        self._stack.push_async_callback(self._stop_sniffer, capture)

    def _capture_keys(self) -> list[tuple[bytes, str]]:
        """What Wireshark needs to decrypt this scenario's capture: each device's install-code link key, and the
        network key (a capture started after the meter joined never sees the Transport Key)."""
        keys = [(self.rig.install_code(role).link_key(), f"{role} {d.eui64.dcc} install-code link key")
                for role, d in self.devices.items()]
        app = self.coordinator.app if self.coordinator is not None else None
        network_key = getattr(getattr(getattr(app, "state", None), "network_info", None), "network_key", None)
        if network_key is not None and network_key.key is not None:
            keys.append((bytes(network_key.key), f"network key (sequence {network_key.seq})"))
        return keys

    async def _stop_sniffer(self, capture: Any) -> None:
        from harness.evidence.pcap import write_zigbee_keys

        if hasattr(capture, "finished"):
            await capture.finished(0.5)  # the frames of the scenario's last moments, or a replay's end
        result = await capture.stop()
        keys = result.path.with_name(result.path.name + ".zigbee_pc_keys")
        write_zigbee_keys(keys, getattr(self, "_sniffer_keys", []))
        self.evidence.record.files["sniffer_keys"] = keys.name
        self.evidence.record.provenance["sniffer"] = {"source": result.source, "frames": result.frames,
                                                      "linktype": result.linktype, "channel": self.rig.sniffer.channel
                                                      if self.rig.sniffer else None}
        self.evidence.timeline.record("sniffer.stop", source=result.source, frames=result.frames)

    async def _known_state(self) -> None:
        """The HAN as a scenario must find it (bench/clean_state.py), on the rig's own coordinator identity."""
        assert self.coordinator is not None
        report = await clean_state.bring_to_known_state(
            self.coordinator, [d.eui64.to_zigpy() for d in self.devices.values()],
            mode=self.rig.coordinator.clean_state, network=network_config(self.rig))
        clean_state.check_domain_fresh(self)
        self.evidence.timeline.record("han.clean_state", mode=report.mode, left=report.left, checks=report.checks)
        info = self.coordinator.info()
        problems = identity_problems(self.rig, eui64=info.eui64, channel=info.channel, pan_id=info.pan_id)
        if problems:
            raise RigError(f"{self.rig.path}: {'; '.join(problems)}")

    def _write_ncp_log(self) -> None:
        # With a deferred or no frame log (the fleet), a bundle that will not be kept gets no command log either.
        if self.ncp is None or (self.frame_log_mode != "on" and not self.keep_frame_log):
            return
        path = self.evidence.attach("ncp_command_log", "ncp-commands.log")
        with path.open("w") as out:
            for entry in self.ncp.command_log:
                line = str(entry)
                out.write(f"{line if self.evidence.reveal_secrets else redact_log_text(line)}\n")
            if self.ncp.unhandled:
                out.write(f"UNHANDLED (strict mode): {sorted(set(self.ncp.unhandled))}\n")

    # -- evidence ------------------------------------------------------------------------------------------
    def _observe(self) -> None:
        t = self.evidence.timeline
        self.hub.alert_observers.append(lambda a: t.record(
            "alert", code=f"0x{a.code:04X}", name=a.name, cause=str(a.cause),
            device=a.device.dcc if a.device else None,
            log=[{"eui64": e.dcc, "hash_present": bool(h)} for e, h in a.entries]))
        self.wan.add_state_listener(lambda chf, up, at: t.record("wan", chf=chf.dcc, state="up" if up else "down"))
        observe_alerts(self.evidence, self.dcc)  # the alerts as DUIS XML, in the bundle and on the timeline

    async def _prompt_operator(self, eui: Eui64) -> None:
        device = self.device_by_eui(eui)
        if device is not None and device.spec.kind == "real":
            instruction = device.spec.operator or f"make the {device.role.upper()} ({eui.dcc}) join the HAN now"
            await self.operator.instruct(instruction, timeout=self.rig.timeout("join"),
                                         action=OperatorAction("join", device.role, eui.dcc))

    # -- what scenarios use --------------------------------------------------------------------------------
    def device(self, role: str) -> BenchDevice:
        try:
            return self.devices[role]
        except KeyError:
            raise RigError(f"{self.rig.path}: this scenario needs a {role} and the rig has none "
                           f"(devices: {', '.join(self.devices) or 'none'})") from None

    def device_by_eui(self, eui: Eui64) -> BenchDevice | None:
        return next((d for d in self.devices.values() if d.eui64 == eui), None)

    def supplier_for(self, device: BenchDevice, *, gaining: bool = False) -> Supplier:
        if gaining:
            return self.gaining_supplier
        return self.installing_gas_supplier if device.mpxn == MPRN else self.installing_supplier

    async def settle(self) -> None:
        assert self.link is not None
        await self.link.settle()

    async def wait_for_join(self, device: BenchDevice, *, timeout: float | None = None) -> JoinedDevice:
        assert self.link is not None
        return await self.link.wait_for_join(device.eui64, self.rig.timeout("join") if timeout is None else timeout)

    async def expect_no_join(self, device: BenchDevice, *, within: float) -> str:
        """Assert the device does not join within `within` seconds; returns why (from the emulated HAN if any)."""
        try:
            await self.wait_for_join(device, timeout=within)
        except JoinTimeout as exc:
            reason = self.join_refusal_reason(device) or str(exc)
            self.evidence.timeline.record("han.no_join", device=device.eui64.dcc, reason=reason)
            return reason
        raise AssertionError(f"{device.role} {device.eui64.dcc} joined, but it should not have")

    def join_refusal_reason(self, device: BenchDevice) -> str | None:
        if device.emulated is None:
            return None
        attempts = getattr(device.emulated, "join_attempts", [])
        if not attempts:
            return "the device made no join attempt"
        # The last attempt that reached a network says why it was refused; a scan that happened to miss the
        # beacons after it (a busy machine) says nothing new.
        reached = [a for a in attempts if a.channel is not None]
        return (reached or attempts)[-1].reason

    async def read_metering(self, device: BenchDevice, attributes: tuple[str, ...] = ("current_summ_delivered",)
                            ) -> dict[Any, Any]:
        assert self.coordinator is not None
        values = await self.coordinator.read_attributes(device.eui64.to_zigpy(), 1, 0x0702, list(attributes))
        secured = getattr(self.coordinator, "aps_secured", None)
        self.evidence.timeline.record("zcl.read", device=device.eui64.dcc, cluster="Metering",
                                      aps_secured=bool(secured and secured(device.eui64.to_zigpy())),
                                      values={str(k): str(v) for k, v in values.items()})
        return values

    def use_coverage(self, database: Any) -> None:
        """Answer SR 12.1 and Service Management requests from another coverage database (e.g. dated data)."""
        self.coverage = database
        self.dcc.coverage = database
        self.evidence.timeline.record("coverage.database", source=getattr(database, "source", str(database)))

    def service_desk(self, *, sec_version: str = "post-MP097", **options: Any) -> DccServiceDesk:
        """The DCC's Service Management desk (SEC Appendix H 3.3) on this bench's clock and coverage database."""
        return DccServiceDesk(self.coverage, self.clock, sec_version=sec_version, **options)

    async def power_off(self, device: BenchDevice) -> None:
        self.evidence.timeline.record("power", device=device.eui64.dcc, state="off")
        if device.emulated is not None:
            await device.emulated.power_off()
        elif device.power is not None:
            await device.power.off()

    async def power_on(self, device: BenchDevice) -> None:
        self.evidence.timeline.record("power", device=device.eui64.dcc, state="on")
        if device.emulated is not None:
            device.emulated.power_on()
        elif device.power is not None:
            await device.power.on()

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0) -> None:
        # Logged before moving, so what the timers fire during the jump reads after it on the timeline.
        target = self.clock.now() + timedelta(days=days, hours=hours, minutes=minutes)
        self.evidence.timeline.record("clock.advance", to=target.isoformat(), days=days, hours=hours, minutes=minutes)
        self.clock.advance_to(target)

    def status(self, device: BenchDevice | Eui64) -> SmiStatus | None:
        return self.smi.status(device.eui64 if isinstance(device, BenchDevice) else device)
