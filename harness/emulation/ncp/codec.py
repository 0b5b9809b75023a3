"""EZSP frames, NCP side, driven entirely by bellows' own per-version command tables.

`bellows/ezsp/vNN/commands.py::COMMANDS` maps each command name to `(frame_id, tx_schema, rx_schema)`, where tx
is what the host sends (we parse it) and rx is what the host expects back (we build it). Nothing is declared here
by hand, so the emulator speaks exactly the dialect of the pinned bellows (research/ezsp.md 1.3, 1.4).

Headers: legacy `[seq][fc][id:u8]` (the first `version` of every session, and all of EZSP 4), extended
`[seq][fc][0xFF][0x00][id:u8]` (EZSP 5-7) and `[seq][fc][0x01][id:u16 LE]` (EZSP 8+).

Caveats handled here: `addEndpoint` carries two unbounded cluster lists back to back, split by their counts;
status fields are translated between EmberStatus/EzspStatus (1 byte, up to v13) and sl_Status (4 bytes, v14+)
so handlers can speak sl_Status everywhere.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import importlib
import types
from typing import Any, Final

import bellows.types as t
import zigpy.types as zt

from harness.errors import DecodeError

FRAME_CONTROL_RESPONSE: Final = 0x80
FRAME_CONTROL_ASYNC_CALLBACK: Final = 0x10
V8_FRAME_CONTROL_HIGH: Final = 0x01
EXTENDED_MARKER: Final = 0xFF

# The EZSP versions bellows 1.2.1 has tables for (no v15). Later versions fall back to the newest table,
# as bellows itself does.
SUPPORTED_VERSIONS: Final = (4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19)
LATEST_TABLE: Final = 19

_STATUS_TYPES: Final = (t.EmberStatus, t.EzspStatus, t.sl_Status)

# Commands whose tx schema has unbounded lists that are not last: (list field, count field) pairs in order.
_SPLIT_LISTS: Final = {
    "addEndpoint": (("inputClusterList", "inputClusterCount"), ("outputClusterList", "outputClusterCount")),
}

# (first version, command) -> fields a host may leave off the end. EmberZNet 8.0 (EZSP 14) dropped the flags of
# importTransientKey (sl_zigbee_sec_man_import_transient_key(eui64, key); zigbee-herdsman sends it so from v14),
# while bellows 1.2.1's v14+ tables inherit v13's layout with flags: accept both (docs/emulated-ncp.md).
_OPTIONAL_TRAILING: Final = {
    "importTransientKey": (14, ("flags",)),
}


class HeaderFormat(enum.Enum):
    LEGACY = "legacy"
    EXTENDED = "extended"
    V8 = "v8"


@dataclasses.dataclass(frozen=True)
class EzspCommand:
    """One parsed host -> NCP frame. `name` is None for a frame id the table does not know."""

    seq: int
    frame_control: int
    header: HeaderFormat
    frame_id: int
    name: str | None
    params: dict[str, Any]
    raw: bytes


@functools.cache
def command_table(version: int) -> dict[str, tuple[int, Any, Any]]:
    """bellows' COMMANDS table for an EZSP version (versions past the newest use the newest, like bellows)."""
    if version < SUPPORTED_VERSIONS[0]:
        raise ValueError(f"EZSP version {version} is older than any bellows supports ({SUPPORTED_VERSIONS})")
    table_version = version if version in SUPPORTED_VERSIONS else LATEST_TABLE
    return importlib.import_module(f"bellows.ezsp.v{table_version}.commands").COMMANDS


def header_format_for(version: int) -> HeaderFormat:
    if version >= 8:
        return HeaderFormat.V8
    if version >= 5:
        return HeaderFormat.EXTENDED
    return HeaderFormat.LEGACY


