"""The run report: a summary table (scenario, SEC reference, result, key measurement) and an HTML page linking
every test's evidence bundle."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.evidence.bundle import RECORD


@dataclass(frozen=True)
class SummaryRow:
    scenario: str
    sec: str
    result: str
    key_measurement: str
    bundle: str
    topology: str = ""  # harness-as-hub | hub-under-test (from the record)


def _fmt_measurement(m: dict[str, Any] | None) -> str:
    if not m:
        return ""
    value = m["value"]
    text = f"{m['name']}={value:.3g} {m['unit']}" if isinstance(value, float) else f"{m['name']}={value} {m['unit']}"
    if m.get("target") is not None:
        text += f" (target {m['target']:g}, {'met' if m.get('met') else 'MISSED'})"
    return text


def load_rows(run_dir: Path) -> list[SummaryRow]:
    rows = []
    for record_path in sorted(run_dir.glob(f"*/{RECORD}")):
        rec = json.loads(record_path.read_text())
        measurements = rec.get("measurements", [])
        key = next((m for m in measurements if m.get("key")), measurements[0] if measurements else None)
        rows.append(SummaryRow(
            scenario=rec["test_id"].split("::", 1)[-1],
            sec=", ".join(rec.get("sec_refs", [])),
            result=rec.get("outcome", "unknown"),
            key_measurement=_fmt_measurement(key),
            bundle=record_path.parent.name,
            topology=rec.get("topology", ""),
        ))
    return rows


def format_table(rows: list[SummaryRow]) -> str:
    headers = ("scenario", "topology", "SEC reference", "result", "key measurement")
    cells = [(r.scenario, r.topology, r.sec, r.result.upper(), r.key_measurement) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(out)


def write_report(run_dir: Path, *, rig: str = "", provenance: dict[str, Any] | None = None) -> Path:
    rows = load_rows(run_dir)
    (run_dir / "summary.json").write_text(json.dumps(
        {"rig": rig, "provenance": provenance or {}, "results": [r.__dict__ for r in rows]}, indent=2) + "\n")
    body = []
    for r in rows:
        files = json.loads((run_dir / r.bundle / RECORD).read_text()).get("files", {})
        links = " ".join(f'<a href="{html.escape(r.bundle)}/{html.escape(f)}">{html.escape(label)}</a>'
                         for label, f in sorted(files.items()))
        body.append(
            f"<tr class='{html.escape(r.result)}'><td>{html.escape(r.scenario)}</td><td>{html.escape(r.topology)}</td>"
            f"<td>{html.escape(r.sec)}</td>"
            f"<td>{html.escape(r.result.upper())}</td><td>{html.escape(r.key_measurement)}</td><td>{links}</td></tr>")
    junit = '<p><a href="junit.xml">JUnit XML</a></p>' if (run_dir / "junit.xml").exists() else ""
    prov = "".join(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in (provenance or {}).items())
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>smets2-harness report: {html.escape(rig)}</title>
<style>body{{font-family:sans-serif}} td,th{{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}}
tr.passed td:nth-child(4){{color:#070}} tr.failed td:nth-child(4),tr.error td:nth-child(4){{color:#b00}}</style>
</head><body><h1>smets2-harness bench report</h1><p>Rig: {html.escape(rig)}</p><ul>{prov}</ul>{junit}
<table><tr><th>scenario</th><th>topology</th><th>SEC reference</th><th>result</th><th>key measurement</th><th>evidence</th></tr>
{''.join(body)}</table></body></html>
"""
    path = run_dir / "report.html"
    path.write_text(page)
    return path
