"""Linux: exact per-region peak memory from the kernel's resident high-water mark.

Writing ``5`` to ``/proc/self/clear_refs`` resets the mark (``VmHWM``) to the current
resident set; ``getrusage().ru_maxrss`` then reads it back, except that the kernel also
folds the mark of every exited thread into ``ru_maxrss`` for good (``signal->maxrss``),
and no reset clears that. The hot path detects such a stale ``ru_maxrss`` (it exceeds the
resident set right after a reset) and then reads ``VmHWM`` itself, which is always fresh.
"""
from __future__ import annotations

import os

_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


class ProcfsMemoryProbe:
    """Keeps ``clear_refs``, ``statm`` and ``status`` open: each access is one system call."""

    name = "procfs"
    exact = True
    why = "exact: /proc/self/clear_refs resets the resident high-water mark per region"

    def __init__(self, proc_root: str = "/proc") -> None:
        self._root = proc_root
        self._fds: tuple[int, int, int] = self._open()
        # Fail now, not in the measured call, when the kernel refuses the reset
        # (old kernels, some containers, seccomp).
        self.reset()
        if self.rss_kb() is None or self.mark_kb() is None:
            raise OSError(0, "unreadable memory accounting", f"{proc_root}/self/status")

    def reopen(self) -> None:
        """Open this process's files again in a forked child (they name the parent)."""
        old = self._fds
        self._fds = self._open()
        for fd in old:
            try:
                os.close(fd)
            except OSError:
                pass

    def _open(self) -> tuple[int, int, int]:
        """Open ``clear_refs``, ``statm`` and ``status`` under the root: (clear, statm, status)."""
        base = f"{self._root}/self/"
        clear = os.open(base + "clear_refs", os.O_WRONLY)
        try:
            statm = os.open(base + "statm", os.O_RDONLY)
            status = os.open(base + "status", os.O_RDONLY)
        except OSError:
            os.close(clear)
            raise
        return clear, statm, status

    @property
    def clear_fd(self) -> int:
        return self._fds[0]

    @property
    def statm_fd(self) -> int:
        return self._fds[1]

    def reset(self) -> None:
        os.write(self._fds[0], b"5")

    def rss_kb(self) -> int | None:
        return int(os.pread(self._fds[1], 128, 0).split(None, 2)[1]) * _PAGE_KB

    def mark_kb(self) -> int | None:
        """``VmHWM`` in KiB: the mark since the last reset, without exited threads' marks."""
        text = os.pread(self._fds[2], 8192, 0)
        at = text.find(b"VmHWM:")
        if at < 0:
            return None
        return int(text[at + 6 : text.index(b"kB", at)])


PAGE_KB = _PAGE_KB
