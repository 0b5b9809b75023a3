"""Emulation: simulated radio medium, ZigBee nodes, SE devices and an EZSP NCP."""
