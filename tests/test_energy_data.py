"""The shipped tables behind the model: CPU matching, instance types, grid intensity, embodied presets."""
from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frugal import data
from frugal.machine import grid
from frugal.machine import hardware


# --- CPU models -------------------------------------------------------------------------------

@pytest.mark.parametrize("brand, expected", [
    ("AMD EPYC 7763 64-Core Processor", ("AMD EPYC 7763", 280.0, 64, 128, "EPYC 3rd Gen", "")),
    ("Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz", ("Intel Core i7-8650U", 15.0, 4, 8, "", "")),
    ("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", ("Intel Xeon Gold 6130", 125.0, None, None, "Skylake", "")),   # no threads in Boavizta's data
    ("AMD Ryzen 7 5800X 8-Core Processor", ("AMD Ryzen 7 5800X", 105.0, 8, 16, "", "")),
    ("AMD EPYC", None),            # a family name only, as virtual machines show it
    ("Intel Xeon Processor", None),
    ("", None),
])
def test_brand_strings_match_the_cpu_table(brand, expected):
    """Brand strings match the table by model number, with cores and threads; family names match nothing."""
    assert hardware.match_cpu(brand) == expected


def test_cpu_table_rows_are_numbers():
    """Every TDP is a float >= 0 (CodeCarbon lists a microcontroller at 0 W); cores and threads are whole
    numbers with threads >= cores, or unknown (threads may be known without cores)."""
    table = data.cpu_table()
    assert len(table) > 4000
    for name, tdp, cores, threads, _, _ in table:
        assert name and tdp >= 0
        assert cores is None or threads is not None
        assert threads is None or 0 < threads
        assert cores is None or 0 < cores <= threads


@pytest.mark.parametrize("text, name", [
    ("AMD EPYC 7763", "AMD EPYC 7763"), ("amd epyc 7763", "AMD EPYC 7763"),
    ("AMD EPYC 7763 64-Core Processor", "AMD EPYC 7763"), ("Intel Xeon Platinum 8375C", "Intel Xeon Platinum 8375C"),
])
def test_cpu_model_names_resolve_to_the_table_spelling(text, name):
    """A model name in any case, or a whole brand string, resolves to the table's name."""
    assert hardware.resolve_cpu_model(text) == name


def test_unknown_cpu_model_suggests_close_matches():
    """An unknown model raises ValueError naming the setting and the closest models."""
    with pytest.raises(ValueError, match=r"cpu_model='AMD EPYC 7736'.*did you mean .*'AMD EPYC 7763'"):
        hardware.resolve_cpu_model("AMD EPYC 7736")
    with pytest.raises(ValueError, match="cpu_model='AMD EPYC' is not a CPU model"):
        hardware.resolve_cpu_model("AMD EPYC")


# --- instance types -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, name", [
    ("m6i.large", "m6i.large"), ("M6I.LARGE", "m6i.large"), ("n2-standard-2", "n2-standard-2"),
    ("Standard_D2s_v3", "Standard_D2s_v3"), ("D2s v3", "Standard_D2s_v3"), ("d2s_v3", "Standard_D2s_v3"),
])
def test_instance_types_resolve_in_any_spelling(text, name):
    """AWS, Google Cloud and Azure types resolve from the provider's or a relaxed spelling."""
    assert hardware.resolve_instance(text) == name


def test_unknown_instance_type_suggests_close_matches():
    """An unknown type raises ValueError naming the setting and the closest types."""
    with pytest.raises(ValueError, match=r"instance_type='m6i.larg'.*did you mean .*'m6i.large'"):
        hardware.resolve_instance("m6i.larg")


def test_instance_table_covers_three_clouds_and_three_families():
    """The table holds general-purpose, compute- and memory-optimised types of AWS, Google Cloud and Azure."""
    table = data.instances().values()
    assert {i.provider for i in table} == {"aws", "gcp", "azure"}
    for provider in ("aws", "gcp", "azure"):
        assert {i.category for i in table if i.provider == provider} == {
            "General Purpose", "Compute Optimized", "Memory Optimized"}
    m6i = data.instances()["m6i.large"]
    assert (m6i.vcpus, m6i.host_threads, m6i.cpu_model) == (2, 128, "Intel Xeon Platinum 8375C")
    assert m6i.platform_te_g == 1_788_460.0 and m6i.lifetime_years == 4.0   # CCF: 1000 + 688.46 + 100 kg
    assert all(i.vcpus <= (i.host_threads or i.vcpus) for i in table)


# --- grid intensity -------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["FR", "fr", "FRA", "France", "  france ", "The France"])
def test_country_spellings_resolve(text):
    """Alpha-2, alpha-3 and English names (any case, spaces) resolve to the alpha-3 code."""
    assert grid.resolve_country(text) == "FRA"


