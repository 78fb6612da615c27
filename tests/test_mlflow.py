"""frugal.mlflow: a measured block's footprint logged to MLflow, read back with MlflowClient from
a local tracking store (a folder under tmp_path: no server, no network)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import frugal

# MLflow's usage telemetry would resolve its server (the network guard fails the session):
# off before MLflow is imported, which is when it starts
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
mlflow = pytest.importorskip("mlflow", reason="the extra frugal[mlflow] (in the test extra) is not installed")
from mlflow.tracking import MlflowClient  # noqa: E402

import frugal.mlflow as fm  # noqa: E402

pytestmark = pytest.mark.usefixtures("fresh_log")


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    """A local file tracking store, and no run left active after the test. (MLflow 3 asks for a
    database store, which needs the full mlflow and SQLAlchemy; the folder store is allowed.)"""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    mlflow.set_tracking_uri(uri)
    yield MlflowClient(tracking_uri=uri)
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


def _busy() -> int:
    return sum(range(200_000))


def test_track_logs_the_blocks_footprint_to_the_active_run(tracking):
    """track() logs frugal.energy_j and the other metrics, and the provenance tags, to the run that is active."""
    with mlflow.start_run() as run:
        with fm.track("train") as region:
            _busy()
    m = region.result
    data = tracking.get_run(run.info.run_id).data
    assert data.metrics["frugal.energy_j"] == pytest.approx(m.energy_j)
    assert data.metrics["frugal.carbon_g"] == pytest.approx(m.carbon_g)
    assert data.metrics["frugal.embodied_g"] == pytest.approx(m.embodied_g)
    assert data.metrics["frugal.cpu_s"] == pytest.approx(m.cpu_s)
    assert data.metrics["frugal.wall_s"] == pytest.approx(m.wall_s)
    assert data.metrics["frugal.peak_added_bytes"] == m.peak_added_bytes
    assert data.tags["frugal.energy_method"] == m.energy_method
    assert data.tags["frugal.cpu_power_source"] == m.cpu_power_source
    assert data.tags["frugal.intensity_source"] == m.intensity_source
    assert float(data.tags["frugal.intensity_g_per_kwh"]) == pytest.approx(m.intensity_g_per_kwh)
    assert data.tags["frugal.name"] == "train"


def test_track_without_an_active_run_starts_and_ends_one(tracking):
    """Without an active run, track() starts one named after the block and ends it."""
    with fm.track("fit"):
        assert mlflow.active_run() is not None
        _busy()
    assert mlflow.active_run() is None
    (run,) = tracking.search_runs([tracking.get_experiment_by_name("Default").experiment_id])
    assert run.info.run_name == "fit" and run.info.status == "FINISHED"
    assert run.data.metrics["frugal.energy_j"] > 0


def test_track_logs_a_failing_block_and_lets_its_exception_through(tracking):
    """A block that raises is logged (its energy was spent), its run ends FAILED, and the exception is unchanged."""
    with pytest.raises(KeyError, match="boom"):
        with fm.track("broken"):
            _busy()
            raise KeyError("boom")
    (run,) = tracking.search_runs([tracking.get_experiment_by_name("Default").experiment_id])
    assert run.info.status == "FAILED" and "frugal.energy_j" in run.data.metrics


def test_a_failing_mlflow_store_does_not_break_the_block(tracking, tmp_path):
    """When MLflow cannot start a run (its store is a plain file), the block runs and is measured, with a warning."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    mlflow.set_tracking_uri(blocker.as_uri())
    with pytest.warns(RuntimeWarning, match="not logged to MLflow"):
        with fm.track("kept") as region:
            value = _busy()
    assert value == sum(range(200_000))
    assert region.result.name == "kept" and region.result.energy_j > 0
    assert (frugal.results()["name"] == "kept").any()


def test_log_of_a_frame_sums_each_name(tracking):
    """log(frame) logs each name's sums under frugal.<name>.<metric> when there are several names."""
    @frugal.measure(name="a")
    def a() -> int:
        return _busy()

    @frugal.measure(name="b")
    def b() -> list[int]:
        return sorted(range(50_000))

    for _ in range(3):
        a()
        b()
    frame = frugal.results()
    with mlflow.start_run() as run:
        fm.log(frame)
    data = tracking.get_run(run.info.run_id).data
    for name in ("a", "b"):
        rows = frame[frame["name"] == name]
        assert data.metrics[f"frugal.{name}.energy_j"] == pytest.approx(rows["energy_j"].sum())
        assert data.metrics[f"frugal.{name}.peak_added_bytes"] == rows["peak_added_bytes"].max()


def test_log_refuses_what_is_not_a_measurement_or_a_frame(tracking):
    """log() of anything else is a TypeError naming the argument."""
    with pytest.raises(TypeError, match=r"log\(data=...\)"):
        fm.log({"energy_j": 1.0})


def test_import_frugal_does_not_import_mlflow():
    """import frugal leaves mlflow unimported; frugal.mlflow imports it."""
    code = "import sys, frugal; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_frugal_imports_mlflow_without_its_telemetry(tmp_path):
    """When frugal is what imports MLflow, MLflow's telemetry is off (nothing leaves the machine)."""
    code = ("import frugal.mlflow\n"
            "with frugal.mlflow.track('t'):\n    pass\n"
            "from mlflow.telemetry.utils import is_telemetry_disabled; print(is_telemetry_disabled())")
    # none of the variables by which MLflow guesses a CI or a test run (it is off there anyway)
    quiet = {"MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK", "PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS", "GITLAB_CI",
             "JENKINS_URL", "BUILDKITE", "TF_BUILD", "TRAVIS", "CIRCLECI"}
    env = {k: v for k, v in os.environ.items() if k not in quiet}
    env.update(MLFLOW_TRACKING_URI=(tmp_path / "mlruns").as_uri(), MLFLOW_ALLOW_FILE_STORE="true")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip().splitlines()[-1] == "True"


def test_without_the_extra_frugal_mlflow_names_it():
    """Without mlflow installed, frugal.mlflow is there and its first use says which extra to install."""
    code = ("import sys; sys.modules['mlflow'] = None\n"
            "import frugal\n"
            "try:\n    frugal.mlflow.track('x').__enter__()\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "frugal.mlflow needs the extra: pip install 'frugal[mlflow]'" in out.stdout
