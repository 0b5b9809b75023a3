"""Evidence bundles are written pass or fail, and when a test crashes; secrets are redacted; the report links them."""

from __future__ import annotations

import json
import random
from pathlib import Path

from harness.evidence import redaction
from harness.evidence.bundle import EvidenceBundle, safe_name
from harness.evidence.report import format_table
from harness.evidence.runlog import append_event, write_collected
from harness.evidence.summary import collect_results, write_summary
from harness.evidence.timeline import Timeline
from harness.smets.clock import VirtualClock

RIG = str(Path(__file__).resolve().parents[1] / "rigs" / "emulated.yaml")

INNER = '''
import pytest

@pytest.mark.sec("DP121")
def test_passes(evidence):
    evidence.timeline.record("join", eui64="00-DB-12-34-56-78-90-A0", install_code="83FED3407A939723A5C639B26916D505")
    evidence.record.measure("join_latency", 1.25, "s", key=True)

@pytest.mark.sec("MP097", "Appendix H 3.3")
def test_fails(evidence):
    evidence.timeline.record("srv.response", code="E4")
    assert 1 == 2, "losing supplier was not refused"

def test_crashes(evidence):
    raise RuntimeError("coordinator went away")
'''


def test_bundles_written_for_pass_fail_and_crash(pytester):
    pytester.makepyfile(test_inner=INNER)
    run_dir = pytester.path / "run"
    result = pytester.runpytest_subprocess(f"--rig={RIG}", f"--run-dir={run_dir}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)

    records = {json.loads(p.read_text())["test_id"].split("::")[-1]: json.loads(p.read_text())
               for p in run_dir.glob("*/record.json")}
    assert set(records) == {"test_passes", "test_fails", "test_crashes"}
    assert records["test_passes"]["outcome"] == "passed"
    assert records["test_passes"]["sec_refs"] == ["DP121"]
    assert records["test_fails"]["outcome"] == "failed"
    assert "losing supplier was not refused" in records["test_fails"]["message"]
    assert records["test_fails"]["sec_refs"] == ["MP097 Appendix H 3.3"]
    assert records["test_crashes"]["outcome"] == "failed"
    assert "coordinator went away" in records["test_crashes"]["message"]
    for rec in records.values():
        assert rec["provenance"]["bellows"] == "1.2.1" and rec["provenance"]["zigpy"] == "2.4.0"

    timeline = (run_dir / safe_name("test_inner.py::test_passes") / "timeline.jsonl").read_text()
    assert "83FED3407A939723A5C639B26916D505" not in timeline  # secrets redacted by default
    assert "<redacted 16 bytes" in timeline
    crash_events = [json.loads(line) for line in (run_dir / safe_name("test_inner.py::test_crashes") / "timeline.jsonl").open()]
    assert crash_events[-1]["kind"] == "test.end" and crash_events[-1]["outcome"] == "failed"

    page = (run_dir / "report.html").read_text()
    assert "test_fails" in page and "timeline.jsonl" in page
    assert "smets2-harness bench" in result.stdout.str() and "join_latency=1.25 s" in result.stdout.str()


def test_reveal_secrets_on_request(tmp_path):
    t = Timeline(tmp_path / "t.jsonl", reveal_secrets=True)
    t.record("join", install_code="83FED3407A939723A5C639B26916D505")
    t.close()
    assert "83FED3407A939723A5C639B26916D505" in (tmp_path / "t.jsonl").read_text()


def test_timeline_carries_virtual_time(tmp_path):
    clock = VirtualClock()
    t = Timeline(tmp_path / "t.jsonl", virtual_now=clock.now)
    clock.advance(days=90)
    event = t.record("wan", state="restored")
    assert event.virtual_time == clock.now().isoformat()
    t.close()


def test_summary_table_and_missed_targets(tmp_path):
    nodeid = "tests/bench/test_dp121_x.py::test_cos"
    write_collected(tmp_path, [{"nodeid": nodeid, "sec": ["DP121"], "evidence": True}], all_tests=True)
    b = EvidenceBundle(tmp_path, nodeid, sec_refs=["DP121"])
    b.record.measure("srv_response_time.8.11", 12.0, "s", target=10.0, key=True)
    b.close("failed", "slow")
    append_event(tmp_path, {"event": "start", "nodeid": nodeid})
    append_event(tmp_path, {"event": "report", "nodeid": nodeid, "when": "setup", "outcome": "passed"})
    append_event(tmp_path, {"event": "report", "nodeid": nodeid, "when": "call", "outcome": "failed",
                            "message": "slow"})
    [row] = collect_results(tmp_path)
    assert row.outcome == "failed" and row.bundle == safe_name(nodeid)
    table = format_table(tmp_path, [row])
    assert "test_cos" in table and "DP121" in table and "FAILED" in table and "MISSED" in table
    write_summary(tmp_path, rig="rigs/emulated.yaml")
    assert "MISSED" in (tmp_path / "report.html").read_text()
    assert '<failure message="slow">' in (tmp_path / "junit.xml").read_text()


# -- frame logs: keys are secrets there too -------------------------------------------------------------------
# Lines as bellows 1.2.1 writes them (bellows.ezsp.protocol / bellows.ash at DEBUG), with the ZigBee spec
# install-code link key 66B6...02BB (research/vectors.md 1.2) and the worked-frame network key (3.4).
IMPORT_KEY_LINE = ("bellows.ezsp.protocol Sending command  importTransientKey: () {'eui64': 00:db:12:34:56:78:90:a0, "
                   "'plaintext_key': 66:b6:90:09:81:e1:ee:3c:a4:20:6b:6b:86:1c:02:bb, 'flags': 0}")
SECURITY_STATE_LINE = ("setInitialSecurityState: () {'state': EmberInitialSecurityState(bitmask=7108, "
                       "preconfiguredKey=66:b6:90:09:81:e1:ee:3c:a4:20:6b:6b:86:1c:02:bb, "
                       "networkKey=01:03:05:07:09:0b:0d:0f:00:02:04:06:08:0a:0c:0d, networkKeySequenceNumber=0)}")
ASH_DATA_LINE = r"bellows.ash Sending frame DataFrame(frm_num=0, re_tx=False, ack_num=0, ezsp_frame=b'f\xb6\x90\t') FLAG"
ASH_WIRE_LINE = "bellows.ash Sending data  1a1a1a1a1a1ac038bc7e"


def test_frame_log_lines_lose_their_keys_and_keep_the_rest():
    from harness.evidence.redaction import redact_log_text

    assert redact_log_text(IMPORT_KEY_LINE) == (
        "bellows.ezsp.protocol Sending command  importTransientKey: () {'eui64': 00:db:12:34:56:78:90:a0, "
        "'plaintext_key': <redacted 16 bytes …02bb>, 'flags': 0}")  # the EUI-64 (8 octets) stays
    state = redact_log_text(SECURITY_STATE_LINE)
    assert "66:b6:90" not in state and "01:03:05:07" not in state
    assert "networkKey=<redacted 16 bytes …0c0d>" in state and "networkKeySequenceNumber=0" in state
    assert redact_log_text(ASH_DATA_LINE) == (
        "bellows.ash Sending frame DataFrame(frm_num=0, re_tx=False, ack_num=0, ezsp_frame=<4 bytes, redacted>) FLAG")
    assert redact_log_text(ASH_WIRE_LINE) == "bellows.ash Sending data <10 bytes, redacted>"
    ack = "bellows.ash Received frame AckFrame(res=0, ncp_ready=0, ack_num=1)"
    assert redact_log_text(ack) == ack
    prose = "bellows.ash Sending data frame to the NCP"  # a word after "data" is not wire hex
    assert redact_log_text(prose) == prose


def test_key_dumps_found_through_the_colon_led_hint_are_exactly_those_the_full_pattern_finds():
    """redact_text skips the full 16-octet pattern when its colon-led hint finds nothing: on texts built around dumps
    of 14 to 18 octets, in words, after colons, beside EUI-64s, the answer is the full pattern's on every one."""
    rng = random.Random(7)
    pieces = ["a", "Z", "_", ":", " ", "'", "=", "\n", "0x", "00:db:12:34:56:78:90:a0", "{\"k\": ", "12:00:00"]
    hidden = 0
    for _ in range(3000):
        octets = ":".join(f"{rng.randrange(256):02{rng.choice('xX')}}" for _ in range(rng.randint(14, 18)))
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 3))) + octets + \
            "".join(rng.choice(pieces) for _ in range(rng.randint(0, 3)))
        expected = redaction._KEY_OCTETS.sub(redaction._redact_key_octets, text)
        assert redaction._hide_key_octets(text) == expected, text
        hidden += expected != text
    assert hidden > 300  # the cases include real dumps, not only near misses
    assert redaction._KEY_OCTETS_HINT.search("00:db:12:34:56:78:90:a0 and 12:00:00") is None


