"""The NVML probe: on a real NVIDIA GPU when there is one, else skipped with the probe's reason.

The bookkeeping around NVML (GPUs without a counter, driver errors, mJ deltas) is also
checked against a stand-in ``pynvml`` module, since most machines running the suite have
no GPU; those tests say so in their names.
"""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from frugal.machine.probes.meter import Meter
from frugal.machine.probes import nvml
from frugal.machine.probes.rapl import NullEnergyProbe

_real = nvml.select()
needs_gpu = pytest.mark.skipif(isinstance(_real, NullEnergyProbe),
                               reason=f"no NVIDIA GPU meter here: {getattr(_real, 'why', '')}")


@needs_gpu
def test_real_gpu_counter_grows_under_load():
    """On a real GPU, the total-energy counter is read per GPU and grows while the GPU works."""
    import time

    probe = nvml.NvmlProbe()
    first = probe.read()
    assert len(first) == probe.counters >= 1 and all(v > 0 for v in first)
    try:
        import torch  # a GPU load when torch is there; else an idle second still moves the counter
        x = torch.randn(8192, 8192, device="cuda")
        end = time.monotonic() + 2
        while time.monotonic() < end:
            x = x @ x
            x = x / x.norm()
        torch.cuda.synchronize()
    except ImportError:
        time.sleep(2)
    second = probe.read()
    assert all(b > a for a, b in zip(first, second))
    meter = Meter(None, probe)
    _, _, gpu_j = meter.joules(np.array([first]), np.array([second]), np.array([0.0]))
    assert gpu_j[0] > 0


@needs_gpu
def test_real_gpu_region_is_metered():
    """With a GPU meter in force, a measured region records energy_gpu_j and method 'nvml' or 'rapl+nvml'."""
    import dataclasses
    import time

    import frugal

    saved = frugal.configure()
    try:
        frugal.configure(energy="auto", gpu=True)
        with frugal.measure("gpu-region") as m:
            time.sleep(1.0)
        r = m.result
        assert r.energy_method in ("nvml", "rapl+nvml")
        assert r.energy_gpu_j is not None and r.energy_gpu_j >= 0
    finally:
        frugal.configure(**dataclasses.asdict(saved))


class _FakeNVML(types.ModuleType):
    """A stand-in pynvml: GPU 0 has a counter, GPU 1 (pre-Volta) has none."""

    class NVMLError(Exception):
        pass

    def __init__(self, counters):
        super().__init__("pynvml")
        self.counters = counters

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        pass

    def nvmlDeviceGetCount(self):
        return len(self.counters)

    def nvmlSystemGetDriverVersion(self):
        return b"550.00"

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetName(self, h):
        return f"Fake GPU {h}"

    def nvmlDeviceGetTotalEnergyConsumption(self, h):
        if self.counters[h] is None:
            raise self.NVMLError("Not Supported")
        return self.counters[h]


@pytest.fixture
def fake_nvml(monkeypatch):
    fake = _FakeNVML([1_000, None])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    return fake


def test_stand_in_nvml_keeps_gpus_with_a_counter(fake_nvml):
    """With a stand-in NVML, GPUs without an energy counter are left out and named in `why`."""
    probe = nvml.NvmlProbe()
    assert probe.indices == (0,) and probe.read() == (1_000,)
    assert "no energy counter on 1: Fake GPU 1" in probe.why


def test_stand_in_nvml_without_counters_gives_reason(monkeypatch):
    """With a stand-in NVML whose GPUs have no counter, select() returns a null probe saying so."""
    monkeypatch.setitem(sys.modules, "pynvml", _FakeNVML([None]))
    monkeypatch.setattr(nvml.os.path, "exists", lambda p: True)
    probe = nvml.select()
    assert isinstance(probe, NullEnergyProbe) and "Not Supported" in probe.why


def test_stand_in_nvml_meter_deltas_in_joules(fake_nvml):
    """With a stand-in NVML, the meter turns mJ counter deltas into J and a negative delta into NaN."""
    meter = Meter(None, nvml.NvmlProbe())
    assert meter.method == "nvml"
    first = meter.read()
    fake_nvml.counters[0] = 3_500
    second = meter.read()
    assert (first, second) == ((1_000,), (3_500,))
    _, _, gpu_j = meter.joules(np.array([first, second]), np.array([second, first]), np.zeros(2))
    assert gpu_j[0] == pytest.approx(2.5) and np.isnan(gpu_j[1])


def test_no_driver_no_import():
    """Without /dev/nvidiactl (Linux), select() says so without importing pynvml."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the /dev/nvidiactl check is Linux-only")
    probe = nvml.select(dev_root="/nonexistent")
    assert isinstance(probe, NullEnergyProbe) and "nvidiactl" in probe.why