class EzspCodec:
    """Parse commands and build responses/callbacks for one EZSP version."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.commands = command_table(version)
        self.names_by_id: dict[int, str] = {frame_id: name for name, (frame_id, _, _) in self.commands.items()}
        self.native_header = header_format_for(version)

    # ---- host -> NCP -------------------------------------------------------------------------------------

    def parse_command(self, data: bytes) -> EzspCommand:
        """Split the header by its shape (byte 2 tells legacy 0x00/ext 0xFF/v8 0x01 apart) and parse parameters."""
        if len(data) < 3:
            raise DecodeError(f"EZSP frame of {len(data)} bytes is shorter than any header: {data.hex()}")
        seq, fc = data[0], data[1]
        if self.native_header is HeaderFormat.V8 and data[2] == V8_FRAME_CONTROL_HIGH and len(data) >= 5:
            header, frame_id, body = HeaderFormat.V8, int.from_bytes(data[3:5], "little"), data[5:]
        elif (
            self.native_header is HeaderFormat.EXTENDED
            and data[2] == EXTENDED_MARKER
            and len(data) >= 5
            and data[3] == 0x00
        ):
            header, frame_id, body = HeaderFormat.EXTENDED, data[4], data[5:]
        else:
            header, frame_id, body = HeaderFormat.LEGACY, data[2], data[3:]
        name = self.names_by_id.get(frame_id)
        params: dict[str, Any] = {}
        if name is not None:
            params = self.parse_params(name, body)
        return EzspCommand(seq, fc, header, frame_id, name, params, bytes(data))

    def parse_params(self, name: str, body: bytes) -> dict[str, Any]:
        _, tx_schema, _ = self.commands[name]
        if isinstance(tx_schema, tuple):  # an empty schema written as `()` (gpTranslationTableClear)
            tx_schema = {}
        optional = _OPTIONAL_TRAILING.get(name)
        if optional is not None and self.version >= optional[0] and isinstance(tx_schema, dict):
            tx_schema = _without_absent_trailing(tx_schema, optional[1], body)
        try:
            if isinstance(tx_schema, dict):
                params, rest = parse_fields(body, tx_schema)
            else:
                value, rest = tx_schema.deserialize(body)
                params = value.as_dict()
        except Exception as exc:  # noqa: BLE001 - every parse failure is a malformed command
            raise DecodeError(f"EZSP v{self.version} {name}: cannot parse parameters {body.hex()}: {exc}") from exc
        if name in _SPLIT_LISTS:
            params = _split_lists(params, _SPLIT_LISTS[name], tx_schema)
        elif rest:
            raise DecodeError(f"EZSP v{self.version} {name}: {len(rest)} trailing bytes {rest.hex()}")
        return params

    # ---- NCP -> host -------------------------------------------------------------------------------------

    def build_response(self, name: str, seq: int, values: dict[str, Any], *, header: HeaderFormat) -> bytes:
        return self._header(seq, FRAME_CONTROL_RESPONSE, name, header) + self.serialize_fields(name, values)

    def build_callback(self, name: str, seq: int, values: dict[str, Any]) -> bytes:
        fc = FRAME_CONTROL_RESPONSE | FRAME_CONTROL_ASYNC_CALLBACK
        return self._header(seq, fc, name, self.native_header) + self.serialize_fields(name, values)

    def serialize_fields(self, name: str, values: dict[str, Any]) -> bytes:
        """Serialise the rx schema of `name`; missing fields are zero, status fields are translated."""
        _, _, rx_schema = self.commands[name]
        if isinstance(rx_schema, tuple):
            rx_schema = {}
        if isinstance(rx_schema, dict):
            return b"".join(
                _field_bytes(values[field], typ) if field in values else _zero_bytes(typ)
                for field, typ in rx_schema.items()
            )
        kwargs = {}
        for field in rx_schema.fields:
            if field.name in values:
                kwargs[field.name] = _coerce(values[field.name], field.type)
            elif field.requires is None or field.requires(types.SimpleNamespace(**kwargs)):
                kwargs[field.name] = zero_value(field.type)
        return rx_schema(**kwargs).serialize()

    def _header(self, seq: int, fc: int, name: str, header: HeaderFormat) -> bytes:
        frame_id = self.commands[name][0]
        if header is HeaderFormat.V8:
            return bytes([seq & 0xFF, fc, V8_FRAME_CONTROL_HIGH]) + frame_id.to_bytes(2, "little")
        if header is HeaderFormat.EXTENDED:
            return bytes([seq & 0xFF, fc, EXTENDED_MARKER, 0x00, frame_id])
        return bytes([seq & 0xFF, fc, frame_id])


def _without_absent_trailing(schema: dict[str, Any], optional: tuple[str, ...], body: bytes) -> dict[str, Any]:
    """The schema without its optional trailing fields when the body is too short to hold them."""
    required = {k: v for k, v in schema.items() if k not in optional}
    try:
        _, rest = parse_fields(body, required)
    except Exception:  # noqa: BLE001 - too short even without them: let the full schema report it
        return schema
    return required if rest == b"" else schema


def _split_lists(params: dict[str, Any], pairs: tuple[tuple[str, str], ...], schema: dict[str, Any]) -> dict[str, Any]:
    """The generic parse put every list item into the first list: deal them out by the count fields."""
    items = [item for list_field, _ in pairs for item in params.get(list_field, [])]
    out = dict(params)
    for list_field, count_field in pairs:
        count = int(params[count_field])
        if count > len(items):
            raise DecodeError(f"{list_field}: count {count} but only {len(items)} items left")
        out[list_field] = schema[list_field](items[:count])
        items = items[count:]
    if items:
        raise DecodeError(f"{len(items)} list items beyond the declared counts")
    return out


def to_sl_status(value: Any) -> t.sl_Status:
    """Any status (sl_Status, EmberStatus, EzspStatus or a plain int meaning sl_Status) as sl_Status."""
    if isinstance(value, t.sl_Status):
        return value
    if isinstance(value, (t.EmberStatus, t.EzspStatus)):
        return t.sl_Status.from_ember_status(value)
    return t.sl_Status(int(value))


@functools.cache
def _reverse_status_map(status_type: type) -> dict[t.sl_Status, Any]:
    """sl_Status -> the first (most specific) EmberStatus/EzspStatus that bellows maps onto it."""
    reverse: dict[t.sl_Status, Any] = {}
    for (typ, old), new in t.SL_STATUS_MAP.items():
        if typ is status_type:
            reverse.setdefault(new, old)
    return reverse


def translate_status(value: Any, status_type: type) -> Any:
    """Express a status in the field's status type (the 1-byte enums up to v13, sl_Status from v14)."""
    if isinstance(value, status_type):
        return value
    if status_type is t.sl_Status:
        if isinstance(value, (t.EmberStatus, t.EzspStatus)) and (type(value), value) not in t.SL_STATUS_MAP:
            return t.sl_Status.ZIGBEE_EZSP_ERROR
        return to_sl_status(value)
    sl = to_sl_status(value)
    old = _reverse_status_map(status_type).get(sl)
    if old is not None:
        return old
    if sl.name in status_type.__members__:
        return status_type[sl.name]
    return t.EmberStatus.ERR_FATAL if status_type is t.EmberStatus else t.EzspStatus.ERROR_INVALID_CALL


