"""``frugal export STORE -o FILE --format F``: a store's measurements in another tool's format
(CodeCarbon's CSV, an Impact Framework manifest, a BoAmps report)."""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from frugal.cli.common import DEFAULT_STORE, UserError, store_path, store_shown
from frugal.interop import FORMATS


def add_parser(sub: Any) -> None:
    """``frugal export``'s arguments, on the subparsers ``sub``."""
    p = sub.add_parser("export", help="write a store's measurements as CodeCarbon CSV, an Impact Framework "
                                      "manifest or a BoAmps report",
                       description="Write the measurements of a store in another tool's format: "
                                   "codecarbon (emissions.csv), impact-framework (a manifest for if-run, "
                                   "FILE ending in .yml), boamps (a BoAmps JSON report).")
    p.add_argument("store", nargs="?", help=f"the store (default: $FRUGAL_STORE, else ./{DEFAULT_STORE})")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write it")
    p.add_argument("--format", required=True, choices=FORMATS, help="the format to write")
    p.add_argument("--name", action="append", metavar="NAME", help="keep only this name (repeatable)")
    p.add_argument("--run", action="append", metavar="ID", help="keep only this run (repeatable; "
                                                                 "frugal.store.load_runs() lists them)")
    p.add_argument("--per", choices=("measurement", "name"),
                   help="one row per measurement or per name (default: per measurement; per name for boamps)")
    p.add_argument("--force", action="store_true", help="replace the output file even if it is of another kind")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export the store's measurements (filtered by --name and --run)."""
    from frugal import store
    from frugal.interop.export import export

    path = store_path(args.store)
    shown = store_shown(path)
    if isinstance(path, Path) and not path.exists():
        raise UserError(f"no frugal store at {path}: the file does not exist")
    # --force replaces a file of another kind, never the store being read (it would be lost)
    if isinstance(path, Path) and os.path.realpath(args.output) == os.path.realpath(path):
        raise UserError(f"--output: {args.output} is the store being exported; give another file")
    frame = store.load(path, name=args.name or None, run=args.run or None)
    if len(frame) == 0:
        raise UserError(f"{shown} holds no measurements" + (" matching the filters" if args.name or args.run else ""))
    try:
        out = export(frame, args.output, args.format, per=args.per, overwrite=args.force)
    except ValueError as exc:       # the output path or the data refused: nothing written
        raise UserError(str(exc).replace("export(path=...)", "--output")) from None
    if args.json:
        print(json.dumps({"output": str(out), "format": args.format, "store": shown, "measurements": len(frame)}))
    else:
        print(f"{args.format}: {out} ({len(frame)} measurements from {shown})")
    return 0