JOIN_SCENARIO = '''
from harness.bench import steps

async def test_join(bench):
    esme = bench.device("esme")
    steps.install_with_wan(bench, esme)
    await steps.whitelist_and_join(bench, bench.supplier_for(esme), esme)
'''
# rigs/emulated.yaml's ESME code 83FED3407A939723A5C639B26916D505 (+ CRC C3B5) -> this link key (vectors.md 1.2).
ESME_LINK_KEY_OCTETS = "66:b6:90:09:81:e1:ee:3c:a4:20:6b:6b:86:1c:02:bb"


def _run_join(pytester, *extra: str) -> Path:
    pytester.makepyfile(test_join=JOIN_SCENARIO)
    run_dir = pytester.path / "run"
    result = pytester.runpytest_subprocess(f"--rig={RIG}", f"--run-dir={run_dir}", "-p", "no:cacheprovider",
                                           "-o", "asyncio_mode=auto", "--timeout=120", *extra)
    result.assert_outcomes(passed=1)
    [bundle] = [p for p in run_dir.iterdir() if p.is_dir()]
    return bundle


def test_ezsp_and_ncp_logs_of_a_join_hold_no_link_key(pytester):
    bundle = _run_join(pytester)
    ezsp_log = (bundle / "ezsp.log").read_text()
    assert "importTransientKey" in ezsp_log  # the permit is in the log...
    for name in ("ezsp.log", "ncp-commands.log", "timeline.jsonl", "record.json"):
        assert ESME_LINK_KEY_OCTETS not in (bundle / name).read_text().lower(), name  # ...its key is not
    # Wireshark still gets the key: the pcap key table is the one place it belongs.
    assert "66B6900981E1EE3CA4206B6B861C02BB" in (bundle / "capture.pcap.zigbee_pc_keys").read_text()


