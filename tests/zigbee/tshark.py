"""tshark as the independent decoder for the wire-layer tests (research/vectors.md section 5).

* `require_tshark()` gives the tshark path, or skips the test with the reason below; with
  SMETS2_REQUIRE_TSHARK=1 (CI) a missing tshark FAILS the test instead of skipping it.
* `run_fields()` runs tshark on a pcap with a private, temporary Wireshark config dir (WIRESHARK_CONFIG_DIR and
  HOME point into it, so the user's own profile and keys are never read) holding only the keys given, written
  with the harness's own key-table writer, and returns one dict per frame from `-T fields`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable

import pytest

from harness.evidence.pcap import write_zigbee_keys

SKIP_REASON = "tshark not installed (make test installs it with apt-get when run as root)"
REQUIRE_ENV = "SMETS2_REQUIRE_TSHARK"


def require_tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but tshark is not installed", pytrace=False)
        pytest.skip(SKIP_REASON)
    return path


@pytest.fixture
def tshark() -> str:
    """The tshark executable (skips, or fails under SMETS2_REQUIRE_TSHARK=1, when missing)."""
    return require_tshark()


def run_fields(tshark_path: str, pcap: Path, fields: Iterable[str], keys: Iterable[tuple[bytes, str]] = (),
               extra: Iterable[str] = ()) -> list[dict[str, str]]:
    """`tshark -r pcap -T fields -e ...` with only `keys` in a throw-away config dir; one dict per frame."""
    fields = list(fields)
    with tempfile.TemporaryDirectory(prefix="smets2-tshark-") as tmp:
        config = Path(tmp) / "wireshark"
        config.mkdir()
        write_zigbee_keys(config / "zigbee_pc_keys", keys)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": tmp,
            "XDG_CONFIG_HOME": tmp,
            "WIRESHARK_CONFIG_DIR": str(config),
            "LC_ALL": "C",
        }
        command = [tshark_path, "-n", "-r", str(pcap), *extra, "-T", "fields", "-E", "header=y",
                   "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
        for name in fields:
            command += ["-e", name]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise AssertionError(f"tshark failed ({result.returncode}): {result.stderr.strip()}")
    lines = result.stdout.splitlines()
    header = lines[0].split("\t")
    assert header == fields, f"tshark returned columns {header}, asked for {fields}"
    return [dict(zip(header, line.split("\t"))) for line in lines[1:]]
