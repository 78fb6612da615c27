"""Energy and embodied carbon on virtual machines and in the cloud: the chip's watts per hardware
thread (never per vCPU), the host's threads as SCI's ToR, instance types, and their provenance.

Every expected figure is worked out by hand in a comment. Constants used throughout:
a year is 365.25 x 86,400 = 31,557,600 s, so a 4-year lifetime is 126,230,400 s; the server
preset is 1,278,000 gCO2e, the laptop preset 240,500 gCO2e; France is 56.039 gCO2e/kWh.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import frugal
from frugal.core import span as _hot
from frugal.machine import hardware
from frugal.energy.model import derive

FOUR_YEARS_S = 4 * 365.25 * 86_400          # 126,230,400 s


def vm(brand: str, vcpus: int = 2) -> hardware.Machine:
    return hardware.Machine(brand, vcpus, 1, True, "test: a guest", "", "")


def bare(brand: str, cpus: int) -> hardware.Machine:
    return hardware.Machine(brand, cpus, 1, False, "test: bare metal", "", "")


@pytest.fixture
def restore():
    saved = frugal.configure()
    yield saved
    frugal.configure(**dataclasses.asdict(saved))


def busy_second(machine: hardware.Machine) -> dict[str, float]:
    """One region of 1 s wall and 1 s CPU (one busy logical CPU), no memory, derived on ``machine``
    with the settings in force."""
    cols = {"wall_s": np.array([1.0]), "cpu_s": np.array([1.0]), "peak_rss_bytes": np.array([0.0]),
            "_seq": np.array([0]), "_settings_id": np.array([_hot.active().settings_id])}
    out = derive(cols, {}, machine)
    return {k: v[0] for k, v in out.items()}


# --- the EPYC 7763 VM of the issue -------------------------------------------------------------

def test_epyc_7763_vm_charges_the_chips_share_per_thread(restore):
    """A 2-vCPU guest of an EPYC 7763 gets 280 W / 128 threads = 2.19 W per busy CPU, not 280 / 2 = 140 W."""
    frugal.configure(energy="model", country="FR", embodied="auto", power_model="tdp", embodied_allocation="usage")
    r = busy_second(vm("AMD EPYC 7763 64-Core Processor"))
    # 280 W / 128 threads = 2.1875 W; one busy CPU-second = 2.1875 J (before: 280 W / 2 vCPUs = 140 J)
    assert r["energy_cpu_j"] == 2.1875
    # 2.1875 J / 3.6e6 J/kWh x 56.039 g/kWh = 3.4052e-5 g
    assert r["carbon_g"] == pytest.approx(2.1875 / 3.6e6 * 56.039) == pytest.approx(3.4052e-5, rel=1e-4)
    # server preset over the host: 1,278,000 g / 126,230,400 s x (1 thread / 128) = 7.9096e-5 g
    # (before: / 2 vCPUs = 5.06e-3 g, 64 times more)
    assert r["embodied_g"] == pytest.approx(1_278_000 / FOUR_YEARS_S / 128) == pytest.approx(7.9096e-5, rel=1e-4)
    assert r["embodied_g"] <= 1.2e-4
    assert r["cpu_power_source"] == "AMD EPYC 7763: 280 W / 128 threads (table); idle not charged (idle_power='none')"


def test_cpu_model_names_the_chip_a_vm_hides(restore):
    """A VM that shows only 'AMD EPYC' is told its chip with cpu_model: the same 2.1875 W and 128 host threads."""
    p = hardware.cpu_power(cpu_model="AMD EPYC 7763", m=vm("AMD EPYC"), power_model="tdp")
    assert (p.watts_per_cpu, p.host_threads, p.cpu_model) == (2.1875, 128, "AMD EPYC 7763")
    assert p.cpu_model_source == "configured (cpu_model)"
    assert p.host_threads_source == "one AMD EPYC 7763 package (128 threads, frugal/data/cpus.csv)"


# --- instance types -----------------------------------------------------------------------------

def test_m6i_large_uses_its_host_chip_threads_and_embodied(restore):
    """m6i.large: host 2 x Xeon Platinum 8375C (300 W, 64 threads each), 128 host threads, 1,788 kg host."""
    frugal.configure(energy="model", country="FR", instance_type="m6i.large", power_model="tdp",
                     embodied_allocation="usage")
    r = busy_second(vm("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"))
    # 300 W / 64 threads of one package = 4.6875 W per busy vCPU
    assert r["energy_cpu_j"] == 4.6875
    # CCF's host TE 1,788,460 g over 4 years, 1 of 128 host threads: 1,788,460 / 126,230,400 / 128 = 1.1069e-4 g
    assert r["embodied_g"] == pytest.approx(1_788_460 / FOUR_YEARS_S / 128) == pytest.approx(1.1069e-4, rel=1e-4)
    assert r["cpu_power_source"] == "m6i.large: Intel Xeon Platinum 8375C: 300 W / 64 threads (table); idle not charged (idle_power='none')"


def test_instance_without_a_chip_model_gets_the_default_and_its_host(restore):
    """m7i.large's host is named only 'Intel Xeon Sapphire Rapids': default 4 W per vCPU, its 192 host threads."""
    p = hardware.cpu_power(instance_type="m7i.large", m=vm("Intel(R) Xeon(R) Platinum 8488C"), power_model="tdp")
    assert (p.watts_per_cpu, p.host_threads, p.tdp_w) == (4.0, 192, None)
    assert "default 4 W per logical CPU (TDP unknown)" in p.source


