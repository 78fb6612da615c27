"""Comparisons and runs as text, Markdown and JSON-ready records, for the command line, the
dashboard and the IPython magic alike (names escaped through ``frugal.text.shown``)."""
from __future__ import annotations

import math
import re

from frugal.text import shown, table
from frugal.units import format_ci, unit_of

TYPE_CHECKING = False   # typing is not imported at run time (start-up of ``frugal run``)
if TYPE_CHECKING:
    from typing import Any, Sequence

# The short column headings of the tables.
LABEL = {"wall_s": "wall", "cpu_s": "CPU", "cpu_user_s": "user", "cpu_system_s": "system",
         "peak_rss_bytes": "peak mem", "peak_added_bytes": "mem added", "energy_j": "energy",
         "carbon_g": "carbon", "embodied_g": "embodied"}


def _json_value(value: Any) -> Any:
    if type(value).__name__ == "datetime64":      # numpy's: ISO 8601 in UTC, to the nanosecond
        return f"{value.astype('datetime64[ns]')}+00:00"
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is not None and type(value).__name__ == "NAType":
        return None
    return value


def records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready dicts (NaN and NA become null, times ISO 8601)."""
    return [{str(k): _json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def column_records(cols: dict[str, Any]) -> list[dict[str, Any]]:
    """A column dict (``frugal.frames.columns``) as JSON-ready dicts with Measurement's fields, as
    ``records`` gives them for a frame, without pandas."""
    from frugal.measurement import FIELDS

    fields = [f for f in FIELDS if f in cols]
    columns = {f: column_values(cols, f) for f in fields}
    return [{f: columns[f][i] for f in fields} for i in range(len(cols["name"]))]


def column_values(cols: dict[str, Any], field: str) -> list[Any]:
    """One column of a column dict as Python values (numpy scalars unwrapped)."""
    column = cols[field]
    return [_json_value(column[i]) for i in range(len(column))]


_SHOWN = ("wall_s", "cpu_s", "peak_added_bytes", "energy_j", "carbon_g", "embodied_g")


def _shown_metrics(summary: Any) -> list[str]:
    """The columns of the comparison tables: memory is what the summary compared (memory
    added, or the peak of runs stored before frugal recorded it)."""
    compared = set(summary["metric"]) if len(summary) else set()
    return [m if m != "peak_added_bytes" or m in compared or "peak_rss_bytes" not in compared
            else "peak_rss_bytes" for m in _SHOWN]


def _runs_cell(summary: Any, variant: str) -> str:
    """``10``, ``7 of 10 ok`` or ``failed (10)``: a command's successful runs."""
    rows = summary[summary["variant"] == variant]
    if not len(rows):
        return "n/a"
    r = rows.iloc[0]
    total = int(r["n"]) + int(r.get("failed", 0))
    if r.get("status", "ok") == "failed":
        return f"failed ({total})"
    return f"{int(r['n'])} of {total} ok" if r.get("failed", 0) else str(total)


def _summary_cells(summary: Any, variant: str) -> list[str]:
    cells = []
    for metric in _shown_metrics(summary):
        row = summary[(summary["variant"] == variant) & (summary["metric"] == metric)]
        if not len(row):
            cells.append("n/a")
            continue
        r = row.iloc[0]
        cells.append(format_ci(r["median"], r["ci_low"], r["ci_high"], unit_of(metric)))
    return cells


def text_report(summary: Any, ratios: Any, warnings: Sequence[str], baseline: str) -> str:
    """What ``frugal compare`` prints: runs and medians with 95% CIs, then one verdict per line
    (the ratio of medians, its interval corrected for the number of ratios; failed commands
    named with their errors)."""
    variants = list(dict.fromkeys(summary["variant"]))
    rows = [[shown(v) + (" (baseline)" if v == baseline else ""), _runs_cell(summary, v)]
            + _summary_cells(summary, v) for v in variants]
    out = ["median [95% CI] per run", table(["command", "runs"] + [LABEL[m] for m in _shown_metrics(summary)], rows), ""]
    out += [f"- {shown(v)}" for v in dict.fromkeys(ratios["verdict"])]
    if warnings:
        out += ["", "warnings:"] + [f"- {shown(w)}" for w in warnings]
    return "\n".join(out)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~&])")


def markdown(summary: Any, ratios: Any, warnings: Sequence[str], baseline: str) -> str:
    """The comparison as a Markdown table and a list of verdicts (for a pull request)."""
    def cell(text: str) -> str:
        # Markdown's punctuation escaped: a name can neither break the table nor become HTML or a link.
        return _MD_SPECIAL.sub(r"\\\1", shown(text))

    def code(text: str) -> str:
        # a code span fenced by more backticks than the name holds in a row (CommonMark)
        text = shown(text).replace("|", "\\|")
        fence = "`" * (max((len(r) for r in re.findall("`+", text)), default=0) + 1)
        pad = " " if text.startswith("`") or text.endswith("`") else ""
        return f"{fence}{pad}{text}{pad}{fence}"

    variants = list(dict.fromkeys(summary["variant"]))
    head = ["Command", "Runs"] + [LABEL[m] for m in _shown_metrics(summary)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" + "---:|" * (len(_SHOWN) + 1)]
    for v in variants:
        name = code(v) + (" (baseline)" if v == baseline else "")
        lines.append("| " + " | ".join([name, _runs_cell(summary, v)] + _summary_cells(summary, v)) + " |")
    lines += ["", "Medians per run with 95% bootstrap confidence intervals. Ratios are ratios of medians; their "
              "intervals are widened for the number of ratios compared (Benjamini-Hochberg).", ""]
    lines += [f"- {cell(v)}" for v in dict.fromkeys(ratios["verdict"])]
    if warnings:
        lines += ["", "Warnings:", ""] + [f"- {cell(w)}" for w in warnings]
    return "\n".join(lines) + "\n"

