"""Energy, carbon and embodied carbon derived from measured rows: the model, the meters, provenance."""
from __future__ import annotations

import dataclasses
import math
import os
import time

import numpy as np
import pytest

import frugal
from frugal.core import span as _hot
from frugal.core import settings as config
from frugal.core.rows import LOG
from frugal.machine import hardware
from frugal.energy.model import derive
from frugal.machine.hardware import SECONDS_PER_YEAR
from frugal.machine.probes.rapl import write_tree

GIB = 2.0 ** 30


@pytest.fixture
def restore():
    """Puts the settings in force before the test back in force after it."""
    saved = frugal.configure()
    yield saved
    frugal.configure(**dataclasses.asdict(saved))


HOST = 64   # host_threads given with each configured TDP: on a VM the watts are TDP / host threads


def w_per_cpu(tdp: float) -> float:
    """The documented rule: TDP / host threads on a virtual machine, TDP x packages / logical CPUs on bare metal."""
    m = hardware.machine()
    return tdp / HOST if m.virtual else tdp * m.sockets / m.logical_cpus


def host_threads() -> int:
    """SCI's ToR with host_threads=HOST configured: HOST (bare metal or not)."""
    return HOST


def cols(wall, cpu, peak, sid, t0=None):
    n = len(wall)
    return {"wall_s": np.array(wall, dtype="f8"), "cpu_s": np.array(cpu, dtype="f8"),
            "peak_rss_bytes": np.array(peak, dtype="f8"), "calls": np.ones(n, dtype="i8"),
            "_t0_ns": np.arange(n, dtype="i8") if t0 is None else np.array(t0, dtype="i8"),
            "_settings_id": np.full(n, sid, dtype="i8") if np.isscalar(sid) else np.array(sid, dtype="i8")}


def test_model_arithmetic_matches_hand_computation(restore):
    """CPU, RAM, PUE, carbon and embodied follow the documented formulas to the last digit."""
    frugal.configure(energy="model", cpu_tdp_w=100.0, host_threads=HOST, ram_w_per_gb=0.5, pue=1.5,
                     intensity_g_per_kwh=300.0, embodied_total_g=1e6, lifetime_years=2.0,
                     power_model="tdp", embodied_allocation="usage")
    n = host_threads()
    c = cols(wall=[2.0, 0.5, 1.0], cpu=[1.0, 0.25, 4.0 * n], peak=[2 * GIB, np.nan, GIB],
             sid=_hot.active().settings_id)
    out = derive(c, {})
    p = w_per_cpu(100.0)
    cpu_j = np.array([1.0 * p, 0.25 * p, 4.0 * n * p])
    ram_j = np.array([0.5 * 2 * 2.0, np.nan, 0.5 * 1 * 1.0])
    energy = (cpu_j + np.nan_to_num(ram_j)) * 1.5
    np.testing.assert_allclose(out["energy_cpu_j"], cpu_j)
    np.testing.assert_allclose(out["energy_ram_j"], ram_j)  # unknown memory: no RAM energy
    assert np.isnan(out["energy_gpu_j"]).all()
    np.testing.assert_allclose(out["energy_j"], energy)
    np.testing.assert_allclose(out["carbon_g"], energy / 3.6e6 * 300.0)
    rate = 1e6 / (2.0 * SECONDS_PER_YEAR)
    # share of the host: cpu/(wall x host threads), capped at 1 (third row uses 4 hosts' worth)
    share = np.minimum(1.0, np.array([1.0, 0.25, 4.0 * n]) / (np.array([2.0, 0.5, 1.0]) * n))
    np.testing.assert_allclose(out["embodied_g"], rate * np.array([2.0, 0.5, 1.0]) * share)
    assert list(out["energy_method"]) == ["model"] * 3
    assert set(out["intensity_source"]) == {"configured (intensity_g_per_kwh)"}
    assert set(out["cpu_power_source"]) == {frugal.environment()["cpu_power_source"]}
    assert "100 W" in out["cpu_power_source"][0] and "(configured)" in out["cpu_power_source"][0]


def test_each_row_uses_its_own_snapshot(restore):
    """Rows of several snapshots in one call are derived each with their own settings."""
    frugal.configure(intensity_g_per_kwh=100.0)
    a = _hot.active().settings_id
    frugal.configure(intensity_g_per_kwh=500.0, pue=2.0)
    b = _hot.active().settings_id
    out = derive(cols([1.0] * 4, [1.0] * 4, [0.0] * 4, [a, b, a, b]), {})
    np.testing.assert_allclose(out["intensity_g_per_kwh"], [100, 500, 100, 500])
    e = out["energy_j"]
    assert e[1] == pytest.approx(2 * e[0]) and e[0] == e[2]


def test_unknown_snapshot_gives_nan_and_says_so():
    """A settings id this process never had gives NaN energy and a source saying why."""
    out = derive(cols([1.0], [1.0], [0.0], len(config.SNAPSHOTS) + 5), {})
    assert np.isnan(out["energy_j"][0]) and "unknown in this process" in out["intensity_source"][0]


