"""Facts about the machine: the CPU's power (its brand string matched in CodeCarbon's CPU
table, TDP in W) and the embodied-carbon preset of the machine (Boavizta-derived).

CPU matching, in order: the cleaned brand string equals a table name; else the table names
whose every word is in the brand string and which carry a model number (a word with a
digit), the longest such names, when they agree on one TDP. A brand string without a model
number (virtual machines often show only "AMD EPYC") matches nothing: a family spans tens
to hundreds of watts. Unknown CPUs get CodeCarbon's own default, 4 W per logical CPU.
Standard library only.
"""
from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import dataclass

from frugal import data

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
    import platform
    import subprocess

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


# --- embodied carbon (SCI's M) --------------------------------------------------------------
#
# ``M = TE x (wall_s / lifetime) x share``, with ``share`` the fraction of the machine's
# logical CPUs the region held, ``cpu_s / (wall_s x logical CPUs)`` capped at 1. The presets'
# TE and lifetime are medians of Boavizta's product-carbon-footprint data set (see
# METHODOLOGY.md for the derivation).

SECONDS_PER_YEAR = 365.25 * 24 * 3600

PRESETS = data.EMBODIED_PRESETS

# SMBIOS chassis types (DMTF DSP0134, table 17) that are laptops or servers.
_LAPTOP_CHASSIS = {8, 9, 10, 14, 30, 31, 32}
_SERVER_CHASSIS = {17, 23, 25, 28, 29}


def detect_preset(sys_root: str = "/sys", proc_root: str = "/proc") -> tuple[str, str]:
    """(preset, why) for this machine: a battery says laptop; a server chassis or a hypervisor says server."""
    try:
        supplies = os.listdir(os.path.join(sys_root, "class", "power_supply"))
    except OSError:
        supplies = []
    if any(s.startswith("BAT") for s in supplies):
        return "laptop", "a battery is present (/sys/class/power_supply/BAT*)"
    try:
        with open(os.path.join(sys_root, "class", "dmi", "id", "chassis_type"), encoding="ascii") as f:
            chassis = int(f.read().strip() or 0)
    except (OSError, ValueError):
        chassis = 0
    if chassis in _LAPTOP_CHASSIS:
        return "laptop", f"SMBIOS chassis type {chassis} is portable"
    if chassis in _SERVER_CHASSIS:
        return "server", f"SMBIOS chassis type {chassis} is a server chassis"
    if is_virtual(proc_root):
        return "server", ("a hypervisor runs this system (a virtual machine on a server); the whole "
                          "server's TE is counted, an over-estimate when it hosts other guests")
    return "desktop", "no battery, no server chassis, no hypervisor"


@dataclass(frozen=True)
class Embodied:
    """The embodied-carbon constants in force (SCI's TE and lifetime)."""

    preset: str
    total_g: float          # TE, gCO2e
    lifetime_years: float
    source: str


def embodied(preset: str, total_g: float | None, lifetime_years: float | None) -> Embodied:
    """The constants for a setting: a preset (or 'auto', detected), with TE and lifetime overrides."""
    why = ""
    if preset == "auto":
        preset, why = detect_preset()
        why = f"auto: {why}; "
    te, life, rows = PRESETS[preset]
    origin = f"median of {rows} {preset}s in Boavizta's data @ {data.BOAVIZTA_COMMIT[:10]}"
    if total_g is None and lifetime_years is None:
        text = f"TE {te / 1000:g} kg, lifetime {life:g} y ({origin})"
    else:
        te_text = (f"TE {total_g:g} g (configured)" if total_g is not None
                   else f"TE {te / 1000:g} kg ({origin})")
        life_text = (f"lifetime {lifetime_years:g} y (configured)" if lifetime_years is not None
                     else f"lifetime {life:g} y ({origin})")
        text = f"{te_text}, {life_text}"
        te = te if total_g is None else total_g
        life = life if lifetime_years is None else lifetime_years
    return Embodied(preset, te, life, f"{why}preset {preset!r}: {text}")
