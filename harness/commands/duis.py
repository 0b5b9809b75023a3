"""`smets2-harness duis check FILE...` and `smets2-harness duis build SRV ...`: DUIS request files.

`check` validates against the DCC's DUIS XML Schema first (harness.duis_schema; "schema: ..."), then applies the
stateless DCC rules of harness.smets.duis ("DCC rule: ..."; Command Variant, addressing, field meanings), each
naming the element and line, then verifies the XML-DSig against the DCC Boxed test keystore ("signature: ...": who
signed, or what failed; a request must be signed by its RequestID originator). Input is a regular file of at most
2 MiB, parsed in linear time. `build` prints a well-formed request, signed with the originator's key from the DCC
Boxed test keystore, that `check` accepts; the user asked for the request, so an install code given on the command
line is printed in it.
"""

from __future__ import annotations

import argparse
import os
import stat
from datetime import datetime, timezone
import sys
from pathlib import Path

from harness.dcc_keystore import KEYSTORE_ENV, KeystoreUnavailable, load_dcc_keystore
from harness.duis_schema import SCHEMA_ENV, load_schema
from harness.errors import InputError
from harness.smets.duis import (
    CATALOGUE,
    DCC_ACB_EUI,
    SR_NS,
    ChfInstallSuccessNoSmWan,
    ChfInstallSuccessSmWan,
    CommissionDevice,
    ReadInventory,
    Request,
    RequestWanMatrix,
    DuisVerifier,
    SignatureInvalid,
    UpdateHanDeviceLog,
    parse_request,
    validate,
)
from harness.smets.duis.xmlbits import MAX_DOCUMENT_BYTES
from harness.smets.identities import Eui64