def test_empty_columns_give_empty_columns():
    """No rows in, no rows out, with every energy column present."""
    out = derive(cols([], [], [], 0), {})
    assert set(out) >= {"energy_cpu_j", "energy_j", "carbon_g", "embodied_g", "energy_method"}
    assert all(len(v) == 0 for v in out.values())


def test_million_rows_match_the_formula(restore):
    """A million rows derive in one vectorised pass, equal to the formula row by row on a sample."""
    frugal.configure(energy="model", cpu_tdp_w=80.0, host_threads=HOST, intensity_g_per_kwh=50.0)
    rng = np.random.default_rng(1)
    n = 1_000_000
    wall = rng.uniform(1e-6, 1e-3, n)
    cpu = wall * rng.uniform(0, 1, n)
    peak = rng.uniform(1e7, 1e9, n)
    out = derive(cols(wall, cpu, peak, _hot.active().settings_id), {})
    for i in rng.integers(0, n, 20):
        e = cpu[i] * w_per_cpu(80.0) + 0.3725 * peak[i] / GIB * wall[i]
        assert out["energy_j"][i] == pytest.approx(e)
        assert out["carbon_g"][i] == pytest.approx(e / 3.6e6 * 50.0)


def test_measured_region_carries_model_energy(restore):
    """A real region's energy columns equal the model applied to its own wall, CPU and the
    memory it added (idle_power="none", the default: a region is charged what it adds)."""
    frugal.configure(energy="model", cpu_tdp_w=120.0, host_threads=HOST, country="FRA")
    with frugal.measure("work") as m:
        block = bytearray(50 * 2 ** 20)
        block[::4096] = b"x" * len(block[::4096])
        sum(range(300_000))
    r = m.result
    assert r.energy_method == "model"
    assert r.energy_cpu_j == pytest.approx(r.cpu_s * w_per_cpu(120.0))
    assert r.peak_added_bytes >= 50 * 2 ** 20 * 0.9
    assert r.energy_ram_j == pytest.approx(0.3725 * r.peak_added_bytes / GIB * r.wall_s)
    assert r.energy_j == pytest.approx(r.energy_cpu_j + r.energy_ram_j)
    assert r.carbon_g == pytest.approx(r.energy_j / 3.6e6 * r.intensity_g_per_kwh)
    assert "France (FRA)" in r.intensity_source and r.embodied_g > 0


def test_a_waiting_region_is_charged_the_memory_it_adds_or_with_reserved_the_process_holds(restore):
    """A region that sleeps while the process holds 200 MB allocated before it is charged no
    memory energy by default (it added none), and the process's resident memory x its wall
    time with idle_power="reserved" (what it held reserved, as the idle CPUs are)."""
    held = bytearray(200 * 2 ** 20)
    held[::4096] = b"x" * len(held[::4096])
    frugal.configure(energy="model", cpu_tdp_w=120.0, host_threads=HOST, country="FRA")
    with frugal.measure("wait") as m:
        time.sleep(0.05)
    r = m.result
    assert r.peak_rss_bytes > 200 * 2 ** 20
    assert r.energy_ram_j == pytest.approx(0.3725 * r.peak_added_bytes / GIB * r.wall_s)
    assert r.energy_ram_j < 0.01 * 0.3725 * r.peak_rss_bytes / GIB * r.wall_s
    frugal.configure(idle_power="reserved")
    with frugal.measure("wait") as m:
        time.sleep(0.05)
    r = m.result
    assert r.energy_ram_j == pytest.approx(0.3725 * r.peak_rss_bytes / GIB * r.wall_s)
    del held


def test_summary_rows_use_totals(restore):
    """A summary row's energy is the model applied to the summed wall and CPU time."""
    frugal.configure(energy="model", cpu_tdp_w=60.0, host_threads=HOST)
    frugal.clear()
    f = frugal.measure(lambda: sum(range(20_000)), name="hot", record="summary")
    for _ in range(5):
        f()
    row = frugal.results().set_index("name").loc["hot"]
    assert row["calls"] == 5
    assert row["energy_cpu_j"] == pytest.approx(row["cpu_s"] * w_per_cpu(60.0))
    assert row["energy_method"] == "model"
    frugal.clear()


def _tree(root, pkg, dram, max_range=1_000_000_000):
    write_tree(str(root), [("intel-rapl:0", "package-0", pkg, max_range),
                           ("intel-rapl:0:2", "dram", dram, max_range)])


def _set(root, zone, value):
    with open(os.path.join(root, zone, "energy_uj"), "w") as f:
        f.write(f"{value}\n")


def _busy(seconds_of_cpu: float) -> None:
    import time

    end = time.process_time() + seconds_of_cpu
    while time.process_time() < end:
        pass


