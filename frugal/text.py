"""Plain text for a terminal: names with their control characters escaped, and aligned tables.

The command line, the pytest plugin's footprint and the IPython magic print through these two.
"""
from __future__ import annotations

import re

TYPE_CHECKING = False   # typing is not imported at run time (start-up of ``frugal run``)
if TYPE_CHECKING:
    from typing import Sequence

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def shown(text: str) -> str:
    """``text`` for a terminal or a Markdown line: control characters (newline, tab, escape
    sequences that could drive the terminal) and lone surrogates (undecodable bytes of a
    command line) written as Python escapes, all else unchanged."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


def table(headers: Sequence[str] | None, rows: Sequence[Sequence[str]], *, align: str | None = None,
          rule: bool = True, indent: str = "") -> str:
    """A plain text table, columns two spaces apart and each as wide as its widest cell.

    ``align`` holds one ``<`` (left) or ``>`` (right) per column; by default the first column
    is left and the rest right. A left column at the end is not padded, so that no line ends
    in spaces it did not need. ``headers=None`` prints no header (nor rule); ``rule`` draws a
    line of dashes under the header; ``indent`` starts every line.
    """
    lines = [list(map(str, r)) for r in rows]
    if headers is not None:
        lines.insert(0, list(map(str, headers)))
    widths = [max(len(x) for x in col) for col in zip(*lines)]
    align = align or "<" + ">" * (len(widths) - 1)
    last = len(widths) - 1

    def cell(i: int, text: str) -> str:
        if align[i] == ">":
            return text.rjust(widths[i])
        return text if i == last else text.ljust(widths[i])

    out = [indent + "  ".join(cell(i, c) for i, (c, _) in enumerate(zip(r, widths))) for r in lines]
    if headers is not None and rule:
        out.insert(1, indent + "  ".join("-" * w for w in widths))
    return "\n".join(out)
