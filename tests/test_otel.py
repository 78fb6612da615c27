"""frugal.otel: observable counters per region name, read through the OpenTelemetry SDK's
InMemoryMetricReader, equal frugal.results()'s sums and never go down."""
from __future__ import annotations

import gc
import subprocess
import sys
from typing import Any, Callable, Iterator

import pytest

import frugal

pytest.importorskip("opentelemetry.sdk.metrics")
import frugal.otel as fo  # noqa: E402  (after the skip: the extra may be absent)
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402


def burn(n: int) -> int:
    return sum(i * i for i in range(n))


def read(reader: InMemoryMetricReader) -> dict[str, Any]:
    """{instrument: ({frugal.name: value}, unit)} of one collection."""
    data = reader.get_metrics_data()
    out = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                points = {p.attributes[fo.ATTRIBUTE]: p.value for p in metric.data.data_points}
                out[metric.name] = (points, metric.unit, metric.data.is_monotonic)
    return out


@pytest.fixture
def provider() -> Iterator[Callable[..., MeterProvider]]:
    """MeterProviders shut down after the test and released: their counters must not go on
    counting the calls of the tests that follow (a provider left for exit would)."""
    made: list[MeterProvider] = []

    def make(reader: InMemoryMetricReader) -> MeterProvider:
        made.append(MeterProvider(metric_readers=[reader], shutdown_on_exit=False))
        return made[-1]

    yield make
    for p in made:
        p.shutdown()
    made.clear()
    gc.collect()


def test_the_counters_equal_the_results_sums_and_never_go_down(provider) -> None:
    """frugal.energy (J), frugal.carbon (g), frugal.cpu.time (s), frugal.calls per frugal.name equal
    frugal.results()'s sums, summary mode and clear() included."""
    frugal.clear()
    reader = InMemoryMetricReader()
    fo.instrument(provider(reader))
    work = frugal.measure(name="otel.work")(burn)
    summed = frugal.measure(name="otel.summed", record="summary")(burn)
    frames = []
    last: dict[str, Any] = {}
    for _ in range(2):
        for n in (20_000, 50_000):
            work(n)
        for _ in range(20):
            summed(1_000)
        got = read(reader)
        for metric, (points, _, _) in last.items():
            assert all(got[metric][0][name] >= value for name, value in points.items())
        last = got
        work(30_000)        # measured after the reading, forgotten by clear(): counted before it goes
        frames.append(frugal.results())
        frugal.clear()
    import pandas as pd

    frame = pd.concat(frames)
    got = read(reader)
    for name in ("otel.work", "otel.summed"):
        rows = frame[frame["name"] == name]
        assert got["frugal.energy"][0][name] == pytest.approx(float(rows["energy_j"].sum()), rel=1e-3)
        assert got["frugal.carbon"][0][name] == pytest.approx(float(rows["carbon_g"].sum()), rel=1e-3)
        assert got["frugal.cpu.time"][0][name] == pytest.approx(float(rows["cpu_s"].sum()), rel=1e-3)
        assert got["frugal.calls"][0][name] == float(rows["calls"].sum())
    assert got["frugal.calls"][0]["otel.summed"] == 40 and got["frugal.calls"][0]["otel.work"] == 6
    assert [got[m][1] for m in ("frugal.energy", "frugal.carbon", "frugal.cpu.time")] == ["J", "g", "s"]
    assert all(monotonic for _, _, monotonic in got.values())


def test_names_past_the_limit_are_summed_under_other(provider) -> None:
    """With max_names=2 the third name on is reported as frugal.name="other"."""
    frugal.clear()
    reader = InMemoryMetricReader()
    with pytest.warns(RuntimeWarning, match="summed under the name 'other'"):
        fo.instrument(provider(reader), max_names=2)
        for i in range(5):
            frugal.measure(name=f"otel_c.{i}")(burn)(100)
        calls = read(reader)["frugal.calls"][0]
    assert calls == {"otel_c.0": 1, "otel_c.1": 1, "other": 3}


def test_without_the_extra_the_error_names_it() -> None:
    """Importing frugal.otel without opentelemetry-api says which extra to install."""
    code = ("import sys; sys.modules['opentelemetry'] = None\n"
            "try:\n    import frugal.otel\nexcept ImportError as e:\n    print(e)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install 'frugal[otel]'" in proc.stdout, proc.stderr
