"""Rebuild ``frugal/data`` from pinned upstream sources: facts carry over, code does not.

    python tools/build_data.py            # write frugal/data/*.csv, manifest.json and SOURCES.md
    python tools/build_data.py --check    # compare what it would write with the shipped files

Sources, each pinned (``PYPI``, ``GIT``): CodeCarbon's, pycountry's and tzdata's packages as
installed by pip at the pinned versions (their data files are read as files, never imported),
and three public git repositories (Cloud Carbon Footprint's coefficients, Boavizta's product
footprints and Boavizta's CPU specifications) at pinned commits, read with ``git show`` from a
local clone or mirror: ``--mirrors DIR`` (default ``$FRUGAL_MIRRORS``, else ``../.mirror``
beside the repository), holding ``owner+name/repo``, ``owner+name`` or ``name`` git folders.
A source that is absent, or present at another version, makes every file built from it
"skipped" with the reason; ``--check`` exits 1 on a difference, 0 otherwise (skips are printed).
Standard library only.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "frugal" / "data"
sys.path.insert(0, str(ROOT))
from frugal.machine.hardware import clean  # noqa: E402  (the one name-cleaning rule, shared with the lookups)

PYPI = {"codecarbon": "3.3.2", "pycountry": "26.2.16", "tzdata": "2026.6"}
# the date of each pin: the newest entry of the release's wheel, or the commit's date
DATES = {"codecarbon": "2026-10-23", "pycountry": "2026-02-17", "tzdata": "2026-10-28", "ccf": "2026-04-24",
         "boavizta-pcf": "2023-02-23", "boaviztapi": "2026-08-21"}
GIT = {
    "ccf": ("cloud-carbon-footprint/ccf-coefficients", "b0032d928c787cf76cecd7d1d611c5b46f366e29"),
    "boavizta-pcf": ("Boavizta/environmental-footprint-data", "61323eb5c3bb63b0703e7a9c6456482ccbaac3a6"),
    "boaviztapi": ("Boavizta/boaviztapi", "15878f045bf06bc6ed685c7266c39f7e8498ab94"),
}
LICENCES = {
    "codecarbon": "MIT (CodeCarbon); upstream data: Our World in Data / Ember (CC BY 4.0), EPA eGRID "
                  "(US government, public domain), MEE/NBS China (official publication), ENTSO-E",
    "pycountry": "LGPL-2.1 (pycountry, from Debian's iso-codes); ISO 3166 codes and names are facts",
    "tzdata": "public domain (IANA tz database)",
    "ccf": "Apache-2.0 (Cloud Carbon Footprint); instance data after Teads' dataset",
    "boavizta-pcf": "ODbL 1.0 / DbCL 1.0 (Boavizta environmental-footprint-data)",
    "boaviztapi": "AGPL-3.0 (Boavizta boaviztapi repository); only facts taken: core and thread counts, "
                  "code names and a few TDPs of CPU models (gathered by Boavizta from TechPowerUp's CPU "
                  "database), and which host (CPU model, sockets, threads) runs each cloud instance type",
}


class Missing(Exception):
    """A source is not here at its pinned version: the files built from it are skipped."""


class Sources:
    """The pinned upstream files, read as bytes; every file read is remembered with its SHA-256."""

    def __init__(self, mirrors: Path | None) -> None:
        self.mirrors = mirrors
        self.read: dict[tuple[str, str], str] = {}

    def pypi(self, dist: str, path: str) -> bytes:
        try:
            d = metadata.distribution(dist)
        except metadata.PackageNotFoundError:
            raise Missing(f"{dist} is not installed (pip install {dist}=={PYPI[dist]})") from None
        if d.version != PYPI[dist]:
            raise Missing(f"{dist} {d.version} is installed; the tables are pinned to {PYPI[dist]}")
        data = Path(str(d.locate_file(path))).read_bytes()
        self.read[(f"{dist} {PYPI[dist]}", path)] = hashlib.sha256(data).hexdigest()
        return data

    def git(self, key: str, path: str) -> bytes:
        repo, commit = GIT[key]
        owner, name = repo.split("/")
        if self.mirrors is None or not self.mirrors.is_dir():
            raise Missing(f"no mirror folder for {repo} (give --mirrors or FRUGAL_MIRRORS)")
        for folder in (self.mirrors / f"{owner}+{name}" / "repo", self.mirrors / f"{owner}+{name}",
                       self.mirrors / name):
            if not folder.exists():
                continue
            out = subprocess.run(["git", f"--git-dir={folder}" if not (folder / ".git").exists() else
                                  f"--git-dir={folder / '.git'}", "show", f"{commit}:{path}"],
                                 capture_output=True, check=False)
            if out.returncode == 0:
                self.read[(f"{repo}@{commit[:10]}", path)] = hashlib.sha256(out.stdout).hexdigest()
                return out.stdout
            raise Missing(f"{folder} has no {commit[:10]}:{path}")
        raise Missing(f"no clone of {repo} under {self.mirrors}")


def _text(data: bytes) -> str:
    return data.decode("utf-8-sig")


def _csv(rows: Sequence[Sequence[object]], header: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _num(value: float) -> str:
    """A float as the shortest text that reads back as the same float."""
    return repr(float(value))


# --- the builders: each returns the file's text ---------------------------------------------

# CCF's microarchitecture names for Boavizta's code names (cpu_specs.csv ``code_name``). Only
# server lines get one (a chip named Xeon, EPYC or Graviton): CCF's coefficients are SPECpower
# servers' watts per vCPU, which say nothing of a laptop's or a desktop's chip. Code names with no
# CCF architecture (Cooper Lake, Altra's Quicksilver, Google's Axion, the first Graviton) get none.
_CODE_NAMES = {
    "Naples": "EPYC 1st Gen", "Rome": "EPYC 2nd Gen", "Milan": "EPYC 3rd Gen", "Milan-X": "EPYC 3rd Gen",
    "Genoa": "EPYC 4th Gen", "Turin": "EPYC 5th Gen",
    "Sandy Bridge": "Sandy Bridge", "Ivy Bridge": "Ivy Bridge", "Haswell": "Haswell", "Broadwell": "Broadwell",
    "Skylake": "Skylake", "Skylake-SP": "Skylake", "Skylake-W": "Skylake", "Coffee Lake": "Coffee Lake",
    "Cascade Lake": "Cascade Lake", "Cascade Lake-SP": "Cascade Lake", "Cascade Lake-AP": "Cascade Lake",
    "Ice Lake": "Ice Lake", "Ice Lake-SP": "Ice Lake", "Ice Lake-W": "Ice Lake",
    "Sapphire Rapids": "Sapphire Rapids", "Sapphire Rapids HBM": "Sapphire Rapids",
    "Emerald Rapids": "Emerald Rapids", "Granite Rapids": "Granite Rapids",
    "Graviton2": "Graviton2", "Graviton3": "Graviton3", "Graviton3E": "Graviton3E", "Graviton4": "Graviton4",
}
# CCF's own lists of the chips of each architecture (data/<short>.csv, named as in ccfcoef/cli.py's
# CPU_FAMILIES); "Skylake (Client)" and "Neoverse N1" are left out: no use coefficients of theirs.
_CCF_LISTS = {
    "amd-epyc-gen1": "EPYC 1st Gen", "amd-epyc-gen2": "EPYC 2nd Gen", "amd-epyc-gen3": "EPYC 3rd Gen",
    "amd-epyc-gen4": "EPYC 4th Gen", "amd-epyc-gen5": "EPYC 5th Gen", "intel-sandybridge": "Sandy Bridge",
    "intel-ivybridge": "Ivy Bridge", "intel-haswell": "Haswell", "intel-broadwell": "Broadwell",
    "intel-skylake": "Skylake", "intel-skylake-server": "Skylake", "intel-cascadelake": "Cascade Lake",
    "intel-coffeelake": "Coffee Lake", "intel-icelake": "Ice Lake", "intel-sapphirerapids": "Sapphire Rapids",
    "intel-emeraldrapids": "Emerald Rapids", "intel-graniterapids": "Granite Rapids",
}
_SERVER_WORDS = re.compile(r"\b(xeon|epyc|graviton\w*)\b")

# Rows of the CPU table that the sources get wrong, each with the public source of the figure
# (facts only): (TDP in W or None to keep, cores, threads or None to keep, source).
_CORRECTIONS: dict[str, tuple[float | None, int | None, int | None, str]] = {
    "Intel Xeon Platinum 8272CL": (None, 26, 52, "corrected: 26 cores / 52 threads per package (Cascade Lake-SP "
                                   "die of the Platinum 8270/8280; Boavizta's 52/104 counts two sockets)"),
    "Intel Core i5-1335U": (15.0, None, None, "corrected: processor base power 15 W (Intel ARK; Boavizta "
                            "cpu_specs.csv 15 W); CodeCarbon's 55 W is maximum turbo power"),
    "Intel Core i7-1270P": (28.0, None, None, "corrected: processor base power 28 W (Intel ARK; Boavizta "
                            "cpu_specs.csv 28 W); CodeCarbon's 64 W is maximum turbo power"),
    "Intel Core i7-12700K": (125.0, None, None, "corrected: processor base power 125 W (Intel ARK; Boavizta "
                             "cpu_specs.csv 125 W); CodeCarbon's 190 W is maximum turbo power"),
    "Intel Core m3-8114Y": (5.0, None, None, "corrected: TDP 5 W (Intel ARK; Boavizta cpu_specs.csv 5 W)"),
}
# Chips missing from CodeCarbon's table, appended from Boavizta's cpu_specs.csv (its TDP: base power):
# mainstream 12th/13th generation laptop and desktop chips, and the host of Google's t2a.
_ADDED = ("Intel Core i7-1255U", "Intel Core i7-1260P", "Intel Core i5-12400", "Intel Core i7-13700H",
          "Ampere Altra Q64-30")


class Chips:
    """What the pinned sources say of each CPU model: Boavizta's specs and CCF's family lists."""

    def __init__(self, src: Sources) -> None:
        self.specs: dict[str, dict[str, str]] = {}
        for r in csv.DictReader(io.StringIO(_text(src.git("boaviztapi", "boaviztapi/data/crowdsourcing/cpu_specs.csv")))):
            self.specs.setdefault(clean(r["name"]), r)
        self.lists: list[tuple[str, str]] = []      # (cleaned chip name of CCF's list, family)
        for short, family in _CCF_LISTS.items():
            for line in _text(src.git("ccf", f"data/{short}.csv")).splitlines():
                if line.strip():
                    self.lists.append((clean(line), family))

    def counts(self, name: str) -> tuple[int | None, int | None]:
        """(cores, threads) of a chip; threads are kept where Boavizta gives no cores."""
        r = self.specs.get(clean(name))
        if r is None:
            return None, None
        cores, threads = _whole(r["cores"]), _whole(r["threads"])
        fix = _CORRECTIONS.get(" ".join(r["name"].split()))
        if fix is not None:
            cores, threads = fix[1] or cores, fix[2] or threads
        if threads is None or (cores is not None and cores > threads):
            return None, None
        return cores, threads

    def family(self, name: str) -> str:
        """The CCF architecture of a server chip: CCF's own lists (a list entry ending the name, the
        longest one), else Boavizta's code name through ``_CODE_NAMES``; '' when neither says."""
        key = clean(name)
        if not _SERVER_WORDS.search(key):
            return ""
        hits = sorted((len(entry), family) for entry, family in self.lists
                      if key == entry or key.endswith(" " + entry))
        if hits and len({f for n, f in hits if n == hits[-1][0]}) == 1:
            return hits[-1][1]
        r = self.specs.get(key)
        return _CODE_NAMES.get(r["code_name"].strip(), "") if r else ""


