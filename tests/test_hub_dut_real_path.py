"""The `hub: real` bench path, end to end, with the lab built from stand-ins that speak the real interfaces:

* the "real stick" is the emulated NCP served on tcp:// (coordinator.kind: serial, as for ser2net);
* the "real hub" is an emulated Comms Hub on the radio behind it, with its own CHF model, WAN and DCC;
* the "DCC test system" is an HTTP server on 127.0.0.1 answering DUIS from that DCC (DuisHttpLink, API key header);
* the WAN's "power switch" runs real commands (a Python one-liner POSTing to the lab's relay endpoint).

So HubDutBench runs exactly as on a lab bench (no domain assertions: it cannot see inside the DCC), and the
topology-2 scenarios (a) and (d) pass through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import shlex
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from harness.bench.bench import GAINING, INSTALLING, MPAN
from harness.bench.hub_dut import HubDutBench
from harness.dcc_keystore import bench_keystore, dcc_signatures
from harness.emulation.comms_hub import EmulatedCommsHub
from harness.emulation.medium import Medium
from harness.emulation.ncp.joining import EmulatedJoinerStack
from harness.emulation.ncp.ncp import EmulatedNcp
from harness.emulation.ncp.transport import serve_ncp
from harness.evidence.bundle import EvidenceBundle
from harness.rig import parse_rig
from harness.scenarios.hub_dut import test_dp121_hub_join_window as join_window
from harness.scenarios.hub_dut import test_dp121_hub_negative_controls as negative
from harness.smets.clock import VirtualClock
from harness.smets.dcc import Dcc
from harness.smets.device_log import ChfDeviceLog
from harness.smets.hub import CommsHub
from harness.smets.hub_han import ChfJoinAuthority
from harness.smets.identities import DeviceType, Eui64
from harness.smets.registration import Registration
from harness.smets.smi import SmartMeteringInventory
from harness.smets.wan import EmulatedWan

CHF = Eui64.parse("00-DB-12-34-56-78-90-A2")
STICK = Eui64.parse("00-DB-12-34-56-78-90-A0")
CODE = "83FED3407A939723A5C639B26916D505"


class Lab:
    """The hub under test with its DCC, reachable only the ways a lab reaches a real one."""

    def __init__(self) -> None:
        clock = VirtualClock()
        self.smi = SmartMeteringInventory(clock)
        self.smi.add_device(CHF, DeviceType.CHF)
        self.smi.add_device(STICK, DeviceType.ESME)
        registration = Registration(clock)
        registration.register(MPAN, INSTALLING, clock.now())
        registration.associate(STICK, MPAN)
        self.hub = CommsHub(clock, CHF, device_log=ChfDeviceLog(clock))
        self.wan = EmulatedWan(clock)
        self.wan.attach(self.hub)
        # A DCC test system verifies each request's XML-DSig and signs its answers (the bench's keystore).
        self.signatures = dcc_signatures(bench_keystore())
        self.dcc = Dcc(clock, self.smi, registration, self.hub, self.wan, signatures=self.signatures)
        self.authority = ChfJoinAuthority(self.hub, clock)
        self.medium = Medium()
        self.node = EmulatedCommsHub(self.medium, CHF.to_zigpy(), self.authority, channel=25)
        self.authority.leave_requesters.append(lambda eui: self.node.request_leave(eui.to_zigpy()))
        self.parties = {p.user_id.dcc: p for p in (INSTALLING, GAINING)}
        self.loop = asyncio.get_running_loop()
        lab = self

        def on_loop(work):  # noqa: ANN001, ANN202 - the hub's radio lives on the event loop, not the HTTP thread
            async def run():  # noqa: ANN202
                return work()

            return asyncio.run_coroutine_threadsafe(run(), lab.loop).result(10)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.startswith("/relay/"):  # the WAN path's power relay
                    on_loop(lambda: (lab.wan.restore if self.path.endswith("/on") else lab.wan.cut)(CHF))
                    self._answer(200, b"ok")
                    return
                if self.headers.get("X-Api-Key") != "bench-secret":
                    self._answer(401, b"no")
                    return
                originator = body.split(b"<sr:RequestID>")[1].split(b":")[0].decode()
                response = on_loop(lambda: lab.dcc.submit(body, lab.parties[originator]))
                self._answer(200, response.to_xml(lab.signatures.signer).encode())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def relay_command(self, state: str) -> str:
        script = f"import urllib.request; urllib.request.urlopen('{self.base}/relay/{state}', data=b'')"
        return f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}"


def real_rig(lab: Lab, port: str) -> str:
    return f"""