@pytest.mark.parametrize("text, suggestion", [
    ("Frnace", "'France' (FRA)"), ("Germny", "'Germany' (DEU)"), ("Untied Kingdom", "'United Kingdom' (GBR)"),
])
def test_unknown_country_suggests_close_matches(text, suggestion):
    """An unknown country raises ValueError naming the setting and suggesting close matches."""
    with pytest.raises(ValueError, match="country=") as info:
        grid.resolve_country(text)
    assert suggestion in str(info.value)


def test_country_intensity_is_the_national_life_cycle_figure():
    """France's intensity is 56.039 gCO2e/kWh (OWID/Ember 2023), and the source names basis, year and data."""
    g, src = grid.lookup(None, "FRA", None)
    assert g == 56.039
    assert src == "France (FRA): life-cycle 2023 (Our World in Data / Ember via CodeCarbon 3.3.2)"


def test_us_state_by_name_and_code():
    """A US state resolves by name or code to the same eGRID figure, in g/kWh, labelled direct."""
    key = grid.resolve_region("USA", "California")
    assert grid.resolve_region("USA", "CA") == "ca"
    g, src = grid.lookup(None, "USA", key)
    assert g == grid.lookup(None, "USA", "ca")[0]
    # eGRID2023 STC2ERTA for California, 394.769 lb/MWh, x 0.45359237 kg/lb = 179.064 g/kWh
    assert g == pytest.approx(394.769 * 0.45359237) == pytest.approx(179.064, abs=1e-3)
    assert "direct 2023" in src and "eGRID2023" in src


def test_canadian_province_uses_fossil_share():
    """Alberta's figure is its fossil shares times the coal/oil/gas factors, labelled direct (fossil only)."""
    g, src = grid.lookup(None, "CAN", grid.resolve_region("CAN", "Alberta province"))
    # canada_energy_mix.json, Alberta: coal 8.0, petroleum 0.02, natural gas 73.5 of a 99.82 total:
    # (8.0 x 995.725971 + 0.02 x 816.6885263 + 73.5 x 743.8415916) / 99.82 = (7965.81 + 16.33 + 54672.36) / 99.82
    # = 627.67 g/kWh
    assert g == pytest.approx((8.0 * 995.725971 + 0.02 * 816.6885263 + 73.5 * 743.8415916) / 99.82, rel=1e-12)
    assert g == pytest.approx(627.67, abs=0.01)
    assert "Alberta" in src and "fossil share only" in src


def test_unknown_region_suggests_and_country_without_regions_refuses():
    """A misspelt region gets suggestions; a region for a country without regional data is refused."""
    with pytest.raises(ValueError, match="did you mean 'California'"):
        grid.resolve_region("USA", "Califrnia")
    with pytest.raises(ValueError, match="no regions for DEU"):
        grid.resolve_region("DEU", "Bavaria")
    with pytest.raises(ValueError, match="needs a country"):
        grid.resolve_region(None, "Texas")


def test_world_average_is_the_generation_weighted_national_mean():
    """UTC gives the world average: the national life-cycle figures weighted by generation (one basis)."""
    rows = data.rows("grid_countries.csv")
    mean = sum(float(r["g_per_kwh"]) * float(r["total_twh"]) for r in rows) / sum(float(r["total_twh"]) for r in rows)
    g, src = grid.lookup(None, None, None, tz="Etc/UTC")
    assert g == round(mean, 3) == 480.617
    assert src.startswith("world average (time zone Etc/UTC names no country): life-cycle")
    assert data.world()["iea-2019"][:3] == (475.0, "2019", "direct")   # the figure used before, kept for reference


def test_time_zone_gives_the_country():
    """With no country set, the time zone (Europe/Paris, or a link like US/Eastern) gives the country."""
    g, src = grid.lookup(None, None, None, tz="Europe/Paris")
    assert g == 56.039 and src.startswith("time zone Europe/Paris -> France")
    assert grid.country_from_timezone("US/Eastern") == "USA"
    assert grid.country_from_timezone("Etc/UTC") is None


def test_system_time_zone_read_offline(tmp_path):
    """The system time zone comes from TZ, else /etc/timezone, else the /etc/localtime link."""
    assert grid.system_timezone({"TZ": ":Europe/Berlin"}, str(tmp_path)) == "Europe/Berlin"
    (tmp_path / "timezone").write_text("Asia/Tokyo\n")
    assert grid.system_timezone({}, str(tmp_path)) == "Asia/Tokyo"
    os.remove(tmp_path / "timezone")
    os.symlink("/usr/share/zoneinfo/America/Toronto", tmp_path / "localtime")
    assert grid.system_timezone({}, str(tmp_path)) == "America/Toronto"
    assert grid.country_from_timezone("America/Toronto") == "CAN"


