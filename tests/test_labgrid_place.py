"""A DP121 scenario through a labgrid place: a real labgrid coordinator and exporter on the loopback.

The exporter publishes the emulated NCP's tcp:// server as a NetworkSerialPort (protocol raw) and a simplerest
NetworkPowerPort whose relay powers the emulated ESME; the rig names only the place. The bench acquires the place
through the coordinator, opens the stick through bellows at the URL the place gives, switches the meter on through
labgrid's NetworkPowerDriver, runs install and leave -> CoS -> WAN restored -> MP121 -> 8.11 -> join -> 8.1.1, and
releases the place at the end (also when the scenario fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import zigpy.types as zt

from harness.bench import steps
from harness.bench.bench import Bench
from harness.drivers.labgrid_place import LabgridPlace, serial_url
from harness.drivers.operator import ScriptedOperator
from harness.emulation.ncp.transport import serve_ncp
from harness.emulation.network import DeviceSpec, EmulatedHan
from harness.errors import RigError
from harness.evidence.bundle import EvidenceBundle
from harness.rig import load_rig

pytestmark = pytest.mark.timeout(180)

BIN = Path(sys.executable).parent
ESME = "00-DB-12-34-56-78-90-A0"
HUB_EUI64 = "00:DB:12:34:56:78:90:A2"  # hub.eui64 in the rig below
CODE = "83FED3407A939723A5C639B26916D505"
PLACE = "smets2-bench-1"


def _require_labgrid() -> None:
    if not (BIN / "labgrid-coordinator").exists():
        if os.environ.get("SMETS2_REQUIRE_LABGRID") == "1":
            pytest.fail("labgrid is required (SMETS2_REQUIRE_LABGRID=1) but labgrid-coordinator is not installed")
        pytest.skip("labgrid is not installed (pip install -e '.[test]' installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client(address: str, *args: str) -> str:
    return subprocess.run([str(BIN / "labgrid-client"), "-x", address, *args], capture_output=True, text=True,
                          timeout=30, check=True).stdout


class Relay(http.server.BaseHTTPRequestHandler):
    """A simplerest power switch: GET /relay/<index>/<0|1> switches, GET /relay/<index> reads."""

    switched: list[tuple[int, bool]] = []
    on_switch = None

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        parts = self.path.strip("/").split("/")
        if len(parts) == 3:
            value = parts[2] == "1"
            type(self).switched.append((int(parts[1]), value))
            if type(self).on_switch is not None:
                type(self).on_switch(value)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"1" if type(self).switched and type(self).switched[-1][1] else b"0")

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def labgrid_lab(tmp_path: Path, ncp_port: int, relay_port: int):
    """A labgrid coordinator and one exporter on 127.0.0.1, and a place holding the exported stick and relay."""
    address = f"127.0.0.1:{_free_port()}"
    (tmp_path / "exporter.yaml").write_text(
        "bench-1:\n"
        "  NetworkSerialPort:\n"
        f"    host: 127.0.0.1\n    port: {ncp_port}\n    speed: 115200\n    protocol: raw\n"
        "  NetworkPowerPort:\n"
        f"    model: simplerest\n    host: 'http://127.0.0.1:{relay_port}/relay/{{index}}/{{value}}'\n"
        "    index: 0\n")
    env = {**os.environ, "LG_HOSTNAME": "smets2-test", "PYTHONUNBUFFERED": "1"}
    coordinator = subprocess.Popen([str(BIN / "labgrid-coordinator"), "-l", address], cwd=tmp_path, env=env,
                                   stdout=subprocess.DEVNULL, stderr=(tmp_path / "coordinator.log").open("w"))
    exporter = None
    try:
        deadline = time.monotonic() + 30
        while True:  # the coordinator is up when a client can list places
            try:
                _client(address, "places")
                break
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        exporter = subprocess.Popen([str(BIN / "labgrid-exporter"), "-c", address, "-n", "lab-host-1",
                                     "--hostname", "127.0.0.1", str(tmp_path / "exporter.yaml")], cwd=tmp_path,
                                    env=env, stdout=subprocess.DEVNULL,
                                    stderr=(tmp_path / "exporter.log").open("w"))
        while "NetworkSerialPort" not in _client(address, "resources"):
            if time.monotonic() > deadline:
                raise AssertionError("the exporter's resources never reached the coordinator: "
                                     + (tmp_path / "exporter.log").read_text()[-2000:])
            time.sleep(0.2)
        _client(address, "-p", PLACE, "create")
        _client(address, "-p", PLACE, "add-match", "lab-host-1/bench-1/*")
        yield address
    finally:
        for process in (exporter, coordinator):
            if process is not None:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(10)
                if process.poll() is None:
                    process.kill()


def _rig(tmp_path: Path, address: str) -> Path:
    path = tmp_path / "labgrid.yaml"
    path.write_text(f"""name: labgrid-bench
