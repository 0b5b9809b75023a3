"""`smets2-harness coverage lookup ...` against the shipped invented fixture (fixtures/coverage_db.yaml)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["coverage", "lookup", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_postcode_lookup_prints_one_line_per_premises(capsys) -> None:
    code, out, _ = run(capsys, "--postcode", "eh1 2ng")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("EH1 2NG / 8 (UPRN 906700000008): North region (Arqiva): SM WAN available")


def test_postcode_and_address_as_json(capsys) -> None:
    code, out, _ = run(capsys, "--postcode", "GU1 3QF", "--address-id", "5", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["result"] == "premises"
    assert data["premises"] == [{
        "postcode": "GU1 3QF", "address_identifier": "5", "uprn": "100061000005", "csp_region": "South",
        "csp": "Telefónica", "coverage_availability": True, "wan_technology": "30",
        "ch_wan_variant": "Telefónica cellular", "connectivity_likelihood": "Medium", "wan_available_from": None}]


def test_new_build_postcode_is_no_premises_found_with_the_mp097_hint(capsys) -> None:
    code, out, _ = run(capsys, "--postcode", "GU1 9NB")
    assert code == 1
    assert "No premises found" in out and "Service Management request" in out


def test_date_after_the_lag_finds_the_new_build(capsys) -> None:
    code, out, _ = run(capsys, "--postcode", "GU1 9NB", "--date", "2020-03-23", "--json")
    assert code == 0
    assert [p["address_identifier"] for p in json.loads(out)["premises"]] == ["Plot 1", "Plot 2", "Plot 3", "Plot 4"]
    code, _, _ = run(capsys, "--postcode", "GU1 9NB", "--date", "2020-03-22")
    assert code == 1


def test_outcode_lookup(capsys) -> None:
    code, out, _ = run(capsys, "--outcode", "GU1", "--json")
    assert code == 0
    assert {p["postcode"] for p in json.loads(out)["premises"]} == {"GU1 3QF", "GU1 4RT"}
    code, out, _ = run(capsys, "--outcode", "EH12", "--json")
    assert code == 1 and json.loads(out)["result"] == "no_premises_found"


def test_uprn_lookup(capsys) -> None:
    code, out, _ = run(capsys, "--uprn", "130000000014")
    assert code == 0
    assert "IV1 1QX / 14" in out and "no SM WAN (available from 2020-06-01)" in out
    code, out, _ = run(capsys, "--uprn", "999")
    assert code == 1 and "No premises found" in out


def test_lat_lon_runs_a_service_management_request_post_mp097_by_default(capsys) -> None:
    code, out, _ = run(capsys, "--lat", "51.2480", "--lon", "-0.5650", "--postcode", "GU1 9NB", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["result"] == "resolved"
    assert data["sec_version"] == "post-MP097"
    assert data["allowed_under"] == "SEC Appendix H 3.3 (as amended by MP097)"
    assert data["region"] == "South" and data["coverage_availability"] is True


def test_lat_lon_human_output(capsys) -> None:
    code, out, _ = run(capsys, "--lat", "55.9430", "--lon", "-3.3150")
    assert code == 0
    assert "allocated to the North region (Arqiva)" in out
    assert "no SM WAN (available from 2020-09-01)" in out


def test_pre_mp097_refuses_with_the_clause(capsys) -> None:
    code, out, _ = run(capsys, "--lat", "51.2480", "--lon", "-0.5650", "--outcode", "GU1",
                       "--sec-version", "pre-MP097")
    assert code == 1
    assert out.startswith("refused under SEC Appendix H 3.3 (before MP097)")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--postcode", "GU1 1CA"], "--postcode: postcode 'GU1 1CA'"),
        (["--outcode", "QU1"], "--outcode: "),
        (["--lat", "54.597", "--lon", "-5.93"], "Northern Ireland"),
        (["--lat", "91", "--lon", "0"], "latitude 91.0 is out of range"),
        (["--lat", "51.2"], "--lat and --lon go together"),
        ([], "give exactly one of"),
        (["--postcode", "GU1 3QF", "--uprn", "1"], "give exactly one of"),
        (["--address-id", "3", "--outcode", "GU1"], "--address-id needs --postcode"),
        (["--outcode", "GU1", "--date", "2020-02-30"], "--date: '2020-02-30' is not a date"),
        (["--outcode", "GU1", "--db", "/nonexistent/cov.yaml"], "cannot read"),
        (["--uprn", "12ab"], "is not a UPRN"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(capsys, argv: list[str], message: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert message in err


def test_custom_db_file(tmp_path: Path, capsys) -> None:
    db = tmp_path / "mine.json"
    db.write_text(json.dumps({"postcodes": [{
        "postcode": "M22 0RR", "csp_region": "North", "coverage_available": True, "wan_technology": "10",
        "connectivity_likelihood": "High", "premises": [{"address_identifier": "1"}]}]}), encoding="utf-8")
    code, out, _ = run(capsys, "--postcode", "M22 0RR", "--db", str(db))
    assert code == 0 and out.startswith("M22 0RR / 1: North region (Arqiva)")


def test_console_entry_point() -> None:
    result = subprocess.run([sys.executable, "-m", "harness.cli", "coverage", "lookup", "--outcode", "B1", "--json"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["premises"][0]["csp_region"] == "Central"
