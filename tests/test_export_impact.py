"""frugal.export(format="impact-framework"): the Green Software Foundation's ``if-run`` (npm
``@grnsft/if`` 1.1, installed by .ci/run) computes the manifest as it is, and its SCI is frugal's
carbon per functional unit."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import frugal

pytestmark = pytest.mark.usefixtures("fresh_log")
IF_RUN = shutil.which("if-run")
needs_if_run = pytest.mark.skipif(IF_RUN is None, reason="if-run is not installed (npm install -g @grnsft/if@1.1.0, "
                                                         "as .ci/run does)")


def _work():
    @frugal.measure(name="sum", units=lambda n: n)
    def total(n: int) -> int:
        return sum(range(n))

    @frugal.measure(name="sort")
    def order(n: int) -> list[int]:
        return sorted(range(n, 0, -1))

    for n in (10_000, 20_000, 40_000):
        total(n)
        order(n)
    return frugal.results()


def _if_run(manifest, tmp_path):
    """The children of the tree that if-run computed from ``manifest`` (its output is YAML)."""
    out = tmp_path / "computed"
    proc = subprocess.run([IF_RUN, "--manifest", str(manifest), "--output", str(out)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    yaml = pytest.importorskip("yaml", reason="PyYAML reads if-run's output")
    return yaml.safe_load((tmp_path / "computed.yaml").read_text())["tree"]["children"]


@needs_if_run
def test_if_run_sci_per_name_is_frugals_carbon_per_unit(tmp_path):
    """With one input per name, if-run's sci for each name equals frugal's gCO2e per unit within 0.1%."""
    frame = _work()
    manifest = frugal.export(frame, tmp_path / "frugal.yml", format="impact-framework", per="name")
    children = _if_run(manifest, tmp_path)
    table = frugal.indicators(frame)
    assert set(children) == {"sum", "sort"}
    for name, child in children.items():
        (output,) = child["outputs"]
        assert output["sci"] == pytest.approx(table.loc[name, "carbon_per_unit_g"], rel=1e-3), name


@needs_if_run
def test_if_run_computes_every_measurement(tmp_path):
    """With one input per measurement, if-run computes carbon and sci for each, and its totals give frugal's SCI."""
    frame = _work()
    manifest = frugal.export(frame, tmp_path / "frugal.yml", format="impact-framework")
    children = _if_run(manifest, tmp_path)
    table = frugal.indicators(frame)
    for name, child in children.items():
        rows = frame[frame["name"] == name]
        assert len(child["outputs"]) == len(rows)
        for out, (_, row) in zip(child["outputs"], rows.iterrows()):
            assert out["carbon"] == pytest.approx(row["carbon_g"] + row["embodied_g"], rel=1e-9)
        totals = child["aggregated"]
        assert totals["carbon"] / totals["functional-units"] == pytest.approx(
            table.loc[name, "carbon_per_unit_g"], rel=1e-3)


def test_manifest_is_json_and_names_the_builtins(tmp_path):
    """The manifest (JSON, which YAML reads) has one child per name and the Sum and Sci builtins."""
    frame = _work()
    doc = json.loads(frugal.export(frame, tmp_path / "frugal.yml", format="impact-framework").read_text())
    plugins = doc["initialize"]["plugins"]
    assert {p["method"] for p in plugins.values()} == {"Sum", "Sci"}
    assert set(doc["tree"]["children"]) == {"sum", "sort"}
    first = doc["tree"]["children"]["sum"]["inputs"][0]
    assert first["duration"] >= 1 and first["wall-time"] == pytest.approx(frame["wall_s"].iloc[0])


def test_manifest_refuses_rows_without_embodied_carbon(tmp_path):
    """A frame whose carbon is partly unknown (CodeCarbon's, without embodied carbon) is refused, not half-computed."""
    frame = _work()
    frame["embodied_g"] = float("nan")
    with pytest.raises(ValueError, match="needs embodied_g on every row"):
        frugal.export(frame, tmp_path / "frugal.yml", format="impact-framework")
