"""NVIDIA GPU energy through NVML's total-energy counter (``nvidia-ml-py``, extra ``frugal[gpu]``).

``nvmlDeviceGetTotalEnergyConsumption`` gives each GPU's energy since the driver was loaded,
in millijoules (Volta and later). ``pynvml`` is imported only when an NVIDIA driver is
there, so machines without one pay nothing; every reason for having no GPU meter is kept
in ``why``.
"""
from __future__ import annotations

import os
import sys

from frugal.machine.probes.rapl import NullEnergyProbe

TYPE_CHECKING = False   # typing is not imported at run time (start-up of ``frugal run``)
if TYPE_CHECKING:
    from typing import Any


class NvmlProbe:
    """One handle per GPU that has an energy counter; ``read()`` returns mJ per GPU."""

    name = "nvml"

    def __init__(self) -> None:
        """Initialise NVML and find the GPUs; ImportError/OSError/RuntimeError say why not."""
        import pynvml  # the nvidia-ml-py distribution

        self._nvml = pynvml
        self.error_types: tuple[type[BaseException], ...] = (pynvml.NVMLError, OSError)
        self.reopen()
        names = ", ".join(f"{i}: {n}" for i, n in zip(self.indices, self.names))
        skipped = f"; no energy counter on {', '.join(self.skipped)}" if self.skipped else ""
        self.why = f"NVML {self.driver}: GPU {names}{skipped}"

    def reopen(self) -> None:
        """Initialise NVML (again, in a forked child) and take a handle per usable GPU."""
        nv = self._nvml
        try:
            nv.nvmlInit()
            count = nv.nvmlDeviceGetCount()
            self.driver = _text(nv.nvmlSystemGetDriverVersion())
        except nv.NVMLError as exc:
            raise RuntimeError(f"NVML: {exc}") from exc
        handles, indices, names, skipped = [], [], [], []
        for i in range(count):
            h = nv.nvmlDeviceGetHandleByIndex(i)
            name = _text(nv.nvmlDeviceGetName(h))
            try:
                nv.nvmlDeviceGetTotalEnergyConsumption(h)
            except nv.NVMLError as exc:
                skipped.append(f"{i}: {name} ({exc})")
                continue
            handles.append(h)
            indices.append(i)
            names.append(name)
        if not handles:
            detail = "; ".join(skipped) if skipped else "no NVIDIA GPU found"
            raise RuntimeError(f"NVML {self.driver}: {detail}")
        self._handles = tuple(handles)
        self._energy = nv.nvmlDeviceGetTotalEnergyConsumption
        self.indices, self.names, self.skipped = tuple(indices), tuple(names), tuple(skipped)
        self.counters = len(handles)

    def read(self) -> tuple[int, ...]:
        """Cumulative energy in mJ, one per GPU (NVMLError when a read fails)."""
        energy = self._energy
        return tuple([energy(h) for h in self._handles])

    def close(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except self._nvml.NVMLError:
            pass


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def select(dev_root: str = "/dev") -> NvmlProbe | NullEnergyProbe:
    """A working NVML probe, or a null probe whose ``why`` says why there is none."""
    if sys.platform.startswith("linux") and not os.path.exists(os.path.join(dev_root, "nvidiactl")):
        return NullEnergyProbe(f"NVML: no NVIDIA driver ({dev_root}/nvidiactl absent)")
    try:
        return NvmlProbe()
    except ImportError:
        return NullEnergyProbe("NVML: nvidia-ml-py is not installed (pip install 'frugal[gpu]')")
    except (OSError, RuntimeError) as exc:
        return NullEnergyProbe(str(exc))
