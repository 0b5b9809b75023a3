"""`smets2-harness duis check` and `duis build` (exit codes and messages a user sees)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from tests.dcc_tools.oracle import require_keystore, require_schema

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "duis"
CHF = "00-DB-12-34-56-78-90-A2"
ESME = "00-DB-12-34-56-78-90-A0"
CODE = "30313233343536373839414243444546"


SIGNED_BY_SUPPLIER = "signature: valid, signed by xml-sign-90B3D51F30010000-ds (User ID 90-B3-D5-1F-30-01-00-00"


@pytest.fixture(autouse=True)
def _duis_schema() -> None:
    """`duis check` validates against the DCC's schema and keystore (make dcc-tools); `build` signs with its keys."""
    require_schema()
    require_keystore()


def test_check_good_file_prints_ok(capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / "good_8.11_add.xml"
    assert main(["duis", "check", str(path)]) == 0
    ok, signature = capsys.readouterr().out.splitlines()
    assert ok == f"{path}: OK (8.11 Update HAN Device Log Add {ESME})"
    assert signature.startswith(f"{path}: {SIGNED_BY_SUPPLIER}")


@pytest.mark.parametrize(
    ("name", "expected"),
    [("bad_install_code_15_bytes.xml", "DCC rule: InstallCode: 15 bytes, expected 6 or 8 or 12 or 16 (line 16"),
     ("bad_install_code_18_bytes_crc.xml", "schema: sr:InstallCode: [facet 'maxLength']"),
     ("bad_cv4_8.11.xml", "DCC rule: CommandVariant: CommandVariant 4 not valid for 8.11"),
     ("bad_counter_zero.xml", "DCC rule: RequestID: counter must be > 0"),
     ("bad_counter_2_64.xml", "schema: sr:RequestID: [facet 'pattern']"),
     ("bad_device_id.xml", "schema: sr:DeviceID: [facet 'pattern'] The value '00-DB-12-34-56-78-90'"),
     ("bad_malformed.xml", "schema: XML: not well-formed: Opening and ending tag mismatch"),
     ("bad_no_signature.xml", "DCC rule: Signature: missing")],
)
def test_check_bad_file_exits_2_naming_the_element(name: str, expected: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / name
    assert main(["duis", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}: {expected}"), err


def test_check_several_files_reports_each(capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = FIXTURES / "good_8.11_remove.xml", FIXTURES / "bad_counter_zero.xml"
    assert main(["duis", "check", str(good), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert f"{good}: OK (8.11 Update HAN Device Log Remove {ESME})" in out
    assert f"{bad}: DCC rule: RequestID" in err


def test_check_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.xml"
    assert main(["duis", "check", str(missing)]) == 2
    assert f"{missing}: cannot read" in capsys.readouterr().err


def _build(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["duis", "build", *args]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "summary"),
    [(["8.11", "--add", "--device", ESME, "--install-code", CODE, "--join-time", "90", "--mpxn", "1312345678118",
       "--originator", "90-B3-D5-1F-30-01-00-00", "--target", CHF, "--counter", "1002"],
      f"8.11 Update HAN Device Log Add {ESME}"),
     (["8.11", "--remove", "--device", ESME, "--target", CHF, "--counter", "9"],
      f"8.11 Update HAN Device Log Remove {ESME}"),
     (["8.14.1", "--device", CHF, "--mpxn", "1312345678118"], f"8.14.1 CH Status Update - Install Success CHF {CHF}"),
     (["8.14.2", "--device", CHF, "--mpxn", "1312345678118"],
      f"8.14.2 CH Status Update - Install No SM WAN CHF {CHF}"),
     (["8.1.1", "--target", ESME], "8.1.1 Commission Device"),
     (["8.2", "--device", CHF], "8.2 Read Inventory"),
     (["12.1", "--postcode", "M22 0RR", "--address", "Threapwood Road"], "12.1 Request WAN Matrix PostCode M22 0RR")],
)
def test_built_requests_pass_check(args: list[str], summary: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    xml = _build(capsys, *args)
    path = tmp_path / "request.xml"
    path.write_text(xml)
    assert main(["duis", "check", str(path)]) == 0
    ok, signature = capsys.readouterr().out.splitlines()
    assert ok == f"{path}: OK ({summary})"
    assert signature.startswith(f"{path}: {SIGNED_BY_SUPPLIER}")


def test_built_8_11_carries_the_requested_fields(capsys: pytest.CaptureFixture[str]) -> None:
    xml = _build(capsys, "8.11", "--add", "--device", ESME, "--install-code", CODE, "--join-time", "60",
                 "--target", CHF, "--counter", "77")
    assert f"<sr:RequestID>90-B3-D5-1F-30-01-00-00:{CHF}:77<" in xml
    assert f"<sr:InstallCode>{CODE}<" in xml and "<sr:JoinTimePeriod>60<" in xml


def test_build_refuses_a_short_install_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["duis", "build", "8.11", "--add", "--device", ESME, "--install-code", CODE[:30],
                 "--target", CHF]) == 2
    assert "--install-code: 15 bytes, expected 16" in capsys.readouterr().err


def test_build_needs_the_target_chf_for_8_11(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["duis", "build", "8.11", "--add", "--device", ESME, "--install-code", CODE]) == 2
    assert "--target: 8.11 needs --target" in capsys.readouterr().err


def test_build_rejects_a_bad_counter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["duis", "build", "8.2", "--device", CHF, "--counter", "0"]) == 2
    assert "counter must be > 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "named"),
    [(["8.14.1", "--device", CHF, "--mpxn", "abc"], "MPxN: 'abc' is not 6 to 13 digits"),
     (["8.11", "--device", ESME, "--install-code", CODE, "--target", CHF, "--join-time", "-5"],
      "JoinTimePeriod: -5 is out of range 1..3600")],
)
def test_build_prints_nothing_that_check_would_refuse(args: list[str], named: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["duis", "build", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"duis build {args[0]}: the request would not validate: {named}" in err
