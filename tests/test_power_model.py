"""The power model of issue 29: SPECpower watts (power_model), idle power stated (idle_power) and
SCI's embodied allocation (embodied_allocation), against hand-computed values.

CCF's AWS coefficients for EPYC 3rd Gen (output/coefficients-aws-use.csv, pinned): min 0.45562453497023814,
max 1.957333519345238 W per vCPU, so k_dyn = max - min = 1.5017089843749998 W. A year is
365.25 x 86,400 s, so a 4-year lifetime is 126,230,400 s.
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
from frugal import data
from frugal.core import span as _hot
from frugal.energy.model import derive
from frugal.machine import hardware

FOUR_YEARS_S = 4 * 365.25 * 86_400
EPYC3_MIN, EPYC3_MAX = 0.45562453497023814, 1.957333519345238


def vm(brand: str, vcpus: int = 2, affinity: int | None = None) -> hardware.Machine:
    return hardware.Machine(brand, vcpus, 1, True, "test: a guest", "", "", affinity)


@pytest.fixture
def restore():
    saved = frugal.configure()
    yield saved
    frugal.configure(**dataclasses.asdict(saved))


def rows(machine: hardware.Machine, wall: list[float], cpu: list[float]) -> dict[str, np.ndarray]:
    """Regions of the given wall and CPU seconds, no memory, derived on ``machine`` with the settings in force."""
    n = len(wall)
    cols = {"wall_s": np.array(wall), "cpu_s": np.array(cpu), "peak_rss_bytes": np.zeros(n),
            "_seq": np.arange(n), "_settings_id": np.full(n, _hot.active().settings_id)}
    return derive(cols, {}, machine)


def busy_second(machine: hardware.Machine) -> dict[str, float]:
    return {k: v[0] for k, v in rows(machine, [1.0], [1.0]).items()}


EPYC_GUEST = vm("AMD EPYC 7763 64-Core Processor")


# --- the EPYC 7763 2-vCPU guest of the issue ---------------------------------------------------

def test_default_charges_the_familys_marginal_watts(restore):
    """specpower (the default): one busy second on a 2-vCPU EPYC 7763 guest costs 1.5017 J."""
    frugal.configure(energy="model", ram_w_per_gb=0.0)
    # EPYC 7763 is EPYC 3rd Gen: 1.957333519345238 - 0.45562453497023814 = 1.5017 W x 1 CPU-second
    assert busy_second(EPYC_GUEST)["energy_cpu_j"] == pytest.approx(EPYC3_MAX - EPYC3_MIN, abs=1e-12)
    assert round(busy_second(EPYC_GUEST)["energy_cpu_j"], 4) == 1.5017


def test_tdp_model_keeps_todays_rule(restore):
    """power_model='tdp': 280 W / 128 threads = 2.1875 J for the same busy second."""
    frugal.configure(energy="model", ram_w_per_gb=0.0, power_model="tdp")
    assert busy_second(EPYC_GUEST)["energy_cpu_j"] == 2.1875


def test_idle_reserved_adds_the_idle_share_of_the_reserved_cpus(restore):
    """idle_power='reserved': 1.5017 J + 1 s x 2 vCPUs x 0.4556 W = 2.4130 J."""
    frugal.configure(energy="model", ram_w_per_gb=0.0, idle_power="reserved")
    r = busy_second(EPYC_GUEST)
    # 1 x 1.5017089843749998 + 1 x 2 x 0.45562453497023814 = 2.4129580543154763
    assert r["energy_cpu_j"] == pytest.approx(EPYC3_MAX - EPYC3_MIN + 2 * EPYC3_MIN, abs=1e-12)
    assert round(r["energy_cpu_j"], 4) == 2.4130
    assert "idle_power='reserved'" in r["cpu_power_source"] and "2 reserved CPUs" in r["cpu_power_source"]


def test_every_row_says_whether_idle_was_charged(restore):
    """The default row says idle was not charged; its source names the family and CCF's file."""
    frugal.configure(energy="model")
    source = busy_second(EPYC_GUEST)["cpu_power_source"]
    assert "EPYC 3rd Gen" in source and "coefficients-aws-use.csv" in source
    assert source.endswith("idle not charged (idle_power='none')")


