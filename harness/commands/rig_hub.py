"""`rig check` for a hub under test (topology 2): what the bench needs besides the stick (harness/commands/rig.py).

Emulated hub: nothing outside the process. Real hub: the DCC test system's DUIS endpoint answers HTTP, its API key
variable is set, the WAN switch's commands exist (or an operator will be asked), the hub's power likewise. Each
missing thing is named, so a lab knows what to fix before a run.
"""

from __future__ import annotations

import os
import shlex
import shutil

from harness.commands.rig import Check
from harness.rig import Rig

__all__ = ["check_hub_under_test"]


def _missing_programs(commands: dict[str, str | None]) -> list[str]:
    missing = []
    for name, command in commands.items():
        try:
            program = shlex.split(command or "")[0]
        except (ValueError, IndexError):
            missing.append(f"{name}: {command!r} is not a command line")
            continue
        if shutil.which(program) is None:
            missing.append(f"{name}: program {program!r} not found on PATH")
    return missing


def check_hub_under_test(rig: Rig) -> Check:
    hub = rig.hub
    stick = next(role for role, d in rig.devices.items() if d.kind == "stick")
    if hub.kind == "emulated":
        return Check("hub", True, f"emulated Comms Hub under test (topology 2), CHF {hub.eui64}, channel "
                                  f"{hub.channel}, WAN emulated; the stick plays the {stick.upper()}",
                     details={"kind": hub.kind, "eui64": hub.eui64, "channel": hub.channel, "wan": "emulated"})
    from harness.drivers.wan import DuisHttpLink

    problems: list[str] = []
    assert hub.dcc is not None and hub.wan_link is not None
    if hub.dcc.api_key_env and os.environ.get(hub.dcc.api_key_env) is None:
        problems.append(f"hub.dcc.api_key_env: environment variable {hub.dcc.api_key_env} is not set")
    unreachable = DuisHttpLink(hub.dcc.url, timeout=hub.dcc.timeout).probe()
    if unreachable:
        problems.append(f"hub.dcc.url: {unreachable}")
    wan = hub.wan_link
    if wan.kind == "power":
        problems += [f"hub.wan.{m}" for m in _missing_programs({"on": wan.on, "off": wan.off})]
        wan_text = "power switch on the WAN path"
    else:
        wan_text = "operator (shielded enclosure)"
    if hub.power is not None and hub.power.kind == "command":
        problems += [f"hub.power.{m}" for m in _missing_programs({"on": hub.power.on, "off": hub.power.off})]
    details = {"kind": hub.kind, "eui64": hub.eui64, "gpf": hub.gpf, "firmware": hub.firmware, "wan": wan.kind,
               "dcc": hub.dcc.url, "problems": problems}
    if problems:
        return Check("hub", False, f"real Comms Hub under test, CHF {hub.eui64}: " + "; ".join(problems),
                     details=details)
    return Check("hub", True, f"real Comms Hub under test, CHF {hub.eui64}, WAN cut by {wan_text}, DCC test system "
                              f"{hub.dcc.url} answers; the stick plays the {stick.upper()}", details=details)
