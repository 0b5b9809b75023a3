"""Pure ZigBee codecs and crypto: no I/O, no clock."""
