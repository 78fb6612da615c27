"""The RAPL probe against synthetic powercap trees (this machine has no RAPL).

The trees are plain files in tmp_path; a region's consumption is simulated by writing a
new counter value while the region runs. Permission denial cannot be produced with chmod
for a root user, so it is simulated two ways: an ``opener`` that fails as the kernel does
(EACCES), and a real OS failure, a directory where the counter file should be.
"""
from __future__ import annotations

import errno
import os

import numpy as np
import pytest

from frugal.machine.probes.meter import Meter
from frugal.machine.probes import rapl
from frugal.machine.probes.rapl import NullEnergyProbe, RaplProbe, write_tree

MAX = 262_143_328_850  # a real max_energy_range_uj


def intel_tree(root, pkg=1_000_000, core=400_000, dram=200_000):
    write_tree(str(root), [
        ("intel-rapl:0", "package-0", pkg, MAX),
        ("intel-rapl:0:0", "core", core, MAX),
        ("intel-rapl:0:1", "uncore", 5, MAX),
        ("intel-rapl:0:2", "dram", dram, MAX),
        ("intel-rapl:1", "psys", 7, MAX),
        ("intel-rapl-mmio:0", "package-0", 9, MAX),
    ])
    os.makedirs(root / "intel-rapl", exist_ok=True)  # the control-type directory
    return root


def set_counter(root, zone, value):
    with open(root / zone / "energy_uj", "w") as f:
        f.write(f"{value}\n")


def test_zones_package_and_dram_are_read_others_left_out(tmp_path):
    """Package and dram zones are read; core (inside the package), uncore, psys and mmio are not."""
    probe = RaplProbe(str(intel_tree(tmp_path)))
    assert [(z.name, z.kind) for z in probe.zones] == [("package-0", "package"), ("dram", "dram")]
    assert probe.read() == (1_000_000, 200_000)
    assert "not read: uncore, psys, core" in probe.why


def test_core_is_read_when_no_package_zone_exists(tmp_path):
    """A tree with only a core zone still meters the CPU through it."""
    write_tree(str(tmp_path), [("intel-rapl:0", "core", 42, MAX)])
    probe = RaplProbe(str(tmp_path))
    assert [z.kind for z in probe.zones] == ["core"]
    assert probe.read() == (42,)


def test_read_follows_the_counter(tmp_path):
    """Each read returns the counter's current value (the file is re-read at offset 0)."""
    root = intel_tree(tmp_path)
    probe = RaplProbe(str(root))
    set_counter(root, "intel-rapl:0", 1_500_000)
    assert probe.read()[0] == 1_500_000


def test_permission_denied_is_explained(tmp_path):
    """An EACCES on energy_uj gives a null probe that names the file, root-only access and the CVE."""
    root = intel_tree(tmp_path)

    def denying_open(path, flags):
        if path.endswith("energy_uj"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return os.open(path, flags)

    probe = rapl.select(str(root), opener=denying_open)
    assert isinstance(probe, NullEnergyProbe)
    assert "permission denied" in probe.why and "CVE-2020-8694" in probe.why
    assert "intel-rapl:0/energy_uj" in probe.why


def test_unreadable_counter_directory_is_explained(tmp_path):
    """A counter that the OS refuses to read (a directory here) gives a null probe naming the file."""
    root = intel_tree(tmp_path)
    os.remove(root / "intel-rapl:0" / "energy_uj")
    os.mkdir(root / "intel-rapl:0" / "energy_uj")
    probe = rapl.select(str(root))
    assert isinstance(probe, NullEnergyProbe)
    assert "intel-rapl:0/energy_uj" in probe.why and "directory" in probe.why.lower()


def test_missing_tree_and_empty_tree_are_explained(tmp_path):
    """No powercap folder, or one without RAPL zones, each give a null probe saying which."""
    assert "no powercap tree" in rapl.select(str(tmp_path / "absent")).why
    assert "no RAPL zone" in rapl.select(str(tmp_path)).why


def test_garbage_counter_is_refused_at_setup(tmp_path):
    """A counter that is not a number is refused when the probe is made, not inside a region."""
    root = intel_tree(tmp_path)
    set_counter(root, "intel-rapl:0:2", "n/a")
    probe = rapl.select(str(root))
    assert isinstance(probe, NullEnergyProbe) and "not a number" in probe.why


def test_joules_attributes_by_cpu_share_and_handles_wrap(tmp_path):
    """Deltas wrap at max_energy_range_uj and are scaled by the process's share of machine CPU time."""
    meter = Meter(RaplProbe(str(intel_tree(tmp_path))))
    tck = os.sysconf("SC_CLK_TCK")
    # columns: busy ticks, package uJ, dram uJ
    start = np.array([[0, 1_000_000, 0], [0, MAX - 1_000, 0], [0, 10, 10], [0, 0, 0]], dtype="f8")
    end = np.array([[2 * tck, 3_000_000, 500_000], [tck, 500, 1_000], [0, 10, 10], [0, 9, 9]], dtype="f8")
    cpu_s = np.array([1.0, 2.0, 0.5, 0.0])
    cpu_j, ram_j, gpu_j = meter.joules(start, end, cpu_s)
    # row 0: share 1/2; row 1: share capped at 1, package wrapped: 500 + MAX - (MAX - 1000)
    # row 2: no tick moved but the process used CPU -> share 1; row 3: no CPU -> share 0
    assert cpu_j == pytest.approx([1.0, 1500e-6, 0.0, 0.0])
    assert ram_j == pytest.approx([0.25, 1000e-6, 0.0, 0.0])
    assert gpu_j is None


def test_meter_read_reports_failure_instead_of_raising(tmp_path):
    """A counter that turns unreadable mid-run makes read() return None and count the failure."""
    root = intel_tree(tmp_path)
    meter = Meter(RaplProbe(str(root)))
    first = meter.read()
    assert len(first) == 3 and first[1:] == (1_000_000, 200_000)
    set_counter(root, "intel-rapl:0", "garbage")
    assert meter.read() is None
    assert meter.failures == 1 and "ValueError" in meter.describe()