def test_explicit_intensity_wins():
    """An explicit intensity is used as given, whatever the country."""
    assert grid.lookup(123.0, "FRA", None) == (123.0, "configured (intensity_g_per_kwh)")


def test_valid_country_without_data_gets_world_average():
    """A real country missing from the intensity table falls back to the world average, saying so."""
    missing = next(r["alpha3"] for r in data.countries() if r["alpha3"] not in data.grid_countries())
    g, src = grid.lookup(None, missing, None)
    assert g == data.world()["life-cycle"][0] and f"no data for {missing}" in src


# --- embodied ---------------------------------------------------------------------------------

@pytest.mark.parametrize("preset, te_kg", [("laptop", 240.5), ("desktop", 296.0), ("server", 1278.0)])
def test_presets_have_documented_constants(preset, te_kg):
    """Each preset's TE and lifetime are the documented Boavizta medians (kgCO2e, 4 years)."""
    e = hardware.embodied(preset, None, None)
    assert (e.total_g, e.lifetime_years) == (te_kg * 1000, 4.0)
    assert "Boavizta" in e.source


def test_overrides_replace_preset_values():
    """embodied_total_g and lifetime_years replace the preset's TE and lifetime."""
    e = hardware.embodied("server", 5e5, 7.0)
    assert (e.total_g, e.lifetime_years, e.preset) == (5e5, 7.0, "server")
    assert "configured" in e.source


def test_instance_host_gives_te_and_lifetime():
    """With an instance type, 'auto' takes its host's TE (Cloud Carbon Footprint) and 4-year lifetime."""
    e = hardware.embodied("auto", None, None, "m6i.large")
    assert (e.preset, e.total_g, e.lifetime_years) == ("instance", 1_788_460.0, 4.0)
    assert hardware.embodied("laptop", None, None, "m6i.large").preset == "laptop"   # an explicit preset wins


def test_auto_detection_from_system_files(tmp_path):
    """A battery means laptop, a rack chassis means server, a hypervisor means server, else desktop."""
    sys_root, proc_root = tmp_path / "sys", tmp_path / "proc"
    (sys_root / "class" / "power_supply" / "BAT0").mkdir(parents=True)
    proc_root.mkdir()
    (proc_root / "cpuinfo").write_text("flags\t: fpu\n")
    assert hardware.detect_preset(str(sys_root), str(proc_root))[0] == "laptop"
    (sys_root / "class" / "power_supply" / "BAT0").rmdir()
    (sys_root / "class" / "dmi" / "id").mkdir(parents=True)
    (sys_root / "class" / "dmi" / "id" / "chassis_type").write_text("23\n")
    assert hardware.detect_preset(str(sys_root), str(proc_root))[0] == "server"
    (sys_root / "class" / "dmi" / "id" / "chassis_type").write_text("3\n")
    assert hardware.detect_preset(str(sys_root), str(proc_root))[0] == "desktop"
    (proc_root / "cpuinfo").write_text("flags\t: fpu hypervisor\n")
    assert hardware.detect_preset(str(sys_root), str(proc_root))[0] == "server"


# --- what the machine says ------------------------------------------------------------------------

def _machine_files(tmp_path, brand="Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", flags="fpu", dmi=None,
                   hypervisor=None):
    proc, sys_root = tmp_path / "proc", tmp_path / "sys"
    proc.mkdir()
    (proc / "cpuinfo").write_text(f"processor\t: 0\nmodel name\t: {brand}\nphysical id\t: 0\nflags\t\t: {flags}\n")
    if dmi:
        (sys_root / "class" / "dmi" / "id").mkdir(parents=True)
        for name, value in dmi.items():
            (sys_root / "class" / "dmi" / "id" / name).write_text(value + "\n")
    if hypervisor:
        (sys_root / "hypervisor").mkdir(parents=True)
        (sys_root / "hypervisor" / "type").write_text(hypervisor + "\n")
    return str(proc), str(sys_root)


def test_dmi_names_the_instance_type(tmp_path):
    """An AWS Nitro guest's DMI product name (m6i.large) is found in the table: instance detected offline."""
    proc, sys_root = _machine_files(tmp_path, flags="fpu hypervisor",
                                    dmi={"sys_vendor": "Amazon EC2", "product_name": "m6i.large"})
    m = hardware.detect(proc, sys_root)
    assert m.virtual and "hypervisor" in m.virtual_source and m.dmi_product == "m6i.large"
    p = hardware.cpu_power(m=m)
    assert p.instance_type == "m6i.large" and "DMI product_name" in p.instance_source
    assert p.host_threads == 128


