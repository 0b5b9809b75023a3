"""`smets2-harness installcode`: what a user sees, in-process and through the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main

SPEC_CODE_WITH_CRC = "83FED3407A939723A5C639B26916D505C3B5"
SPEC_KEY = "66B6900981E1EE3CA4206B6B861C02BB"
RTDS_GB_CODE = "30313233343536373839414243444546"  # research/domain.md §4.4


def test_prints_code_crc_and_link_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["installcode", SPEC_CODE_WITH_CRC]) == 0
    out = capsys.readouterr().out
    assert "83FED3407A939723A5C639B26916D505" in out
    assert "C3B5" in out
    assert f"link key:     {SPEC_KEY}" in out


def test_accepts_separators_and_lower_case_split_over_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["installcode", "83:fe:d3:40-7a93", "9723 a5c6 39b2 6916 d505", "c3b5"]) == 0
    assert SPEC_KEY in capsys.readouterr().out


def test_json_output_is_exactly_the_three_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["installcode", SPEC_CODE_WITH_CRC, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "install_code": "83FED3407A939723A5C639B26916D505",
        "crc": "C3B5",
        "link_key": SPEC_KEY,
    }


def test_json_gb_code_in_both_crc_modes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["installcode", RTDS_GB_CODE, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "install_code": RTDS_GB_CODE,
        "crc": "F596",
        "link_key": "17E92CAAA342C367E8EDDC58EEBA69ED",
    }
    assert main(["installcode", RTDS_GB_CODE, "--crc-mode", "none", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "install_code": RTDS_GB_CODE,
        "crc": None,
        "link_key": "3528C16449E1C30F62AFD614580B7AD0",
    }


def test_wrong_crc_exits_2_with_a_crc_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["installcode", "83FED3407A939723A5C639B26916D505C3B6"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "CRC given C3B6 but computed C3B5" in captured.err


def test_non_hex_input_exits_2_naming_the_position(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["installcode", "83FEZ3407A939723A5C639B26916D505C3B5"]) == 2
    assert "non-hex character 'Z' at position 5" in capsys.readouterr().err


def test_bad_length_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["installcode", "0011223344"]) == 2
    assert "length 5 bytes not one of 8, 10, 14, 18" in capsys.readouterr().err


def test_unknown_crc_mode_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["installcode", RTDS_GB_CODE, "--crc-mode", "strip"])
    assert exited.value.code == 2
    assert "--crc-mode" in capsys.readouterr().err


def _console_script() -> Path:
    script = Path(sys.executable).parent / "smets2-harness"
    assert script.exists(), f"console script not installed next to {sys.executable}"
    return script


def test_console_script_end_to_end() -> None:
    script = _console_script()
    ok = subprocess.run([script, "installcode", SPEC_CODE_WITH_CRC], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert SPEC_KEY in ok.stdout
    bad = subprocess.run(
        [script, "installcode", "83FED3407A939723A5C639B26916D505C3B6"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2
    assert "CRC given C3B6 but computed C3B5" in bad.stderr
    assert SPEC_KEY not in bad.stdout + bad.stderr