def _whole(text: str) -> int | None:
    try:
        value = int(float(text))
    except ValueError:
        return None
    return value if value > 0 else None


def cpus(src: Sources) -> str:
    """CodeCarbon's CPU table (name, TDP) in its order, with cores and threads from Boavizta and the
    CCF architecture; then the chips of ``_ADDED`` from Boavizta; ``_CORRECTIONS`` applied last."""
    chips = Chips(src)
    rows: list[list[object]] = []
    for r in csv.DictReader(io.StringIO(_text(src.pypi("codecarbon", "codecarbon/data/hardware/cpu_power.csv")))):
        name, tdp = (r.get("Name") or "").strip(), (r.get("TDP") or "").strip()
        try:
            watts = float(tdp)
        except ValueError:          # a few rows hold two figures run together ("27.29.5")
            continue
        rows.append([name, watts, *chips.counts(name), chips.family(name), ""])
    have = {clean(str(r[0])) for r in rows}
    for name in _ADDED:
        spec = chips.specs.get(clean(name))
        if spec is None or clean(name) in have:
            raise Missing(f"{name} is not in Boavizta's cpu_specs.csv, or is already in CodeCarbon's table")
        rows.append([name, float(spec["tdp"]), *chips.counts(name), chips.family(name),
                     f"added: Boavizta cpu_specs.csv ({spec['source'].strip()})"])
    for row in rows:
        fix = _CORRECTIONS.get(str(row[0]))
        if fix is not None:
            tdp_w, cores, threads, why = fix
            row[1:4] = [tdp_w if tdp_w is not None else row[1], cores or row[2], threads or row[3]]
            row[5] = why
    if {str(r[0]) for r in rows if r[5].startswith("corrected")} != set(_CORRECTIONS):
        raise Missing("a corrected CPU model is no longer in CodeCarbon's table")
    return _csv([[n, _num(float(t)), c or "", th or "", fam, why] for n, t, c, th, fam, why in rows],
                ["name", "tdp_w", "cores", "threads", "family", "source"])


