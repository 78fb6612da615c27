"""The data of issue 29: CPU architectures (families) with CCF's coefficients, a family for CPU models
and instance types, every instance type usable, and the CPU rows the sources got wrong."""
from __future__ import annotations

import csv
import io
import os
import subprocess
from pathlib import Path

import pytest

from frugal import data
from frugal.machine import hardware

MIRRORS = Path(os.environ.get("FRUGAL_MIRRORS") or Path(__file__).resolve().parent.parent.parent / ".mirror")
CCF = ("cloud-carbon-footprint+ccf-coefficients", "b0032d928c787cf76cecd7d1d611c5b46f366e29")


def _ccf_use(provider: str) -> list[dict[str, str]]:
    """CCF's use coefficients of one provider at the pinned commit (skip where no mirror is here)."""
    folder = MIRRORS / CCF[0] / "repo"
    if not folder.exists():
        pytest.skip(f"no mirror of ccf-coefficients under {MIRRORS} (set FRUGAL_MIRRORS)")
    out = subprocess.run(["git", f"--git-dir={folder}", "show", f"{CCF[1]}:output/coefficients-{provider}-use.csv"],
                         capture_output=True, text=True, check=True)
    return list(csv.DictReader(io.StringIO(out.stdout)))


@pytest.mark.parametrize("provider", ["aws", "azure", "gcp"])
def test_families_are_ccfs_use_coefficients_exactly(provider):
    """Every row of CCF's use coefficients is in families() with the same floats, and nothing else is."""
    theirs = {(provider, r["Architecture"]): (float(r["Min Watts"]), float(r["Max Watts"])) for r in _ccf_use(provider)}
    ours = {key: value[:2] for key, value in data.families().items() if key[0] == provider}
    assert ours == theirs


def test_graviton_rows_are_placeholders_naming_the_family_they_copy():
    """CCF gives every Graviton EPYC 2nd Gen's values: each is flagged a placeholder and names what it copies."""
    fams = data.families()
    gravitons = [k for k in fams if k[0] == "aws" and k[1].startswith("Graviton")]
    assert len(gravitons) == 4
    for key in gravitons:
        min_w, max_w, placeholder, source = fams[key]
        assert placeholder and "placeholder: EPYC 2nd Gen values" in source
        assert (min_w, max_w) == fams[("aws", "EPYC 2nd Gen")][:2]
    assert not any(p for k, (_, _, p, _) in fams.items() if not k[1].startswith("Graviton"))


def test_the_model_can_reproduce_ccfs_formula_for_every_aws_family():
    """min + u x (max - min) from families() is CCF's figure within 1e-9 W at u = 0, 0.25, 0.5, 1."""
    for r in _ccf_use("aws"):
        min_w, max_w, _, _ = data.families()[("aws", r["Architecture"])]
        for u in (0.0, 0.25, 0.5, 1.0):
            ccf = float(r["Min Watts"]) + u * (float(r["Max Watts"]) - float(r["Min Watts"]))
            assert abs(min_w + u * (max_w - min_w) - ccf) < 1e-9


def _on_default(inst: data.Instance) -> bool:
    """No family and no host chip with TDP and threads: the 4 W default is all that is left."""
    row = hardware.match_cpu(inst.cpu_model)
    return not inst.family and (row is None or not row.threads)


def test_at_most_a_tenth_of_the_instance_types_fall_to_the_default():
    """Before issue 29, 1,221 of 1,490 instance types (82%) fell to the 4 W default; now at most 10%."""
    table = list(data.instances().values())
    on_default = [i.instance_type for i in table if _on_default(i)]
    assert len(on_default) <= 0.10 * len(table), f"{len(on_default)} of {len(table)} on the default"


