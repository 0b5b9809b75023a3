"""Where the DCC's published tools (DUIS schema, test keystore) are looked for on disk, in one order for all:
an explicit path (a command-line option), then an environment variable, then the git-ignored cache `make dcc-tools`
fills, under the current directory and under the source tree this package was installed from."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["find_tool_path"]

_SOURCE_TREE = Path(__file__).resolve().parent.parent


def find_tool_path(explicit: str | Path | None, *, option: str, env: str, cache_path: Path,
                   present: Callable[[Path], bool]) -> tuple[Path | None, str]:
    """The first candidate for which `present` holds, or None; and "label: path; ..." of every place looked."""
    candidates: list[tuple[str, Path]] = []
    if explicit is not None:
        candidates.append((option, Path(explicit)))
    elif os.environ.get(env):
        candidates.append((f"${env}", Path(os.environ[env])))
    else:
        candidates.append(("current directory", Path.cwd() / cache_path))
        candidates.append(("source tree", _SOURCE_TREE / cache_path))
    found = next((path for _, path in candidates if present(path)), None)
    return found, "; ".join(f"{label}: {path}" for label, path in candidates)