def families(src: Sources) -> str:
    """CCF's use coefficients (W per vCPU at 0% and 100% load) per provider and architecture, exact.
    A row equal to another of the same provider is a placeholder: the one whose name also has its
    own row at another provider is the original (EPYC 2nd Gen), the others copy it (Graviton)."""
    tables = {p: _rows(src.git("ccf", f"output/coefficients-{p}-use.csv")) for p in ("aws", "azure", "gcp")}
    out: list[list[object]] = []
    for provider, table in tables.items():
        elsewhere = {r["Architecture"] for p, t in tables.items() if p != provider for r in t}
        by_value: dict[tuple[str, str], list[str]] = {}
        for r in table:
            by_value.setdefault((r["Min Watts"], r["Max Watts"]), []).append(r["Architecture"])
        for r in table:
            same = by_value[(r["Min Watts"], r["Max Watts"])]
            what = f"CCF {provider} use coefficients (output/coefficients-{provider}-use.csv)"
            placeholder = False
            if len(same) > 1:
                original = [f for f in same if f in elsewhere]
                if len(original) != 1:
                    raise Missing(f"CCF {provider}: equal coefficients of {same}, and no one original among them")
                if r["Architecture"] != original[0]:
                    placeholder, what = True, f"CCF {provider} use coefficients (placeholder: {original[0]} values)"
            out.append([provider, r["Architecture"], _num(float(r["Min Watts"])), _num(float(r["Max Watts"])),
                        "true" if placeholder else "false", what])
    return _csv(out, ["provider", "family", "min_w", "max_w", "placeholder", "source"])


def countries(src: Sources) -> str:
    records = json.loads(src.pypi("pycountry", "pycountry/databases/iso3166-1.json"))["3166-1"]
    rows = [[r["alpha_2"], r["alpha_3"], r["name"], r.get("common_name", ""), r.get("official_name", "")]
            for r in records]
    return _csv(rows, ["alpha2", "alpha3", "name", "common_name", "official_name"])


