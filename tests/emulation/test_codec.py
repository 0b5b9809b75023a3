"""Every command of the EZSP v8/v13/v14/v18 tables round-trips between bellows' own serialisation and ours.

Host -> NCP: bellows' protocol handler serialises a command (its `_ezsp_frame`), our codec must parse back the
same parameters. NCP -> host: our codec builds the response, bellows' own rx schema must deserialise the same
values. Sample values are made here from the types alone, not by the codec under test.
"""

from __future__ import annotations

import enum
import importlib
import random
import types

import bellows.types as t
import pytest
import zigpy.types as zt
from bellows.ezsp import EZSP

from harness.emulation.ncp.codec import (EzspCodec, HeaderFormat, _field_bytes, _int_read_layout, _reader,
                                         parse_fields, zero_value)

pytestmark = pytest.mark.timeout(60)

VERSIONS = (8, 13, 14, 18)
STATUS_TYPES = (t.EmberStatus, t.EzspStatus, t.sl_Status)


def sample(typ, *, field_name: str = ""):
    """A non-trivial value of a bellows/zigpy type (status fields: OK, so conditional fields are present)."""
    if isinstance(typ, type) and issubclass(typ, zt.Struct):
        fields: dict = {}
        for f in typ.fields:  # a conditional field only where its condition holds, as on the wire
            if f.requires is None or f.requires(types.SimpleNamespace(**fields)):
                fields[f.name] = sample(f.type, field_name=f.name)
        return typ(**fields)
    if typ in STATUS_TYPES:
        return typ(0)
    if isinstance(typ, type) and issubclass(typ, zt.FixedList):
        return typ([sample(typ._item_type)] * typ._length)
    if isinstance(typ, type) and issubclass(typ, (zt.List, zt.LVList)):
        return typ([sample(typ._item_type), sample(typ._item_type)])
    if isinstance(typ, type) and issubclass(typ, bytes):
        return typ(b"\x11\x7e\x42")  # includes ASH reserved bytes on purpose
    if isinstance(typ, type) and issubclass(typ, enum.Flag):
        return typ(list(typ)[-1]) if list(typ) else typ(0)
    if isinstance(typ, type) and issubclass(typ, enum.Enum):
        members = list(typ)
        return members[1 % len(members)]
    if isinstance(typ, type) and issubclass(typ, bool):
        return typ(True)
    if isinstance(typ, type) and issubclass(typ, int):
        bits = getattr(typ, "_bits", 8)
        if getattr(typ, "_signed", False):
            return typ(-5)
        return typ(min(0x5A, (1 << bits) - 1))
    raise TypeError(f"no sample for {typ!r}")


def tx_sample(name: str, schema: dict) -> dict:
    params = {key: sample(typ, field_name=key) for key, typ in schema.items()}
    if name == "addEndpoint":  # the counts say where one unbounded cluster list ends
        params["inputClusterList"] = schema["inputClusterList"]([0x0000, 0x0006, 0x0702])
        params["outputClusterList"] = schema["outputClusterList"]([0x0019])
        params["inputClusterCount"], params["outputClusterCount"] = 3, 1
    return params


def bellows_handler(version: int):
    module = importlib.import_module(f"bellows.ezsp.v{version}")
    return getattr(module, f"EZSPv{version}")(lambda *_: None, None)


def command_cases():
    for version in VERSIONS:
        table = importlib.import_module(f"bellows.ezsp.v{version}.commands").COMMANDS
        for name in table:
            yield pytest.param(version, name, id=f"v{version}-{name}")


@pytest.mark.parametrize(("version", "name"), list(command_cases()))
def test_command_round_trips(version: int, name: str):
    codec = EzspCodec(version)
    proto = bellows_handler(version)
    frame_id, tx_schema, rx_schema = proto.COMMANDS[name]

    # host -> NCP: bellows serialises, we parse
    if isinstance(tx_schema, dict):
        params = tx_sample(name, tx_schema)
        proto._seq = 0x42
        frame = proto._ezsp_frame(name, **params)
        cmd = codec.parse_command(frame)
        assert (cmd.seq, cmd.frame_id, cmd.name, cmd.header) == (0x42, frame_id, name, HeaderFormat.V8)
        assert cmd.params == params
    else:  # `()`: bellows cannot send it either; our codec treats it as "no parameters"
        assert codec.parse_command(bytes([0x42, 0x00, 0x01]) + frame_id.to_bytes(2, "little")).params == {}

    # NCP -> host: we build, bellows parses
    if isinstance(rx_schema, dict):
        values = {key: sample(typ, field_name=key) for key, typ in rx_schema.items()}
    elif isinstance(rx_schema, tuple):
        values = {}
    else:
        values = sample(rx_schema).as_dict()
    data = codec.build_response(name, 0x42, values, header=HeaderFormat.V8)
    seq, rx_id, body = proto._ezsp_frame_rx(data)
    assert (seq, rx_id) == (0x42, frame_id)
    if isinstance(rx_schema, dict):
        parsed, rest = t.deserialize_dict(body, rx_schema)
        assert (parsed, rest) == (values, b"")
    elif isinstance(rx_schema, tuple):
        assert body == b""
    else:
        parsed, rest = rx_schema.deserialize(body)
        assert (parsed.as_dict(), rest) == (values, b"")


