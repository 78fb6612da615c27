"""The CPU's modelled power: its brand string matched in CodeCarbon's CPU table (TDP, W).

Matching, in order: the cleaned brand string equals a table name; else the table names
whose every word is in the brand string and which carry a model number (a word with a
digit), the longest such names, when they agree on one TDP. A brand string without a model
number (virtual machines often show only "AMD EPYC") matches nothing: a family spans tens
to hundreds of watts. Unknown CPUs get CodeCarbon's own default, 4 W per logical CPU.
Standard library only.
"""
from __future__ import annotations

import functools
import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass

from frugal.energy import data

DEFAULT_W_PER_THREAD = 4.0   # CodeCarbon core/cpu.py DEFAULT_POWER_PER_CORE, for unknown CPUs

_NOISE = re.compile(r"\((r|tm)\)|®|™|\bcpu\b|\bprocessor\b|\b\d+-core\b|\bwith radeon.*$|"
                    r"\bradeon graphics\b|@.*$")


def clean(name: str) -> str:
    """Lower-case words of a CPU name without trademarks, clock speed and filler words."""
    return " ".join(_NOISE.sub(" ", name.casefold()).replace(",", " ").split())


def _cpuinfo(proc_root: str = "/proc") -> str:
    try:
        with open(os.path.join(proc_root, "cpuinfo"), encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def brand_string(proc_root: str = "/proc") -> str:
    """The CPU's brand string as the system reports it ('' when it cannot be read)."""
    text = _cpuinfo(proc_root)
    for key in ("model name", "Model", "Hardware", "cpu model"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if m:
            return m.group(1).strip()
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                 text=True, timeout=5, check=False)
            if out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or ""


def sockets(proc_root: str = "/proc") -> int:
    """Physical CPU packages (distinct 'physical id' in /proc/cpuinfo; 1 when not told)."""
    ids = set(re.findall(r"^physical id\s*:\s*(\d+)", _cpuinfo(proc_root), re.MULTILINE))
    return max(1, len(ids))


def logical_cpus() -> int:
    """Logical CPUs of the machine (os.cpu_count(); 1 when unknown)."""
    return os.cpu_count() or 1


def is_virtual(proc_root: str = "/proc") -> bool:
    """True when the CPU flags say a hypervisor runs this system."""
    return bool(re.search(r"^flags\s*:.*\bhypervisor\b", _cpuinfo(proc_root), re.MULTILINE))


@functools.lru_cache(maxsize=None)
def _table() -> tuple[dict[str, float], list[tuple[frozenset[str], str, float]]]:
    exact: dict[str, float] = {}
    worded = []
    for name, tdp in data.cpu_power_table():
        key = clean(name)
        exact.setdefault(key, tdp)
        words = frozenset(key.split())
        if any(ch.isdigit() for ch in key):
            worded.append((words, name, tdp))
    return exact, worded


def match_tdp(brand: str) -> tuple[str, float] | None:
    """(table name, TDP in W) for a brand string, or None when nothing matches unambiguously."""
    key = clean(brand)
    if not key:
        return None
    exact, worded = _table()
    if key in exact:
        return next((n, t) for n, t in data.cpu_power_table() if clean(n) == key)
    words = set(key.split())
    hits = [(len(w), name, tdp) for w, name, tdp in worded if w <= words]
    if not hits:
        return None
    best = max(h[0] for h in hits)
    top = [(name, tdp) for size, name, tdp in hits if size == best]
    if len({tdp for _, tdp in top}) != 1:
        return None
    return min(top)


@dataclass(frozen=True)
class CpuPower:
    """The modelled power of one logical CPU at full load, and where it came from."""

    brand: str
    logical_cpus: int
    sockets: int
    tdp_w: float | None        # TDP of one package (None for the unknown-CPU default)
    watts_per_cpu: float       # W per logical CPU: TDP x sockets / logical CPUs
    source: str


@functools.lru_cache(maxsize=None)
def cpu_power(cpu_tdp_w: float | None = None, proc_root: str = "/proc") -> CpuPower:
    """The power model in force: an override, a match in CodeCarbon's table, or the default."""
    brand = brand_string(proc_root)
    n = logical_cpus()
    k = sockets(proc_root)
    if cpu_tdp_w is not None:
        return CpuPower(brand, n, k, cpu_tdp_w, cpu_tdp_w * k / n,
                        f"configured: cpu_tdp_w={cpu_tdp_w:g} W per package x {k} package(s) / {n} logical CPUs")
    hit = match_tdp(brand)
    if hit is not None:
        name, tdp = hit
        return CpuPower(brand, n, k, tdp, tdp * k / n,
                        f"CodeCarbon {data.version('codecarbon')} cpu_power.csv: {name!r} {tdp:g} W "
                        f"x {k} package(s) / {n} logical CPUs")
    why = "no model number in it" if not any(c.isdigit() for c in clean(brand)) else "no unambiguous match"
    return CpuPower(brand, n, k, None, DEFAULT_W_PER_THREAD,
                    f"default {DEFAULT_W_PER_THREAD:g} W per logical CPU (CodeCarbon's for unknown CPUs): "
                    f"brand string {brand!r} has {why} in cpu_power.csv")