def timezones(src: Sources) -> str:
    """zone.tab's zones with their country, then every link of tzdata.zi to one of them."""
    table: dict[str, str] = {}
    for line in _text(src.pypi("tzdata", "tzdata/zoneinfo/zone.tab")).splitlines():
        fields = line.split("\t")
        if not line.startswith("#") and len(fields) >= 3:
            table[fields[2]] = fields[0]
    for line in _text(src.pypi("tzdata", "tzdata/zoneinfo/tzdata.zi")).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "L" and parts[1] in table and parts[2] not in table:
            table[parts[2]] = table[parts[1]]
    return _csv([[z, c] for z, c in sorted(table.items())], ["zone", "alpha2"])


def _mix(src: Sources) -> dict[str, dict[str, Any]]:
    mix: dict[str, dict[str, Any]] = json.loads(src.pypi("codecarbon", "codecarbon/data/private_infra/global_energy_mix.json"))
    return mix


def grid_countries(src: Sources) -> str:
    rows = [[a3, rec.get("country_name", a3), rec.get("year", ""), _num(rec["carbon_intensity"]),
             _num(rec.get("total_TWh") or 0.0)]
            for a3, rec in sorted(_mix(src).items()) if rec.get("carbon_intensity") is not None]
    return _csv(rows, ["alpha3", "name", "year", "g_per_kwh", "total_twh"])


def grid_world(src: Sources) -> str:
    """The world figures: the life-cycle mean of the national figures (weighted by generation),
    in force by default, and the IEA figure (direct CO2) that frugal used before, for reference."""
    mix = [rec for rec in _mix(src).values() if rec.get("carbon_intensity") is not None and rec.get("total_TWh")]
    twh = math.fsum(float(rec["total_TWh"]) for rec in mix)
    mean = math.fsum(float(rec["carbon_intensity"]) * float(rec["total_TWh"]) for rec in mix) / twh
    years = sorted({int(rec["year"]) for rec in mix if rec.get("year")})
    iea = json.loads(src.pypi("codecarbon", "codecarbon/data/private_infra/carbon_intensity_per_source.json"))
    rows = [["life-cycle", _num(round(mean, 3)), f"{years[0]}-{years[-1]}", "life-cycle",
             f"generation-weighted mean of the {len(mix)} national figures (Our World in Data / Ember via "
             f"CodeCarbon {PYPI['codecarbon']})"],
            ["iea-2019", _num(iea["world_average"]), "2019", "direct",
             f"IEA Global Energy & CO2 Status Report 2019 via CodeCarbon {PYPI['codecarbon']}"]]
    return _csv(rows, ["key", "g_per_kwh", "year", "basis", "source"])


_FOSSIL_KG_PER_KWH = {"coal": 0.995725971, "petroleum": 0.8166885263, "naturalGas": 0.7438415916}


def grid_regions(src: Sources) -> str:
    """Regions with their own figure in CodeCarbon's data, computed as frugal computed them before."""
    cc = f"CodeCarbon {PYPI['codecarbon']}"
    rows: list[list[object]] = []
    usa = json.loads(src.pypi("codecarbon", "codecarbon/data/private_infra/2023/usa_emissions.json"))
    label = f"{usa.get('_source', {}).get('name', 'EPA eGRID')} via {cc}"
    for name, rec in usa.items():
        if name.startswith("_") or name == "usa" or not isinstance(rec, dict):
            continue
        g = float(rec["emissions"]) * 0.45359237       # lb/MWh -> g/kWh
        rows.append(["USA", name, name.title(), _num(g), usa["_source"].get("year", ""), "direct", label,
                     str(rec.get("regionCode", "")).casefold()])
    canada = json.loads(src.pypi("codecarbon", "codecarbon/data/private_infra/2023/canada_energy_mix.json"))
    label = f"{cc} canada_energy_mix.json, fossil share x coal/petroleum/gas factors"
    for name, mix in canada.items():
        total = float(mix["total"])
        g = math.fsum(float(mix.get(s, 0.0)) / total * kg for s, kg in _FOSSIL_KG_PER_KWH.items()) * 1000
        rows.append(["CAN", name, name.title(), _num(g), 2023, "direct (fossil share only)", label, ""])
    china = json.loads(src.pypi("codecarbon", "codecarbon/data/private_infra/2023/china_provincial_emissions.json"))
    label = f"MEE/NBS {china.get('metadata', {}).get('year', '')} via {cc}"
    for code, rec in china["data"].items():
        aliases = [code.split("-")[-1].casefold(), *(n.casefold() for n in rec.get("names", []))]
        rows.append(["CHN", code.casefold(), rec.get("description", code), _num(rec["emission_factor"]),
                     rec.get("year", ""), "direct (CO2 only)", label, "|".join(dict.fromkeys(aliases))])
    nordic = json.loads(src.pypi("codecarbon", "codecarbon/data/private_infra/nordic_emissions.json"))
    for code, rec in nordic["data"].items():
        country = {"SE": "SWE", "NO": "NOR"}.get(code[:2])
        if country is not None:
            rows.append([country, code.casefold(), code, _num(rec["emission_factor"]), rec.get("year", ""),
                         "mixed (fossil combustion, low-carbon life-cycle)", f"ENTSO-E bidding zones via {cc}", ""])
    return _csv(rows, ["country", "key", "name", "g_per_kwh", "year", "basis", "source", "aliases"])


