"""``pytest --frugal-profile [DIR]``: a flame graph of energy per test (``frugal.profile`` around
the call of each test function), written into DIR (default ``.frugal/profiles`` under the rootdir).

``--frugal-profile-top N`` keeps only the N tests that spent the most energy (their profiles
wait in memory until the end of the session; with pytest-xdist, N per worker). Stacks start at
the test function: pytest's and pluggy's frames are cut, frugal's hidden; the little CPU the
test's thread spends outside the test function inside the region (pytest calling it) is one
``<outside test_name>`` row.
"""
from __future__ import annotations

import hashlib
import heapq
import re
import warnings
from pathlib import Path
from typing import Any, Generator

import pytest

from frugal.errors import FrugalError
from frugal.analysis.profiler import Profile

DEFAULT_DIR = ".frugal/profiles"


def add_options(group: Any) -> None:
    group.addoption("--frugal-profile", nargs="?", const=DEFAULT_DIR, default=None, metavar="DIR",
                    help="profile each test's call phase and write its energy flame graph into DIR "
                         f"(default {DEFAULT_DIR} under the rootdir)")
    group.addoption("--frugal-profile-top", type=int, default=0, metavar="N",
                    help="with --frugal-profile, keep only the N tests that spent the most energy (0: all; default 0)")


def file_name(nodeid: str) -> str:
    """A file name for a test's flame graph: its node id made safe, and a hash against collisions."""
    digest = hashlib.sha1(nodeid.encode("utf-8", "backslashreplace")).hexdigest()[:8]
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("._")[:120]
    return f"{safe}-{digest}.html"


class ProfilePlugin:
    """Registered when ``--frugal-profile`` is given."""

    def __init__(self, config: pytest.Config) -> None:
        opt = config.option
        self.top: int = opt.frugal_profile_top
        if self.top < 0:
            raise pytest.UsageError(f"--frugal-profile-top={self.top}: must be >= 0 (0 keeps every test)")
        self.folder = Path(config.rootpath, opt.frugal_profile)
        if self.folder.exists() and not self.folder.is_dir():
            raise pytest.UsageError(f"--frugal-profile {opt.frugal_profile}: {self.folder} is not a folder")
        self.kept: list[tuple[float, int, str, Profile]] = []   # min-heap of the top N by energy
        self.written: list[Path] = []
        self._count = 0

    @pytest.hookimpl(wrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> Generator[None, Any, Any]:
        # the hook that calls the test function: other plugins' work around the call stays out
        prof = Profile(name=pyfuncitem.nodeid)
        code = getattr(pyfuncitem.obj, "__code__", None)
        if code is not None:
            prof._cut_at(code)
        try:
            with prof:
                return (yield)
        finally:
            self._keep(pyfuncitem.nodeid, prof)

    def _keep(self, nodeid: str, prof: Profile) -> None:
        try:
            energy = prof.measurement.energy_j or 0.0
        except FrugalError:
            return              # not measured (the hot path has said why)
        if not self.top:
            self._write(nodeid, prof)
            return
        self._count += 1
        entry = (energy, self._count, nodeid, prof)
        if len(self.kept) < self.top:
            heapq.heappush(self.kept, entry)
        elif energy > self.kept[0][0]:
            heapq.heapreplace(self.kept, entry)

    def _write(self, nodeid: str, prof: Profile) -> None:
        try:
            self.written.append(prof.flamegraph(self.folder / file_name(nodeid), title=f"Energy profile: {nodeid}"))
        except (OSError, ValueError) as exc:    # the test's outcome stands; the graph is said missing
            warnings.warn(f"frugal: no flame graph for {nodeid}: {exc}", RuntimeWarning, stacklevel=2)

    def pytest_sessionfinish(self) -> None:
        for _, _, nodeid, prof in sorted(self.kept, reverse=True):
            self._write(nodeid, prof)
        self.kept = []

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.written:
            terminalreporter.write_sep("-", "frugal profile")
            terminalreporter.write_line(f"{len(self.written)} energy flame graph(s) in {self.folder}")
