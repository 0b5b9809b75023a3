"""An emulated Silicon Labs EmberZNet NCP (ASH + EZSP) that unmodified bellows drives over a pty or tcp://.

    ncp = EmulatedNcp(13, eui64="00:0D:6F:00:0A:BC:DE:F0", strict=True)
    async with serve_ncp(ncp, "pty") as path:
        app = await ControllerApplication.new({"device": {"path": path}, ...}, auto_form=True)

See docs/emulated-ncp.md.
"""

from harness.emulation.ncp.ash import NcpAsh
from harness.emulation.ncp.codec import EzspCodec
from harness.emulation.ncp.ncp import EmulatedNcp, LoggedCommand, StrictModeError
from harness.emulation.ncp.nvstate import NvState
from harness.emulation.ncp.transport import PtyTransport, TcpTransport, serve_ncp

__all__ = [
    "EmulatedNcp",
    "EzspCodec",
    "LoggedCommand",
    "NcpAsh",
    "NvState",
    "PtyTransport",
    "StrictModeError",
    "TcpTransport",
    "serve_ncp",
]
