"""The data behind the model: CPU power matching, grid intensity lookups, embodied presets."""
from __future__ import annotations

import os

import pytest

from frugal import data, grid as intensity, hardware as cpu_model
from frugal import hardware as embodied


# --- CPU power ------------------------------------------------------------------------------

@pytest.mark.parametrize("brand, expected", [
    ("AMD EPYC 7763 64-Core Processor", ("AMD EPYC 7763", 280.0)),
    ("Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz", ("Intel Core i7-8650U", 15.0)),
    ("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", ("Intel Xeon Gold 6130", 125.0)),
    ("AMD Ryzen 7 5800X 8-Core Processor", ("AMD Ryzen 7 5800X", 105.0)),
    ("Apple M2 Pro", ("Apple M2 Pro", 35.0)),
    ("AMD EPYC", None),            # a family name only, as virtual machines show it
    ("Intel Xeon Processor", None),
    ("", None),
])
def test_brand_strings_match_codecarbon_table(brand, expected):
    """Brand strings match CodeCarbon's table by model number; family-only strings match nothing."""
    assert cpu_model.match_tdp(brand) == expected


def test_unknown_cpu_gets_documented_default(monkeypatch):
    """An unknown CPU is modelled at 4 W per logical CPU, and the source says why."""
    monkeypatch.setattr(cpu_model, "brand_string", lambda proc_root="/proc": "AMD EPYC")
    cpu_model.cpu_power.cache_clear()
    try:
        p = cpu_model.cpu_power()
        assert p.watts_per_cpu == 4.0 and p.tdp_w is None and "no model number" in p.source
    finally:
        cpu_model.cpu_power.cache_clear()


def test_tdp_override_is_per_package(monkeypatch):
    """cpu_tdp_w is one package's TDP: the power per logical CPU is TDP x packages / logical CPUs."""
    p = cpu_model.cpu_power(200.0)
    assert p.watts_per_cpu == pytest.approx(200.0 * p.sockets / p.logical_cpus)
    assert "configured" in p.source


def test_brand_string_and_sockets_from_a_cpuinfo_file(tmp_path):
    """The brand string and package count are read from a cpuinfo file (two packages here)."""
    (tmp_path / "cpuinfo").write_text(
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz\nphysical id\t: 0\n"
        "flags\t\t: fpu hypervisor\n\n"
        "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz\nphysical id\t: 1\n")
    assert cpu_model.brand_string(str(tmp_path)).startswith("Intel(R) Xeon(R) Gold 6130")
    assert cpu_model.sockets(str(tmp_path)) == 2
    assert cpu_model.is_virtual(str(tmp_path))


def test_unparsable_table_rows_are_left_out_and_counted():
    """Rows of the CPU table whose TDP is not a number are left out and reported, not guessed."""
    assert all(isinstance(t, float) for _, t in data.cpu_power_table())
    assert len(data.cpu_power_table()) > 4000
    assert "left out" in data.versions()["cpu_power.csv"]


# --- grid intensity -------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["FR", "fr", "FRA", "France", "  france ", "The France"])
def test_country_spellings_resolve(text):
    """Alpha-2, alpha-3 and English names (any case, spaces) resolve to the alpha-3 code."""
    assert intensity.resolve_country(text) == "FRA"


@pytest.mark.parametrize("text, suggestion", [
    ("Frnace", "'France' (FRA)"), ("Germny", "'Germany' (DEU)"), ("Untied Kingdom", "'United Kingdom' (GBR)"),
])
def test_unknown_country_suggests_close_matches(text, suggestion):
    """An unknown country raises ValueError naming the setting and suggesting close matches."""
    with pytest.raises(ValueError, match="country=") as info:
        intensity.resolve_country(text)
    assert suggestion in str(info.value)


def test_country_intensity_comes_from_codecarbon_mix():
    """A country's intensity is CodeCarbon's figure for it, and the source names country, data and year."""
    g, src = intensity.lookup(None, "FRA", None)
    assert g == data.energy_mix()["FRA"]["carbon_intensity"]
    assert "France (FRA)" in src and "CodeCarbon" in src and str(data.energy_mix()["FRA"]["year"]) in src


def test_us_state_converts_lbs_per_mwh():
    """A US state's eGRID rate in lbs/MWh is converted to g/kWh (x 0.45359237); codes and names both work."""
    lbs = data.usa_emissions()["california"]["emissions"]
    key = intensity.resolve_region("USA", "California")
    assert intensity.resolve_region("USA", "CA") == "ca"
    assert intensity.lookup(None, "USA", key)[0] == pytest.approx(lbs * 0.45359237)
    assert intensity.lookup(None, "USA", "ca")[0] == intensity.lookup(None, "USA", key)[0]


