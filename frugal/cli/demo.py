"""``frugal demo``: compare sorting algorithms, store the results, write a dashboard (``frugal.demo``)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from frugal.cli.common import positive_int
from frugal.pages.text import records


def add_parser(sub: Any) -> None:
    """``frugal demo``'s arguments, on the subparsers ``sub``."""
    p = sub.add_parser("demo", help="compare sorting algorithms, store the results, write a dashboard",
                       description="Compare sorted(), a heap sort (heapq) and an insertion sort on the same "
                                   "small lists with frugal.compare; keep the results in an embedded SQLite "
                                   "file and write the dashboard next to it. Runs again append to the same "
                                   "store, and the dashboard then shows the trend.")
    p.add_argument("--out", default="frugal-demo", metavar="DIR", help="folder for frugal.db and dashboard.html (default ./frugal-demo)")
    p.add_argument("--repeat", type=positive_int, default=20, metavar="N", help="measured runs per algorithm (default 20)")
    p.add_argument("--size", type=positive_int, default=300, metavar="N", help="elements per list (default 300)")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo in --out and say where its store and dashboard are."""
    from frugal.demo import run_demo

    result = run_demo(Path(args.out), repeat=args.repeat, size=args.size)
    if args.json:
        import pandas as pd

        cmp = result["comparison"]
        print(json.dumps({"store": str(result["store"]), "dashboard": str(result["dashboard"]),
                          "baseline": cmp.baseline, "runs_per_variant": args.repeat, "size": args.size,
                          "summary": records(pd.DataFrame(cmp.summary())),
                          "ratios": records(pd.DataFrame(cmp.ratios())), "warnings": list(cmp.warnings)}, indent=2))
        return 0
    print(result["text"])
    print(f"\nresults stored in:  {result['store']}")
    print(f"dashboard written:  {result['dashboard']}")
    print(f"open it: file://{Path(result['dashboard']).resolve()}")
    return 0
