"""``frugal merge OUT SRC...``: the union of stores by run id, one line (or JSON) per source."""
from __future__ import annotations

import argparse
import json
from typing import Any

from frugal.cli.common import UserError


def add_parser(sub: Any) -> None:
    """``frugal merge``'s arguments, on the subparsers ``sub``."""
    p = sub.add_parser("merge", help="copy the runs of stores into one store (by run id)",
                       description="Copy into OUT every run of each SRC store that OUT lacks (matched by run id), "
                                   "with its metadata and measurements. Merging again adds nothing; the sources "
                                   "are only read; OUT is created when missing and must otherwise be a frugal store.")
    p.add_argument("out", metavar="OUT", help="the store to copy into (created when missing)")
    p.add_argument("sources", nargs="+", metavar="SRC", help="a store to copy from (never written; OUT itself is skipped)")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Merge the sources into OUT; a path that is not a store is a usage error (exit 2), nothing written."""
    from frugal.store.merge import merge
    from frugal.units import counted, format_count

    try:
        result = merge(args.out, args.sources)    # its ValueErrors come before anything is written
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.json:
        print(json.dumps(result.as_dict()))
        return 0
    for s in result.sources:
        if s.skipped:
            print(f"{s.source}: skipped, {s.skipped}")
        else:
            print(f"{s.source}: {counted(s.runs_added, 'run')} added, {format_count(s.runs_present)} already there, "
                  f"{counted(s.measurements_added, 'measurement')}")
    return 0
