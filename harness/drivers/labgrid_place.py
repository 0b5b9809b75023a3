"""A coordinator stick (and device power switches) in a labgrid place, shared through the labgrid coordinator.

A lab that already runs labgrid (research/anchors.md A.1) keeps its sticks on exporter hosts; the harness, like
`labgrid-client`, asks the coordinator for the place, acquires it (so nobody else drives the stick meanwhile),
takes the serial port from the place's resources and releases the place when the bench stops, also when a
scenario crashed (the bench's exit stack). A process killed outright leaves the place acquired: release it with
`labgrid-client -p PLACE release --kick`.

* Serial: the exporter publishes a local USBSerialPort as a NetworkSerialPort (ser2net, RFC 2217) and a
  NetworkSerialPort as it is. `protocol: rfc2217` becomes `rfc2217://host:port` for bellows' serial layer;
  `protocol: raw` (a plain TCP serial server, e.g. the emulated NCP's tcp://) becomes `tcp://host:port`.
  EZSP/ASH over the LAN is timing-sensitive, and labgrid's ser2net line has no RTS/CTS (anchors.md A.1 §B).
* Power: a NetworkPowerPort (or other labgrid power resource) in the place, switched by labgrid's own
  NetworkPowerDriver (its PDU back-ends), in a thread because labgrid's drivers block.

The session is labgrid's own ClientSession (gRPC), run in the bench's event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
from typing import Any

from harness.errors import RigError

LOGGER = logging.getLogger(__name__)
DEFAULT_COORDINATOR = "127.0.0.1:20408"  # labgrid's default (LG_COORDINATOR overrides it)
SERIAL_CLASSES = ("NetworkSerialPort",)
POWER_CLASSES = ("NetworkPowerPort",)


def serial_url(args: dict[str, Any]) -> str:
    """bellows' URL for an exported NetworkSerialPort's parameters."""
    host, port = args.get("host"), args.get("port")
    if not host or not port:
        raise RigError(f"labgrid NetworkSerialPort without host/port: {args}")
    protocol = args.get("protocol", "rfc2217")
    if protocol == "rfc2217":
        return f"rfc2217://{host}:{port}"
    if protocol == "raw":
        return f"tcp://{host}:{port}"
    raise RigError(f"labgrid NetworkSerialPort protocol {protocol!r} is not rfc2217 or raw")


class LabgridPlace:
    """Acquire with `await place.acquire()`; then `serial_url()`, `power_switch(name)`; `await place.release()`."""

    def __init__(self, place: str, coordinator: str | None = None, *, timeout: float = 10.0) -> None:
        import os

        self.place = place
        self.coordinator = coordinator or os.environ.get("LG_COORDINATOR") or DEFAULT_COORDINATOR
        self.timeout = timeout
        self.acquired = False
        self._session: Any = None
        self.log = io.StringIO()  # what labgrid's client printed (acquired/released), for the evidence

    async def acquire(self) -> None:
        from labgrid.remote.client import ClientSession, Error
        from labgrid.util.proxy import proxymanager

        address = proxymanager.get_grpc_address(self.coordinator, default_port=20408)
        args = argparse.Namespace(place=self.place, allow_unmatched=False, kick=False)
        session = ClientSession(address, asyncio.get_running_loop(), args=args, prog="smets2-harness")
        try:
            await asyncio.wait_for(session.start(), self.timeout)
        except Exception as exc:
            with contextlib.suppress(Exception):
                await session.close()
            raise RigError(f"labgrid coordinator {self.coordinator}: cannot connect ({exc})") from exc
        self._session = session
        try:
            with contextlib.redirect_stdout(self.log):
                await asyncio.wait_for(session.acquire(), self.timeout)
        except (Error, asyncio.TimeoutError) as exc:
            await self._close_session()
            raise RigError(f"labgrid place {self.place} on {self.coordinator}: {exc}") from exc
        self.acquired = True

    def resources(self) -> dict[tuple[str, str], Any]:
        """(name, class) -> labgrid's resource entry (`.args`, `.avail`) for the acquired place."""
        if self._session is None or not self.acquired:
            raise RigError(f"labgrid place {self.place} is not acquired")
        return self._session.get_target_resources(self._session.get_place(self.place))

    def _find(self, classes: tuple[str, ...], name: str | None, what: str) -> Any:
        found = {k: v for k, v in self.resources().items() if k[1] in classes and (name is None or k[0] == name)}
        if not found:
            have = ", ".join(f"{n} ({c})" for n, c in self.resources()) or "none"
            raise RigError(f"labgrid place {self.place}: no {what}{f' named {name}' if name else ''} "
                           f"(resources: {have})")
        if len(found) > 1:
            raise RigError(f"labgrid place {self.place}: several {what}s ({', '.join(n for n, _ in found)}); "
                           "name one")
        ((_key, entry),) = found.items()
        if not entry.avail:
            raise RigError(f"labgrid place {self.place}: the {what} {_key[0]} is not available (exporter down?)")
        return _key[0], entry

    def serial_url(self, name: str | None = None) -> str:
        _name, entry = self._find(SERIAL_CLASSES, name, "serial port")
        return serial_url(dict(entry.args))

    def power_switch(self, name: str) -> LabgridPowerSwitch:
        resource, entry = self._find(POWER_CLASSES, name, "power port")
        return LabgridPowerSwitch(self.place, resource, dict(entry.args))

    async def release(self) -> None:
        if self._session is None:
            return
        try:
            if self.acquired:
                with contextlib.redirect_stdout(self.log):
                    await asyncio.wait_for(self._session.release(), self.timeout)
                self.acquired = False
        finally:
            await self._close_session()

    async def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.stop(), self.timeout)
            with contextlib.suppress(Exception):
                await session.close()


class LabgridPowerSwitch:
    """The PowerSwitch protocol over labgrid's NetworkPowerDriver for one power port of the place."""

    def __init__(self, place: str, name: str, args: dict[str, Any]) -> None:
        self.place, self.name, self.args = place, name, args
        self._driver: Any = None

    def _set(self, value: bool) -> None:
        if self._driver is None:
            from labgrid import Target
            from labgrid.driver import NetworkPowerDriver
            from labgrid.resource import NetworkPowerPort

            target = Target(f"{self.place}-{self.name}")
            NetworkPowerPort(target, self.name, **{k: self.args[k] for k in ("model", "host", "index")})
            self._driver = NetworkPowerDriver(target, None)
            target.activate(self._driver)
        if value:
            self._driver.on()
        else:
            self._driver.off()

    async def on(self) -> None:
        await self._switch(True)

    async def off(self) -> None:
        await self._switch(False)

    async def _switch(self, value: bool) -> None:
        try:
            await asyncio.to_thread(self._set, value)
        except Exception as exc:  # labgrid's back-ends raise requests/socket errors
            raise RigError(f"labgrid power port {self.name} of place {self.place}: switching "
                           f"{'on' if value else 'off'} failed: {exc}") from exc