def _significant(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}")


def embodied(src: Sources) -> str:
    """Presets: per subcategory, medians of TE = gwp_total x (1 - gwp_use_ratio) and of lifetime,
    over the rows where all three are numbers and 0 <= gwp_use_ratio < 1; 4 significant figures."""
    rows: list[list[object]] = []
    data = list(csv.DictReader(io.StringIO(_text(src.git("boavizta-pcf", "boavizta-data-us.csv")))))
    for preset, sub in (("laptop", "Laptop"), ("desktop", "Desktop"), ("server", "Server")):
        te, life = [], []
        for r in data:
            if r["subcategory"] != sub:
                continue
            try:
                total, use, years = float(r["gwp_total"]), float(r["gwp_use_ratio"]), float(r["lifetime"])
            except ValueError:
                continue
            if 0 <= use < 1:
                te.append(total * (1 - use))
                life.append(years)
        rows.append([preset, _num(_significant(statistics.median(te)) * 1000), _num(statistics.median(life)),
                     len(te), sub])
    return _csv(rows, ["preset", "te_g", "lifetime_years", "rows", "subcategory"])


# --- cloud instances ----------------------------------------------------------------------

_GCP_CATEGORY = {  # machine series -> family, after Google Cloud's machine-family guide
    **dict.fromkeys(["e2", "n1", "n2", "n2d", "n4", "c3", "c3d", "c4", "c4a", "c4d", "t2a", "t2d"], "General Purpose"),
    **dict.fromkeys(["c2", "c2d", "h3"], "Compute Optimized"),
    **dict.fromkeys(["m1", "m2", "m3", "x4"], "Memory Optimized"),
}
_AWS_CATEGORIES = ("General Purpose", "Compute Optimized", "Memory Optimized")
_AZURE_CATEGORY = {"A": "General Purpose", "B": "General Purpose", "D": "General Purpose",
                   "F": "Compute Optimized", "E": "Memory Optimized", "M": "Memory Optimized",
                   "G": "Memory Optimized"}
CCF_LIFETIME_YEARS = 4.0   # ccfcoef/constants.py RACK_SERVER_LIFESPAN


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_text(data))))


def _chip(name: str) -> str:
    """A CPU name as the CPU table spells it ("Xeon Platinum 8375C" -> "Intel Xeon Platinum 8375C")."""
    name = " ".join(name.replace("2nd Gen ", "").replace("Scalable ", "").replace(" Processor", "").split())
    if name.startswith("Xeon") or name.startswith("Core"):
        return f"Intel {name}"
    if name.startswith("EPYC"):
        return f"AMD {name}"
    if name.startswith("Graviton"):
        return f"AWS {name}"
    return name


def azure_key(name: str) -> str:
    """Azure's API spelling of a size: "D2s v3" -> "Standard_D2s_v3"."""
    return "Standard_" + "_".join(name.split())


def _azure_name(key: str) -> str:
    """Boavizta's lower-case Azure size as Azure spells it: "dc2as_v5" -> "Standard_DC2as_v5"."""
    m = re.match(r"([a-z]+)(.*)", key)
    return "Standard_" + (m.group(1).upper() + m.group(2) if m else key)


def _hosts(src: Sources, chips: Chips, provider: str) -> dict[str, tuple[str, int | None]]:
    """instance key -> (host chip, host threads) from Boavizta's cloud archetypes and server.csv:
    the server's CPU.threads where given (a whole host), else CPU.units x the chip's threads."""
    servers = {r["id"]: r for r in _rows(src.git("boaviztapi", "boaviztapi/data/archetypes/server.csv"))}
    out: dict[str, tuple[str, int | None]] = {}
    for r in _rows(src.git("boaviztapi", f"boaviztapi/data/archetypes/cloud/{provider}.csv")):
        server = servers.get(r["platform"])
        if server is None or not server["CPU.name"].strip():
            continue
        chip = " ".join(server["CPU.name"].replace("Scalable ", "").split())
        threads = _whole(server["CPU.threads"])
        units, per_chip = _whole(server["CPU.units"]), chips.counts(chip)[1]
        chip = chip.replace("Annapurna Labs", "AWS")     # the instance table's spelling
        if threads is None and units and per_chip:
            threads = units * per_chip
        out["_".join(r["id"].split()).casefold()] = (chip, threads)
    return out


def _arch(text: str, known: set[str]) -> str:
    """A CCF architecture named in a host description ("Intel Xeon Ice Lake" -> "Ice Lake"), or ''."""
    name = " ".join(w for w in text.split() if w not in ("Intel", "Xeon", "AMD", "AWS"))
    return name if name in known else ""


