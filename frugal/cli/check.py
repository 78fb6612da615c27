"""``frugal check STORE --base REF --head REF``: the runs of two commits compared name by name;
exit status 1 on a significant regression past a threshold, for CI."""
from __future__ import annotations

import argparse
import json
import os
from typing import Any

from frugal.cli.common import UserError

EXIT_REGRESSION = 1


def add_parser(sub: Any) -> None:
    """``frugal check``'s arguments, on the subparsers ``sub``."""
    p = sub.add_parser("check", help="compare two commits of a store; exit 1 on a regression (for CI)",
                       description="Compare, name by name, the runs of commit BASE with those of commit HEAD in "
                                   "STORE (ratio of medians, bootstrap interval decided across all names and "
                                   "metrics). Exit 1 when a metric grew significantly past its --fail threshold, "
                                   "0 otherwise, 2 on a usage error. The Markdown report is also appended to "
                                   "$GITHUB_STEP_SUMMARY when set.")
    p.add_argument("store", metavar="STORE", help="the frugal store holding both commits' runs")
    p.add_argument("--base", required=True, metavar="REF", help="the commit to compare with: a commit, a prefix, "
                   "a branch (its last measured commit) or a run id")
    p.add_argument("--head", required=True, metavar="REF", help="the commit to check, as --base")
    p.add_argument("--fail", action="append", metavar="METRIC:AMOUNT",
                   help="fail when METRIC grew past AMOUNT (energy_j:10%%, cpu_s:0.05); repeatable; "
                        "default energy_j:10%%")
    p.add_argument("--markdown", metavar="FILE", help="also write the Markdown report to FILE")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check HEAD against BASE; every usage error is found before anything is written."""
    from frugal.files import check_output, is_store, write_output
    from frugal.validate import is_url, redact
    from frugal.history.check import check, thresholds_of

    try:
        thresholds = thresholds_of(args.fail)
        if not is_url(args.store) and not is_store(args.store):     # a postgresql:// URL is read as it is
            raise ValueError(f"STORE: {args.store} is not a frugal store")
        if args.markdown:
            check_output(args.markdown, "markdown", argument="--markdown")
        result = check(args.store, args.base, args.head, thresholds)
    except ValueError as exc:
        raise UserError(redact(str(exc))) from None
    report = result.markdown()
    if args.markdown:
        write_output(args.markdown, report, "markdown", argument="--markdown")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(report)
    print(json.dumps(result.as_dict()) if args.json else result.text())
    return EXIT_REGRESSION if result.failed else 0