# --- every family of CCF's AWS table ----------------------------------------------------------

def _aws_families() -> list[str]:
    return sorted(f for p, f in data.families() if p == "aws")


def _guest_of(family: str) -> tuple[dict[str, str], int]:
    """Settings that put a chip of ``family`` in force (an AWS instance of it, else a chip of it), and its vCPUs."""
    for r in data.rows("instances.csv"):
        if r["provider"] == "aws" and r.get("family") == family and not r["instance_type"].endswith("metal"):
            return {"instance_type": r["instance_type"]}, int(r["vcpus"])
    for r in data.rows("cpus.csv"):
        if r.get("family") == family:
            return {"cpu_model": r["name"]}, 2
    raise AssertionError(f"no instance type or CPU of family {family!r} in frugal's tables")


@pytest.mark.parametrize("family", _aws_families())
def test_model_reproduces_ccf_for_every_aws_family(restore, family):
    """With idle reserved, W per vCPU is CCF's min + u x (max - min) at u = 0, 0.25, 0.5, 1."""
    low, high, _, _ = data.families()[("aws", family)]
    given, vcpus = _guest_of(family)
    frugal.configure(energy="model", ram_w_per_gb=0.0, idle_power="reserved", **given)
    u = np.array([0.0, 0.25, 0.5, 1.0])
    # 2 s wall on all vCPUs, u x 2 x vcpus CPU-seconds: energy / (2 s x vcpus) = min + u (max - min)
    out = rows(vm("unknown guest", vcpus), [2.0] * 4, list(u * 2.0 * vcpus))
    np.testing.assert_allclose(out["energy_cpu_j"] / (2.0 * vcpus), low + u * (high - low), rtol=0, atol=1e-9)


def test_placeholder_rows_are_flagged(restore):
    """c7g.large (Graviton3: CCF copies EPYC 2nd Gen) says its coefficients are a placeholder."""
    p = hardware.cpu_power(instance_type="c7g.large", m=vm("unknown"))
    assert p.power_model == "specpower" and p.family == "Graviton3"
    assert "placeholder" in p.source


# --- fallbacks ---------------------------------------------------------------------------------

def test_chip_without_a_family_falls_back_to_its_tdp(restore):
    """A chip with TDP and threads but no family is charged TDP / threads and says why."""
    row = next(r for r in data.rows("cpus.csv") if not r.get("family") and r["threads"] and r["cores"])
    p = hardware.cpu_power(cpu_model=row["name"], m=vm("unknown"))
    # the chip's TDP over its own threads, as power_model='tdp' would give
    assert p.watts_per_cpu == float(row["tdp_w"]) / int(row["threads"])
    assert p.power_model == "tdp" and "TDP rule: the chip's family is unknown" in p.source


def test_chip_unknown_to_both_gets_the_documented_default(restore):
    """A VM showing only 'AMD EPYC' (no family, no TDP): 4 W per logical CPU, idle not charged."""
    frugal.configure(energy="model", ram_w_per_gb=0.0, idle_power="reserved")
    r = busy_second(vm("AMD EPYC"))
    assert r["energy_cpu_j"] == 4.0
    assert "no idle figure for this chip" in r["cpu_power_source"]


# --- embodied allocation -----------------------------------------------------------------------

