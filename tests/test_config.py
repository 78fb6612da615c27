"""frugal.configure, the settings snapshots and the FRUGAL_* environment variables."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

import frugal
from frugal.core import span as _hot
from frugal.core import settings as config
from frugal.machine.probes.rapl import write_tree


@pytest.fixture
def restore():
    """Puts the settings in force before the test back in force after it (an equal snapshot is reused)."""
    saved = frugal.configure()
    saved_id = _hot.active().settings_id
    yield saved
    frugal.configure(**dataclasses.asdict(saved))
    assert _hot.active().settings_id == saved_id


def test_configure_without_arguments_returns_settings_in_force():
    """configure() returns the frozen Settings in force and changes nothing."""
    before = _hot.active().settings_id
    s = frugal.configure()
    assert isinstance(s, config.Settings) and s is config.SNAPSHOTS[before]
    assert _hot.active().settings_id == before
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.pue = 2.0


def test_configure_appends_a_snapshot_and_sets_hot_globals(restore):
    """A change appends a snapshot, records its index in _hot.active().settings_id, and normalises the country."""
    s = frugal.configure(country="fr", pue=1.25)
    assert (s.country, s.pue) == ("FRA", 1.25)
    assert config.SNAPSHOTS[_hot.active().settings_id] == s
    assert _hot.active().meter is config.meter_state()[0]


def test_equal_settings_reuse_their_snapshot(restore):
    """Configuring back to earlier settings reuses that snapshot's index instead of appending."""
    frugal.configure(pue=1.7)
    first = _hot.active().settings_id
    frugal.configure(pue=1.8)
    frugal.configure(pue=1.7)
    assert _hot.active().settings_id == first


@pytest.mark.parametrize("setting, value, words", [
    ("pue", 0.9, ["pue", ">= 1"]),
    ("pue", float("nan"), ["pue", "finite"]),
    ("pue", 11, ["pue", "<= 10"]),
    ("intensity_g_per_kwh", -5, ["intensity_g_per_kwh", ">= 0", "gCO2e/kWh"]),
    ("embodied", "tablet", ["embodied", "'laptop'", "'server'"]),
    ("embodied_total_g", -1, ["embodied_total_g", ">= 0"]),
    ("lifetime_years", 0, ["lifetime_years", "> 0"]),
    ("cpu_tdp_w", 0, ["cpu_tdp_w", "> 0"]),
    ("ram_w_per_gb", -0.1, ["ram_w_per_gb", ">= 0"]),
    ("energy", "magic", ["energy", "'codecarbon'"]),
    ("powercap_root", "", ["powercap_root", "non-empty"]),
    ("country", "Frnace", ["country", "'France' (FRA)"]),
])
def test_bad_values_raise_value_error_naming_setting_and_range(setting, value, words):
    """An invalid value raises ValueError naming the setting and what it accepts."""
    with pytest.raises(ValueError) as info:
        frugal.configure(**{setting: value})
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("setting, value", [
    ("pue", "1.2"), ("pue", True), ("gpu", "yes"), ("country", 33), ("store", 3.5),
    ("intensity_g_per_kwh", [1]), ("energy", None), ("powercap_root", 7),
])
def test_wrong_types_raise_type_error_naming_setting(setting, value):
    """A value of the wrong type raises TypeError naming the setting."""
    with pytest.raises(TypeError, match=setting):
        frugal.configure(**{setting: value})


def test_unknown_setting_is_named_with_a_suggestion():
    """An unknown setting name raises TypeError naming it and the closest real one."""
    with pytest.raises(TypeError, match=r"unknown setting 'peu'.*did you mean 'pue'"):
        frugal.configure(peu=1.2)


def test_nothing_is_half_applied():
    """When one setting of a call is invalid, none of the call's settings is applied."""
    before, before_id = frugal.configure(), _hot.active().settings_id
    count = len(config.SNAPSHOTS)
    with pytest.raises(ValueError, match="pue"):
        frugal.configure(country="DE", intensity_g_per_kwh=100, pue=-1)
    assert frugal.configure() == before and _hot.active().settings_id == before_id
    assert len(config.SNAPSHOTS) == count


