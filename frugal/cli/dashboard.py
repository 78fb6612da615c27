"""``frugal dashboard``: the single-file HTML dashboard of a store."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from frugal.cli.common import DEFAULT_STORE, UserError, store_path, store_shown
from frugal.units import counted


def add_parser(sub: Any) -> None:
    """``frugal dashboard``'s arguments, on the subparsers ``sub``."""
    p = sub.add_parser("dashboard", help="write the single-file HTML dashboard of a store",
                       description="Write one self-contained HTML file (no request leaves it) from a store.")
    p.add_argument("store", nargs="?", help=f"the store (default: $FRUGAL_STORE, else ./{DEFAULT_STORE})")
    p.add_argument("-o", "--output", default="dashboard.html", metavar="FILE", help="where to write it (default dashboard.html)")
    p.add_argument("--title", help="title of the page")
    p.add_argument("--baseline", metavar="NAME", help="name the others are compared with")
    p.add_argument("--name", action="append", metavar="NAME", help="keep only this name (repeatable)")
    p.add_argument("--since", metavar="WHEN", help="keep measurements from this ISO 8601 date or time on")
    p.add_argument("--force", action="store_true", help="replace the output file even if it is not a dashboard")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the dashboard of the store (filtered by --name and --since)."""
    from frugal import store
    from frugal.pages.dashboard import report

    path = store_path(args.store)
    shown = store_shown(path)
    if isinstance(path, Path) and not path.exists():       # a usage error (exit 2), as an empty store is
        raise UserError(f"no frugal store at {path}: the file does not exist")
    if isinstance(path, Path) and path.is_file() and path.stat().st_size == 0:   # what configure(store=) starts
        raise UserError(f"{path} holds no measurements (an empty file)")
    from frugal.files import check_output

    check_output(args.output, "html", overwrite=args.force, argument="--output")
    frame = store.load(path, name=args.name or None, since=args.since)
    if len(frame) == 0:
        raise UserError(f"{shown} holds no measurements" + (" matching the filters" if args.name or args.since else ""))
    out = report(frame, args.output, title=args.title, baseline=args.baseline, store=path, overwrite=args.force)
    if args.json:
        print(json.dumps({"dashboard": str(out), "store": shown, "measurements": len(frame)}))
    else:
        print(f"dashboard: {out} ({counted(len(frame), 'measurement')} from {shown})")
    return 0
