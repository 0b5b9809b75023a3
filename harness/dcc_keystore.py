"""The DCC Boxed test keystore on disk, and the keystore the bench signs DUIS with.

The keystore is the DCC's own: `keystore.json` of npm `@smartdcc/dccboxed-keystore` 0.4.2, which `make dcc-tools`
unpacks into `.cache/dcc-tools/`. It is read at run time; nothing of it is copied into the repository. This module
does the file I/O, so it lives beside duis_schema.py, outside the pure `harness/smets/` domain.

Where it is looked for, first hit wins: an explicit file (`duis check --keystore FILE`), then `$SMETS2_DCC_KEYSTORE`,
then `.cache/dcc-tools/.../keystore.json` under the current directory and under the source tree.

`bench_keystore()`: the DCC keystore when it is found; otherwise (an installed package with no DCC tools) a
per-run generated test CA, so every request the bench sends still carries a real signature that the emulated DCC
verifies (docs/duis-and-dcc.md "Signing").
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from harness.errors import InputError
from harness.smets.duis.catalogue import DCC_ACB_EUI
from harness.smets.duis.keystore import GeneratedKeystore, Keystore
from harness.smets.duis.signing import DccSignatures
from harness.smets.identities import Eui64
from harness.tool_cache import find_tool_path

__all__ = ["KEYSTORE_ENV", "KEYSTORE_PACKAGE", "KeystoreUnavailable", "find_keystore_file", "load_dcc_keystore",
           "bench_keystore", "dcc_signatures"]

KEYSTORE_ENV = "SMETS2_DCC_KEYSTORE"
KEYSTORE_PACKAGE = "@smartdcc/dccboxed-keystore 0.4.2"
_CACHE_FILE = Path(".cache") / "dcc-tools" / "smartdcc-dccboxed-keystore-0.4.2" / "package" / "keystore.json"


class KeystoreUnavailable(InputError):
    """The DCC Boxed keystore file is not where it was looked for."""


def find_keystore_file(explicit: str | Path | None = None) -> Path:
    found, looked = find_tool_path(explicit, option="--keystore", env=KEYSTORE_ENV, cache_path=_CACHE_FILE,
                                   present=Path.is_file)
    if found is not None:
        return found
    raise KeystoreUnavailable(
        f"the DCC Boxed test keystore was not found (looked in {looked}). Run `make dcc-tools`, which unpacks npm "
        f"{KEYSTORE_PACKAGE}, or pass --keystore FILE / set {KEYSTORE_ENV}", where="DUIS keystore")


@lru_cache(maxsize=4)
def _load(path: Path) -> Keystore:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeystoreUnavailable(f"cannot read: {exc.strerror}", where=str(path)) from None
    except ValueError as exc:
        raise InputError(f"not JSON: {exc}", where=str(path)) from None
    return Keystore.from_json(data, source=f"the DCC Boxed test keystore ({KEYSTORE_PACKAGE}, {path})")


def load_dcc_keystore(explicit: str | Path | None = None) -> Keystore:
    """The DCC Boxed test keystore (cached per file); KeystoreUnavailable says where it looked."""
    return _load(find_keystore_file(explicit).resolve())


@lru_cache(maxsize=1)
def _generated() -> GeneratedKeystore:
    return GeneratedKeystore(dcc_ids=[DCC_ACB_EUI])


def bench_keystore() -> Keystore:
    """What the bench signs with: the DCC Boxed test keystore if installed, else one generated test CA per run."""
    try:
        return load_dcc_keystore()
    except KeystoreUnavailable:
        return _generated()


def dcc_signatures(keystore: Keystore, dcc_eui: Eui64 | str = DCC_ACB_EUI) -> DccSignatures:
    """The emulated DCC's signature rules on the bench: verify against `keystore`, sign answers as the DCC."""
    return DccSignatures(keystore.verifier(), keystore.signer_for(dcc_eui))