def test_ezsp_log_keeps_keys_with_reveal_secrets(pytester):
    bundle = _run_join(pytester, "--reveal-secrets")
    assert ESME_LINK_KEY_OCTETS in (bundle / "ezsp.log").read_text().lower()


STRICT_SCENARIO = '''
async def test_asks_the_ncp_something_it_has_no_handler_for(bench):
    try:
        await bench.coordinator.app._ezsp.getRandomNumber()
    except Exception:
        pass  # whatever bellows makes of the invalidCommand answer, the run must not pass
'''


def test_strict_emulated_rig_fails_a_scenario_that_used_an_unhandled_ezsp_command(pytester):
    # rigs/emulated.yaml says strict: true, "any EZSP command the emulator has no handler for fails the run".
    pytester.makepyfile(test_strict=STRICT_SCENARIO)
    run_dir = pytester.path / "run"
    result = pytester.runpytest_subprocess(f"--rig={RIG}", f"--run-dir={run_dir}", "-p", "no:cacheprovider",
                                           "-o", "asyncio_mode=auto", "--timeout=120")
    result.assert_outcomes(passed=1, errors=1)  # the call passed; stopping the bench fails it
    assert "commands without handlers: ['getRandomNumber']" in result.stdout.str()
    [record] = [json.loads(p.read_text()) for p in run_dir.glob("*/record.json")]
    assert record["outcome"] == "error" and "getRandomNumber" in record["message"]


def test_secrets_inside_lists_are_redacted_too(tmp_path):
    t = Timeline(tmp_path / "t.jsonl")
    t.record("device_log", entries=[{"eui64": "00-DB-12-34-56-78-90-A0", "install_code": "83FED3407A939723A5C639B26916D505"}],
             link_key=["66B6900981E1EE3CA4206B6B861C02BB"])
    t.close()
    text = (tmp_path / "t.jsonl").read_text()
    assert "83FED3407A939723A5C639B26916D505" not in text and "66B6900981E1EE3CA4206B6B861C02BB" not in text
    assert "00-DB-12-34-56-78-90-A0" in text and text.count("<redacted 16 bytes") == 2
