"""The report renders in a real browser without plug-ins: headless Chromium (Debian package, pinned in the
Makefile) screenshots a report and the timeline picture's colours are found in the pixels."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from harness.evidence.bundle import EvidenceBundle
from harness.evidence.runlog import append_event, write_collected
from harness.evidence.summary import write_summary
from harness.smets.clock import VirtualClock

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("SMETS2_REQUIRE_CHROMIUM") != "1",
    reason="chromium not installed (make chromium installs it; CI sets SMETS2_REQUIRE_CHROMIUM=1)")


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Rows of RGB(A) pixels of an 8-bit, non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, bpp, rows


def has_colour(rows: list[bytes], bpp: int, rgb: tuple[int, int, int], tol: int = 12) -> bool:
    for row in rows:
        for i in range(0, len(row) - bpp + 1, bpp):
            if all(abs(row[i + k] - rgb[k]) <= tol for k in range(3)):
                return True
    return False


def test_report_with_timeline_renders_in_headless_chromium(tmp_path: Path) -> None:
    assert CHROMIUM is not None, "SMETS2_REQUIRE_CHROMIUM=1 but chromium is not installed (make chromium)"
    nodeid = "harness/scenarios/test_x.py::test_story"
    write_collected(tmp_path, [{"nodeid": nodeid, "sec": ["DP121"], "evidence": True}], all_tests=True)
    clock = VirtualClock()
    bundle = EvidenceBundle(tmp_path, nodeid, sec_refs=["DP121"])
    bundle.timeline.bind_clock(clock.now)
    bundle.timeline.record("step", text="install and leave")
    bundle.timeline.record("wan", state="down")
    clock.advance(days=40)
    bundle.timeline.record("wan", state="up")
    bundle.timeline.record("srv.response", srv="8.11", code="E20")
    bundle.timeline.record("alert", code="0x8F12", name="joined")
    bundle.timeline.record("han.join", device="00-DB-12-34-56-78-90-A0")
    bundle.record.measure("first_connectivity", 40, "days", target=90, key=True)
    bundle.close("passed")
    for when in ("setup", "call", "teardown"):
        append_event(tmp_path, {"event": "report", "nodeid": nodeid, "when": when, "outcome": "passed"})
    write_summary(tmp_path, rig="rigs/emulated.yaml")
    page = (tmp_path / "report.html").read_text()
    assert "<svg" in page and "<script" not in page and "<object" not in page and "<embed" not in page
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1000,900", f"--screenshot={shot}", (tmp_path / "report.html").as_uri()],
                   check=True, capture_output=True, timeout=120, cwd=tmp_path)
    _, bpp, rows = png_pixels(shot.read_bytes())
    assert has_colour(rows, bpp, (0xF4, 0xC7, 0xC3))  # the shaded WAN outage span
    assert has_colour(rows, bpp, (0xD6, 0x27, 0x28), tol=40)  # the E20 response / alert marks (semi-opaque)
    assert has_colour(rows, bpp, (0x00, 0x77, 0x00), tol=20)  # PASSED in green