@pytest.mark.parametrize(
    ("version", "expected"),
    [(13, bytes([0x93])), (14, (0x17).to_bytes(4, "little"))],  # EmberStatus.NOT_JOINED vs sl_Status.NOT_JOINED
)
def test_status_is_translated_to_the_version_status_type(version, expected):
    codec = EzspCodec(version)
    frame = codec.build_response("networkInit", 1, {"status": t.sl_Status.NOT_JOINED}, header=HeaderFormat.V8)
    assert frame[5:] == expected


def test_first_version_command_is_parsed_in_the_legacy_header():
    cmd = EzspCodec(13).parse_command(bytes.fromhex("00000004"))
    assert (cmd.header, cmd.name, cmd.params["desiredProtocolVersion"]) == (HeaderFormat.LEGACY, "version", 4)


def test_extended_header_of_ezsp_5_to_7():
    proto = bellows_handler(7)
    frame = proto._ezsp_frame("getNodeId")
    cmd = EzspCodec(7).parse_command(frame)
    assert (cmd.header, cmd.name) == (HeaderFormat.EXTENDED, "getNodeId")
    seq, frame_id, _ = proto._ezsp_frame_rx(EzspCodec(7).build_response("getNodeId", 0, {}, header=cmd.header))
    assert frame_id == proto.COMMANDS["getNodeId"][0]


def test_frame_ids_are_those_of_the_negotiated_version():
    """0x005F is getAddressTableRemoteNodeId up to v13 but gpClearProxyTable from v17 (research/ezsp.md 1.4)."""
    assert EzspCodec(13).names_by_id[0x005F] == "getAddressTableRemoteNodeId"
    assert EzspCodec(18).names_by_id[0x005F] == "gpClearProxyTable"


def test_an_int_field_packs_as_its_zigpy_type_would_and_refuses_what_the_type_refuses():
    """_field_bytes packs ints for plain integer types itself (no zigpy object made): same bytes, same errors."""
    import random

    from harness.emulation.ncp.codec import _field_bytes, _int_layout

    kinds = {v for v in [*vars(t).values(), *vars(zt).values()]
             if isinstance(v, type) and issubclass(v, zt.FixedIntType)}
    packed = [k for k in kinds if _int_layout(k) is not None]
    assert zt.uint8_t in packed and t.EmberNodeId in packed and zt.int8s in packed
    assert _int_layout(t.EmberStatus) is None and _int_layout(t.EzspConfigId) is None  # enums check membership
    rng = random.Random(5)
    for kind in packed:
        low, high = kind.min_value, kind.max_value
        for value in (low, high, rng.randint(low, high)):
            assert _field_bytes(value, kind) == kind(value).serialize(), kind
        for bad in (low - 1, high + 1):
            with pytest.raises(ValueError):
                _field_bytes(bad, kind)


def test_an_octet_list_field_is_its_octets_and_refuses_what_the_type_refuses():
    """_field_bytes writes a fixed list of uint8 (certificates, public keys, SMACs, keys, EUI-64s) with bytes():
    the same octets as the zigpy type's own serialize, for a list or bytes, and the same ValueError for a wrong
    length or an item that is no octet."""
    import random

    from harness.emulation.ncp.codec import _field_bytes, _octets_length

    kinds = {v for v in [*vars(t).values(), *vars(zt).values()]
             if isinstance(v, type) and issubclass(v, zt.FixedList) and _octets_length(v) is not None}
    assert {t.EmberCertificate283k1Data, t.EmberPublicKey283k1Data, t.EmberSmacData, zt.KeyData} <= kinds, kinds
    assert _octets_length(zt.EUI64) == 8 and _octets_length(zt.List) is None and _octets_length(zt.uint8_t) is None
    rng = random.Random(7)
    for kind in kinds:
        octets = [rng.randrange(256) for _ in range(kind._length)]
        expected = kind(octets).serialize()
        assert _field_bytes(octets, kind) == _field_bytes(kind(octets), kind) == _field_bytes(bytes(octets), kind)
        assert _field_bytes(octets, kind) == expected == bytes(octets), kind
        with pytest.raises(ValueError):
            _field_bytes(octets + [0], kind)
        with pytest.raises(ValueError):
            _field_bytes([256] + octets[1:], kind)
        floats = [float(octet) for octet in octets]  # not ints: the zigpy type's own conversion decides
        assert _field_bytes(floats, kind) == kind(floats).serialize()