def test_canadian_province_uses_fossil_share():
    """A Canadian province's intensity is its fossil shares times CodeCarbon's coal/oil/gas factors."""
    mix = data.canada_mix()["alberta"]
    expected = (mix["coal"] * 995.725971 + mix["petroleum"] * 816.6885263 + mix["naturalGas"] * 743.8415916) / mix["total"]
    g, src = intensity.lookup(None, "CAN", intensity.resolve_region("CAN", "Alberta province"))
    assert g == pytest.approx(expected) and "Alberta" in src


def test_unknown_region_suggests_and_country_without_regions_refuses():
    """A misspelt region gets suggestions; a region for a country without regional data is refused."""
    with pytest.raises(ValueError, match="did you mean 'California'"):
        intensity.resolve_region("USA", "Califrnia")
    with pytest.raises(ValueError, match="no regions for DEU"):
        intensity.resolve_region("DEU", "Bavaria")
    with pytest.raises(ValueError, match="needs a country"):
        intensity.resolve_region(None, "Texas")


def test_time_zone_gives_the_country():
    """With no country set, the time zone (Europe/Paris) gives France; UTC gives the world average."""
    g, src = intensity.lookup(None, None, None, tz="Europe/Paris")
    assert g == data.energy_mix()["FRA"]["carbon_intensity"] and src.startswith("time zone Europe/Paris -> France")
    g, src = intensity.lookup(None, None, None, tz="Etc/UTC")
    assert g == data.world_average()[0] == 475.0 and src.startswith("world average")


def test_system_time_zone_read_offline(tmp_path):
    """The system time zone comes from TZ, else /etc/timezone, else the /etc/localtime link."""
    assert intensity.system_timezone({"TZ": ":Europe/Berlin"}, str(tmp_path)) == "Europe/Berlin"
    (tmp_path / "timezone").write_text("Asia/Tokyo\n")
    assert intensity.system_timezone({}, str(tmp_path)) == "Asia/Tokyo"
    os.remove(tmp_path / "timezone")
    os.symlink("/usr/share/zoneinfo/America/Toronto", tmp_path / "localtime")
    assert intensity.system_timezone({}, str(tmp_path)) == "America/Toronto"
    assert intensity.country_from_timezone("America/Toronto") == "CAN"


def test_explicit_intensity_wins():
    """An explicit intensity is used as given, whatever the country."""
    assert intensity.lookup(123.0, "FRA", None) == (123.0, "configured (intensity_g_per_kwh)")


def test_valid_country_without_data_gets_world_average():
    """A real country missing from the energy-mix data falls back to the world average, saying so."""
    missing = next(r["alpha_3"] for r in data.iso3166() if r["alpha_3"] not in data.energy_mix())
    g, src = intensity.lookup(None, missing, None)
    assert g == 475.0 and f"no data for {missing}" in src


# --- embodied ---------------------------------------------------------------------------------

@pytest.mark.parametrize("preset, te_kg", [("laptop", 240.5), ("desktop", 296.0), ("server", 1278.0)])
def test_presets_have_documented_constants(preset, te_kg):
    """Each preset's TE and lifetime are the documented Boavizta medians (kgCO2e, 4 years)."""
    e = embodied.embodied(preset, None, None)
    assert (e.total_g, e.lifetime_years) == (te_kg * 1000, 4.0)
    assert "Boavizta" in e.source


def test_overrides_replace_preset_values():
    """embodied_total_g and lifetime_years replace the preset's TE and lifetime."""
    e = embodied.embodied("server", 5e5, 7.0)
    assert (e.total_g, e.lifetime_years, e.preset) == (5e5, 7.0, "server")
    assert "configured" in e.source


def test_auto_detection_from_system_files(tmp_path):
    """A battery means laptop, a rack chassis means server, a hypervisor means server, else desktop."""
    sys_root, proc_root = tmp_path / "sys", tmp_path / "proc"
    (sys_root / "class" / "power_supply" / "BAT0").mkdir(parents=True)
    proc_root.mkdir()
    (proc_root / "cpuinfo").write_text("flags\t: fpu\n")
    assert embodied.detect_preset(str(sys_root), str(proc_root))[0] == "laptop"
    (sys_root / "class" / "power_supply" / "BAT0").rmdir()
    (sys_root / "class" / "dmi" / "id").mkdir(parents=True)
    (sys_root / "class" / "dmi" / "id" / "chassis_type").write_text("23\n")
    assert embodied.detect_preset(str(sys_root), str(proc_root))[0] == "server"
    (sys_root / "class" / "dmi" / "id" / "chassis_type").write_text("3\n")
    assert embodied.detect_preset(str(sys_root), str(proc_root))[0] == "desktop"
    (proc_root / "cpuinfo").write_text("flags\t: fpu hypervisor\n")
    assert embodied.detect_preset(str(sys_root), str(proc_root))[0] == "server"
