"""The constants of a settings snapshot on a machine: its CPU power model and embodied carbon.

Shared by ``model`` (which derives with them) and ``environment`` (which reports them);
standard library only, so reporting the environment loads no numpy.
"""
from __future__ import annotations

from frugal.core import settings as config
from frugal.machine import hardware


def power(settings: config.Settings, machine: hardware.Machine | None = None) -> hardware.CpuPower:
    """The CPU power model of a snapshot on ``machine`` (this one by default)."""
    return hardware.cpu_power(settings.cpu_tdp_w, settings.cpu_model, settings.host_threads,
                              settings.instance_type, machine, settings.power_model)


def embodied(settings: config.Settings, machine: hardware.Machine | None = None) -> hardware.Embodied:
    """The embodied-carbon constants of a snapshot (the instance's host, detected or set, first)."""
    return hardware.embodied(settings.embodied, settings.embodied_total_g, settings.lifetime_years,
                             power(settings, machine).instance_type, machine)


def power_source(idle_power: str, cpu: hardware.CpuPower) -> tuple[float, str]:
    """(W charged per second of wall time for the idle share, the row's ``cpu_power_source``):
    the busy watts' source, then what was charged for idle, said either way."""
    if idle_power == "none":
        return 0.0, f"{cpu.source}; idle not charged (idle_power='none')"
    if cpu.idle_w_per_cpu is None:
        # no family coefficients: nothing to charge, and the row says so rather than inventing a figure
        return 0.0, f"{cpu.source}; idle not charged: no idle figure for this chip (idle_power='reserved')"
    w = cpu.idle_w_per_cpu * cpu.reserved_cpus
    return w, (f"{cpu.source}; + idle {cpu.idle_w_per_cpu:.4f} W x {cpu.reserved_cpus} reserved CPUs "
               f"({cpu.reserved_source}) = {w:.4f} W per second (idle_power='reserved')")
