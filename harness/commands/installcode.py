"""`smets2-harness installcode CODE`: check an install code and show its CRC and derived link key.

The user asked for the key, so it is printed (elsewhere install codes and keys are redacted).
"""

from __future__ import annotations

import argparse
import json

from harness.zigbee.installcode import CRC_MODES, parse_install_code


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "installcode",
        help="check an install code and print its CRC and link key",
        description=(
            "Parse an install code (hex; spaces, ':' and '-' allowed), verify its CRC-16/X-25 and print the "
            "AES-MMO link key. ZigBee codes are 6/8/12/16 bytes plus a 2-byte CRC (LSB first); a bare 16-byte "
            "code is a GB code (DUIS SRV 8.11) and --crc-mode says whether its CRC is hashed into the key."
        ),
    )
    parser.add_argument("code", nargs="+", metavar="CODE", help="install code in hex (may be split over arguments)")
    parser.add_argument(
        "--crc-mode",
        choices=CRC_MODES,
        default="append",
        help="for 16-byte GB codes: 'append' the CRC before hashing (default) or hash the bare code ('none')",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    install_code = parse_install_code(" ".join(args.code), crc_mode=args.crc_mode, where="CODE")
    crc = install_code.crc_hex() if install_code.crc_mode == "append" else None
    link_key = install_code.link_key().hex().upper()
    if args.json:
        print(json.dumps({"install_code": install_code.hex(), "crc": crc, "link_key": link_key}))
        return 0
    if crc is None:
        crc_text = "none (crc-mode none: the bare 16-byte code is hashed)"
    else:
        origin = "given, verified" if install_code.crc_given else "computed and appended"
        crc_text = f"{crc} (CRC-16/X-25, LSB first; {origin})"
    print(f"install code: {install_code.hex()}")
    print(f"crc:          {crc_text}")
    print(f"link key:     {link_key}")
    return 0
