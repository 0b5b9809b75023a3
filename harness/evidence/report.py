"""The run report: a summary table (scenario, SEC reference, result, key measurement) and one HTML page a lab can
file: per scenario its verdict, SEC clauses, steps with virtual and wall times, measurements against their
targets, a timeline picture (inline SVG: no script, no plug-in), provenance and a link to every evidence file,
secret material marked as such. Verdicts come from `summary.TestResult` (pytest's own reports)."""

from __future__ import annotations

import html
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.evidence.bundle import RECORD, TIMELINE
from harness.evidence.redaction import redact_text

if TYPE_CHECKING:
    from harness.evidence.summary import TestResult

MAX_TIMELINE_EVENTS = 5000  # a runaway test's timeline is summarised, not rendered whole


def _fmt_measurement(m: dict[str, Any] | None) -> str:
    if not m:
        return ""
    value = m.get("value")
    text = f"{m.get('name')}={value:.3g} {m.get('unit')}" if isinstance(value, float) else \
        f"{m.get('name')}={value} {m.get('unit')}"
    if m.get("target") is not None:
        text += f" (target {m['target']:g}, {'met' if m.get('met') else 'MISSED'})"
    return text


def load_record(run_dir: Path, bundle: str | None) -> dict[str, Any]:
    if not bundle:
        return {}
    try:
        data = json.loads((run_dir / bundle / RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def key_measurement(record: dict[str, Any]) -> str:
    ms = [m for m in record.get("measurements") or [] if isinstance(m, dict)]
    return _fmt_measurement(next((m for m in ms if m.get("key")), ms[0] if ms else None))


def format_table(run_dir: Path, results: list[TestResult]) -> str:
    headers = ("scenario", "topology", "SEC reference", "result", "key measurement")
    records = [load_record(run_dir, r.bundle) for r in results]
    cells = [(r.name, str(rec.get("topology", "")), ", ".join(r.sec_refs), r.outcome.upper(), key_measurement(rec))
             for r, rec in zip(results, records, strict=True)]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(out)


def _han_line(e: dict[str, Any], cbke: dict[str, Any] | None) -> str:
    device = e.get("device")
    if e.get("kind") == "han.join":
        text = f"{device} joined by install code ({e.get('latency_s')} s after the permit)"
        if cbke is not None:
            text += (f", CBKE suite {cbke.get('suite')} done in {cbke.get('duration_s')} s "
                     f"(issuer {cbke.get('issuer')}, subject {cbke.get('subject')})")
        else:
            text += ", no CBKE (the coordinator holds no suite-2 data)"
        return text
    status = e.get("status") or "no Terminate"
    return (f"{device} joined the network but failed CBKE ({status}, after {e.get('duration_s')} s): "
            f"{e.get('reason')}; not recorded as joined")


def han_summary(run_dir: Path, results: list[TestResult]) -> str:
    """One line per HAN join of each scenario: joined by install code, then CBKE (issuer, subject, duration),
    or CBKE failed and why. Empty when no scenario joined a device."""
    out: list[str] = []
    for result in results:
        if not result.bundle:
            continue
        events = read_timeline(run_dir / result.bundle / TIMELINE)
        lines, last_cbke = [], {}
        for e in events:
            if e.get("kind") == "han.cbke":
                last_cbke[e.get("device")] = e
                if not e.get("success"):
                    lines.append(_han_line(e, e))
            elif e.get("kind") == "han.join":
                lines.append(_han_line(e, last_cbke.pop(e.get("device"), None)))
        out += [f"  {result.name}: {line}" for line in lines]
    return "HAN joins:\n" + "\n".join(out) if out else ""


def read_timeline(path: Path) -> list[dict[str, Any]]:
    events = []
    try:
        with path.open(errors="replace") as f:
            for line in f:
                if len(events) >= MAX_TIMELINE_EVENTS:
                    break
                try:
                    e = json.loads(line)
                except ValueError:
                    continue  # the last line of a killed test may be cut short
                if isinstance(e, dict):
                    events.append(e)
    except OSError:
        pass
    return events


def _vtime(e: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(e["virtual_time"]) if e.get("virtual_time") else None
    except (TypeError, ValueError):
        return None


# -- the timeline picture ------------------------------------------------------------------------------------
LANES = (("steps", "step"), ("WAN", "wan"), ("SRV", "srv"), ("join", "han"), ("alerts", "alert"))
LANE_COLOURS = {"steps": "#555", "WAN": "#1f77b4", "SRV": "#2ca02c", "join": "#9467bd", "alerts": "#d62728"}


def _lane(kind: str) -> str | None:
    for lane, prefix in LANES:
        if kind == prefix or kind.startswith(prefix + "."):
            return lane
    return None


def _label(e: dict[str, Any]) -> str:
    kind = str(e.get("kind"))
    bits = [kind]
    for key in ("text", "srv", "code", "state", "name", "device", "reason", "detail"):
        if e.get(key) not in (None, ""):
            bits.append(f"{key}={e[key]}")
    return " ".join(str(b) for b in bits)[:300]


def timeline_svg(events: list[dict[str, Any]], width: int = 960) -> str:
    """Join, WAN, SRV and alert events on the virtual clock; WAN down spans shaded. Hover a mark for its text."""
    timed = [(t, e) for e in events if (t := _vtime(e)) is not None and _lane(str(e.get("kind"))) is not None]
    if not timed:
        return "<p class='muted'>No events on the virtual clock.</p>"
    start = min(t for t, _ in timed)
    end = max(t for t, _ in timed)
    span = max((end - start).total_seconds(), 1.0)
    left, right, lane_h, top = 70, 20, 26, 8
    plot_w = width - left - right
    height = top + lane_h * len(LANES) + 34

    def x(t: datetime) -> float:
        return left + plot_w * (t - start).total_seconds() / span

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="scenario timeline on the virtual clock">']
    for i, (lane, _) in enumerate(LANES):
        y = top + i * lane_h
        parts.append(f'<text x="4" y="{y + 17}" font-size="12" fill="#333">{lane}</text>'
                     f'<line x1="{left}" y1="{y + lane_h / 2}" x2="{width - right}" y2="{y + lane_h / 2}" '
                     f'stroke="#ddd"/>')
    wan_y = top + lane_h * 1
    down_since: datetime | None = None
    for t, e in timed:  # WAN outages as shaded spans
        if e.get("kind") == "wan":
            if e.get("state") == "down" and down_since is None:
                down_since = t
            elif e.get("state") == "up" and down_since is not None:
                parts.append(f'<rect x="{x(down_since):.1f}" y="{wan_y + 4}" width="{max(x(t) - x(down_since), 2):.1f}" '
                             f'height="{lane_h - 8}" fill="#f4c7c3"><title>SM WAN down {down_since.date()} to '
                             f'{t.date()}</title></rect>')
                down_since = None
    if down_since is not None:
        parts.append(f'<rect x="{x(down_since):.1f}" y="{wan_y + 4}" width="{max(width - right - x(down_since), 2):.1f}" '
                     f'height="{lane_h - 8}" fill="#f4c7c3"><title>SM WAN down from {down_since.date()}</title></rect>')
    for t, e in timed:
        lane = _lane(str(e.get("kind")))
        i = [name for name, _ in LANES].index(lane)  # type: ignore[arg-type]
        cy = top + i * lane_h + lane_h / 2
        bad = str(e.get("code", "")).startswith("E") or e.get("kind") in ("han.no_join", "srv.not_sent")
        colour = "#d62728" if bad else LANE_COLOURS[lane]  # type: ignore[index]
        parts.append(f'<circle cx="{x(t):.1f}" cy="{cy}" r="5" fill="{colour}" fill-opacity="0.8">'
                     f'<title>{html.escape(t.isoformat())} {html.escape(_label(e))}</title></circle>')
    axis_y = top + lane_h * len(LANES) + 4
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}" stroke="#333"/>')
    days = span / 86400
    for k in range(6):
        frac = k / 5
        label = f"day {days * frac:.0f}" if days >= 2 else f"{span * frac:.0f} s"
        px = left + plot_w * frac
        parts.append(f'<line x1="{px:.1f}" y1="{axis_y}" x2="{px:.1f}" y2="{axis_y + 5}" stroke="#333"/>'
                     f'<text x="{px:.1f}" y="{axis_y + 18}" font-size="11" text-anchor="middle">{label}</text>')
    parts.append(f'<text x="{left}" y="{height - 2}" font-size="10" fill="#666">virtual clock from '
                 f'{html.escape(start.isoformat())}</text></svg>')
    return "".join(parts)


# -- the page ------------------------------------------------------------------------------------------------
def _steps_table(events: list[dict[str, Any]]) -> str:
    steps = [e for e in events if e.get("kind") == "step"]
    if not steps:
        return ""
    wall0 = next((e.get("wall_time") for e in events if isinstance(e.get("wall_time"), int | float)), None)
    rows = []
    for e in steps:
        wall = e.get("wall_time")
        wall_text = f"+{wall - wall0:.3f} s" if isinstance(wall, int | float) and wall0 is not None else ""
        rows.append(f"<tr><td>{html.escape(str(e.get('virtual_time') or ''))}</td><td>{wall_text}</td>"
                    f"<td>{html.escape(str(e.get('text', ''))[:500])}</td></tr>")
    return ("<table class='steps'><tr><th>virtual time</th><th>wall time (from test start)</th><th>step</th></tr>"
            + "".join(rows) + "</table>")


def _measurements_table(record: dict[str, Any]) -> str:
    ms = [m for m in record.get("measurements") or [] if isinstance(m, dict)]
    if not ms:
        return ""
    rows = []
    for m in ms:
        target = m.get("target")
        met = "" if target is None else ("met" if m.get("met") else "MISSED")
        rows.append(f"<tr class='{html.escape(met)}'><td>{html.escape(str(m.get('name')))}</td>"
                    f"<td>{html.escape(str(m.get('value')))} {html.escape(str(m.get('unit')))}</td>"
                    f"<td>{'' if target is None else html.escape(str(target))}</td><td>{met}</td></tr>")
    return ("<table class='measurements'><tr><th>measurement</th><th>value</th><th>target</th><th></th></tr>"
            + "".join(rows) + "</table>")


def _provenance_list(prov: dict[str, Any]) -> str:
    items = []
    for k, v in prov.items():
        if isinstance(v, dict):
            inner = ", ".join(f"{ik}: {iv}" for ik, iv in v.items())
            items.append(f"<li>{html.escape(str(k))}: {html.escape(inner)}</li>")
        else:
            items.append(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>")
    return f"<ul class='prov'>{''.join(items)}</ul>" if items else ""


def _files_list(bundle: str, record: dict[str, Any]) -> str:
    secret = set(record.get("secret_files") or [])
    items = []
    for label, name in sorted((record.get("files") or {}).items()):
        mark = " <strong class='secret'>secret material (owner-only; holds keys for Wireshark)</strong>" \
            if name in secret else ""
        items.append(f'<li><a href="{html.escape(bundle)}/{html.escape(str(name))}">{html.escape(str(label))}</a>'
                     f" ({html.escape(str(name))}){mark}</li>")
    for name in sorted(secret - set((record.get("files") or {}).values())):
        items.append(f'<li><a href="{html.escape(bundle)}/{html.escape(name)}">{html.escape(name)}</a> '
                     "<strong class='secret'>secret material (owner-only)</strong></li>")
    return f"<ul class='files'>{''.join(items)}</ul>"


def _scenario_section(run_dir: Path, r: TestResult, index: int) -> str:
    record = load_record(run_dir, r.bundle)
    events = read_timeline(run_dir / r.bundle / TIMELINE) if r.bundle else []
    parts = [f"<section id='s{index}' class='scenario {html.escape(r.outcome.replace(' ', '-'))}'>",
             f"<h2>{html.escape(r.name)} <span class='result'>{html.escape(r.outcome.upper())}</span></h2>",
             f"<p class='nodeid'>{html.escape(r.nodeid)}</p>"]
    if r.sec_refs:
        parts.append(f"<p>SEC reference: {html.escape(', '.join(r.sec_refs))}</p>")
    if r.record_state == "incomplete":
        parts.append("<p class='bad'>The record is incomplete: the test did not finish writing it "
                     "(its last good state is shown).</p>")
    if r.message and not r.passed:
        parts.append(f"<pre class='message'>{html.escape(redact_text(r.message)[-3000:])}</pre>")
    parts.append(f"<p>wall time {r.duration:.3f} s</p>")
    parts.append(timeline_svg(events))
    parts.append(_steps_table(events))
    parts.append(_measurements_table(record))
    prov = {k: v for k, v in (record.get("provenance") or {}).items()}
    if prov:
        parts.append("<details><summary>provenance</summary>" + _provenance_list(prov) + "</details>")
    if r.bundle:
        parts.append("<h3>evidence</h3>" + _files_list(r.bundle, record))
    parts.append("</section>")
    return "".join(parts)


STYLE = """body{font-family:sans-serif;margin:1em 2em;color:#222} td,th{padding:2px 8px;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top} .passed .result,.xpassed .result{color:#070} .result{color:#b00}
.skipped .result,.xfailed .result{color:#a60} .bad,.MISSED{color:#b00} .secret{color:#b00}
section{border-top:2px solid #ccc;margin-top:1.5em} pre{background:#f6f6f6;padding:6px;overflow:auto;max-height:20em}
.nodeid,.muted{color:#666;font-size:90%} svg.timeline{border:1px solid #eee;background:#fff}"""


def write_report(run_dir: Path, results: list[TestResult], *, rig: str = "",
                 provenance: dict[str, Any] | None = None) -> Path:
    from harness.evidence.summary import JUNIT, SUMMARY, verdict_line

    summary_rows = []
    for i, r in enumerate(results):
        record = load_record(run_dir, r.bundle)
        summary_rows.append(
            f"<tr class='{html.escape(r.outcome.replace(' ', '-'))}'><td><a href='#s{i}'>{html.escape(r.name)}</a></td>"
            f"<td>{html.escape(str(record.get('topology', '')))}</td><td>{html.escape(', '.join(r.sec_refs))}</td><td class='result'>{html.escape(r.outcome.upper())}</td>"
            f"<td>{html.escape(key_measurement(record))}</td></tr>")
    links = " ".join(f'<a href="{name}">{name}</a>' for name in (JUNIT, SUMMARY) if (run_dir / name).exists())
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>smets2-harness report: {html.escape(rig)}</title>
<style>{STYLE}</style></head><body>
<h1>smets2-harness bench report</h1>
<p class='verdict'>{html.escape(verdict_line(results))}</p>
<p>Rig: {html.escape(rig)}</p>{_provenance_list(provenance or {})}<p>{links}</p>
<table class='summary'><tr><th>scenario</th><th>topology</th><th>SEC reference</th><th>result</th><th>key measurement</th></tr>
{''.join(summary_rows)}</table>
{''.join(_scenario_section(run_dir, r, i) for i, r in enumerate(results))}
</body></html>
"""
    path = run_dir / "report.html"
    tmp = run_dir / ".report.html.tmp"
    tmp.write_text(redact_text(page))
    tmp.replace(path)
    return path