def test_an_instance_type_is_a_guest_unless_it_is_metal(restore):
    """Set on a machine without a hypervisor flag, m6i.large still divides by its chip's threads;
    m5.metal (a whole host) divides by the threads the OS shows, as bare metal does."""
    p = hardware.cpu_power(instance_type="m6i.large", m=bare("Intel(R) Xeon(R) Platinum 8375C CPU", 2),
                           power_model="tdp")
    assert p.watts_per_cpu == 300 / 64
    # m5.metal: 2 x Xeon Platinum 8175M (240 W each), 96 threads shown: 240 x 2 / 96 = 5 W
    metal = hardware.Machine("Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz", 96, 2, False, "test", "", "")
    p = hardware.cpu_power(instance_type="m5.metal", m=metal, power_model="tdp")
    assert (p.watts_per_cpu, p.host_threads) == (5.0, 96)


# --- host_threads --------------------------------------------------------------------------------

def test_host_threads_sets_tor_and_keeps_the_chips_watts(restore):
    """host_threads=256 (a two-socket EPYC 7763 host): P stays 280/128, the embodied share halves."""
    frugal.configure(energy="model", intensity_g_per_kwh=100.0, cpu_model="AMD EPYC 7763", host_threads=256,
                     power_model="tdp", embodied_allocation="usage")
    r = busy_second(vm("AMD EPYC"))
    assert r["energy_cpu_j"] == 2.1875                                   # 280 / 128, the chip's own threads
    # 1,278,000 / 126,230,400 / 256 = 3.9548e-5 g
    assert r["embodied_g"] == pytest.approx(1_278_000 / FOUR_YEARS_S / 256) == pytest.approx(3.9548e-5, rel=1e-4)


def test_host_threads_divide_a_configured_tdp_on_an_unknown_chip(restore):
    """On a VM of unknown chip, cpu_tdp_w=200 with host_threads=100 gives 200 / 100 = 2 W per busy CPU."""
    p = hardware.cpu_power(cpu_tdp_w=200.0, host_threads=100, m=vm("AMD EPYC"), power_model="tdp")
    assert (p.watts_per_cpu, p.host_threads) == (2.0, 100)
    assert p.source == "CPU 'AMD EPYC': 200 W / 100 host threads (configured)"


# --- the unknown-model default and bare metal ---------------------------------------------------

def test_unknown_chip_on_a_vm_gets_documented_defaults(restore):
    """'AMD EPYC' alone: 4 W per logical CPU (CodeCarbon's default) and the default host of 128 threads
    (the median series host of defaults.csv; 96 while hosts were the largest guest of a series)."""
    frugal.configure(energy="model", intensity_g_per_kwh=100.0, embodied="auto", embodied_allocation="usage")
    r = busy_second(vm("AMD EPYC"))
    assert r["energy_cpu_j"] == 4.0
    # 1,278,000 / 126,230,400 / 128 = 7.9096e-5 g (before: / 2 vCPUs = 5.06e-3 g)
    assert r["embodied_g"] == pytest.approx(1_278_000 / FOUR_YEARS_S / 128) == pytest.approx(7.9096e-5, rel=1e-4)
    p = hardware.cpu_power(m=vm("AMD EPYC"))
    assert p.source == "CPU 'AMD EPYC': default 4 W per logical CPU (TDP unknown)"
    assert "has no model number" in p.cpu_model_source
    assert p.host_threads_source.startswith("default for an unknown virtual machine host (128")


def test_configured_tdp_alone_on_a_vm_is_not_divided_by_vcpus(restore):
    """cpu_tdp_w=280 on a 2-vCPU VM of unknown chip: never 280 / 2; the default applies and says why."""
    p = hardware.cpu_power(cpu_tdp_w=280.0, m=vm("AMD EPYC"))
    assert p.watts_per_cpu == 4.0
    assert "threads of the host chip unknown on a virtual machine" in p.source