def test_rapl_region_is_metered_with_wraparound(restore, tmp_path):
    """With a (synthetic) RAPL tree, a region's energy is its counter deltas, wrapped, times its CPU share."""
    _tree(tmp_path, pkg=999_000_000, dram=100)
    frugal.configure(energy="rapl", powercap_root=tmp_path)
    with frugal.measure("metered") as m:
        _busy(0.2)
        _set(tmp_path, "intel-rapl:0", 4_000_000)      # wrapped: +5 J
        _set(tmp_path, "intel-rapl:0:2", 2_000_100)    # +2 J
    r = m.result
    meter, start, end = LOG.meters[max(LOG.meters)]  # this region: the latest row
    assert r.energy_method == "rapl" and (start[1], end[1]) == (999_000_000, 4_000_000)
    assert r.cpu_power_source == "measured (rapl)"
    busy_s = (end[0] - start[0]) / os.sysconf("SC_CLK_TCK")
    share = min(1.0, r.cpu_s / busy_s) if busy_s > 0 else 1.0
    assert r.energy_cpu_j == pytest.approx(5.0 * share)
    assert r.energy_ram_j == pytest.approx(2.0 * share)
    assert 0 < share <= 1


def test_failed_meter_read_falls_back_to_model(restore, tmp_path):
    """A counter that fails to read during a region leaves that region modelled, and environment() says so."""
    _tree(tmp_path, pkg=10, dram=10)
    frugal.configure(energy="rapl", powercap_root=tmp_path, cpu_tdp_w=90.0, host_threads=HOST)
    with frugal.measure("broken") as m:
        _set(tmp_path, "intel-rapl:0", "oops")
    r = m.result
    assert r.energy_method == "model"
    assert r.energy_cpu_j == pytest.approx(r.cpu_s * w_per_cpu(90.0))
    assert "failed read" in frugal.environment()["meters"]["in use"]


def test_environment_reports_what_is_in_force(restore):
    """environment() names the CPU, its power source, meters and why not, intensity, PUE, embodied and data versions."""
    frugal.configure(country="Sweden", region="SE1", pue=1.1, embodied="desktop")
    env = frugal.environment()
    for key in ("cpu_model", "cpu_model_source", "cpu_tdp_w", "cpu_w_per_logical_cpu", "cpu_power_source",
                "host_threads", "host_threads_source", "instance_type", "instance_type_source", "virtual",
                "logical_cpus", "meters", "intensity_g_per_kwh", "intensity_source", "pue", "embodied_preset",
                "embodied_total_g", "lifetime_years", "data"):
        assert key in env
    assert env["logical_cpus"] == os.cpu_count()
    assert env["pue"] == 1.1 and env["embodied_preset"] == "desktop"
    assert "SE1" in env["intensity_source"]
    assert {"rapl", "nvml", "codecarbon"} <= set(env["meters"])
    assert set(env["data"]) == set(frugal.data.manifest()["files"])
    assert "codecarbon 3.3.2" in env["data"]["grid_countries.csv"]
    text = str(env)
    assert "intensity_source" in text and "\n" in text
    assert env._repr_html_().startswith("<table")
    import json

    assert json.loads(json.dumps(env.to_dict()))["pue"] == 1.1


def test_model_path_adds_nothing_to_the_call():
    """With the model, the hot path reads no meter: nothing energy-related is recorded per call."""
    saved = frugal.configure()
    frugal.configure(energy="model")
    try:
        assert _hot.active().meter is None
        before = len(LOG.meters)
        with frugal.measure("plain"):
            pass
        assert len(LOG.meters) == before
    finally:
        frugal.configure(**dataclasses.asdict(saved))


def test_nan_free_for_zero_wall():
    """A zero-length region gives zero energy and zero embodied, not NaN."""
    out = derive(cols([0.0], [0.0], [0.0], 0), {})
    assert out["energy_j"][0] == 0.0 and out["embodied_g"][0] == 0.0 and not math.isnan(out["carbon_g"][0])


def test_every_measuring_path_carries_energy(restore):
    """Decorator, context manager, async function, generator and summary rows all get energy and carbon."""
    import asyncio

    frugal.configure(energy="model")
    frugal.clear()

    @frugal.measure(name="sync")
    def sync():
        return sum(range(10_000))

    @frugal.measure(name="coro")
    async def coro():
        await asyncio.sleep(0)
        return sum(range(10_000))

    @frugal.measure(name="gen")
    def gen():
        yield from range(3)

    sync()
    asyncio.run(coro())
    list(gen())
    with frugal.measure("block"):
        sum(range(10_000))
    hot = frugal.measure(lambda: None, name="summary", record="summary")
    hot()
    hot()
    frame = frugal.results().set_index("name")
    assert set(frame.index) == {"sync", "coro", "gen", "block", "summary"}
    assert (frame["energy_method"] == "model").all()
    assert frame[["energy_j", "carbon_g", "embodied_g", "intensity_g_per_kwh"]].notna().all().all()
    frugal.clear()