def test_m6i_large_sleeping_is_charged_its_reservation(restore):
    """m6i.large sleeping 1 s, embodied_allocation='reserved': TE x 1 s / lifetime x 2 / 128."""
    frugal.configure(energy="model", instance_type="m6i.large", embodied="auto", embodied_allocation="reserved")
    out = rows(vm("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", affinity=2), [1.0], [0.0])
    emb = frugal.environment()
    te, life = emb["embodied_total_g"], emb["lifetime_years"]
    assert emb["host_threads"] == 128
    # 1,788,460 g x 1 s / 126,230,400 s x 2 / 128 = 2.2138e-4 g
    assert out["embodied_g"][0] == pytest.approx(te * 1.0 / (life * 365.25 * 86_400) * 2 / 128, rel=1e-12)
    assert out["embodied_g"][0] == pytest.approx(1_788_460 / FOUR_YEARS_S * 2 / 128, rel=1e-12)


def test_usage_allocation_charges_a_sleeping_region_nothing(restore):
    """embodied_allocation='usage' (cpu_s / wall_s): the same sleeping second gets 0 g."""
    frugal.configure(energy="model", instance_type="m6i.large", embodied_allocation="usage")
    assert rows(vm("x"), [1.0], [0.0])["embodied_g"][0] == 0.0


def test_affinity_narrows_the_reserved_cpus(restore):
    """A process pinned to 1 CPU of an m6i.large reserves 1 CPU: half the embodied share and idle power."""
    frugal.configure(energy="model", instance_type="m6i.large", ram_w_per_gb=0.0, idle_power="reserved")
    one, two = rows(vm("x", affinity=1), [1.0], [0.0]), rows(vm("x", affinity=4), [1.0], [0.0])
    assert one["embodied_g"][0] == pytest.approx(two["embodied_g"][0] / 2, rel=1e-12)
    assert one["energy_cpu_j"][0] == pytest.approx(two["energy_cpu_j"][0] / 2, rel=1e-12)
    assert "affinity: 1 of the 2 vCPUs of m6i.large" in one["cpu_power_source"][0]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no affinity masks here")
def test_detect_reads_the_processes_affinity():
    """A real process pinned to one CPU detects affinity_cpus == 1."""
    code = ("import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "from frugal.machine import hardware; print(hardware.detect().affinity_cpus)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "1"


# --- settings -----------------------------------------------------------------------------------

@pytest.mark.parametrize("setting, value, error", [
    ("power_model", "spec", ValueError), ("power_model", None, TypeError),
    ("idle_power", "all", ValueError), ("idle_power", True, TypeError),
    ("embodied_allocation", "sci", ValueError), ("embodied_allocation", 1, TypeError),
])
def test_bad_values_name_the_setting_and_change_nothing(setting, value, error):
    """A bad value is refused with an error naming the setting, and the settings stay as they were."""
    before = _hot.active().settings_id
    with pytest.raises(error, match=setting):
        frugal.configure(**{setting: value})
    assert _hot.active().settings_id == before


def test_environment_reports_the_settings_and_keeps_the_embodied_constants(restore):
    """environment() shows the three settings and keeps embodied_total_g, lifetime_years and host_threads."""
    frugal.configure(power_model="tdp", idle_power="reserved", embodied_allocation="usage")
    env = frugal.environment()
    assert (env["power_model"], env["idle_power"], env["embodied_allocation"]) == ("tdp", "reserved", "usage")
    assert {"embodied_total_g", "lifetime_years", "host_threads", "reserved_cpus", "cpu_family"} <= set(env)


@pytest.mark.slow
def test_frugal_info_shows_the_settings():
    """frugal info --json (the stored settings snapshot) lists the three settings from FRUGAL_* variables."""
    env = {**os.environ, "FRUGAL_POWER_MODEL": "tdp", "FRUGAL_IDLE_POWER": "reserved",
           "FRUGAL_EMBODIED_ALLOCATION": "usage"}
    out = subprocess.run([sys.executable, "-m", "frugal", "info", "--json"], capture_output=True, text=True,
                         timeout=120, env=env, check=True)
    info = json.loads(out.stdout)
    assert (info["power_model"], info["idle_power"], info["embodied_allocation"]) == ("tdp", "reserved", "usage")