@pytest.mark.parametrize("flags, dmi, hypervisor, virtual", [
    ("fpu hypervisor", None, None, True),
    ("fpu", None, "xen", True),
    ("fpu", {"sys_vendor": "QEMU", "product_name": "Standard PC (Q35 + ICH9, 2009)"}, None, True),
    ("fpu", {"sys_vendor": "Amazon EC2", "product_name": "m6i.metal"}, None, False),
    ("fpu", {"sys_vendor": "Dell Inc.", "product_name": "PowerEdge R740"}, None, False),
])
def test_virtual_or_bare_metal_from_local_files(tmp_path, flags, dmi, hypervisor, virtual):
    """The hypervisor flag, /sys/hypervisor and DMI names tell a virtual machine; a .metal instance is bare metal."""
    m = hardware.detect(*_machine_files(tmp_path, flags=flags, dmi=dmi, hypervisor=hypervisor))
    assert m.virtual is virtual and m.virtual_source


def test_brand_string_and_sockets_from_a_cpuinfo_file(tmp_path):
    """The brand string and package count are read from a cpuinfo file (two packages here)."""
    (tmp_path / "cpuinfo").write_text(
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz\nphysical id\t: 0\n"
        "flags\t\t: fpu hypervisor\n\n"
        "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz\nphysical id\t: 1\n")
    assert hardware.brand_string(str(tmp_path)).startswith("Intel(R) Xeon(R) Gold 6130")
    assert hardware.sockets(str(tmp_path)) == 2
    assert hardware.is_virtual(str(tmp_path))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcdeimnoprstuvxz0123456789-@(),®™ .RTM")), max_size=40)
       | st.sampled_from([r.name for r in data.cpu_table()]))
def test_the_quick_clean_equals_the_full_rule(name: str) -> None:
    """``clean`` skips its regular expression for names holding none of its hints: the same
    key as the full rule, for every table name and for random names built of its characters."""
    full = " ".join(hardware._NOISE.sub(" ", name.casefold()).replace(",", " ").split())
    assert hardware.clean(name) == full


def _match_over_the_whole_table(brand: str) -> data.CpuRow | None:
    """``match_cpu``'s rule with every name of the table cleaned (what it did before it took
    only the names holding the brand string's last word)."""
    key = hardware.clean(brand)
    if not key:
        return None
    exact: dict[str, data.CpuRow] = {}
    worded = []
    for row in data.cpu_table():
        name = hardware.clean(row[0])
        exact.setdefault(name, row)
        if any(ch.isdigit() for ch in name):
            worded.append((frozenset(name.split()), row))
    if key in exact:
        return exact[key]
    seq = key.split()
    hits = [(len(w), row) for w, row in worded if w <= set(seq) and seq[-1] in w]
    if not hits:
        return None
    best = max(size for size, _ in hits)
    top = [row for size, row in hits if size == best]
    return min(top) if len({row[1] for row in top}) == 1 else None


_TABLE_WORDS = sorted({w for r in data.cpu_table() for w in hardware.clean(r.name).split()})


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([r.name for r in data.cpu_table()])
       | st.lists(st.sampled_from(_TABLE_WORDS), min_size=1, max_size=6).map(" ".join)
       | st.sampled_from(["Intel(R) Xeon(R) Processor", "AMD EPYC", "AMD EPYC Processor", "12th Gen Intel(R) "
                          "Core(TM) i7-1260P", "Intel(R) Xeon(R) CPU E5-2676 v3 @ 2.40GHz", "Apple M1 Pro", ""]))
def test_matching_only_the_names_with_the_last_word_equals_matching_the_whole_table(brand: str) -> None:
    """``match_cpu`` cleans only the table names that hold the brand string's last word: the same
    row as the rule over every name, for every table name, the machines seen, and random
    brand strings made of the table's words."""
    assert hardware.match_cpu(brand) == _match_over_the_whole_table(brand)


def test_rows_holding_a_text_are_the_table_rows_holding_it():
    """``cpu_rows_holding`` reads cpus.csv a line at a time: with no text it is the whole table
    (each row is one line), and with a word, the table's rows whose fields hold it."""
    assert data.cpu_rows_holding("") == data.cpu_table()
    for word in ("xeon", "epyc", "m1", "7763", "®"):
        assert data.cpu_rows_holding(word) == tuple(
            r for r in data.cpu_table() if word in ",".join(map(str, r)).casefold() or word in r.name.casefold())