def test_region_belongs_to_its_country(restore):
    """A region is checked against the country; changing the country drops the old region."""
    s = frugal.configure(country="United States", region="California")
    assert (s.country, s.region) == ("USA", "california")
    assert frugal.configure(region="TX").region == "tx"
    assert frugal.configure(country="France").region is None
    with pytest.raises(ValueError, match="no regions for FRA"):
        frugal.configure(region="Texas")


def test_rapl_requested_but_absent_is_refused(tmp_path):
    """energy='rapl' with no readable RAPL raises ValueError saying why, and changes nothing."""
    before = _hot.active().settings_id
    with pytest.raises(ValueError, match="energy='rapl'.*no powercap tree"):
        frugal.configure(energy="rapl", powercap_root=str(tmp_path / "none"))
    assert _hot.active().settings_id == before


def test_rapl_tree_puts_a_meter_in_force(restore, tmp_path):
    """A readable powercap tree makes the RAPL meter the one the hot path reads."""
    write_tree(str(tmp_path), [("intel-rapl:0", "package-0", 5, 1000)])
    frugal.configure(energy="auto", powercap_root=tmp_path)
    assert _hot.active().meter is not None and _hot.active().meter.method == "rapl"
    assert len(_hot.active().meter.read()) == 2   # machine busy ticks, package
    frugal.configure(energy="model")
    assert _hot.active().meter is None


def test_store_setting_calls_set_default_store(restore, monkeypatch, tmp_path):
    """store=path calls frugal.store.set_default_store(path); a failing store applies nothing."""
    import frugal.store.default

    calls = []
    monkeypatch.setattr(frugal.store.default, "set_default_store", calls.append)
    assert frugal.configure(store=tmp_path / "a.db").store == str(tmp_path / "a.db")
    frugal.configure(store=None)
    assert calls == [str(tmp_path / "a.db"), None]

    def refuse(path):
        raise frugal.FrugalError("not a store")

    monkeypatch.setattr(frugal.store.default, "set_default_store", refuse)
    before = _hot.active().settings_id
    with pytest.raises(frugal.FrugalError):
        frugal.configure(store=tmp_path / "b.db", pue=2.0)
    assert _hot.active().settings_id == before


def test_rows_keep_the_settings_they_were_measured_with(restore):
    """A call measured before configure() keeps its intensity; one measured after gets the new one."""
    frugal.configure(intensity_g_per_kwh=100.0)
    with frugal.measure("before") as a:
        sum(range(10_000))
    frugal.configure(intensity_g_per_kwh=700.0)
    with frugal.measure("after") as b:
        sum(range(10_000))
    assert (a.result.intensity_g_per_kwh, b.result.intensity_g_per_kwh) == (100.0, 700.0)
    assert a.result.intensity_source == "configured (intensity_g_per_kwh)"


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("FRUGAL_")}
    full.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120)


_SHOW = ("import dataclasses, json, frugal, frugal.core.settings as c; c.init_from_env(); "
         "print(json.dumps(dataclasses.asdict(frugal.configure())))")


def test_env_vars_make_snapshot_zero():
    """FRUGAL_* variables set snapshot 0 (country names resolved, booleans and numbers parsed)."""
    out = _run(_SHOW, FRUGAL_COUNTRY="Germany", FRUGAL_PUE="1.4", FRUGAL_EMBODIED="laptop",
               FRUGAL_GPU="off", FRUGAL_ENERGY="model", FRUGAL_LIFETIME_YEARS="6",
               FRUGAL_RAM_W_PER_GB="", FRUGAL_CPU_TDP_W="65", FRUGAL_CPU_MODEL="amd epyc 7763",
               FRUGAL_HOST_THREADS=" 256 ", FRUGAL_INSTANCE_TYPE="M6I.LARGE")
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    assert s == {**s, "country": "DEU", "pue": 1.4, "embodied": "laptop", "gpu": False,
                 "energy": "model", "lifetime_years": 6.0, "ram_w_per_gb": 0.3725, "cpu_tdp_w": 65.0,
                 "cpu_model": "AMD EPYC 7763", "host_threads": 256, "instance_type": "m6i.large"}


