"""Handlers registered from other modules (harness/emulation/ncp/handlers.py) answer like cmd_ methods."""

from __future__ import annotations

import bellows.types as t
import pytest

from harness.emulation.ncp import handlers
from harness.emulation.ncp.ncp import EmulatedNcp
from tests.emulation.ncp_helpers import COORDINATOR_EUI64, EzspHost


@pytest.fixture
def scratch_registry(monkeypatch):
    monkeypatch.setattr(handlers, "_HANDLERS", dict(handlers._HANDLERS))
    monkeypatch.setattr(handlers, "_RESET_HOOKS", list(handlers._RESET_HOOKS))


def test_a_registered_handler_answers_and_sees_the_ncp(scratch_registry):
    @handlers.ezsp_command("getRandomNumber")
    def random_number(ncp, params):
        ncp.extension_ram["asked"] = True
        return {"status": ncp.OK, "value": 0x1234}

    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    assert EzspHost(ncp).response("getRandomNumber") == {"status": t.EmberStatus.SUCCESS, "value": 0x1234}
    assert ncp.extension_ram == {"asked": True}
    ncp.check()  # a registered handler counts as handled in strict mode


def test_reset_clears_extension_ram_and_runs_reset_hooks(scratch_registry):
    seen = []
    handlers.on_reset(lambda ncp: seen.append(dict(ncp.extension_ram)))
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64)
    ncp.extension_ram["x"] = 1
    ncp._reset()
    assert seen == [{}]


def test_a_name_registered_twice_is_an_error(scratch_registry):
    handlers.ezsp_command("getRandomNumber")(lambda ncp, p: {})
    with pytest.raises(ValueError, match="getRandomNumber"):
        handlers.ezsp_command("getRandomNumber")(lambda ncp, p: {})
