"""One row derived without numpy (``frugal.energy.row.derive_row``, ``frugal run``) equals the
vectorised model (``frugal.energy.model.derive``) bit for bit, under every family of settings."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

import frugal
from frugal.core import settings as config
from frugal.core import span
from frugal.energy.model import OUTPUTS, derive
from frugal.energy.row import derive_row
from frugal.machine import hardware

MACHINE = hardware.Machine(brand="AMD EPYC 7763 64-Core Processor", logical_cpus=128, sockets=1, virtual=False,
                           virtual_source="test", dmi_vendor="", dmi_product="", affinity_cpus=8)
FAMILIES = [dict(power_model=pm, idle_power=idle, embodied_allocation=alloc)
            for pm in ("specpower", "tdp") for idle in ("none", "reserved") for alloc in ("reserved", "usage")]
FLOATS = st.one_of(st.floats(0, 1e6, allow_nan=False), st.just(math.nan), st.just(0.0),
                   st.floats(1e-9, 1e-3))


@pytest.fixture
def restore():
    before = {k: getattr(config.current(), k) for k in ("power_model", "idle_power", "embodied_allocation",
                                                       "country", "pue", "energy")}
    yield
    frugal.configure(**before)


def _bits(value: object) -> object:
    return None if value is None else value if isinstance(value, str) else float(value).hex()


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: "-".join(f.values()))
def test_one_row_without_numpy_equals_the_vectorised_model(restore, family):
    """For random rows (NaN memory, zero times included), every output of derive_row equals derive's."""
    frugal.configure(energy="model", country="FRA", pue=1.3, **family)
    sid = span.active().settings_id

    @hsettings(max_examples=60, deadline=None)
    @given(wall=FLOATS, cpu=FLOATS, peak=FLOATS, added=FLOATS)
    def check(wall: float, cpu: float, peak: float, added: float) -> None:
        cols = {"wall_s": np.array([wall]), "cpu_s": np.array([cpu]), "peak_rss_bytes": np.array([peak]),
                "peak_added_bytes": np.array([added]), "_seq": np.array([0]), "_settings_id": np.array([sid])}
        vector = derive(cols, {}, MACHINE)
        row = derive_row(sid, wall, cpu, peak, added, MACHINE)
        assert {f: _bits(row[f]) for f in OUTPUTS} == {f: _bits(vector[f][0]) for f in OUTPUTS}

    check()


def test_an_unknown_snapshot_gives_what_the_model_gives():
    """A row of a snapshot this process does not know: the same NaNs and the same reason."""
    sid = len(config.SNAPSHOTS) + 5
    cols = {"wall_s": np.array([1.0]), "cpu_s": np.array([1.0]), "peak_rss_bytes": np.array([1e6]),
            "_seq": np.array([0]), "_settings_id": np.array([sid])}
    vector = derive(cols, {})
    row = derive_row(sid, 1.0, 1.0, 1e6, math.nan)
    assert {f: _bits(row[f]) for f in OUTPUTS} == {f: _bits(vector[f][0]) for f in OUTPUTS}
