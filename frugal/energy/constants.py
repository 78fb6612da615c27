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
