"""Fleet mode: the DP121 story over many emulated premises in one run (docs/fleet.md)."""
