"""frugal.export to CodeCarbon's CSV and to a BoAmps report, frugal.load_codecarbon, and
``frugal export``: the other tool's own classes read what frugal writes (CodeCarbon 3.3.2's
``EmissionsData`` and BoAmps models), and the sums are frugal's."""
from __future__ import annotations

import csv
import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import frugal
from frugal.cli import main
from frugal.interop.codecarbon import COLUMNS

codecarbon = pytest.importorskip("codecarbon", reason="CodeCarbon is in the test extra: pip install -e '.[test]'")
from codecarbon.output_methods.boamps.models import BoAmpsReport  # noqa: E402
from codecarbon.output_methods.emissions_data import EmissionsData  # noqa: E402

pytestmark = pytest.mark.usefixtures("fresh_log")


def _work() -> pd.DataFrame:
    """A frame of two names, one with units and one without, over a few calls each."""
    @frugal.measure(name="sum", units=lambda n: n)
    def total(n: int) -> int:
        return sum(range(n))

    @frugal.measure(name="sort")
    def order(n: int) -> list[int]:
        return sorted(range(n, 0, -1))

    for _ in range(4):
        total(20_000)
        order(10_000)
    return frugal.results()


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


def test_codecarbon_columns_are_emissions_data_fields_in_order():
    """frugal's CodeCarbon columns are EmissionsData's 38 fields, in its order."""
    assert COLUMNS == tuple(f.name for f in dataclasses.fields(EmissionsData))


@pytest.mark.parametrize("per", ["measurement", "name"])
def test_codecarbon_export_rows_build_emissions_data_and_sum_to_frugal(tmp_path, per):
    """Each row of the CSV builds an EmissionsData; its kWh x 3.6e6 and kg x 1000 sum to frugal's J and g."""
    frame = _work()
    out = frugal.export(frame, tmp_path / "emissions.csv", format="codecarbon", per=per)
    with open(out, newline="") as f:
        assert tuple(next(csv.reader(f))) == COLUMNS
    rows = _rows(out)
    assert len(rows) == (len(frame) if per == "measurement" else 2)
    data = [EmissionsData(**row) for row in rows]
    assert _close(sum(float(d.energy_consumed) for d in data) * 3.6e6, frame["energy_j"].sum())
    assert _close(sum(float(d.emissions) for d in data) * 1000, frame["carbon_g"].sum())
    assert _close(sum(float(d.cpu_energy) for d in data) * 3.6e6, frame["energy_cpu_j"].sum())
    assert _close(sum(float(d.duration) for d in data), frame["wall_s"].sum())


def test_codecarbon_export_leaves_unknown_fields_empty(tmp_path):
    """What frugal does not know (water, location, GPU without a GPU) is an empty cell, not a guess."""
    frame = _work()
    rows = _rows(frugal.export(frame, tmp_path / "emissions.csv", format="codecarbon"))
    for col in ("water_consumed", "country_name", "latitude", "codecarbon_version", "experiment_id"):
        assert {r[col] for r in rows} == {""}, col
    if frame["energy_gpu_j"].isna().all():
        assert {r["gpu_energy"] for r in rows} == {""}


def test_load_codecarbon_gives_back_the_exported_energies(tmp_path):
    """load_codecarbon of frugal's own export gives back each row's name, time and energies."""
    frame = _work()
    back = frugal.load_codecarbon(frugal.export(frame, tmp_path / "emissions.csv", format="codecarbon"))
    assert back["name"].tolist() == frame["name"].tolist()
    for col in ("energy_j", "energy_cpu_j", "energy_ram_j", "carbon_g", "wall_s"):
        np.testing.assert_allclose(back[col].to_numpy(float), frame[col].to_numpy(float), rtol=1e-12)
    drift = (back["started_at"] - frame["started_at"]).abs().max()
    assert drift <= pd.Timedelta(microseconds=2)     # the CSV keeps whole microseconds
    assert set(back["energy_method"]) == {"codecarbon"}
    assert back["embodied_g"].isna().all()


def test_load_codecarbon_of_codecarbons_own_file_feeds_indicators_and_report(tmp_path):
    """A file written by CodeCarbon's OfflineEmissionsTracker loads into a frame that indicators() and report() take."""
    tracker = codecarbon.OfflineEmissionsTracker(
        country_iso_code="FRA", project_name="train", output_dir=str(tmp_path), measure_power_secs=1,
        log_level="error", tracking_mode="process")
    for _ in range(2):
        tracker.start()
        deadline = time.perf_counter() + 0.3
        while time.perf_counter() < deadline:
            sum(range(1000))
        tracker.stop()
    frame = frugal.load_codecarbon(tmp_path / "emissions.csv")
    raw = pd.read_csv(tmp_path / "emissions.csv")
    assert len(frame) == len(raw) == 2
    assert set(frame["name"]) == {"train"}
    np.testing.assert_allclose(frame["energy_j"].to_numpy(float), raw["energy_consumed"].to_numpy() * 3.6e6)
    table = frugal.indicators(frame)
    assert table.loc["train", "energy_per_unit_j"] == pytest.approx(frame["energy_j"].mean())
    page = frugal.report(frame, tmp_path / "dashboard.html")
    assert "train" in page.read_text()


def test_load_codecarbon_names_the_missing_columns(tmp_path):
    """A CSV that is not CodeCarbon's is refused with the columns it lacks."""
    path = tmp_path / "other.csv"
    path.write_text("timestamp,project_name,duration\n2025-01-01T00:00:00,x,1.0\n")
    with pytest.raises(ValueError, match=r"not a CodeCarbon emissions file: it has no column 'emissions', "
                                         r"'energy_consumed'"):
        frugal.load_codecarbon(path)