def test_a_struct_field_is_written_as_its_own_serialize_writes_it():
    """_field_bytes writes a plain zigpy Struct (EmberApsFrame, EmberNetworkParameters, ...) field by field: for
    every such struct bellows declares, on random values, the octets of Struct.serialize; an unset field is left to
    Struct.serialize, which refuses it as it did."""
    rng = random.Random(3)
    structs = {v for v in vars(t).values() if isinstance(v, type) and _reader(v)[0] == "struct"}
    assert t.EmberApsFrame in structs and t.EmberNetworkParameters in structs and len(structs) > 20
    for kind in structs:
        size = len(zero_value(kind).serialize())
        for _ in range(20):
            value, _rest = kind.deserialize(rng.randbytes(size + 4))
            assert _field_bytes(value, kind) == value.serialize(), kind
    frame = t.EmberApsFrame.deserialize(bytes(range(11)))[0]
    frame.sequence = None
    with pytest.raises(ValueError):
        frame.serialize()
    with pytest.raises(ValueError):
        _field_bytes(frame, t.EmberApsFrame)


class _OwnSerialize(zt.Struct):
    a: zt.uint8_t

    def serialize(self) -> bytes:
        return b"X" + super().serialize()


class _OwnSetattr(zt.Struct):
    a: zt.uint8_t

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, zt.uint8_t(int(value) ^ 0xFF) if name == "a" else value)  # type: ignore[call-overload]


class _BigEndian(zt.uint16_t, byteorder="big"):
    pass


def test_structs_that_read_write_or_set_fields_their_own_way_are_left_to_themselves():
    """Only a struct zigpy reads, builds and writes field by field takes the codec's own path; one with its own
    serialize or __setattr__, and a field holding a value of another type than declared, go through zigpy."""
    for kind in (_OwnSerialize, _OwnSetattr):
        assert _reader(kind)[0] == "own", kind
        expected = kind.deserialize(b"\x01rest")
        got = parse_fields(b"\x01rest", {"v": kind})
        assert vars(got[0]["v"]) == vars(expected[0]) and got[1] == expected[1] == b"rest"
        value = expected[0]
        assert _field_bytes(value, kind) == value.serialize()
    frame = t.EmberApsFrame.deserialize(bytes(range(11)))[0]
    frame.groupId = _BigEndian(0x0102)  # not the declared type: Struct.serialize writes it its own way
    assert _field_bytes(frame, t.EmberApsFrame) == frame.serialize()
    frame.groupId = 0x0102  # a plain int set after construction: Struct.serialize converts it
    assert _field_bytes(frame, t.EmberApsFrame) == frame.serialize()


def test_command_parameters_parse_as_bellows_deserialize_dict_would():
    """parse_fields reads plain integer fields itself: for every command of every EZSP version, on random bodies,
    the same values of the same types, the same rest, or the same exception type as bellows' deserialize_dict."""
    assert _int_read_layout(t.uint16_t) == (2, "little", False) and _int_read_layout(t.EmberStatus) is None
    rng = random.Random(11)
    checked = fast = octet_lists = structs = enums = 0
    for version, protocol in EZSP._BY_VERSION.items():
        for name, (_, tx_schema, _) in protocol.COMMANDS.items():
            if not isinstance(tx_schema, dict) or not tx_schema:
                continue
            fast += any(_int_read_layout(typ) is not None for typ in tx_schema.values())
            for length in (0, 1, 2, 5, 20, 80):
                body = rng.randbytes(length)
                try:
                    expected = t.deserialize_dict(body, tx_schema)
                except Exception as exc:  # noqa: BLE001 - the same kind of refusal is what is compared
                    with pytest.raises(type(exc)):
                        parse_fields(body, tx_schema)
                    continue
                got = parse_fields(body, tx_schema)
                assert got == expected, (version, name, body.hex())
                _assert_same(got[0], expected[0], f"v{version} {name} {body.hex()}")
                checked += 1
                octet_lists += any(_reader(typ)[0] == "octets" for typ in tx_schema.values())
                structs += any(_reader(typ)[0] == "struct" for typ in tx_schema.values())
                enums += any(_reader(typ)[0] == "enum" for typ in tx_schema.values())
    assert checked > 1000 and fast > 100 and octet_lists > 100 and structs > 50 and enums > 300


def _assert_same(got: object, expected: object, where: str) -> None:
    """The same value built the same way: type, items, a Struct's attributes in order, an enum's very member."""
    assert type(got) is type(expected), (where, got, expected)
    if isinstance(expected, zt.Struct):
        assert list(vars(got)) == list(vars(expected)), where
        for name, value in vars(expected).items():
            _assert_same(vars(got)[name], value, f"{where} .{name}")
    elif isinstance(expected, dict):
        assert list(got) == list(expected), where  # type: ignore[arg-type]
        for name, value in expected.items():
            _assert_same(got[name], value, f"{where} [{name}]")  # type: ignore[index]
    elif isinstance(expected, list):
        assert len(got) == len(expected), where  # type: ignore[arg-type]
        for g, e in zip(got, expected):  # type: ignore[call-overload]
            _assert_same(g, e, where)
        assert vars(got) == vars(expected) if hasattr(expected, "__dict__") else True, where
    elif isinstance(expected, enum.Enum) and expected.name in type(expected).__members__:
        assert got is expected, where  # a named member is the member itself, as the enum's call returns it
    else:
        assert got == expected, where