def _field_bytes(value: Any, typ: Any) -> bytes:
    """One field on the wire. A value already of the field's type is serialised as it is: rebuilding it (a zigpy
    Struct binds its constructor's signature) is most of the NCP's encoding cost and yields the same bytes. An int
    for a plain integer field is range-checked and packed as the type would (`_int_layout`), without making one."""
    value = _coerce(value, typ)
    layout = _int_layout(typ)
    if layout is not None and isinstance(value, int):
        low, high, size, order, signed = layout
        if low <= value <= high:
            return int.to_bytes(value, size, order, signed=signed)  # out of range: typ() below raises as it did
    elif (length := _octets_length(typ)) is not None and isinstance(value, list | bytes) and len(value) == length:
        try:
            return bytes(value)  # an octet list (certificate, public key, SMAC, key): its items are its octets
        except TypeError:
            pass  # an item that is no int (1.0): the type below converts it, or refuses it, as it did
    elif type(value) is typ and (reader := _reader(typ))[0] is _STRUCT:
        octets = _struct_bytes(value, reader[1])
        if octets is not None:
            return octets
    return (value if type(value) is typ else typ(value)).serialize()


def _struct_bytes(value: Any, schema: dict[str, Any]) -> bytes | None:
    """Struct.serialize's octets for a struct `_struct_schema` accepts, when every field holds a value of exactly
    its declared type (as Struct.__new__ leaves them): the fields one after another, each as _field_bytes writes
    it. None otherwise (a field unset, or set later to a plain int or to a subclass that writes itself its own way):
    Struct.serialize then converts, writes or refuses it as it does."""
    fields = vars(value)
    chunks = []
    for name, kind in schema.items():
        field = fields.get(name)
        if type(field) is not kind:
            return None
        chunks.append(_field_bytes(field, kind))
    return b"".join(chunks)


