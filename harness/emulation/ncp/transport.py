"""Serial ports for the emulated NCP: a pty (bellows opens the slave path), a tcp:// server, or an in-process line
(`loop`, harness-loop://, for bellows in the same event loop: loop_transport.py).

Rules from research/ezsp.md 7 and 0.7/0.8:
* pty: `os.openpty()`, slave set raw at once and kept open by us, so the master never sees EIO/HUP while bellows
  closes and reopens the port; master non-blocking, read with `loop.add_reader`. bellows' default software flow
  control sets IXON on the slave: ASH stuffing keeps raw 0x11/0x13 off the wire, and we never write before the
  first RST (bellows flushes the port after opening it anyway).
* tcp: serve `tcp://` (not `socket://`, which makes bellows wait 2 s for a zigbeed-style RSTACK on every reset).
  A closed connection is a host going away, not an NCP reset; a new connection takes over (NV state is kept).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import tty
from collections.abc import AsyncIterator
from typing import Literal, Protocol

from harness.emulation.ncp.ncp import EmulatedNcp

LOGGER = logging.getLogger(__name__)
READ_SIZE = 4096


class NcpTransport(Protocol):
    url: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class PtyTransport:
    """The NCP behind a pseudo-terminal. `url` is the slave path (/dev/pts/N) to give bellows."""

    def __init__(self, ncp: EmulatedNcp) -> None:
        self.ncp = ncp
        self.url = ""
        self._master = -1
        self._slave = -1
        self._out = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def path(self) -> str:
        return self.url

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.url = os.ttyname(self._slave)
        self._loop.add_reader(self._master, self._readable)
        self.ncp.ash.attach(self._write)

    def _readable(self) -> None:
        try:
            data = os.read(self._master, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.EIO:
                return  # no slave open right now (cannot happen while we hold it, but harmless)
            raise
        if data:
            self.ncp.ash.data_received(data)

    def _write(self, data: bytes) -> None:
        if self._master < 0:
            return
        self._out.extend(data)
        self._flush()

    def _flush(self) -> None:
        assert self._loop is not None
        while self._out:
            try:
                sent = os.write(self._master, self._out)
            except BlockingIOError:
                break
            except OSError as exc:
                LOGGER.debug("pty write failed: %s", exc)
                self._out.clear()
                break
            del self._out[:sent]
        if self._out:
            self._loop.add_writer(self._master, self._writable)

    def _writable(self) -> None:
        assert self._loop is not None
        self._loop.remove_writer(self._master)
        self._flush()

    async def close(self) -> None:
        self.ncp.ash.detach()
        if self._loop is not None and self._master >= 0:
            self._loop.remove_reader(self._master)
            self._loop.remove_writer(self._master)
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1


class _TcpConnection(asyncio.Protocol):
    def __init__(self, server: TcpTransport) -> None:
        self._server = server
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._server._connected(self)

    def data_received(self, data: bytes) -> None:
        if self._server._current is self:
            self._server.ncp.ash.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server._disconnected(self)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


def _peer(conn: _TcpConnection) -> str:
    peer = conn.transport.get_extra_info("peername") if conn.transport is not None else None
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else "?"


class TcpTransport:
    """The NCP behind a TCP server on 127.0.0.1 (port 0 picks a free one); `url` is "tcp://127.0.0.1:PORT"."""

    def __init__(self, ncp: EmulatedNcp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.ncp = ncp
        self.host = host
        self.port = port
        self.url = ""
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._current: _TcpConnection | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _TcpConnection(self), self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"tcp://{self.host}:{self.port}"

    def _connected(self, conn: _TcpConnection) -> None:
        previous, self._current = self._current, conn
        self.connections += 1
        peer = _peer(conn)
        if previous is not None and previous.transport is not None:
            LOGGER.info("emulated NCP: host %s replaces host %s (one host at a time, like a UART)", peer,
                        _peer(previous))  # fmt: skip
            previous.transport.close()  # one host at a time, like a UART
        else:
            LOGGER.info("emulated NCP: host %s connected", peer)
        self.ncp.ash.attach(conn.write)

    def _disconnected(self, conn: _TcpConnection) -> None:
        if self._current is conn:
            LOGGER.info("emulated NCP: host %s disconnected (NV kept)", _peer(conn))
            self._current = None
            self.ncp.ash.detach()

    async def close(self) -> None:
        if self._current is not None and self._current.transport is not None:
            self._current.transport.close()
        self._current = None
        self.ncp.ash.detach()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


TransportKind = Literal["pty", "tcp", "loop"]


def make_transport(ncp: EmulatedNcp, kind: TransportKind, *, port: int = 0) -> NcpTransport:
    if kind == "pty":
        return PtyTransport(ncp)
    if kind == "tcp":
        return TcpTransport(ncp, port=port)
    if kind == "loop":  # in-process, for bellows in this event loop only (loop_transport.py)
        from harness.emulation.ncp.loop_transport import LoopTransport

        return LoopTransport(ncp)
    raise ValueError(f"transport {kind!r} is not 'pty', 'tcp' or 'loop'")


@contextlib.asynccontextmanager
async def serve_ncp(ncp: EmulatedNcp, kind: TransportKind = "pty", *, port: int = 0) -> AsyncIterator[str]:
    """Serve `ncp` for the duration of the block; yields the path/URL to give bellows as `device.path`."""
    transport = make_transport(ncp, kind, port=port)
    await transport.start()
    try:
        yield transport.url
    finally:
        await transport.close()
