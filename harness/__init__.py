"""smets2-harness: a hardware-in-the-loop test harness for GB SMETS2 devices on a ZigBee SE HAN."""

__version__ = "0.1.0"