def instances(src: Sources) -> str:
    """Cloud instance types: CCF's lists (AWS and Google Cloud: latest 2026 files; Azure: Teads'),
    plus Boavizta's Azure sizes CCF lacks; host chips and threads from Boavizta's archetypes where
    it names the host; the CCF architecture of each host; the embodied basis named in each row."""
    chips = Chips(src)
    known = {r["Architecture"] for p in ("aws", "azure", "gcp")
             for r in _rows(src.git("ccf", f"output/coefficients-{p}-use.csv"))}

    def family(ccf_arch: str, chip: str) -> str:
        return ccf_arch if ccf_arch in known else chips.family(chip)

    out: list[list[object]] = []
    teads = {r["Instance type"]: r for r in _rows(src.git("ccf", "data/aws-instances.csv"))}
    te_aws = {r["type"]: float(r["total"]) for r in _rows(src.git("ccf", "output/coefficients-aws-embodied.csv"))}
    latest = [r for r in _rows(src.git("ccf", "data/aws-instances-latest-2026.csv")) if r["Category"] in _AWS_CATEGORIES]
    boa = _hosts(src, chips, "aws")
    series_max: dict[str, int] = {}
    for r in latest:
        series = r["Instance Type"].split(".")[0]
        series_max[series] = max(series_max.get(series, 0), int(r["vCPUs"]))
    for r in latest:
        kind, series, vcpus = r["Instance Type"], r["Instance Type"].split(".")[0], int(r["vCPUs"])
        old = teads.get(kind)
        chip = _chip(old["Platform CPU Name"] if old else r["Platform CPU Name"])
        arch = _arch(chip, known)
        fam = family(arch, chip)
        host_chip, host_threads = boa.get(kind.casefold(), ("", None))
        if arch and host_chip and chips.family(host_chip) == arch:
            chip = host_chip          # CCF names the microarchitecture only; Boavizta the chip, of that family
        if old:
            host, hosts = int(old["Platform Total Number of vCPU"]), "teads"
        elif host_threads and chips.family(host_chip) in ("", fam):
            host, hosts = host_threads, "boavizta"
        else:
            host, hosts = series_max[series], "series-max"
        tonnes = r["Platform Embedded Emissions (mtCo2eq)"].strip()
        if kind in te_aws:
            te, why = _num(te_aws[kind] * 1000), "ccf-model"
        else:
            te, why = (_num(float(tonnes) * 1e6), "ccf-2026") if tonnes else ("", "preset")
        out.append(["aws", kind, series, r["Category"], vcpus, max(vcpus, host), chip, fam, te,
                    CCF_LIFETIME_YEARS if te else "", f"{hosts};{why}"])
    gcp_old: dict[str, int] = {}
    for r in _rows(src.git("ccf", "data/gcp-instances.csv")):
        gcp_old[r["Machine type"]] = max(gcp_old.get(r["Machine type"], 0), int(r["Platform vCPUs (highest vCPU possible)"]))
    te_gcp = {r["type"]: float(r["total_mean"]) for r in _rows(src.git("ccf", "output/coefficients-gcp-embodied-mean.csv"))}
    gcp = [r for r in _rows(src.git("ccf", "data/gcp-instances-latest-2026.csv"))
           if r["Instance Type"].split("-")[0] in _GCP_CATEGORY]
    boa = _hosts(src, chips, "gcp")
    series_max = {}
    for r in gcp:
        series = r["Instance Type"].split("-")[0]
        series_max[series] = max(series_max.get(series, 0), int(r["Instance vCPU"]))
    for r in gcp:
        kind, series, vcpus = r["Instance Type"], r["Instance Type"].split("-")[0], int(r["Instance vCPU"])
        chip = _chip(r["CPU Name"])
        host_threads = boa.get(kind.casefold(), ("", None))[1]
        if host_threads:          # the host's threads (server.csv), not the largest guest of the series
            host, hosts = host_threads, "boavizta"
        elif kind in gcp_old:
            host, hosts = gcp_old[kind], "teads"
        else:
            host, hosts = series_max[series], "series-max"
        te = _num(te_gcp[kind] * 1000) if kind in te_gcp else ""
        out.append(["gcp", kind, series, _GCP_CATEGORY[series], vcpus, max(vcpus, host), chip,
                    family(r["Microarchitecture"].strip(), chip), te, CCF_LIFETIME_YEARS if te else "",
                    f"{hosts};{'ccf-model' if te else 'preset'}"])
    te_azure: dict[str, list[float]] = {}
    for r in _rows(src.git("ccf", "output/coefficients-azure-embodied.csv")):
        te_azure.setdefault(r["type"], []).append(float(r["total"]))
    azure: dict[str, dict[str, Any]] = {}
    for r in _rows(src.git("ccf", "data/azure-instances.csv")):
        name, category = r["Virtual Machine"], _AZURE_CATEGORY.get(r["Virtual Machine"][:1])
        if category is None or not r["Instance vCPUs"].strip().isdigit():
            continue
        rec = azure.setdefault(name, {"series": r["Series"], "category": category, "vcpus": int(r["Instance vCPUs"]),
                                      "host": 0, "arch": []})
        rec["host"] = max(rec["host"], int(r["Platform vCPUs (highest vCPU possible)"] or 0))
        if r["Microarchitecture"] not in rec["arch"]:
            rec["arch"].append(r["Microarchitecture"])
    boa = _hosts(src, chips, "azure")
    for name, rec in azure.items():
        values = te_azure.get(name)
        te = _num(round(statistics.mean(values), 2) * 1000) if values else ""
        chip, fam, hosts = "/".join(rec["arch"]), rec["arch"][0] if len(rec["arch"]) == 1 else "", "teads"
        host: object = max(rec["vcpus"], rec["host"]) if rec["host"] else ""
        host_chip, host_threads = boa.get("_".join(name.split()).casefold(), ("", None))
        # where CCF lists several microarchitectures (or "Unknown") it cannot say which host runs the
        # size; Boavizta names one (after Azure's host documentation): taken. CCF's one name stays.
        if host_chip and host_threads and (len(rec["arch"]) > 1 or rec["arch"] == ["Unknown"]):
            chip, fam, host, hosts = host_chip, chips.family(host_chip), max(rec["vcpus"], host_threads), "boavizta"
        out.append(["azure", azure_key(name), rec["series"], rec["category"], rec["vcpus"], host, chip,
                    fam if fam in known else "", te, CCF_LIFETIME_YEARS if te else "",
                    f"{hosts};{'ccf-model' if te else 'preset'}"])
    have = {"_".join(n.split()).casefold() for n in azure}
    extra = [r for r in _rows(src.git("boaviztapi", "boaviztapi/data/archetypes/cloud/azure.csv"))
             if r["id"] not in have and r["id"][:1].upper() in _AZURE_CATEGORY]
    for r in extra:
        host_chip, host_threads = boa.get(r["id"], ("", None))
        vcpus = int(float(r["vcpu"]))
        out.append(["azure", _azure_name(r["id"]), r["platform"].split("-")[0], _AZURE_CATEGORY[r["id"][:1].upper()],
                    vcpus, max(vcpus, host_threads) if host_threads else "", host_chip, chips.family(host_chip),
                    "", "", "boavizta;preset"])
    return _csv(out, ["provider", "instance_type", "series", "category", "vcpus", "host_threads", "cpu_model",
                      "family", "platform_te_g", "lifetime_years", "source"])


