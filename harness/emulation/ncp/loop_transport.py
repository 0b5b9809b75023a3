"""An in-process serial line for the emulated NCP: `harness-loop://N`, a URL bellows opens through serialx.

The fleet runs hundreds of premises in one event loop; over a pty every ASH frame costs a write and a read
syscall on each side (about 45 us a write on the CI machine). Here the line is a pair of byte buffers in the
loop: bellows still writes and reads ASH bytes (flags, stuffing, CRC, randomisation, ACK/NAK, retransmission),
the emulated NCP still parses them with its own ASH layer, and each side sees the other's bytes only in a later
loop iteration, as with a pty (a write never calls into the peer while the writer is still running).

serialx dispatches a URL by its scheme to a registered transport class (serialx.register_uri_handler), which is
what bellows' `device.path` goes through; this module registers `harness-loop://` when imported. A line exists
while its NCP is served (`LoopTransport.start` .. `close`); a URL that names no served NCP fails to open with
FileNotFoundError, like a missing /dev node. One host at a time: a second open takes over, as on the tcp://
server (transport.py), and the NV state is kept.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import logging
from typing import Any

from serialx import BaseSerial, ModemPins, register_uri_handler
from serialx.common import BaseSerialTransport

from harness.emulation.ncp.ncp import EmulatedNcp

LOGGER = logging.getLogger(__name__)
SCHEME = "harness-loop://"

_SERVED: dict[str, LoopTransport] = {}
_NEXT = itertools.count(1)


class _Pipe:
    """One direction of the line: bytes written now reach `deliver` in one batch on the next loop iteration."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Any) -> None:
        self._loop = loop
        self._deliver = deliver
        self._buffer = bytearray()
        self._scheduled = False

    def write(self, data: bytes) -> None:
        self._buffer += data
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if self._buffer:
            data = bytes(self._buffer)
            self._buffer.clear()
            self._deliver(data)

    def pending(self) -> int:
        return len(self._buffer)

    def drop(self) -> None:
        self._buffer.clear()


class LoopTransport:
    """The NCP's end of the line (the NcpTransport of transport.py); `url` is "harness-loop://N"."""

    def __init__(self, ncp: EmulatedNcp) -> None:
        self.ncp = ncp
        self.url = ""
        self._host: LoopSerialTransport | None = None
        self._to_host: _Pipe | None = None

    async def start(self) -> None:
        self.url = f"{SCHEME}{next(_NEXT)}"
        _SERVED[self.url] = self

    def _connected(self, host: LoopSerialTransport, loop: asyncio.AbstractEventLoop) -> _Pipe:
        previous, self._host = self._host, host
        if previous is not None:
            LOGGER.info("emulated NCP: a new host replaces the one on %s (one host at a time, like a UART)",
                        self.url)
            previous._peer_gone()
        self._to_host = _Pipe(loop, host._bytes_from_ncp)
        self.ncp.ash.attach(self._to_host.write)
        return _Pipe(loop, self._bytes_from_host)

    def _bytes_from_host(self, data: bytes) -> None:
        self.ncp.ash.data_received(data)

    def _disconnected(self, host: LoopSerialTransport) -> None:
        if self._host is host:
            self._host = None
            if self._to_host is not None:
                self._to_host.drop()
            self.ncp.ash.detach()

    async def close(self) -> None:
        _SERVED.pop(self.url, None)
        host, self._host = self._host, None
        self.ncp.ash.detach()
        if host is not None:
            host._peer_gone()


class LoopSerial(BaseSerial):
    """serialx wants a synchronous class for every scheme; the line lives in an event loop, so there is none."""

    def _open(self) -> None:
        raise OSError(errno.EOPNOTSUPP, f"{SCHEME} is an asyncio line only (harness/emulation/ncp/loop_transport.py)")

    def _close(self) -> None:
        pass  # nothing was opened


class LoopSerialTransport(BaseSerialTransport):
    """The host's end of the line, as serialx gives it to bellows."""

    transport_name = "harness-loop"

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: asyncio.Protocol) -> None:
        super().__init__(loop, protocol)
        self._server: LoopTransport | None = None
        self._to_ncp: _Pipe | None = None
        self._broken: OSError | None = None

    async def _connect(self, *, path: str | None, **kwargs: Any) -> None:  # type: ignore[override]
        server = _SERVED.get(path or "")
        if server is None:
            raise FileNotFoundError(errno.ENOENT, "no emulated NCP is served on this in-process line", path)
        self._server = server
        self._to_ncp = server._connected(self, self._loop)
        self._call_protocol_connection_made()

    def _bytes_from_ncp(self, data: bytes) -> None:
        if not self._closing:
            self._protocol.data_received(data)

    def _peer_gone(self) -> None:
        """The NCP stopped being served (or another host took the line): the port is gone under bellows."""
        if self._connection_lost_called:
            return
        self._closing = True
        self._server = None
        self._broken = OSError(errno.EIO, "the emulated NCP's in-process line was closed")
        self._loop.call_soon(self._call_protocol_connection_lost, self._broken)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._broken is not None:  # as serialx's own transports raise on a port that went away
            raise self._broken
        if self._closing or self._to_ncp is None:
            return
        self._to_ncp.write(bytes(data))

    def _finish_close(self) -> None:
        if self._connection_lost_called:
            return
        self._closing = True
        self._mark_user_closed()
        if self._to_ncp is not None:
            self._to_ncp.drop()
        if self._server is not None:
            self._server._disconnected(self)
            self._server = None
        self._loop.call_soon(self._call_protocol_connection_lost, None)

    def close(self) -> None:
        self._finish_close()

    def abort(self) -> None:
        self._finish_close()

    def pause_reading(self) -> None:
        pass  # bellows never pauses a serial port; the NCP writes a frame at a time

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return self._to_ncp.pending() if self._to_ncp is not None else 0

    async def _flush(self) -> None:
        pass

    async def _get_modem_pins(self) -> ModemPins:
        return ModemPins()

    async def _set_modem_pins(self, modem_pins: ModemPins) -> None:
        pass

    async def _reconfigure_port(self, update: Any) -> None:
        pass


register_uri_handler(scheme=SCHEME, unique_scheme=SCHEME, sync_cls=LoopSerial,
                     async_transport_cls=LoopSerialTransport)