name: lab-real-hub
coordinator:
  kind: serial
  port: {port}
  flow_control: none
hub:
  kind: real
  eui64: {CHF.dcc}
  firmware: "stand-in 1.0"
  wan:
    kind: power
    on: {lab.relay_command("on")}
    off: {lab.relay_command("off")}
  dcc:
    kind: duis-http
    url: {lab.base}/duis
    api_key_env: LAB_DCC_KEY
timeouts:
  join: 8
devices:
  esme:
    kind: stick
    eui64: {STICK.dcc}
    install_code: {{env: LAB_STICK_CODE}}
"""


@contextlib.asynccontextmanager
async def real_bench(tmp_path: Path, name: str) -> AsyncIterator[tuple[HubDutBench, Lab]]:
    lab = Lab()
    ncp = EmulatedNcp(13, eui64=STICK.to_zigpy(), strict=True, stack=EmulatedJoinerStack(lab.medium))
    lab.node.power_on()
    try:
        async with serve_ncp(ncp, "tcp") as url:
            rig = parse_rig(real_rig(lab, str(url)), str(tmp_path / "lab.yaml"))
            evidence = EvidenceBundle(tmp_path, f"tests/test_hub_dut_real_path.py::{name}")
            bench = await HubDutBench.start(rig, evidence)
            try:
                yield bench, lab
            finally:
                await bench.stop()
                evidence.close("passed")
        ncp.check()
    finally:
        await lab.node.power_off()
        lab.http.shutdown()
        lab.http.server_close()


@pytest.fixture(autouse=True)
def lab_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_DCC_KEY", "bench-secret")
    monkeypatch.setenv("LAB_STICK_CODE", CODE)


async def test_a_real_hub_rig_runs_scenario_a_through_http_and_tcp(tmp_path: Path) -> None:
    async with real_bench(tmp_path, "a") as (bench, lab):
        assert bench.dcc is None and bench.hub_node is None  # the bench sees the hub only as a lab does
        assert bench.wan.name == "power" and bench.stick.port.startswith("tcp://")
        await join_window.test_hub_refuses_the_stick_before_8_11_and_admits_it_after(bench)
        # What the lab's side saw: the SRVs arrived over HTTP and the stick is on the hub's HAN.
        assert lab.hub.device_log.entry(STICK).joined
        assert lab.dcc.device_alerts[-1].hash_of(STICK)
        # 8.14.1 I0; 8.11 I99; 8.1.1 CV 4 Pre-Command (I0) and CV 5 I99. The device responses went to the User's
        # receive-response endpoint on the test system (its DCC's outbox here), which the harness does not run.
        assert [r.code for r in bench.installing_supplier.replies] == ["I0", "I99", "I0", "I99"]
        assert [r.code.value for r in lab.dcc.outbox.waiting(INSTALLING.user_id)] == ["I0", "I0"]
        assert not bench.installing_supplier.observes_responses
        assert lab.smi.status(STICK).value == "Commissioned"
        # Signed both ways: the lab's DCC verified each request; the bench verified each signed answer.
        answers = [e for e in bench.evidence.timeline.events if e.kind == "srv.response"]
        assert answers and all(e.fields["signature"].startswith("valid (") for e in answers), answers


async def test_a_real_hub_rig_runs_scenario_d_and_cuts_the_wan_by_power(tmp_path: Path) -> None:
    async with real_bench(tmp_path, "d") as (bench, lab):
        await negative.test_after_remove_the_hub_makes_the_stick_leave(bench)
        assert STICK not in lab.hub.device_log
        await bench.cut_wan()  # the relay command really ran and cut the lab's WAN
        assert not lab.wan.is_up(CHF) and not bench.wan.is_up
        await bench.restore_wan()
        assert lab.wan.is_up(CHF)


async def test_a_real_hub_rig_runs_the_wan_outage_join_scenario(tmp_path: Path) -> None:
    from harness.scenarios.hub_dut import test_dp121_hub_wan_and_cos as wan_and_cos

    async with real_bench(tmp_path, "wan") as (bench, lab):
        await wan_and_cos.test_a_join_while_the_wan_is_down_reaches_the_dcc_on_restoration(bench)
        assert lab.smi.status(STICK).value == "Commissioned"
        assert [r.code for r in bench.installing_supplier.replies] == ["I0", "I99", "E5", "I0", "I99"]