EXIT_PROBLEMS = 2
RTDS_SUPPLIER = "90-B3-D5-1F-30-01-00-00"  # RTDS business originator (domain.md §0 conventions)
BUILDABLE = ("8.11", "8.14.1", "8.14.2", "8.1.1", "8.2", "12.1")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("duis", help="check or build DUIS service request XML",
                                   description="Check DUIS request files, or build one.")
    sub = parser.add_subparsers(dest="duis_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: (parser.print_help(), EXIT_PROBLEMS)[1])

    check = sub.add_parser("check", help="validate DUIS files: the DCC's XML Schema first, then the DCC's rules",
                           description="Validate DUIS files against the DCC's DUIS XML Schema, then (for requests of "
                           "an SRV the harness models) against the DCC's stateless rules. Problems are reported as "
                           "'schema: ...' or 'DCC rule: ...', each with the element and line.")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--schema", metavar="DIR", help=f"directory holding the DUIS schema files (default: "
                       f"${SCHEMA_ENV}, else .cache/dcc-tools/tool-jar/ from `make dcc-tools`)")
    check.add_argument("--keystore", metavar="FILE", help=_KEYSTORE_HELP)
    check.add_argument("--allow-unsigned", action="store_true",
                       help="accept a request with no signature or the RTDS templates' placeholder one")
    check.set_defaults(func=_check)

    build = sub.add_parser("build", help="print a well-formed request",
                           description=f"Build a DUIS request for one of: {', '.join(BUILDABLE)}.")
    build.add_argument("srv", choices=BUILDABLE, metavar="SRV", help=f"one of {', '.join(BUILDABLE)}")
    kind = build.add_mutually_exclusive_group()
    kind.add_argument("--add", action="store_const", const="Add", dest="request_type", help="8.11: add a device")
    kind.add_argument("--remove", action="store_const", const="Remove", dest="request_type",
                      help="8.11: remove a device")
    build.add_argument("--device", help="DeviceID: the device to add/remove (8.11), the CHF (8.14.x), or 8.2's")
    build.add_argument("--install-code", help="8.11 Add: 16-octet install code, 32 hex digits, no CRC")
    build.add_argument("--join-time", type=int, default=90, help="8.11 Add: JoinTimePeriod (default 90)")
    build.add_argument("--mpxn", help="ImportMPxN (8.11) / MPxN (8.14.x)")
    build.add_argument("--postcode", help="12.1: PostCode")
    build.add_argument("--address", help="12.1: AddressIdentifier")
    build.add_argument("--uprn", help="12.1: UPRN instead of a partial address")
    build.add_argument("--originator", default=RTDS_SUPPLIER, help=f"originator EUI-64 (default {RTDS_SUPPLIER})")
    build.add_argument("--target", help="target EUI-64: the CHF for 8.11, the device for 8.1.1, "
                       f"the DCC ({DCC_ACB_EUI}, default) for non-device SRVs")
    build.add_argument("--counter", type=int, default=1, help="RequestID counter (default 1)")
    build.add_argument("--command-variant", type=int, help="override the SRV's usual Command Variant")
    build.add_argument("--keystore", metavar="FILE", help=_KEYSTORE_HELP)
    build.add_argument("--unsigned", action="store_true",
                       help="write the placeholder signature (as the RTDS templates) instead of signing")
    build.set_defaults(func=_build)


_KEYSTORE_HELP = (f"the DCC Boxed test keystore.json (default: ${KEYSTORE_ENV}, else the one `make dcc-tools` "
                  "unpacks from npm @smartdcc/dccboxed-keystore 0.4.2)")


def _verifier(explicit: str | None) -> tuple[DuisVerifier | None, str]:
    """The keystore's verifier, or None and why (only an explicit --keystore that cannot be read is an error)."""
    try:
        keystore = load_dcc_keystore(explicit)
    except KeystoreUnavailable as exc:
        if explicit is not None:
            raise
        return None, f"not checked: {exc}"
    return keystore.verifier(), ""


def _signature(data: bytes, verifier: DuisVerifier | None, why_not: str, *, allow_unsigned: bool) -> tuple[bool, str]:
    """(acceptable, what to say) about the document's XML-DSig."""
    if verifier is None:
        return True, why_not
    kind, _ = _root_and_srv(data)
    originator = None
    if kind == "Request":
        try:
            originator = parse_request(data).request_id.originator
        except InputError:
            originator = None  # the rules above have named what is wrong with the RequestID
    try:
        verified = verifier.verify(data, signer_eui=originator)
    except SignatureInvalid as exc:
        if exc.reason in ("missing", "placeholder"):
            if kind != "Request":
                return True, f"unsigned (a DUIS {kind} may be)"
            if allow_unsigned:
                return True, f"unsigned ({exc.reason}), accepted by --allow-unsigned"
        return False, str(exc).removeprefix("signature ")
    return True, f"valid, signed by {verified.signer.describe()}"


def _read_duis_file(name: str) -> bytes:
    """A regular file of at most MAX_DOCUMENT_BYTES (a FIFO or device would block or never end)."""
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=name) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InputError("not a regular file", where=name)
        if info.st_size > MAX_DOCUMENT_BYTES:
            raise InputError(f"{info.st_size} bytes, over the {MAX_DOCUMENT_BYTES}-byte DUIS document limit",
                             where=name)
        data = handle.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InputError(f"over the {MAX_DOCUMENT_BYTES}-byte DUIS document limit", where=name)
    return data


def _check(args: argparse.Namespace) -> int:
    schema = load_schema(args.schema)
    verifier, why_not = _verifier(args.keystore)
    status = 0
    for name in args.files:
        data = _read_duis_file(name)
        schema_problems = schema.problems(data)
        if schema_problems:
            status = EXIT_PROBLEMS
            for problem in schema_problems:
                print(f"{name}: schema: {problem}", file=sys.stderr)
            continue
        srv = _srv_of(data)
        modelled = _is_request(data) and srv in CATALOGUE
        problems = validate(data) if modelled else []
        for problem in problems:
            print(f"{name}: DCC rule: {problem}", file=sys.stderr)
        signed, said = _signature(data, verifier, why_not, allow_unsigned=args.allow_unsigned)
        if not signed:
            print(f"{name}: signature: {said}", file=sys.stderr)
        if problems or not signed:
            status = EXIT_PROBLEMS
            continue
        if modelled:
            print(f"{name}: OK ({parse_request(data).summary()})")
        else:
            what = f"SRV {srv}" if srv else "this document"
            print(f"{name}: OK (schema-valid; {what} has no DCC rules modelled in the harness)")
        print(f"{name}: signature: {said}")
    return status