def test_load_codecarbon_reads_an_older_column_set(tmp_path):
    """A 2.x file (fewer columns, no per-part energies) loads; what it lacks is NaN."""
    path = tmp_path / "old.csv"
    path.write_text("timestamp,project_name,run_id,duration,emissions,energy_consumed,country_name\n"
                    "2023-05-01T10:00:10,old,abc,10.0,0.002,0.004,France\n")
    frame = frugal.load_codecarbon(path)
    assert frame.loc[0, "energy_j"] == pytest.approx(0.004 * 3.6e6)
    assert frame.loc[0, "carbon_g"] == pytest.approx(2.0)
    assert frame.loc[0, "intensity_g_per_kwh"] == pytest.approx(500.0)
    assert math.isnan(frame.loc[0, "energy_cpu_j"])
    assert frame.loc[0, "run_id"] == "abc"


@pytest.mark.parametrize("per", ["name", "measurement"])
def test_boamps_export_round_trips_through_codecarbons_models(tmp_path, per):
    """The BoAmps report loads with BoAmpsReport.from_dict, writes back unchanged, and its kWh sum to frugal's energy."""
    frame = _work()
    doc = json.loads(frugal.export(frame, tmp_path / "report.json", format="boamps", per=per).read_text())
    assert BoAmpsReport.from_dict(doc).to_dict() == doc
    total = sum(m["powerConsumption"] for m in doc["measures"])
    assert _close(total * 3.6e6, frame["energy_j"].sum())
    assert len(doc["measures"]) == (2 if per == "name" else len(frame))


def test_export_takes_a_comparison(tmp_path):
    """A Comparison exports its frame."""
    cmp = frugal.compare({"a": lambda: sum(range(1000)), "b": lambda: sorted(range(1000))}, repeat=3, warmup=0)
    rows = _rows(frugal.export(cmp, tmp_path / "emissions.csv", format="codecarbon"))
    assert {r["project_name"] for r in rows} == {"a", "b"}


@pytest.mark.parametrize("kwargs, message", [
    ({"format": "excel"}, r"export\(format=...\) must be one of 'codecarbon'"),
    ({"format": "codecarbon", "per": "run"}, r"per must be one of 'measurement', 'name'"),
    ({"format": "impact-framework"}, r"export\(path=...\): an Impact Framework manifest's name ends in .yml"),
])
def test_export_refuses_bad_arguments(tmp_path, kwargs, message):
    """A bad format, per or manifest name is a ValueError naming the argument."""
    frame = _work()
    with pytest.raises(ValueError, match=message):
        frugal.export(frame, tmp_path / "out.csv", **kwargs)


def test_export_refuses_what_is_not_a_frame(tmp_path):
    """data that is not a frame or a Comparison is a TypeError naming it."""
    with pytest.raises(TypeError, match=r"export\(data=...\) must be a frame"):
        frugal.export([1, 2], tmp_path / "out.csv", format="codecarbon")


def test_export_leaves_a_file_of_another_kind_untouched(tmp_path):
    """An existing file that is not a CodeCarbon export is not replaced without overwrite=True."""
    frame = _work()
    path = tmp_path / "notes.csv"
    path.write_text("mine\n")
    with pytest.raises(ValueError, match="left untouched"):
        frugal.export(frame, path, format="codecarbon")
    assert path.read_text() == "mine\n"


def _store(tmp_path: Path) -> Path:
    path = tmp_path / "frugal.db"
    frugal.configure(store=str(path))
    _work()
    frugal.flush()
    frugal.configure(store=None)
    return path


def test_cli_export_writes_a_stores_measurements(tmp_path, capsys):
    """frugal export STORE -o FILE --format codecarbon writes the store's rows, --name keeps one name."""
    store = _store(tmp_path)
    out = tmp_path / "emissions.csv"
    assert main(["export", str(store), "-o", str(out), "--format", "codecarbon", "--name", "sum"]) == 0
    rows = _rows(out)
    stored = frugal.load(store, name="sum")
    assert len(rows) == len(stored) and {r["project_name"] for r in rows} == {"sum"}
    assert {r["run_id"] for r in rows} == set(stored["run_id"])
    assert _close(sum(float(r["energy_consumed"]) for r in rows) * 3.6e6, stored["energy_j"].sum())
    assert "codecarbon: " in capsys.readouterr().out


def test_cli_export_keeps_one_run(tmp_path):
    """--run keeps the measurements of that run only (a BoAmps report names it)."""
    store = _store(tmp_path)
    run_id = frugal.load(store)["run_id"].iloc[0]
    out = tmp_path / "report.json"
    assert main(["export", str(store), "-o", str(out), "--format", "boamps", "--run", run_id]) == 0
    assert json.loads(out.read_text())["header"]["reportId"] == run_id


def test_cli_export_without_a_store_is_a_usage_error(tmp_path, capsys):
    """A missing store ends in one line and exit status 2."""
    assert main(["export", str(tmp_path / "none.db"), "-o", str(tmp_path / "x.csv"), "--format", "codecarbon"]) == 2
    assert "no frugal store" in capsys.readouterr().err


def test_cli_export_never_writes_over_the_store_it_reads(tmp_path, capsys):
    """-o naming the exported store itself is a usage error even with --force: the store stays."""
    store = _store(tmp_path)
    before = store.read_bytes()
    assert main(["export", str(store), "-o", str(store), "--format", "codecarbon", "--force"]) == 2
    assert "--output" in capsys.readouterr().err and store.read_bytes() == before