def defaults(src: Sources) -> str:
    """The defaults for what cannot be told: CodeCarbon's power of an unknown CPU, and the host
    size of a virtual machine whose host is unknown (median over the instance table's series)."""
    cpu_py = _text(src.pypi("codecarbon", "codecarbon/core/cpu.py"))
    m = re.search(r"^DEFAULT_POWER_PER_CORE\s*=\s*([0-9.]+)", cpu_py, re.MULTILINE)
    if m is None:
        raise Missing("codecarbon/core/cpu.py has no DEFAULT_POWER_PER_CORE")
    hosts: dict[tuple[str, str], int] = {}
    for r in csv.DictReader(io.StringIO(instances(src))):
        if r["host_threads"]:
            key = (r["provider"], r["series"])
            hosts[key] = max(hosts.get(key, 0), int(r["host_threads"]))
    median = statistics.median_low(sorted(hosts.values()))
    rows: list[list[object]] = [["unknown_cpu_w_per_thread", _num(float(m.group(1))), "W",
             f"CodeCarbon {PYPI['codecarbon']} core/cpu.py DEFAULT_POWER_PER_CORE"],
            ["vm_host_threads", median, "threads",
             f"median (low) of the largest host_threads of each of the {len(hosts)} instance series in instances.csv"]]
    return _csv(rows, ["key", "value", "unit", "source"])


BUILDERS: dict[str, tuple[Callable[[Sources], str], tuple[str, ...], str]] = {
    "cpus.csv": (cpus, ("codecarbon", "boaviztapi", "ccf"), "CPU models: TDP (W) from CodeCarbon's cpu_power.csv, in its order (rows whose TDP is not one number left out), then chips it lacks from Boavizta's cpu_specs.csv; cores and threads from Boavizta where the cleaned names are equal (threads kept without cores); the CCF architecture (family) of server chips; corrected rows name their source"),
    "countries.csv": (countries, ("pycountry",), "ISO 3166-1 countries: alpha-2, alpha-3, names"),
    "timezones.csv": (timezones, ("tzdata",), "IANA time zone -> ISO alpha-2 country: zone.tab, plus tzdata.zi's links to those zones"),
    "grid_countries.csv": (grid_countries, ("codecarbon",), "Grid carbon intensity per country (gCO2e/kWh, life-cycle): carbon_intensity of global_energy_mix.json, with its year and generation"),
    "grid_world.csv": (grid_world, ("codecarbon",), "World intensity: generation-weighted mean of the national figures (life-cycle, in force), and IEA 2019's 475 (direct, for reference)"),
    "grid_regions.csv": (grid_regions, ("codecarbon",), "Regions (US states, Canadian and Chinese provinces, Swedish and Norwegian bidding zones) with their basis"),
    "embodied.csv": (embodied, ("boavizta-pcf",), "Embodied presets: median TE (all phases but use; 4 significant figures) and median lifetime of Boavizta's laptops, desktops and servers whose gwp_total, gwp_use_ratio (in [0, 1)) and lifetime are numbers"),
    "families.csv": (families, ("ccf",), "CPU architectures (families): CCF's SPECpower-derived use coefficients, W per vCPU at idle (min_w) and full load (max_w), per provider; placeholder rows copy another family's values"),
    "instances.csv": (instances, ("ccf", "boaviztapi"), "Cloud instance types (AWS, Google Cloud, Azure; general purpose, compute and memory optimised): vCPUs, host threads, host CPU, platform embodied emissions"),
    "defaults.csv": (defaults, ("codecarbon", "ccf"), "Defaults for what cannot be told: W per thread of an unknown CPU, host threads of an unknown VM host"),
}


