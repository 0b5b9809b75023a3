"""Power switches and operators: real subprocesses, a scripted operator."""

from __future__ import annotations

import io
import sys

import pytest

from harness.drivers.operator import ConsoleOperator, ScriptedOperator
from harness.drivers.power import CommandPowerSwitch, ManualPowerSwitch
from harness.errors import RigError


async def test_command_power_switch_runs_each_command(tmp_path):
    marker = tmp_path / "state"
    py = sys.executable
    switch = CommandPowerSwitch(f"{py} -c \"open('{marker}','w').write('on')\"",
                                f"{py} -c \"open('{marker}','w').write('off')\"")
    await switch.on()
    assert marker.read_text() == "on"
    await switch.off()
    assert marker.read_text() == "off"


async def test_command_power_switch_failure_names_the_command():
    switch = CommandPowerSwitch(f"{sys.executable} -c \"import sys; print('relay busy'); sys.exit(3)\"", "true")
    with pytest.raises(RigError, match=r"exited 3: relay busy") as err:
        await switch.on()
    assert "relay busy" in str(err.value) and sys.executable in str(err.value)


async def test_command_power_switch_missing_program():
    with pytest.raises(RigError, match="could not start"):
        await CommandPowerSwitch("/nonexistent/relayctl on", "true").on()


async def test_manual_power_switch_asks_the_operator():
    op = ScriptedOperator()
    await ManualPowerSwitch(op, "ESME").on()
    assert op.instructions == ["switch ON the power to the ESME"]


async def test_console_operator_refuses_without_a_terminal():
    with pytest.raises(RigError, match="nobody can answer.*hold the join button"):
        await ConsoleOperator(io.StringIO(""), io.StringIO()).instruct("hold the join button for 1 s", timeout=1)
