"""Drivers: the narrow boundary to coordinators, WAN links, power switches and operators."""
