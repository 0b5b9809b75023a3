"""Registry of EZSP command handlers that live outside ncp.py, so a feature (CBKE, joining as a router, ...)
can add its commands in its own module without editing EmulatedNcp:

    from harness.emulation.ncp.handlers import ezsp_command

    @ezsp_command("getCertificate283k1")
    def get_certificate_283k1(ncp: EmulatedNcp, params: dict) -> dict:
        return {"status": ncp.OK, ...}

A handler takes the NCP and the parsed parameters (bellows' tx schema names) and returns the response fields
(bellows' rx schema names; missing fields are zero, statuses may be given as sl_Status). `cmd_<name>` methods
on EmulatedNcp win over registered handlers; registering a name twice is an error. `@on_reset` functions run on
every RST after RAM is cleared (per-feature RAM state lives in `ncp.extension_ram`, a dict emptied on reset).

The modules in EXTENSION_MODULES are imported on first use if they exist, so a new file only has to be added
to that tuple.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.emulation.ncp.ncp import EmulatedNcp

Handler = Callable[["EmulatedNcp", dict[str, Any]], dict[str, Any]]
ResetHook = Callable[["EmulatedNcp"], None]

EXTENSION_MODULES: tuple[str, ...] = ("cbke", "joining")

_HANDLERS: dict[str, Handler] = {}
_RESET_HOOKS: list[ResetHook] = []
_loaded = False


def ezsp_command(name: str) -> Callable[[Handler], Handler]:
    """Register `func` as the handler of the EZSP command `name` (bellows' command name)."""

    def register(func: Handler) -> Handler:
        if name in _HANDLERS and _HANDLERS[name] is not func:
            raise ValueError(f"EZSP command {name} already has a handler: {_HANDLERS[name].__module__}")
        _HANDLERS[name] = func
        return func

    return register


def on_reset(func: ResetHook) -> ResetHook:
    """Run `func(ncp)` on every NCP reset (RST or reboot), after its RAM is cleared."""
    if func not in _RESET_HOOKS:
        _RESET_HOOKS.append(func)
    return func


def load_extensions() -> None:
    """Import the extension modules that exist (an import error inside one propagates: it is a bug)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in EXTENSION_MODULES:
        qualified = f"{__package__}.{module}"
        if importlib.util.find_spec(qualified) is not None:
            importlib.import_module(qualified)


def registered_handler(name: str) -> Handler | None:
    load_extensions()
    return _HANDLERS.get(name)


def reset_hooks() -> tuple[ResetHook, ...]:
    load_extensions()
    return tuple(_RESET_HOOKS)
