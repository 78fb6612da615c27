"""The numbers frugal reports, pinned: recorded raw readings derived under a fixed machine and
fixed settings equal what frugal derived from them when the file was written, to the last bit.

A change meant to be faster (issue 34) or tidier must leave every figure as it was; a change
of methodology regenerates the file on purpose (`python tests/test_numbers_fixed.py`) and
says so in CHANGELOG.md. Covered: measured rows (the log's columns, meters aside) and
``frugal run``'s whole-process rows (``process_columns``), under each power model, idle
power and embodied allocation, on a VM of a known instance and on an unknown machine.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import frugal
from frugal.core import settings as config
from frugal.core import span
from frugal.energy.model import OUTPUTS, TEXT_OUTPUTS, derive
from frugal.frames import process
from frugal.machine import hardware

GOLDEN = Path(__file__).parent / "data" / "numbers_fixed.json"

MACHINES = {
    "unknown VM": hardware.Machine(brand="Intel(R) Xeon(R) Processor", logical_cpus=2, sockets=1, virtual=True,
                                   virtual_source="test", dmi_vendor="", dmi_product="", affinity_cpus=2),
    "EPYC 7763 host": hardware.Machine(brand="AMD EPYC 7763 64-Core Processor", logical_cpus=128,
                                                    sockets=1, virtual=False, virtual_source="test", dmi_vendor="",
                                                    dmi_product="", affinity_cpus=8),
}
BASE = dict(energy="model", country=None, region=None, intensity_g_per_kwh=None, pue=1.0, instance_type=None,
            cpu_model=None, cpu_tdp_w=None, host_threads=None, power_model="specpower", idle_power="none",
            embodied_allocation="reserved", embodied="auto", embodied_total_g=None, lifetime_years=None,
            ram_w_per_gb=0.3725)
SETTINGS = {
    "defaults, France": dict(country="FRA"),
    "tdp, reserved idle, usage": dict(country="DEU", power_model="tdp", idle_power="reserved",
                                      embodied_allocation="usage"),
    "m6i.large, specpower, reserved idle": dict(instance_type="m6i.large", idle_power="reserved",
                                                intensity_g_per_kwh=300.0, pue=1.2),
}


def _raw() -> dict[str, np.ndarray]:
    """Seeded raw readings as the log gives them: wall and CPU spanning microseconds to
    minutes, memory known, unknown, added or not, rows of two calls."""
    rng = np.random.default_rng(34)
    n = 40
    wall = 10.0 ** rng.uniform(-6, 2, n)
    cpu = wall * rng.uniform(0, 2, n)
    peak = rng.uniform(1e7, 4e9, n)
    added = np.where(rng.random(n) < 0.7, peak * rng.uniform(0, 1, n), np.nan)
    peak[::9] = np.nan
    wall[5] = cpu[5] = 0.0
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_bytes": peak, "peak_added_bytes": added,
            "_seq": np.arange(n, dtype="i8")}


def _runs() -> list[process.ProcessRun]:
    """Recorded whole-process runs (what ``run_process`` returns)."""
    return [process.ProcessRun(argv=("true",), pid=100 + i, started_ns=1_765_000_000_000_000_000 + i, t0_ns=0,
                               wall_s=w, user_s=u, system_s=s, peak_rss_bytes=p, returncode=rc, meter=None)
            for i, (w, u, s, p, rc) in enumerate([(0.0012, 0.0004, 0.0003, 1_507_328, 0),
                                                  (1.5, 1.2, 0.25, 812_000_000, 0),
                                                  (62.0, 100.5, 3.5, 4_000_000_000, 1),
                                                  (0.0, 0.0, 0.0, 0, -2)])]


def _plain(value: object) -> object:
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value).hex()     # exact, NaN as null
    return None if value is None else str(value)


def _figures() -> dict[str, dict[str, list[object]]]:
    out: dict[str, dict[str, list[object]]] = {}
    for machine_label, machine in MACHINES.items():
        for settings_label, settings in SETTINGS.items():
            frugal.configure(**{**BASE, **settings})
            cols = dict(_raw(), _settings_id=np.full(40, span.active().settings_id, dtype="i8"))
            derived = derive(cols, {}, machine)
            out[f"rows: {machine_label}: {settings_label}"] = {f: [_plain(v) for v in derived[f]] for f in OUTPUTS}
    for settings_label, settings in SETTINGS.items():
        frugal.configure(**{**BASE, **settings})
        cols = process.process_columns(_runs(), "true", MACHINES["unknown VM"])
        out[f"frugal run: {settings_label}"] = {f: [_plain(v) for v in np.asarray(cols[f], dtype=object)]
                                                for f in (*OUTPUTS, "cpu_s", "cpu_util", "status", "error")}
    return out


@pytest.fixture
def fixed_settings():
    before = {k: getattr(config.current(), k) for k in BASE}
    yield
    frugal.configure(**before)


def test_every_figure_equals_the_recorded_one(fixed_settings) -> None:
    """Every derived figure (energy parts, carbon, embodied, intensity, provenance texts) of
    every recorded row and run equals the one recorded, bit for bit."""
    expected = json.loads(GOLDEN.read_text())
    got = _figures()
    assert sorted(got) == sorted(expected)
    for case, fields in expected.items():
        for field, values in fields.items():
            assert got[case][field] == values, f"{case}: {field} changed"
    # the recorded file is not trivially empty: energy is known for most rows
    assert sum(v is not None for v in expected["rows: unknown VM: defaults, France"]["energy_j"]) >= 30
    assert set(TEXT_OUTPUTS) <= set(expected["frugal run: defaults, France"])


if __name__ == "__main__":      # regenerate, on purpose, after a change of methodology
    GOLDEN.write_text(json.dumps(_figures(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}", file=sys.stderr)
