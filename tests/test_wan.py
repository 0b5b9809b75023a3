"""harness/drivers/wan.py: the WanLink implementations and DUIS over HTTP.

The HTTP path is real: the test starts a fake DCC test system on 127.0.0.1 (http.server in a thread) whose answers
come from the emulated DCC (harness/smets/dcc.py), so the request XML crosses a socket both ways.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.drivers.operator import ScriptedOperator
from harness.drivers.power import CommandPowerSwitch
from harness.drivers.wan import (
    CUT_INSTRUCTION,
    DuisHttpLink,
    EmulatedDuisLink,
    EmulatedHubWan,
    OperatorWan,
    PowerSwitchWan,
    WanLink,
    parse_duis_response,
)
from harness.errors import LinkError
from harness.smets.duis import ChfInstallSuccessSmWan, CommissionDevice, Request, RequestId, UpdateHanDeviceLog
from harness.smets.identities import Party
from tests.smets.test_dcc import A, CHF, DCC, ESME, MPAN, Site
from tests.smets.premises import RTDS_CODE


class FakeDccTestSystem:
    """An HTTP DUIS endpoint answering from an emulated DCC; the sender is the RequestID's originator."""

    def __init__(self, site: Site, parties: dict[str, Party]) -> None:
        self.site = site
        self.parties = parties
        self.requests: list[bytes] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append(body)
                if self.headers.get("X-Api-Key") != "lab-key":
                    self._answer(401, b"unauthorised", "text/plain")
                    return
                try:
                    originator = body.split(b"<sr:RequestID>")[1].split(b":")[0].decode()
                    response = outer.site.dcc.submit(body, outer.parties[originator])
                except (IndexError, KeyError):
                    self._answer(400, b"<not-duis/>", "application/xml")
                    return
                self._answer(200, response.to_xml().encode(), "application/xml")

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/duis"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeDccTestSystem:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_dcc() -> Iterator[FakeDccTestSystem]:
    with FakeDccTestSystem(Site(), {A.user_id.dcc: A}) as server:
        yield server


def _request(body: object, target: object, counter: int) -> str:
    return Request.build(body, originator=A.user_id, target=target, counter=counter).to_xml()  # type: ignore[arg-type]


async def test_duis_over_http_reaches_the_dcc_and_sees_the_wan_cut(fake_dcc: FakeDccTestSystem) -> None:
    link = DuisHttpLink(fake_dcc.url, headers={"X-Api-Key": "lab-key"})
    assert link.probe() is None
    installed = await link.submit(_request(ChfInstallSuccessSmWan(CHF, MPAN), DCC, 1), A)
    assert installed.code == "I0" and installed.srv.startswith("8.14")
    add = UpdateHanDeviceLog.add(ESME, RTDS_CODE, join_time_period=90, import_mpxn=MPAN)
    reply = await link.submit(_request(add, CHF, 2), A)
    assert (reply.code, reply.srv) == ("I99", "8.11")  # acknowledged; the device's response is delivered later
    assert ESME in fake_dcc.site.hub.device_log  # the 8.11 crossed the socket and reached the CH model
    assert await link.collect(A) is None  # delivered to the User's receive-response endpoint, not over this link
    assert fake_dcc.site.dcc.outbox.waiting(A.user_id)[-1].code.value == "I0"
    # The hub's WAN, cut through the same kind of link the bench uses for an emulated hub.
    wan: WanLink = EmulatedHubWan(fake_dcc.site.wan, CHF)
    await wan.cut()
    assert not wan.is_up and not fake_dcc.site.wan.is_up(CHF)
    acked = await link.submit(_request(UpdateHanDeviceLog.remove(ESME), CHF, 3), A)
    assert acked.code == "I99"
    assert fake_dcc.site.dcc.outbox.waiting(A.user_id)[-1].code.value == "E20"  # could not reach the CH
    await wan.restore()
    assert fake_dcc.site.wan.is_up(CHF)
    assert len(fake_dcc.requests) == 3


async def test_duis_http_errors_name_the_endpoint(fake_dcc: FakeDccTestSystem) -> None:
    with pytest.raises(LinkError, match="HTTP 401"):
        await DuisHttpLink(fake_dcc.url).submit(_request(ChfInstallSuccessSmWan(CHF, MPAN), DCC, 1), A)
    with pytest.raises(LinkError, match="root element is 'not-duis'"):
        await DuisHttpLink(fake_dcc.url, headers={"X-Api-Key": "lab-key"}).submit("<x/>", A)
    fake_dcc.server.shutdown()
    fake_dcc.server.server_close()
    dead = DuisHttpLink(fake_dcc.url)
    assert "unreachable" in (dead.probe() or "")
    with pytest.raises(LinkError, match="unreachable"):
        await dead.submit("<x/>", A)
    with pytest.raises(LinkError, match="not an http"):
        DuisHttpLink("ftp://dcc.example/duis")


async def test_emulated_duis_link_gives_the_same_reply_shape() -> None:
    site = Site()
    link = EmulatedDuisLink(site.dcc)
    reply = await link.submit(_request(ChfInstallSuccessSmWan(CHF, MPAN), DCC, 1), A)
    again = parse_duis_response(reply.xml)
    assert (again.request_id, again.code) == (reply.request_id, "I0")
    add = UpdateHanDeviceLog.add(ESME, RTDS_CODE, join_time_period=90, import_mpxn=MPAN)
    ack = await link.submit(_request(add, CHF, 2), A)
    [delivered] = await link.collect(A)  # the emulated DCC's outbox for this User
    assert (ack.code, delivered.code, delivered.request_id) == ("I99", "I0", ack.request_id)
    assert await link.collect(A) == []


async def test_a_pre_command_reply_carries_its_payload() -> None:
    site = Site()
    site.install()
    site.add()
    site.hub.device_joined(ESME, bytes(16))
    link = EmulatedDuisLink(site.dcc)
    body = CommissionDevice(site.clock.now())
    reply = await link.submit(Request.build(body, originator=A.user_id, target=ESME, counter=50,
                                            command_variant=4).to_xml(), A)
    assert reply.code == "I0" and reply.pre_command is not None
    signed = Request.signed(RequestId.parse(reply.request_id), "8.1.1", reply.pre_command)
    assert (await link.submit(signed.to_xml(), A)).code == "I99"


async def test_operator_wan_asks_for_the_enclosure() -> None:
    operator = ScriptedOperator()
    wan = OperatorWan(operator, timeout=1)
    await wan.cut()
    assert not wan.is_up
    await wan.restore()
    assert wan.is_up
    assert operator.instructions[0] == CUT_INSTRUCTION and "shielded enclosure" in operator.instructions[0]
    assert "restore" in operator.instructions[1].lower()


async def test_power_switch_wan_runs_the_rigs_commands(tmp_path: Path) -> None:
    marker = tmp_path / "wan-powered"
    marker.touch()
    wan = PowerSwitchWan(CommandPowerSwitch(f"touch {marker}", f"rm {marker}"))
    await wan.cut()
    assert not marker.exists() and not wan.is_up
    await wan.restore()
    assert marker.exists() and wan.is_up
    failing = PowerSwitchWan(CommandPowerSwitch("true", "false"))
    with pytest.raises(Exception, match="exited 1"):
        await failing.cut()
    assert failing.is_up  # a switch that failed did not cut anything


def test_parse_rejects_a_response_without_a_code() -> None:
    with pytest.raises(LinkError, match="no ResponseCode"):
        parse_duis_response("<Response><Header><RequestID>a:b:1</RequestID></Header></Response>")
