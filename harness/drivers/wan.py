"""The SM WAN of a hub under test (topology 2): how the bench cuts and restores it, and how SRVs reach its DCC.

Two narrow boundaries:

* `WanLink`: the bench's hand on a hub's SM WAN. `cut()` / `restore()` / `is_up`. Implementations:
  - `EmulatedHubWan`: the emulated hub's WAN (harness/smets/wan.EmulatedWan), cut and restored in process;
  - `OperatorWan`: a person does it ("move the hub into the shielded enclosure", "restore the antenna");
  - `PowerSwitchWan`: a power switch on the WAN path (the cellular modem, the antenna amplifier), through the
    existing power drivers (harness/drivers/power.py): off = cut, on = restore.
* `DuisLink`: where the bench's suppliers send DUIS requests. `EmulatedDuisLink` is the emulated DCC in process;
  `DuisHttpLink` POSTs the request XML to a DCC test system's DUIS endpoint and reads the response XML (the
  path is HTTP for real: the tests start a fake DCC on 127.0.0.1). `submit` returns the synchronous answer (I99
  for a device SRV); `collect` returns the asynchronous responses delivered to the sender since, or None where the
  link cannot see them. A DCC test system delivers those by POSTing each DUIS Response (application/xml) to the
  User's receive-response address configured on it, and the User's endpoint answers 204 (DCC Boxed: the "Receive
  Response Service address" on its DUIS interface; SmartDCCInnovation dccboxed-nodered-nodes README and
  src/dccboxed-config.ts). The harness does not run that endpoint: over `DuisHttpLink` the device's responses are
  not observable, and scenarios say so on the timeline instead of asserting them.

A real hub's WAN can only be observed through the DCC (an SRV answered or not), so `is_up` is what the bench last
made it, not a measurement.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from harness.drivers.operator import Operator
from harness.drivers.power import PowerSwitch
from harness.errors import LinkError

__all__ = [
    "WanLink", "EmulatedHubWan", "OperatorWan", "PowerSwitchWan",
    "DuisReply", "DuisLink", "EmulatedDuisLink", "DuisHttpLink", "parse_duis_response",
    "CUT_INSTRUCTION", "RESTORE_INSTRUCTION",
]  # fmt: skip

CUT_INSTRUCTION = "Cut the hub's SM WAN: move the hub into the shielded enclosure (or disconnect its antenna)."
RESTORE_INSTRUCTION = "Restore the hub's SM WAN: take the hub out of the shielded enclosure (or restore the antenna)."


@runtime_checkable
class WanLink(Protocol):
    name: str

    @property
    def is_up(self) -> bool: ...

    async def cut(self) -> None: ...

    async def restore(self) -> None: ...


class EmulatedHubWan:
    """The emulated hub's SM WAN: `wan` is harness.smets.wan.EmulatedWan, `chf` the hub's CHF ID."""

    name = "emulated"

    def __init__(self, wan: Any, chf: Any) -> None:
        self._wan = wan
        self._chf = chf

    @property
    def is_up(self) -> bool:
        return bool(self._wan.is_up(self._chf))

    async def cut(self) -> None:
        self._wan.cut(self._chf)

    async def restore(self) -> None:
        self._wan.restore(self._chf)


class OperatorWan:
    """A person cuts and restores the WAN when asked (ConsoleOperator refuses where nobody can answer)."""

    name = "operator"

    def __init__(self, operator: Operator, *, cut: str = CUT_INSTRUCTION, restore: str = RESTORE_INSTRUCTION,
                 timeout: float = 300.0, up: bool = True) -> None:
        self._operator = operator
        self.cut_instruction = cut
        self.restore_instruction = restore
        self.timeout = timeout
        self._up = up

    @property
    def is_up(self) -> bool:
        return self._up

    async def cut(self) -> None:
        await self._operator.instruct(self.cut_instruction, timeout=self.timeout)
        self._up = False

    async def restore(self) -> None:
        await self._operator.instruct(self.restore_instruction, timeout=self.timeout)
        self._up = True


class PowerSwitchWan:
    """A power switch on the WAN path: off cuts the WAN, on restores it. `settle` s are waited after switching on
    (a modem needs time to register; the DCC's view of the hub follows later still)."""

    name = "power"

    def __init__(self, switch: PowerSwitch, *, settle: float = 0.0, up: bool = True) -> None:
        self._switch = switch
        self.settle = settle
        self._up = up

    @property
    def is_up(self) -> bool:
        return self._up

    async def cut(self) -> None:
        await self._switch.off()
        self._up = False

    async def restore(self) -> None:
        await self._switch.on()
        if self.settle:
            await asyncio.sleep(self.settle)
        self._up = True


# -- DUIS ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DuisReply:
    """The parts of a DUIS response a scenario asserts on."""

    request_id: str
    code: str  # "I0", "I99", "E20", ...
    srv: str
    xml: str
    pre_command: bytes | None = None  # a CV 4 answer's PreCommand GBCSPayload, to sign and send back with CV 5

    @property
    def ok(self) -> bool:
        return self.code.startswith("I")


class DuisLink(Protocol):
    name: str

    async def submit(self, request_xml: str, sender: Any) -> DuisReply: ...

    async def collect(self, sender: Any) -> list[DuisReply] | None: ...


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_duis_response(text: str | bytes, *, where: str = "DUIS response") -> DuisReply:
    """RequestID, ResponseCode and ServiceReferenceVariant of a DUIS Response, namespace-agnostic."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise LinkError(f"{where}: not XML ({exc})") from None
    if _local(root.tag) != "Response":
        raise LinkError(f"{where}: root element is {_local(root.tag)!r}, expected Response")
    found: dict[str, str] = {}
    pre_command = None
    for element in root.iter():
        name = _local(element.tag)
        if name in ("RequestID", "ResponseCode", "ServiceReferenceVariant") and name not in found:
            found[name] = (element.text or "").strip()
        if name == "PreCommand":
            payload = next((c for c in element if _local(c.tag) == "GBCSPayload"), None)
            try:
                pre_command = base64.b64decode((payload.text or "") if payload is not None else "", validate=True)
            except (binascii.Error, ValueError):
                raise LinkError(f"{where}: PreCommand GBCSPayload is not base64") from None
    missing = [n for n in ("RequestID", "ResponseCode") if not found.get(n)]
    if missing:
        raise LinkError(f"{where}: no {' or '.join(missing)} in the response")
    body = text.decode() if isinstance(text, bytes) else text
    return DuisReply(found["RequestID"], found["ResponseCode"], found.get("ServiceReferenceVariant", ""), body,
                     pre_command)


class EmulatedDuisLink:
    """The emulated DCC (harness.smets.dcc.Dcc) behind the same boundary as a DCC test system."""

    name = "emulated"

    def __init__(self, dcc: Any) -> None:
        self.dcc = dcc

    async def submit(self, request_xml: str, sender: Any) -> DuisReply:
        response = self.dcc.submit(request_xml, sender)
        return parse_duis_response(self._signed(response), where="emulated DCC response")

    async def collect(self, sender: Any) -> list[DuisReply]:
        """The responses the DCC has delivered to the sender's outbox (harness/smets/dcc_outbox.py), in order."""
        return [parse_duis_response(self._signed(r), where="emulated DCC delivery")
                for r in self.dcc.outbox.collect(sender.user_id)]

    def _signed(self, response: Any) -> str:
        return response.to_xml(self.dcc.signer)  # the DCC signs its answers when it has a key


class DuisHttpLink:
    """DUIS over HTTP(S) to a DCC test system: POST the signed request XML, read the synchronous response XML.

    `headers` carry what the test system needs (an API key read from the environment by the rig, never logged).
    """

    name = "duis-http"

    def __init__(self, url: str, *, timeout: float = 30.0, headers: dict[str, str] | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise LinkError(f"DUIS endpoint {url!r} is not an http(s):// URL")
        self.url = url
        self.timeout = timeout
        self._headers = {"Content-Type": "application/xml; charset=utf-8", **(headers or {})}

    def __repr__(self) -> str:  # headers may hold a key
        return f"DuisHttpLink({self.url})"

    def _post(self, body: bytes) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url, data=body, headers=self._headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:  # noqa: S310 - a configured URL
                return reply.status, reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise LinkError(f"DUIS endpoint {self.url} unreachable: {reason}") from None

    async def submit(self, request_xml: str, sender: Any) -> DuisReply:
        status, body = await asyncio.to_thread(self._post, request_xml.encode("utf-8"))
        if status >= 400 and not body.strip().startswith(b"<"):
            raise LinkError(f"DUIS endpoint {self.url} answered HTTP {status}: {body[:200]!r}")
        return parse_duis_response(body, where=f"DUIS response from {self.url} (HTTP {status})")

    async def collect(self, sender: Any) -> None:
        """None: the test system POSTs asynchronous responses to the User's receive-response address, which the
        harness does not run (module docstring), so they cannot be collected over this link."""
        return None

    def probe(self) -> str | None:
        """None if something answers HTTP at the URL (any status), else why not (for `rig check`)."""
        request = urllib.request.Request(self.url, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=min(self.timeout, 5.0)):  # noqa: S310
                return None
        except urllib.error.HTTPError:
            return None  # it answered: a DUIS endpoint may well refuse a GET
        except (urllib.error.URLError, OSError) as exc:
            return f"DCC test system at {self.url} is unreachable: {getattr(exc, 'reason', exc)}"
