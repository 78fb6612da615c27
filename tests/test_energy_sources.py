"""frugal/data against its sources: the recorded checksums, a rebuild from the pinned sources, and
the same figures as CodeCarbon's own tables (every country, CPU model and region in both)."""
from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import math
import os
from importlib import metadata
from pathlib import Path

import pytest

from frugal import data
from frugal.machine import grid
from frugal.machine import hardware

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "frugal" / "data"


def _tool():
    spec = importlib.util.spec_from_file_location("build_data", ROOT / "tools" / "build_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _tool()


@pytest.fixture(scope="module")
def rebuilt():
    """What tools/build_data.py makes from the pinned sources here: (built texts, reasons for skips)."""
    mirrors = Path(os.environ.get("FRUGAL_MIRRORS") or ROOT.parent / ".mirror")
    built, skipped, _ = TOOL.build(mirrors)
    return built, skipped


def test_shipped_files_match_their_recorded_checksums():
    """Every table's SHA-256 is the one manifest.json and SOURCES.md record (no hand edit went unnoticed)."""
    manifest = data.manifest()
    sources_md = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    assert set(manifest["files"]) == set(TOOL.BUILDERS)
    for name, item in manifest["files"].items():
        digest = hashlib.sha256((DATA / name).read_bytes()).hexdigest()
        assert digest == item["sha256"], name
        assert f"| `{name}` |" in sources_md and digest in sources_md
        assert item["rows"] == len(data.rows(name))
    assert sum(p.stat().st_size for p in DATA.iterdir()) < 1_000_000   # "a few MB" at most: well under 1 MB


@pytest.mark.parametrize("name", [*TOOL.BUILDERS, "manifest.json", "SOURCES.md"])
def test_shipped_file_is_what_the_pinned_sources_give(rebuilt, name):
    """Rebuilt from the pinned upstream sources, each shipped file comes out byte for byte the same."""
    built, skipped = rebuilt
    if name in skipped:
        pytest.skip(f"{name}: a pinned source is not here ({skipped[name]})")
    assert built[name] == (DATA / name).read_text(encoding="utf-8"), f"run python tools/build_data.py: {name} differs"


# --- the same numbers as CodeCarbon's tables ----------------------------------------------------

def _codecarbon_file(*parts: str) -> Path:
    """A data file of the installed CodeCarbon at the pinned version (skip otherwise), read without importing it."""
    try:
        version = metadata.version("codecarbon")
    except metadata.PackageNotFoundError:
        pytest.skip("CodeCarbon is not installed (pip install 'frugal[codecarbon]'): nothing to compare with")
    if version != TOOL.PYPI["codecarbon"]:
        pytest.skip(f"CodeCarbon {version} is installed; frugal's tables come from {TOOL.PYPI['codecarbon']}")
    return Path(str(metadata.distribution("codecarbon").locate_file("codecarbon"))).joinpath("data", *parts)


def _cc_json(*parts: str):
    return json.loads(_codecarbon_file(*parts).read_text(encoding="utf-8"))


def test_every_country_has_codecarbons_intensity():
    """Each of CodeCarbon's countries gives its carbon_intensity through frugal's lookup, to the last digit."""
    mix = _cc_json("private_infra", "global_energy_mix.json")
    assert len(mix) > 200
    for a3, rec in mix.items():
        assert grid.lookup(None, a3, None)[0] == float(rec["carbon_intensity"]), a3
        assert grid.resolve_country(a3) == a3


def test_every_cpu_model_has_codecarbons_tdp_in_the_same_order():
    """The CPU table is CodeCarbon's rows, same names, same TDPs (but the corrected rows, which name their
    source), same order, then the chips added from Boavizta."""
    text = _codecarbon_file("hardware", "cpu_power.csv").read_text(encoding="utf-8")
    theirs = []
    for r in csv.DictReader(io.StringIO(text)):
        try:
            theirs.append((r["Name"].strip(), float(r["TDP"])))
        except ValueError:
            continue                  # "27.29.5" and the like: not one number, left out as before
    ours = [(r.name, r.tdp_w) for r in data.cpu_table() if not r.source.startswith("added")]
    corrected = {r.name for r in data.cpu_table() if r.source.startswith("corrected")}
    assert [(n, t) for n, t in ours if n not in corrected] == [(n, t) for n, t in theirs if n not in corrected]
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    for name, tdp in theirs[::50]:
        hit = hardware.match_cpu(name)
        assert hit is not None and hit[1] == tdp


def test_every_region_has_the_figure_frugal_computed_from_codecarbon_before():
    """US states, Canadian and Chinese provinces and Nordic zones give what frugal computed from CodeCarbon's files."""
    usa = _cc_json("private_infra", "2023", "usa_emissions.json")
    for name, rec in usa.items():
        if not name.startswith("_") and name != "usa":
            assert grid.lookup(None, "USA", name)[0] == float(rec["emissions"]) * 0.45359237
            assert grid.lookup(None, "USA", rec["regionCode"].casefold())[0] == float(rec["emissions"]) * 0.45359237
    factors = {"coal": 0.995725971, "petroleum": 0.8166885263, "naturalGas": 0.7438415916}
    for name, mix in _cc_json("private_infra", "2023", "canada_energy_mix.json").items():
        expected = math.fsum(float(mix.get(s, 0.0)) / float(mix["total"]) * kg for s, kg in factors.items()) * 1000
        assert grid.lookup(None, "CAN", name)[0] == expected
    for code, rec in _cc_json("private_infra", "2023", "china_provincial_emissions.json")["data"].items():
        assert grid.lookup(None, "CHN", grid.resolve_region("CHN", code))[0] == float(rec["emission_factor"])
    for code, rec in _cc_json("private_infra", "nordic_emissions.json")["data"].items():
        if code[:2] in ("SE", "NO"):
            country = {"SE": "SWE", "NO": "NOR"}[code[:2]]
            assert grid.lookup(None, country, code.casefold())[0] == float(rec["emission_factor"])


def test_world_figure_used_before_is_kept():
    """CodeCarbon's world average (IEA, 475) is in the world table, beside the life-cycle mean now in force."""
    world = _cc_json("private_infra", "carbon_intensity_per_source.json")["world_average"]
    assert data.world()["iea-2019"][0] == float(world) == 475.0


def test_presets_are_the_figures_used_before():
    """The embodied presets are the constants frugal used before the tables moved (kgCO2e, years)."""
    before = {"laptop": (240_500.0, 4.0, 406), "desktop": (296_000.0, 4.0, 237), "server": (1_278_000.0, 4.0, 55)}
    assert data.embodied_presets() == before
