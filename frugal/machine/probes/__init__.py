"""Platform probes behind one face: where the resident high-water mark comes from.

A probe answers three questions for the hot path: reset the process's peak-memory mark,
read the mark back, read the current resident set size. ``select()`` returns the best
probe for this system as a new instance (no module-level singleton); the filesystem root
is an argument so tests can point a reader at a folder they made.
"""
from __future__ import annotations

import sys

from frugal.machine.probes.null import NullMemoryProbe

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from typing import Protocol

    class MemoryProbe(Protocol):
        """Reads the kernel's accounting of this process's resident memory, in KiB."""

        name: str
        exact: bool          # True when reset()/mark_kb() give an exact per-region peak
        why: str             # a sentence saying what this probe is and, if it is degraded, why

        def reset(self) -> None: ...
        def mark_kb(self) -> int | None: ...
        def rss_kb(self) -> int | None: ...
        def reopen(self) -> None: ...       # after fork: /proc/self files point at the parent


def select(proc_root: str = "/proc") -> MemoryProbe:
    """Return the most exact memory probe that works here, or a null probe that says why."""
    reasons = []
    if sys.platform.startswith("linux"):
        from frugal.machine.probes.procfs import ProcfsMemoryProbe

        try:
            return ProcfsMemoryProbe(proc_root)
        except OSError as exc:
            reasons.append(f"procfs: {exc.strerror or exc} ({exc.filename})")
    try:
        from frugal.machine.probes.psutil_probe import PsutilMemoryProbe

        return PsutilMemoryProbe(reason="; ".join(reasons) or f"platform {sys.platform}")
    except ImportError as exc:
        reasons.append(f"psutil: {exc}")
    return NullMemoryProbe("; ".join(reasons))


__all__ = ["NullMemoryProbe", "select"]
