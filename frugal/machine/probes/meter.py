"""The meters of a region: RAPL and NVML counters read at its start and end, or CodeCarbon's.

``read()`` returns one tuple of cumulative counters: the machine's busy CPU time in clock
ticks (``/proc/stat``, only with RAPL), each RAPL zone in µJ, each GPU in mJ. ``joules()``
turns start and end tuples into the energy of each region when results are read: counter
deltas with wrap-around, and the machine's RAPL energy attributed to the process by its
share of the machine's busy CPU time in the region. GPU energy is attributed wholly to the
region (a GPU is taken to serve this process while it runs). Standard library at import;
numpy inside ``joules()`` only.
"""
from __future__ import annotations

import os

TYPE_CHECKING = False   # typing is not imported at run time (start-up of ``frugal run``)
if TYPE_CHECKING:
    from typing import Any


CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_pread = os.pread


def _busy_ticks(head: bytes) -> int:
    # "cpu  user nice system idle iowait irq softirq steal ...": busy = user+nice+system+irq+softirq
    # (guest time is inside user; steal is another guest's, idle and iowait are not work)
    f = head.split(None, 8)
    return int(f[1]) + int(f[2]) + int(f[3]) + int(f[6]) + int(f[7])


class Meter:
    """RAPL and/or NVML, behind the one ``read()`` the hot path calls."""

    def __init__(self, rapl: Any = None, nvml: Any = None, proc_root: str = "/proc") -> None:
        self.rapl = rapl
        self.nvml = nvml
        self.method = "+".join(n for n, p in (("rapl", rapl), ("nvml", nvml)) if p is not None)
        self.proc_root = proc_root
        self._stat_fd = os.open(os.path.join(proc_root, "stat"), os.O_RDONLY) if rapl is not None else -1
        if rapl is not None:
            _busy_ticks(_pread(self._stat_fd, 256, 0))  # fail at set-up, not in a region
        errors: tuple[type[BaseException], ...] = (OSError, ValueError, IndexError)
        if nvml is not None:
            errors += nvml.error_types
        self._errors = errors
        self.failures = 0
        self.last_error: str | None = None

    def read(self) -> tuple[int, ...] | None:
        """Cumulative counters; None when a counter could not be read (that region is modelled)."""
        try:
            if self.rapl is not None:
                out = (_busy_ticks(_pread(self._stat_fd, 256, 0)), *self.rapl.read())
                if self.nvml is not None:
                    out += self.nvml.read()
                return out
            gpus: tuple[int, ...] = self.nvml.read()   # NVML alone (the probes are duck-typed: Any)
            return gpus
        except self._errors as exc:
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            return None

    def after_fork(self) -> None:
        """In a forked child: NVML handles belong to the parent and are taken again."""
        if self.nvml is not None:
            try:
                self.nvml.reopen()
            except (RuntimeError, *self.nvml.error_types) as exc:
                self.last_error = f"after fork: {exc}"
                self.nvml = None
                self.method = "rapl" if self.rapl is not None else ""

    def joules(self, start: Any, end: Any, cpu_s: Any) -> tuple[Any, Any, Any]:
        """(cpu_j, ram_j, gpu_j) per region from (rows x counters) arrays; None where not metered.

        RAPL: each zone's delta, plus ``max_energy_range_uj`` where the counter wrapped,
        times ``share = min(1, cpu_s / machine busy CPU s)`` (1 when the machine's tick
        counter did not move but the process used CPU, 0 when the process used none).
        dram zones give ``ram_j``; without one, memory is modelled. NVML: the sum over
        GPUs of the counter delta (a negative delta, after a driver reload, gives NaN).
        """
        import numpy as np

        d = np.asarray(end, dtype="f8") - np.asarray(start, dtype="f8")
        cpu_j = ram_j = gpu_j = None
        col = 0
        if self.rapl is not None:
            busy = d[:, 0] / CLK_TCK
            cpu_s = np.asarray(cpu_s, dtype="f8")
            share = np.where(busy > 0, np.clip(cpu_s / np.where(busy > 0, busy, 1.0), 0.0, 1.0),
                             (cpu_s > 0).astype("f8"))
            pkg = np.zeros(len(d))
            dram = np.zeros(len(d))
            for j, zone in enumerate(self.rapl.zones, start=1):
                dz = d[:, j]
                if zone.max_range_uj > 0:
                    dz = np.where(dz < 0, dz + zone.max_range_uj, dz)
                else:
                    dz = np.where(dz < 0, np.nan, dz)
                if zone.kind == "dram":
                    dram += dz
                else:
                    pkg += dz
            cpu_j = pkg * share / 1e6
            if any(z.kind == "dram" for z in self.rapl.zones):
                ram_j = dram * share / 1e6
            col = 1 + len(self.rapl.zones)
        if self.nvml is not None:
            g = d[:, col: col + self.nvml.counters]
            gpu_j = np.where(g < 0, np.nan, g).sum(axis=1) / 1e3
        return cpu_j, ram_j, gpu_j

    def describe(self) -> str:
        parts = []
        if self.rapl is not None:
            parts.append(f"{self.rapl.why}; machine CPU time from {self.proc_root}/stat for attribution")
        if self.nvml is not None:
            parts.append(self.nvml.why)
        if self.failures:
            parts.append(f"{self.failures} failed read(s), last: {self.last_error} (those regions are modelled)")
        return "; ".join(parts)

    def __repr__(self) -> str:
        return f"<frugal Meter {self.method}>"


def build(energy: str, powercap_root: str, gpu: bool, country: str | None = None) -> tuple[Any, dict[str, str]]:
    """(meter or None, why for each meter) for the energy setting; ValueError if 'rapl' is impossible."""
    if energy == "model":
        why = "not used: energy='model'"
        return None, {"rapl": why, "nvml": why, "codecarbon": why}
    if energy == "codecarbon":
        from frugal.machine.probes.codecarbon import shared_meter

        why = "not read by frugal: energy='codecarbon' (CodeCarbon reads its own sources)"
        meter = shared_meter(country)
        return meter, {"rapl": why, "nvml": why, "codecarbon": meter.describe()}
    # the probes are imported when a meter is sought, not at ``import frugal``
    from frugal.machine.probes import nvml as nvml_probe
    from frugal.machine.probes import rapl as rapl_probe
    from frugal.machine.probes.rapl import NullEnergyProbe

    rapl = rapl_probe.select(powercap_root)
    if gpu:
        nv = nvml_probe.select()
    else:
        nv = NullEnergyProbe("NVML: not used (gpu=False)")
    if energy == "rapl" and isinstance(rapl, NullEnergyProbe):
        raise ValueError(f"energy='rapl' needs readable RAPL counters: {rapl.why}; "
                         "accepted: 'auto', 'model', 'rapl' (where readable), 'codecarbon'")
    reasons = {"rapl": rapl.why, "nvml": nv.why,
               "codecarbon": "not used (energy='codecarbon' to cross-check with CodeCarbon)"}
    use_rapl = None if isinstance(rapl, NullEnergyProbe) else rapl
    use_nvml = None if isinstance(nv, NullEnergyProbe) else nv
    if use_rapl is None and use_nvml is None:
        return None, reasons
    try:
        return Meter(use_rapl, use_nvml), reasons
    except (OSError, ValueError, IndexError) as exc:
        reasons["rapl"] = f"RAPL: /proc/stat unreadable for attribution ({exc}); energy is modelled"
        if use_nvml is None:
            return None, reasons
        return Meter(None, use_nvml), reasons
