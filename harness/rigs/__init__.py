"""Rigs shipped inside the package, so an installed harness runs with no checkout: `emulated.yaml` is the
default rig (a byte-for-byte copy of the repository's rigs/emulated.yaml; tests/product/test_packaged_data.py keeps them
equal)."""

from pathlib import Path

EMULATED = Path(__file__).with_name("emulated.yaml")
