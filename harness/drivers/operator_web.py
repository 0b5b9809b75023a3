"""The web operator channel: a small page on http://127.0.0.1:PORT/ that the person at the bench keeps open.

The page shows the current prompt (it reloads itself every 2 s) with a Done button, a Failed button and a note
field; `GET /prompt` gives the same as JSON and `POST /answer` (form or JSON: id, answer) answers it, so a script
can drive it too. It listens on loopback only. The server runs in its own thread, so it lives for the whole pytest
session whatever event loop each scenario runs in.
"""

from __future__ import annotations

import asyncio
import html
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from harness.drivers.operator import (
    OperatorAction,
    OperatorAnswer,
    OperatorUnavailable,
    _check_answer,
    _timed_out,
)

_POLL_S = 0.05


class _Prompts:
    """The one prompt awaiting an answer (a bench asks one thing at a time) and the answers given."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current: dict[str, Any] | None = None
        self.answers: dict[int, str] = {}
        self.next_id = 1


def _page(current: dict[str, Any] | None) -> bytes:
    if current is None:
        body = "<p class=idle>Nothing to do. This page shows the next request from the bench.</p>"
    else:
        body = (f"<p class=prompt>{html.escape(current['prompt'])}</p>"
                f"<p>answer within {current['timeout_s']:g} s</p>"
                "<form method=post action=/answer>"
                f"<input type=hidden name=id value={current['id']}>"
                "<input name=note placeholder='note (optional)' size=40> "
                "<button name=answer value=done>Done</button> "
                "<button name=answer value=fail>Failed</button></form>")
    return ("<!doctype html><html><head><meta charset=utf-8><meta http-equiv=refresh content=2>"
            "<title>smets2-harness operator</title><style>body{font-family:sans-serif;margin:2em}"
            ".prompt{font-size:1.6em;background:#ffd;padding:.5em}</style></head>"
            f"<body><h1>smets2-harness: operator</h1>{body}</body></html>").encode()


def _handler(prompts: _Prompts) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
            pass  # pytest would capture it anyway; the timeline records the answers

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            with prompts.lock:
                current = dict(prompts.current) if prompts.current else None
            if self.path == "/prompt":
                self._send(200, json.dumps(current).encode(), "application/json")
            elif self.path in ("/", "/index.html"):
                self._send(200, _page(current), "text/html; charset=utf-8")
            else:
                self._send(404, b"not found\n", "text/plain")

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/answer":
                self._send(404, b"not found\n", "text/plain")
                return
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode(errors="replace")
            if (self.headers.get("Content-Type") or "").startswith("application/json"):
                try:
                    data = {k: str(v) for k, v in json.loads(raw).items()}
                except (ValueError, AttributeError):
                    self._send(400, b"expected a JSON object {id, answer}\n", "text/plain")
                    return
            else:
                data = {k: v[0] for k, v in parse_qs(raw).items()}
            answer = " ".join(x for x in (data.get("answer", "done"), data.get("note", "")) if x).strip()
            with prompts.lock:
                current = prompts.current
                if current is None or data.get("id") != str(current["id"]):
                    self._send(409, b"that request is no longer waiting for an answer\n", "text/plain")
                    return
                prompts.answers[current["id"]] = answer
                prompts.current = None
            self.send_response(303)
            self.send_header("Location", "/")
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


class WebOperator:
    channel = "web"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 8765) -> None:
        self._prompts = _Prompts()
        try:
            self._server = ThreadingHTTPServer((host, port), _handler(self._prompts))
        except OSError as exc:
            raise OperatorUnavailable(f"cannot serve the operator page on http://{host}:{port}/: "
                                      f"{exc.strerror or exc}") from None
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, name="operator-web", daemon=True)
        self._thread.start()

    async def instruct(self, instruction: str, *, timeout: float,
                       action: OperatorAction | None = None) -> OperatorAnswer:
        started = time.monotonic()
        with self._prompts.lock:
            prompt_id = self._prompts.next_id
            self._prompts.next_id += 1
            self._prompts.current = {"id": prompt_id, "prompt": instruction, "timeout_s": timeout,
                                     "action": None if action is None else action.__dict__}
        try:
            while time.monotonic() < started + timeout:
                with self._prompts.lock:
                    text = self._prompts.answers.pop(prompt_id, None)
                if text is not None:
                    return _check_answer(self.channel, text, instruction, started)
                await asyncio.sleep(_POLL_S)
            raise _timed_out(f"{self.channel} {self.url}", instruction, timeout)
        finally:
            with self._prompts.lock:
                if self._prompts.current is not None and self._prompts.current["id"] == prompt_id:
                    self._prompts.current = None

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
