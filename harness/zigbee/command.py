"""What NWK and APS commands share: one command-identifier byte, then the command's own fields.

ZigBee spec 3.4 (NWK) and 4.4.10 (APS) lay out a command payload the same way; each layer keeps its own command
classes (`NwkCommand`, `ApsCommand`) on this base so a frame can still tell its layer's commands apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Self, TypeVar

from harness.errors import DecodeError
from harness.zigbee.wire import ByteReader

__all__ = ["Command", "UnknownCommand", "decode_command"]

_C = TypeVar("_C", bound="Command")


class Command:
    command_id: ClassVar[int]

    def body(self) -> bytes:
        return b""

    @classmethod
    def decode_body(cls, reader: ByteReader) -> Self:
        return cls()

    def to_bytes(self) -> bytes:
        return bytes([self.command_id]) + self.body()


@dataclass(frozen=True)
class UnknownCommand(Command):
    """A command the codec does not model; its body is kept as sent. Each layer names its own default id."""

    command_id: int  # type: ignore[misc]
    payload: bytes = b""

    def body(self) -> bytes:
        return bytes(self.payload)


def decode_command(data: bytes, frame: str, pick: Callable[[ByteReader, int], type[_C] | None],
                   unknown: Callable[[int, bytes], _C]) -> _C:
    """Decode one command payload. `pick` names the class for a command id (it may read a sub-type byte first),
    or None for a command the codec does not model, which `unknown` keeps with its body as sent."""
    reader = ByteReader(data, frame)
    command_id = reader.u8("command identifier")
    cls = pick(reader, command_id)
    if cls is None:
        return unknown(command_id, reader.rest())
    try:
        command = cls.decode_body(reader)
    except ValueError as exc:  # a constructor check (DecodeError is a ValueError too)
        if isinstance(exc, DecodeError):
            raise
        raise reader.fail(str(exc)) from None
    reader.end()
    return command