@pytest.mark.parametrize("var, value, words", [
    ("FRUGAL_PUE", "-1", ["FRUGAL_PUE", ">= 1"]),
    ("FRUGAL_PUE", "high", ["FRUGAL_PUE", "high"]),
    ("FRUGAL_COUNTRY", "Frnace", ["FRUGAL_COUNTRY", "France"]),
    ("FRUGAL_GPU", "maybe", ["FRUGAL_GPU", "true/false"]),
    ("FRUGAL_EMBODIED_TOTAL_G", "-3", ["FRUGAL_EMBODIED_TOTAL_G", ">= 0"]),
    ("FRUGAL_CPU_MODEL", "AMD EPYC 7736", ["FRUGAL_CPU_MODEL", "did you mean", "'AMD EPYC 7763'"]),
    ("FRUGAL_HOST_THREADS", "many", ["FRUGAL_HOST_THREADS", "whole number"]),
    ("FRUGAL_HOST_THREADS", "2.5", ["FRUGAL_HOST_THREADS", "whole number"]),
    ("FRUGAL_HOST_THREADS", "0", ["FRUGAL_HOST_THREADS", ">= 1"]),
    ("FRUGAL_INSTANCE_TYPE", "m6i.larg", ["FRUGAL_INSTANCE_TYPE", "'m6i.large'"]),
])
@pytest.mark.slow
def test_invalid_env_var_raises_naming_the_variable(var, value, words):
    """An invalid FRUGAL_* value makes the first configure() raise ValueError naming the variable."""
    out = _run(_SHOW, **{var: value})
    assert out.returncode != 0 and "ValueError" in out.stderr
    for word in words:
        assert word in out.stderr


@pytest.mark.slow
def test_invalid_env_var_never_breaks_import_or_measuring():
    """With a bad FRUGAL_* value, import and measuring go on; configure, environment and results raise."""
    code = """
import frugal, frugal.core.settings as c
c.init_from_env()
with frugal.measure("kept") as m:
    sum(range(1000))
failures = []
for call in (frugal.configure, frugal.environment, frugal.results):
    try:
        call()
    except ValueError as exc:
        failures.append("FRUGAL_PUE" in str(exc) and "FRUGAL_COUNTRY" in str(exc))
print(len(frugal.core.rows.LOG.rows) > 0, failures)
"""
    out = _run(code, FRUGAL_PUE="0.5", FRUGAL_COUNTRY="Atlantis", FRUGAL_EMBODIED="server")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "[True,", "True,", "True]"]


def test_env_energy_rapl_without_rapl_names_the_variable(tmp_path):
    """FRUGAL_ENERGY=rapl where no RAPL counter can be read makes configure() raise naming FRUGAL_ENERGY."""
    out = _run(_SHOW, FRUGAL_ENERGY="rapl", FRUGAL_POWERCAP_ROOT=str(tmp_path / "none"))
    assert out.returncode != 0
    assert "FRUGAL_ENERGY" in out.stderr and "no powercap tree" in out.stderr


_MACHINE_VALUES = {
    "cpu_model": st.one_of(st.none(), st.text(max_size=30), st.sampled_from(["AMD EPYC 7763", "amd epyc 7763",
                           "Intel Core i7-8650U", "AMD EPYC", "\x00", " "]), st.integers(), st.floats()),
    "host_threads": st.one_of(st.none(), st.integers(-5, 10**7), st.floats(-5, 500), st.booleans(),
                              st.sampled_from(["128", 10**400])),
    "instance_type": st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["m6i.large", "D2s v3",
                               "n2-standard-2", "m6i", ""]), st.integers()),
}


@hsettings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.fixed_dictionaries({}, optional=_MACHINE_VALUES))
@pytest.mark.slow
def test_machine_settings_apply_or_name_themselves(changes):
    """Any cpu_model, host_threads and instance_type: applied and measured with, or refused naming the
    setting with nothing changed."""
    base, base_id = frugal.configure(), _hot.active().settings_id
    try:
        new = frugal.configure(**changes)
    except (TypeError, ValueError) as exc:
        assert any(name in str(exc) for name in changes), exc
        assert frugal.configure() == base and _hot.active().settings_id == base_id
        return
    try:
        with frugal.measure("machine") as m:
            pass
        assert m.result.cpu_power_source and m.result.energy_cpu_j is not None
        assert new.host_threads is None or new.host_threads >= 1
    finally:
        frugal.configure(**dataclasses.asdict(base))