description: the coordinator stick and the ESME's relay in a labgrid place
coordinator:
  kind: labgrid
  place: {PLACE}
  coordinator: "{address}"
hub:
  kind: harness
  eui64: 00-DB-12-34-56-78-90-A2
timeouts:
  connect: 20
  join: 30
devices:
  esme:
    kind: real
    eui64: {ESME}
    install_code: {CODE}
    power: {{kind: labgrid, resource: NetworkPowerPort}}
""")
    return path


def test_serial_urls_from_exported_ports():
    assert serial_url({"host": "bench-host", "port": 4001, "protocol": "rfc2217"}) == "rfc2217://bench-host:4001"
    assert serial_url({"host": "127.0.0.1", "port": 5000, "protocol": "raw"}) == "tcp://127.0.0.1:5000"
    with pytest.raises(RigError, match="telnet"):
        serial_url({"host": "h", "port": 1, "protocol": "telnet"})


async def test_dp121_change_of_supplier_through_a_labgrid_place(tmp_path):
    _require_labgrid()
    loop = asyncio.get_running_loop()
    han = EmulatedHan([DeviceSpec("esme", zt.EUI64.convert(ESME.replace("-", ":")), CODE)])
    # the coordinator carries the rig's hub EUI-64 (the bench checks a stick against it)
    ncp = han.make_ncp(13, eui64=HUB_EUI64, strict=True)
    meter = han.device(zt.EUI64.convert(ESME.replace("-", ":")))
    Relay.switched = []
    Relay.on_switch = lambda on: loop.call_soon_threadsafe(meter.power_on if on else
                                                           (lambda: loop.create_task(meter.power_off())))
    relay = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    try:
        async with serve_ncp(ncp, "tcp") as url:
            ncp_port = int(url.rsplit(":", 1)[1])
            with labgrid_lab(tmp_path, ncp_port, relay.server_address[1]) as address:
                rig = load_rig(_rig(tmp_path, address))
                evidence = EvidenceBundle(tmp_path / "run", "labgrid::dp121")
                bench = await Bench.start(rig, evidence)
                try:
                    bench.operator = ScriptedOperator()  # the relay, not a person, powers this meter
                    held = await asyncio.to_thread(_client, address, "-p", PLACE, "show")
                    assert "acquired: None" not in held and "acquired: " in held  # held by this bench
                    assert bench.coordinator.port == url  # the stick came from the place, not from the rig
                    esme = bench.device("esme")
                    steps.install_and_leave(bench, esme)
                    steps.change_of_supplier(bench, esme, effective_in_days=20)
                    steps.restore_wan_after(bench, 40)
                    steps.mp121_handover(bench, esme)
                    await bench.power_on(esme)
                    await steps.whitelist_and_join(bench, bench.gaining_supplier, esme)
                    steps.commission(bench, bench.gaining_supplier, esme)
                    assert bench.dcc.first_connectivity(bench.chf).met is True
                finally:
                    await bench.stop()
                    evidence.close("passed")
                assert Relay.switched == [(0, True)]
                shown = await asyncio.to_thread(_client, address, "-p", PLACE, "show")
                assert "acquired: None" in shown  # released at stop
                events = (evidence.dir / "timeline.jsonl").read_text()
                assert '"labgrid.acquired"' in events and PLACE in events
    finally:
        relay.shutdown()
        await han.close()


async def test_a_place_that_does_not_exist_is_a_rig_error(tmp_path):
    _require_labgrid()
    with labgrid_lab(tmp_path, _free_port(), _free_port()) as address:
        place = LabgridPlace("no-such-place", address, timeout=10)
        with pytest.raises(RigError, match="no-such-place"):
            await place.acquire()
        await place.release()