def test_laptop_on_bare_metal_divides_by_the_threads_the_os_shows(restore):
    """i7-8650U laptop (15 W, 8 threads shown): 15 x 1 / 8 = 1.875 W; ToR is the machine's 8 threads."""
    frugal.configure(energy="model", intensity_g_per_kwh=100.0, embodied="laptop", power_model="tdp",
                     embodied_allocation="usage")
    r = busy_second(bare("Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz", 8))
    assert r["energy_cpu_j"] == 1.875
    # 240,500 / 126,230,400 / 8 = 2.3815e-4 g
    assert r["embodied_g"] == pytest.approx(240_500 / FOUR_YEARS_S / 8) == pytest.approx(2.3815e-4, rel=1e-4)
    assert r["cpu_power_source"] == "Intel Core i7-8650U: 15 W x 1 package(s) / 8 logical CPUs (table); idle not charged (idle_power='none')"


# --- bad values -----------------------------------------------------------------------------------

@pytest.mark.parametrize("setting, value, error, words", [
    ("cpu_model", "AMD EPYC 7736", ValueError, ["cpu_model='AMD EPYC 7736'", "'AMD EPYC 7763'"]),
    ("cpu_model", "", ValueError, ["cpu_model", "empty"]),
    ("cpu_model", 7763, TypeError, ["cpu_model", "str"]),
    ("host_threads", 0, ValueError, ["host_threads", ">= 1"]),
    ("host_threads", -8, ValueError, ["host_threads", ">= 1"]),
    ("host_threads", 2.5, TypeError, ["host_threads", "whole number"]),
    ("host_threads", "128", TypeError, ["host_threads", "whole number"]),
    ("host_threads", True, TypeError, ["host_threads", "whole number"]),
    ("instance_type", "m6i.larg", ValueError, ["instance_type='m6i.larg'", "'m6i.large'"]),
    ("instance_type", "", ValueError, ["instance_type", "empty"]),
    ("instance_type", ["m6i.large"], TypeError, ["instance_type", "str"]),
])
def test_bad_values_name_the_setting_and_change_nothing(setting, value, error, words):
    """Each new setting refuses a bad value with an error naming it, and the settings stay as they were."""
    before = _hot.active().settings_id
    with pytest.raises(error) as info:
        frugal.configure(**{setting: value})
    for word in words:
        assert word in str(info.value)
    assert _hot.active().settings_id == before


# --- provenance -----------------------------------------------------------------------------------

def test_rows_results_and_the_store_carry_the_cpu_watt_source(restore, tmp_path):
    """The CPU watt source is on the Measurement, in results() and in the store, as environment() says it."""
    frugal.clear()
    frugal.configure(energy="model", cpu_model="AMD EPYC 7763", store=str(tmp_path / "f.db"), power_model="tdp")
    with frugal.measure("work") as m:
        sum(range(50_000))
    frugal.flush()
    expected = frugal.environment()["cpu_power_source"]
    assert expected.startswith("AMD EPYC 7763: 280 W")        # / 128 threads on a VM, x packages / CPUs on bare metal
    assert m.result.cpu_power_source == expected
    assert frugal.results().set_index("name").loc["work", "cpu_power_source"] == expected
    stored = frugal.load(tmp_path / "f.db", name="work")
    assert list(stored["cpu_power_source"]) == [expected]
    frugal.clear()


def _frugal(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "frugal", *args], capture_output=True, text=True, timeout=120,
                          env=None if env is None else {**os.environ, **env})


@pytest.mark.slow
def test_command_line_options_set_the_machine(tmp_path):
    """frugal run --cpu-model/--host-threads/--instance-type apply to the runs and show in their rows."""
    out = _frugal("run", "--no-store", "--json", "--cpu-model", "AMD EPYC 7763", "--host-threads", "256",
                  "--", sys.executable, "-c", "pass", env={"FRUGAL_POWER_MODEL": "tdp"})
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)["runs"][0]
    assert row["cpu_power_source"].startswith("AMD EPYC 7763: 280 W")
    out = _frugal("run", "--no-store", "--json", "--instance-type", "m6i.large", "--", sys.executable, "-c", "pass")
    assert json.loads(out.stdout)["runs"][0]["cpu_power_source"].startswith("m6i.large: ")


@pytest.mark.parametrize("option, value, words", [
    ("--cpu-model", "AMD EPYC 7736", "cpu_model='AMD EPYC 7736'"),
    ("--host-threads", "zero", "--host-threads"),
    ("--host-threads", "0", "--host-threads"),
    ("--instance-type", "m6i.larg", "did you mean 'm6i.large'"),
])
@pytest.mark.slow
def test_command_line_refuses_bad_machine_options(option, value, words):
    """A bad machine option ends frugal run and frugal compare with exit status 2 and one line naming it."""
    for command in (["run", "--no-store", option, value, "--", "true"],
                    ["compare", "--no-store", option, value, "true", "true"]):
        out = _frugal(*command)
        assert out.returncode == 2, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and words in out.stderr