@functools.cache
def _octets_length(typ: Any) -> int | None:
    """The length of a fixed list of uint8 that serialises item by item as FixedList does (its octets in order),
    else None. bytes() of such a list is its serialisation, and raises (ValueError) on an item that is no octet."""
    if not (isinstance(typ, type) and issubclass(typ, zt.FixedList)) or typ.serialize is not zt.FixedList.serialize:
        return None
    item = getattr(typ, "_item_type", None)
    if item is not zt.uint8_t or not isinstance(getattr(typ, "_length", None), int):
        return None
    return typ._length


def parse_fields(data: bytes, schema: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """bellows' deserialize_dict (each field's type reads its octets in order), with the common kinds of field read
    here (`_reader`): the same value of the same type, items and struct fields included, as the type's own
    deserialize gives, without its per-octet calls, range checks (octets read from the wire are in range by
    construction) and, for a Struct, the signature binding of its constructor. The same ValueError when the data
    runs out. Anything else is read by its type."""
    result: dict[str, Any] = {}
    for key, typ in schema.items():
        reader = _reader(typ)
        kind = reader[0]
        if kind is _INT:
            _, size, order, signed = reader
            if len(data) < size:
                raise ValueError(f"Data is too short to contain {size} bytes")
            result[key] = int.__new__(typ, int.from_bytes(data[:size], order, signed=signed))
            data = data[size:]
        elif kind is _ENUM:
            _, size, order, signed, members = reader
            if len(data) < size:
                raise ValueError(f"Data is too short to contain {size} bytes")
            member = members.get(int.from_bytes(data[:size], order, signed=signed))
            if member is None:  # a value the enum does not name: its own call makes the "undefined_..." member
                result[key], data = typ.deserialize(data)
                continue
            result[key] = member
            data = data[size:]
        elif kind is _OCTETS:
            length = reader[1]
            if len(data) < length:
                raise ValueError(f"Data is too short to contain {length} bytes")
            octets = list.__new__(typ)
            list.extend(octets, [int.__new__(zt.uint8_t, octet) for octet in data[:length]])
            result[key] = octets
            data = data[length:]
        elif kind is _STRUCT:
            values, data = parse_fields(data, reader[1])
            instance = object.__new__(typ)
            vars(instance).update(values)  # what Struct.__new__ sets: each field, already of its type, in order
            result[key] = instance
        else:
            result[key], data = typ.deserialize(data)
    return result, data


_INT, _ENUM, _OCTETS, _STRUCT, _OWN = "int", "enum", "octets", "struct", "own"


@functools.cache
def _reader(typ: Any) -> tuple[Any, ...]:
    """How parse_fields reads a field of type `typ`: (_INT, octets, byte order, signed), (_ENUM, the same and the
    enum's value -> member map), (_OCTETS, length), (_STRUCT, its fields' schema) or (_OWN,): typ.deserialize."""
    layout = _int_read_layout(typ)
    if layout is not None:
        return (_INT, *layout)
    layout = _enum_read_layout(typ)
    if layout is not None:
        return (_ENUM, *layout, typ._value2member_map_)
    length = _octets_read_length(typ)
    if length is not None:
        return (_OCTETS, length)
    fields = _struct_schema(typ)
    if fields is not None:
        return (_STRUCT, fields)
    return (_OWN,)


def _enum_read_layout(typ: Any) -> tuple[int, Any, bool] | None:
    """(octets, byte order, signed) of a zigpy enum read as FixedIntType.deserialize reads it (`cls.from_bytes`,
    which calls the enum with the value), else None."""
    if not (isinstance(typ, type) and issubclass(typ, enum.Enum)):
        return None
    if any("from_bytes" in vars(kind) for kind in typ.__mro__ if kind is not int):
        return None  # a from_bytes of its own: FixedIntType.deserialize would call it
    return _fixed_int_read(typ)


def _struct_schema(typ: Any) -> dict[str, Any] | None:
    """name -> type of the fields of a zigpy Struct that Struct.deserialize reads one after another and builds with
    Struct.__new__ (no bitfields, no conditional, optional or counted fields, no integer struct), else None."""
    if not (isinstance(typ, type) and issubclass(typ, zt.Struct)) or issubclass(typ, zt.IntStruct):
        return None
    if "fields" not in vars(typ):  # Struct itself, or a subclass zigpy did not set up
        return None
    if (getattr(typ.deserialize, "__func__", None) is not zt.Struct.deserialize.__func__
            or typ._deserialize_internal is not zt.Struct._deserialize_internal
            or typ.serialize is not zt.Struct.serialize or typ.__new__ is not zt.Struct.__new__
            or typ.__init__ is not zt.Struct.__init__ or typ.__setattr__ is not zt.Struct.__setattr__
            or typ._real_cls() is not typ):
        return None  # a struct that reads, writes, builds or sets its fields its own way
    schema: dict[str, Any] = {}
    for field in typ.fields:
        if field.requires is not None or field.optional or field.length is not None:
            return None
        if isinstance(field.type, type) and issubclass(field.type, zt.FixedIntType) and field.type._bits % 8:
            return None
        schema[field.name] = field.type
    return schema


@functools.cache
def _int_read_layout(typ: Any) -> tuple[int, Any, bool] | None:
    """(octets, byte order, signed) of a zigpy integer type read as FixedIntType.deserialize reads it, else None."""
    return _fixed_int_read(typ) if _int_layout(typ) is not None else None


def _fixed_int_read(typ: Any) -> tuple[int, Any, bool] | None:
    """(octets, byte order, signed) of a zigpy FixedIntType in whole octets that FixedIntType.deserialize reads (an
    integer or an enum), else None."""
    if not (isinstance(typ, type) and issubclass(typ, zt.FixedIntType)):
        return None
    if getattr(typ.deserialize, "__func__", None) is not zt.FixedIntType.deserialize.__func__:
        return None
    if not typ._bits or typ._bits % 8 or typ._signed is None:
        return None
    return typ._bits // 8, typ._byteorder, typ._signed


def _octets_read_length(typ: Any) -> int | None:
    """The length of a fixed list of uint8 that FixedList.deserialize reads (one uint8_t per octet), else None."""
    length = _octets_length(typ)
    if length is None or getattr(typ.deserialize, "__func__", None) is not zt.FixedList.deserialize.__func__:
        return None
    return length


@functools.cache
def _int_layout(typ: Any) -> tuple[int, int, int, Any, bool] | None:
    """(min, max, octets, byte order, signed) of a zigpy integer type that serialises as FixedIntType does; None for
    anything else (enums, whose constructor checks membership, included)."""
    if not (isinstance(typ, type) and issubclass(typ, zt.FixedIntType)) or issubclass(typ, enum.Enum):
        return None
    if typ.serialize is not zt.FixedIntType.serialize or not typ._bits or typ._bits % 8 or typ._signed is None:
        return None
    return typ.min_value, typ.max_value, typ._bits // 8, typ._byteorder, typ._signed


@functools.cache
def _zero_bytes(typ: Any) -> bytes:
    return typ(zero_value(typ)).serialize()


def _coerce(value: Any, typ: Any) -> Any:
    if typ in _STATUS_TYPES:
        return translate_status(value, typ)
    return value


def zero_value(typ: Any) -> Any:
    """The all-zero value of a bellows/zigpy type: what the default responder fills unknown fields with."""
    if isinstance(typ, type) and issubclass(typ, zt.Struct):
        return typ(**{f.name: zero_value(f.type) for f in typ.fields})
    if isinstance(typ, type) and issubclass(typ, zt.FixedList):
        return typ([zero_value(typ._item_type)] * typ._length)
    if isinstance(typ, type) and issubclass(typ, (zt.List, zt.LVList, list)):
        return typ([])
    if isinstance(typ, type) and issubclass(typ, bytes):
        return typ(b"")
    if isinstance(typ, type) and issubclass(typ, enum.Enum):
        try:
            return typ(0)
        except ValueError:
            return next(iter(typ))
    if isinstance(typ, type) and issubclass(typ, int):
        return typ(0)
    if isinstance(typ, type) and issubclass(typ, float):
        return typ(0.0)
    raise TypeError(f"no zero value for {typ!r}")
