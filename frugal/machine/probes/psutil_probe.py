"""Fallback memory probe (macOS, Windows, Linux without clear_refs) through psutil.

No portable system call resets a per-process peak, so this probe does not pretend to:
``peak_rss_bytes`` is ``None`` and only the resident set (hence ``rss_delta_bytes``) is
read. That is the documented fallback of DESIGN.md: never a wrong number.
"""
from __future__ import annotations

import psutil


class PsutilMemoryProbe:
    name = "psutil"
    exact = False

    def __init__(self, reason: str) -> None:
        self._proc = psutil.Process()
        self.why = f"resident set only, no per-region peak ({reason})"

    def reopen(self) -> None:
        self._proc = psutil.Process()

    def reset(self) -> None:
        pass

    def mark_kb(self) -> None:
        return None

    def rss_kb(self) -> int | None:
        rss: int = self._proc.memory_info().rss   # psutil's own types say Any
        return rss // 1024
