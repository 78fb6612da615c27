"""RAPL energy counters through the Linux powercap tree (``/sys/class/powercap``).

Each zone directory (``intel-rapl:0``, ``intel-rapl:0:2``...) has a ``name`` (``package-0``,
``core``, ``uncore``, ``dram``, ``psys``), a cumulative ``energy_uj`` counter and the value
at which that counter wraps, ``max_energy_range_uj``. The probe reads the package zones (the
CPU) and the dram zones (memory); ``core`` is part of its package and is read only where a
package zone is missing; ``uncore`` and ``psys`` are left out (inside the package, or the
whole platform). ``intel-rapl-mmio`` mirrors the package counter and is left out too.
The root is an argument, so tests run the reader against a tree made in a temporary folder.
Since Linux 5.10 (CVE-2020-8694) ``energy_uj`` is readable by root only: the probe then
says so, and energy is modelled.
"""
from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass

TYPE_CHECKING = False   # typing is not imported at run time (start-up of ``frugal run``)
if TYPE_CHECKING:
    from typing import Callable

_ZONE = re.compile(r"^(intel-rapl|amd-rapl)(:\d+)+$")


@dataclass(frozen=True)
class Zone:
    """One RAPL zone: its directory, its name, what it measures and where its counter wraps."""

    path: str
    name: str
    kind: str              # "package", "core", "dram"
    max_range_uj: int


class NullEnergyProbe:
    """Stands where an energy meter is absent: reads nothing, and ``why`` says why."""

    name = "none"
    counters = 0

    def __init__(self, why: str) -> None:
        self.why = why

    def read(self) -> tuple[int, ...]:
        return ()

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        pass


def _kind(name: str) -> str | None:
    if name.startswith("package"):
        return "package"
    if name in ("core", "dram"):
        return name
    return None


def _read_text(path: str) -> str:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    finally:
        os.close(fd)


def _explain(exc: OSError, path: str) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (f"{path}: permission denied (energy_uj is readable by root only since Linux 5.10, "
                "CVE-2020-8694; run as root or grant read access to it)")
    return f"{path}: {exc.strerror or exc}"


class RaplProbe:
    """Keeps each counter open; ``read()`` is one ``pread`` per zone, in microjoules."""

    name = "rapl"

    def __init__(self, root: str = "/sys/class/powercap",
                 opener: Callable[..., int] = os.open) -> None:
        """Discover the zones under ``root`` and open their counters; OSError says why not.

        ``opener`` (``os.open`` by default) lets a test stand in for the kernel refusing a
        file, which a root user cannot otherwise see.
        """
        self.root = root
        self._opener = opener
        entries = sorted(e for e in os.listdir(root) if _ZONE.match(e))
        if not entries:
            raise FileNotFoundError(errno.ENOENT, "no RAPL zone (intel-rapl:N) in the powercap tree", root)
        zones, skipped = [], []
        for entry in entries:
            path = os.path.join(root, entry)
            try:
                name = _read_text(os.path.join(path, "name"))
            except OSError:
                name = entry
            kind = _kind(name)
            if kind is None:
                skipped.append(name)
                continue
            try:
                max_range = int(_read_text(os.path.join(path, "max_energy_range_uj")))
            except (OSError, ValueError):
                max_range = 0  # no wrap-around correction possible; said in `why`
            zones.append(Zone(path, name, kind, max_range))
        if not any(z.kind == "package" for z in zones):
            zones = [z for z in zones if z.kind != "core"] + [z for z in zones if z.kind == "core"][:1]
        else:
            skipped += [z.name for z in zones if z.kind == "core"]
            zones = [z for z in zones if z.kind != "core"]
        if not zones:
            raise FileNotFoundError(errno.ENOENT, f"no package, core or dram zone (found {', '.join(skipped)})", root)
        self.zones: tuple[Zone, ...] = tuple(zones)
        self.counters = len(zones)
        self._fds: tuple[int, ...] = ()
        self.reopen()
        fd: int  # mypy sees self._fds as the () above; reopen() has filled it
        for fd, z in zip(self._fds, self.zones):  # fail now, not inside a measured region
            path = os.path.join(z.path, "energy_uj")
            try:
                int(os.pread(fd, 32, 0))
            except OSError as exc:
                self.close()
                raise OSError(exc.errno, _explain(exc, path), path) from exc
            except ValueError as exc:
                self.close()
                raise OSError(errno.EIO, f"{path}: not a number ({exc})", path) from exc
        names = ", ".join(f"{z.name} ({os.path.basename(z.path)})" for z in zones)
        extra = f"; not read: {', '.join(skipped)} (inside a package, or the whole platform)" if skipped else ""
        nowrap = [z.name for z in zones if z.max_range_uj <= 0]
        warn = f"; no max_energy_range_uj for {', '.join(nowrap)}: a wrap-around there cannot be corrected" if nowrap else ""
        self.why = f"RAPL under {root}: {names}{extra}{warn}"

    def reopen(self) -> None:
        """(Re)open every counter; an unreadable one raises OSError naming the file and why."""
        fds = []
        try:
            for z in self.zones:
                path = os.path.join(z.path, "energy_uj")
                try:
                    fds.append(self._opener(path, os.O_RDONLY))
                except OSError as exc:
                    raise OSError(exc.errno, _explain(exc, path), path) from exc
        except OSError:
            for fd in fds:
                os.close(fd)
            raise
        self.close()
        self._fds = tuple(fds)

    def read(self) -> tuple[int, ...]:
        """Cumulative counters in µJ, one per zone (OSError/ValueError when a read fails)."""
        return tuple([int(os.pread(fd, 32, 0)) for fd in self._fds])

    def close(self) -> None:
        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = ()


def select(root: str = "/sys/class/powercap", opener: Callable[..., int] = os.open) -> RaplProbe | NullEnergyProbe:
    """A working RAPL probe, or a null probe whose ``why`` says why there is none."""
    try:
        return RaplProbe(root, opener)
    except FileNotFoundError as exc:
        if exc.filename == root and exc.errno == errno.ENOENT and not os.path.isdir(root):
            return NullEnergyProbe(f"RAPL: no powercap tree at {root} (not Linux, or no RAPL driver: "
                                   "virtual machines and ARM CPUs have none)")
        return NullEnergyProbe(f"RAPL: {exc.strerror} ({exc.filename})")
    except OSError as exc:
        return NullEnergyProbe(f"RAPL: {exc.strerror or exc}; energy is modelled")


def write_tree(root: str, zones: list[tuple[str, str, int, int]]) -> None:
    """Write a synthetic powercap tree: (directory, name, energy_uj, max_energy_range_uj) per zone.

    For tests and benchmarks on machines without RAPL; the counters are plain files.
    """
    os.makedirs(root, exist_ok=True)
    for entry, name, energy, max_range in zones:
        path = os.path.join(root, entry)
        os.makedirs(path, exist_ok=True)
        for fname, value in (("name", name), ("energy_uj", energy), ("max_energy_range_uj", max_range)):
            with open(os.path.join(path, fname), "w", encoding="ascii") as f:
                f.write(f"{value}\n")
