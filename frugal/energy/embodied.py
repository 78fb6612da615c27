"""Embodied carbon (SCI's M): the share of the machine's manufacturing emissions a region used up.

``M = TE x (wall_s / lifetime) x share``, with ``share`` the fraction of the machine's
logical CPUs the region held, ``cpu_s / (wall_s x logical CPUs)`` capped at 1. The presets'
TE and lifetime are medians of Boavizta's product-carbon-footprint data set (see
METHODOLOGY.md for the derivation). Standard library only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from frugal.energy import data

SECONDS_PER_YEAR = 365.25 * 24 * 3600

# name: (TE in gCO2e, lifetime in years, rows of the data set behind the median)
# TE = median over the subcategory of gwp_total x (1 - gwp_use_ratio): every phase but use
# (manufacture, transport, end of life). Lifetime = median of the rows' `lifetime`.
PRESETS: dict[str, tuple[float, float, int]] = {
    "laptop": (240_500.0, 4.0, 406),
    "desktop": (296_000.0, 4.0, 237),
    "server": (1_278_000.0, 4.0, 55),
}
CHOICES = ("auto", *PRESETS)

# SMBIOS chassis types (DMTF DSP0134, table 17) that are laptops or servers.
_LAPTOP_CHASSIS = {8, 9, 10, 14, 30, 31, 32}
_SERVER_CHASSIS = {17, 23, 25, 28, 29}


def detect(sys_root: str = "/sys", proc_root: str = "/proc") -> tuple[str, str]:
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
    from frugal.energy.cpu import is_virtual

    if is_virtual(proc_root):
        return "server", ("a hypervisor runs this system (a virtual machine on a server); the whole "
                          "server's TE is counted, an over-estimate when it hosts other guests")
    return "desktop", "no battery, no server chassis, no hypervisor"


@dataclass(frozen=True)
class Embodied:
    """The embodied-carbon constants in force."""

    preset: str
    total_g: float          # TE, gCO2e
    lifetime_years: float
    source: str


def resolve(preset: str, total_g: float | None, lifetime_years: float | None) -> Embodied:
    """The constants for a setting: a preset (or 'auto', detected), with TE and lifetime overrides."""
    why = ""
    if preset == "auto":
        preset, why = detect()
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