def _root_and_srv(data: bytes) -> tuple[str, str | None]:
    from lxml import etree  # schema-valid by now, so this parse cannot fail

    root = etree.fromstring(data, etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False))
    srv = root.findtext(f".//{{{SR_NS}}}ServiceReferenceVariant")
    return etree.QName(root).localname, srv.strip() if srv else None


def _is_request(data: bytes) -> bool:
    return _root_and_srv(data)[0] == "Request"


def _srv_of(data: bytes) -> str | None:
    return _root_and_srv(data)[1]


def _need(value: str | None, option: str, srv: str) -> str:
    if value is None:
        raise InputError(f"{srv} needs {option}", where=option)
    return value


def _build(args: argparse.Namespace) -> int:
    srv = args.srv
    target = args.target
    if srv == "8.11":
        device = Eui64.parse(_need(args.device, "--device", srv), where="--device")
        if args.request_type == "Remove":
            body = UpdateHanDeviceLog.remove(device)
        else:
            code_text = _need(args.install_code, "--install-code", srv)
            try:
                code = bytes.fromhex(code_text)
            except ValueError:
                raise InputError("not hexadecimal", where="--install-code") from None
            if len(code) != 16:
                raise InputError(f"{len(code)} bytes, expected 16 (GB codes carry no CRC)", where="--install-code")
            body = UpdateHanDeviceLog.add(device, code, join_time_period=args.join_time, import_mpxn=args.mpxn)
        target = _need(target, "--target", srv)
    elif srv in ("8.14.1", "8.14.2"):
        chf = Eui64.parse(_need(args.device, "--device", srv), where="--device")
        mpxn = _need(args.mpxn, "--mpxn", srv)
        body = ChfInstallSuccessSmWan(chf, mpxn) if srv == "8.14.1" else ChfInstallSuccessNoSmWan(chf, mpxn)
    elif srv == "8.1.1":
        body = CommissionDevice(datetime.now(timezone.utc))  # the CLI is the top layer: the wall clock is the sender's
        target = _need(target, "--target", srv)
    elif srv == "8.2":
        body = ReadInventory(Eui64.parse(_need(args.device, "--device", srv), where="--device"))
    else:
        if args.uprn is None and (args.postcode is None or args.address is None):
            # The schema's PartialAddress is PostCode and AddressIdentifier, both required (DUIS V5.1).
            raise InputError("12.1 needs --postcode and --address, or --uprn", where="--postcode")
        body = RequestWanMatrix(args.postcode, args.address, None) if args.uprn is None else RequestWanMatrix(
            uprn=args.uprn)
    request = Request.build(body, originator=args.originator, target=target or DCC_ACB_EUI, counter=args.counter,
                            command_variant=args.command_variant)
    if args.unsigned:
        xml = request.to_xml()
    else:
        try:
            keystore = load_dcc_keystore(args.keystore)
        except KeystoreUnavailable as exc:
            raise InputError(f"{exc}; or pass --unsigned for the placeholder signature",
                             where=f"duis build {srv}") from None
        xml = request.to_xml(keystore.signer_for(request.request_id.originator))
    # What `duis check` would refuse is not printed: a bad --mpxn or --join-time is named here instead.
    problems = validate(xml.encode("utf-8"))
    if problems:
        raise InputError(f"the request would not validate: {'; '.join(str(p) for p in problems)}",
                         where=f"duis build {srv}")
    sys.stdout.write(xml)
    return 0