def build(mirrors: Path | None) -> tuple[dict[str, str], dict[str, str], Sources]:
    """(file name -> text built, file name -> why it was skipped, the sources read)."""
    src = Sources(mirrors)
    built: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for name, (make, _, _) in BUILDERS.items():
        try:
            built[name] = make(src)
        except Missing as exc:
            skipped[name] = str(exc)
    if not skipped:
        built["manifest.json"] = manifest(built, src)
        built["SOURCES.md"] = sources_md(built, src)
    else:
        skipped["manifest.json"] = skipped["SOURCES.md"] = "not every source is here"
    return built, skipped, src


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _origin(key: str) -> str:
    return f"{key} {PYPI[key]}" if key in PYPI else f"{GIT[key][0]}@{GIT[key][1]}"


def manifest(built: dict[str, str], src: Sources) -> str:
    files = {}
    for name, (_, keys, what) in BUILDERS.items():
        files[name] = {"what": what, "sources": [_origin(k) for k in keys],
                       "rows": built[name].count("\n") - 1, "sha256": sha256(built[name])}
    return json.dumps({"format": 1, "pins": {**PYPI, **{k: f"{r}@{c}" for k, (r, c) in GIT.items()}}, "dates": DATES,
                       "files": files}, indent=1, sort_keys=True) + "\n"


def sources_md(built: dict[str, str], src: Sources) -> str:
    lines = ["# Sources of frugal/data", "",
             "Written by `tools/build_data.py` from the pinned sources below; `python tools/build_data.py "
             "--check` (and `tests/test_energy_sources.py`) rebuilds them and compares. Facts carry "
             "over with their licence; no upstream code is copied.", "",
             "## Upstream sources", "", "| source | pinned | date | licence |", "|---|---|---|---|"]
    for key in (*PYPI, *GIT):
        pin = f"PyPI `{key}=={PYPI[key]}`" if key in PYPI else f"`{GIT[key][0]}` @ `{GIT[key][1]}`"
        lines.append(f"| {key} | {pin} | {DATES[key]} | {LICENCES[key]} |")
    lines += ["", "Input files read, with their SHA-256:", ""]
    lines += [f"- {origin} `{path}`: `{digest}`" for (origin, path), digest in sorted(src.read.items())]
    lines += ["", "## Files", "", "| file | what | from | rows | SHA-256 |", "|---|---|---|---|---|"]
    for name, (_, keys, what) in BUILDERS.items():
        lines.append(f"| `{name}` | {what} | {', '.join(keys)} | {built[name].count(chr(10)) - 1} | `{sha256(built[name])}` |")
    lines += ["", "`manifest.json` repeats this table for frugal (`frugal.environment()['data']`).", "",
              "Source tokens in `instances.csv`, `hosts;embodied`. Hosts: `teads` = host vCPUs from CCF's "
              "`data/{aws,gcp,azure}-instances.csv` (after Teads' dataset); `boavizta` = the host of Boavizta's "
              "cloud archetypes (`archetypes/cloud/*.csv` -> `archetypes/server.csv`: its CPU.threads, else "
              "CPU.units x the chip's threads), which also names the chip where CCF names a microarchitecture "
              "only (same family) or several; `series-max` = neither: the largest vCPU count of the series. A "
              "host has at least the guest's vCPUs. Embodied basis, named in every row: `ccf-model` = CCF's "
              "`output/coefficients-*-embodied*.csv` (1,000 kg base server plus memory, CPU, storage and GPU "
              "additions; Azure: mean over the microarchitectures), `ccf-2026` = the AWS 2026 file's platform "
              "figure (t), `preset` = none: frugal's embodied preset applies (`server` on a virtual machine). "
              "Google Cloud's 2026 platform figures (e.g. 8 t for e2-standard, 61,000 t for m2-ultramem) are "
              "not used. `family`: the CCF architecture CCF names (Google Cloud's Microarchitecture column, AWS "
              "hosts named by microarchitecture, Azure's single one), else the host chip's as in `cpus.csv` "
              "(CCF's chip lists `data/<family>.csv`, else Boavizta's code name; server chips only). `cpus.csv` "
              "`source`: empty = CodeCarbon's TDP with Boavizta's counts; `added:` / `corrected:` name the row's "
              "own source. `families.csv`: a placeholder row holds another family's values (its source says "
              "which). Lifetime: CCF's 4-year rack server lifespan.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped files, write nothing")
    parser.add_argument("--mirrors", type=Path, default=None, help="folder of git clones of the git sources")
    args = parser.parse_args(argv)
    mirrors = args.mirrors or Path(os.environ.get("FRUGAL_MIRRORS") or ROOT.parent / ".mirror")
    built, skipped, _ = build(mirrors)
    for name, why in skipped.items():
        print(f"skipped {name}: {why}")
    different = []
    for name, text in built.items():
        path = DATA / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                different.append(name)
        else:
            path.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {path.relative_to(ROOT)} ({len(text.encode())} bytes)")
    if args.check:
        for name in different:
            print(f"DIFFERENT {name}: the shipped file is not what the pinned sources give")
        print(f"{len(built) - len(different)} of {len(built)} built files match" + (f", {len(skipped)} skipped" if skipped else ""))
    return 1 if different else 0


if __name__ == "__main__":
    raise SystemExit(main())