@pytest.mark.parametrize("kind, family", [
    ("c7g.large", "Graviton3"), ("m6g.large", "Graviton2"), ("c6i.large", "Ice Lake"),
    ("Standard_D2as_v4", "EPYC 2nd Gen"), ("Standard_D2s_v5", "Ice Lake"), ("m7i.large", "Sapphire Rapids"),
    ("n2d-standard-2", "EPYC 2nd Gen"), ("c3-standard-4", "Sapphire Rapids"),
])
def test_instance_types_resolve_to_a_family(kind, family):
    """Hosts named by microarchitecture only, Graviton and Azure v4/v5 sizes resolve to a CCF family."""
    inst = data.instances()[data.instance_key(hardware.resolve_instance(kind))]
    assert inst.family == family
    assert any(f == family for _, f in data.families())


@pytest.mark.parametrize("kind, threads", [
    ("e2-standard-2", 56), ("n2-standard-2", 144), ("n2d-standard-2", 256), ("c2-standard-4", 72), ("c3-standard-4", 224),
])
def test_google_hosts_have_the_hosts_threads_not_the_largest_guests(kind, threads):
    """Host threads come from Boavizta's server archetypes, not from the largest VM of the series."""
    assert data.instances()[kind].host_threads == threads


def test_every_instance_row_names_its_embodied_basis():
    """Each row's source ends with its embodied basis: CCF's model, CCF's 2026 figure, or the preset."""
    for inst in data.instances().values():
        assert inst.source.split(";")[-1] in ("ccf-model", "ccf-2026", "preset"), inst
        assert (inst.platform_te_g is None) == (inst.source.endswith(";preset")), inst


def test_xeon_8272cl_has_52_threads_per_package():
    """Xeon Platinum 8272CL: 26 cores / 52 threads per package (the table held two sockets' 52/104)."""
    row = hardware.match_cpu("Intel(R) Xeon(R) Platinum 8272CL CPU @ 2.60GHz")
    assert row is not None and (row.cores, row.threads, row.family) == (26, 52, "Cascade Lake")
    assert row.source.startswith("corrected")


@pytest.mark.parametrize("brand, watts", [
    ("13th Gen Intel(R) Core(TM) i5-1335U", 15.0), ("12th Gen Intel(R) Core(TM) i7-1270P", 28.0),
    ("12th Gen Intel(R) Core(TM) i7-12700K", 125.0), ("Intel(R) Core(TM) m3-8114Y CPU @ 1.50GHz", 5.0),
    ("12th Gen Intel(R) Core(TM) i7-1255U", 15.0), ("12th Gen Intel(R) Core(TM) i7-1260P", 28.0),
    ("12th Gen Intel(R) Core(TM) i5-12400", 65.0), ("13th Gen Intel(R) Core(TM) i7-13700H", 45.0),
])
def test_laptop_and_desktop_chips_carry_base_power(brand, watts):
    """Corrected and added Intel chips carry processor base power, not maximum turbo power."""
    row = hardware.match_cpu(brand)
    assert row is not None and row.tdp_w == watts and row.threads


@pytest.mark.parametrize("brand", ["Apple M1 Pro", "Apple M1 Max", "Apple M1 Ultra", "Intel Xeon E5-2676 v3"])
def test_a_word_after_the_model_is_part_of_the_model(brand):
    """"Apple M1 Pro" is not "Apple M1": a brand string's trailing model words are never dropped."""
    row = hardware.match_cpu(brand)
    assert row is None or hardware.clean(row.name) == hardware.clean(brand)


def test_threads_are_kept_where_boavizta_gives_no_cores():
    """CPU models whose threads Boavizta gives without cores keep their threads (258 were dropped)."""
    alone = [r for r in data.cpu_table() if r.threads and r.cores is None]
    assert len(alone) >= 250


def test_server_chips_have_a_family_and_laptop_chips_none():
    """A server chip's CCF architecture comes with its row; a laptop chip has none."""
    assert hardware.match_cpu("AMD EPYC 7763").family == "EPYC 3rd Gen"
    assert hardware.match_cpu("Intel Xeon Gold 6130").family == "Skylake"
    assert hardware.match_cpu("Intel Core i7-8650U").family == ""
    families = {f for _, f in data.families()}
    assert {r.family for r in data.cpu_table()} <= families | {""}
