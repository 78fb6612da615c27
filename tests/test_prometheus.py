"""frugal.prometheus: counters per region name, scraped over HTTP on loopback, checked by promtool
and by a real Prometheus server; they equal frugal.results()'s sums and never go down."""
from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import frugal

prometheus_client = pytest.importorskip("prometheus_client")
import frugal.prometheus as fp  # noqa: E402  (after the skip: the extra may be absent)


def burn(n: int) -> int:
    return sum(i * i for i in range(n))


def measure_some(prefix: str) -> None:
    """Call rows, an error row and summary-mode aggregates under names that start with ``prefix``."""
    work = frugal.measure(name=f"{prefix}.work")(burn)
    for n in (20_000, 40_000, 60_000):
        work(n)

    @frugal.measure(name=f"{prefix}.fails")
    def fails() -> None:
        burn(10_000)
        raise KeyError("x")

    with pytest.raises(KeyError):
        fails()
    summed = frugal.measure(name=f"{prefix}.summed", record="summary")(burn)
    for _ in range(30):
        summed(2_000)


def expected(name: str, frames: list) -> dict[str, float]:
    import pandas as pd

    frame = pd.concat(frames)
    rows = frame[frame["name"] == name]
    return {"energy": float(rows["energy_j"].sum()), "calls": float(rows["calls"].sum())}


def samples(text: str) -> dict[tuple[str, str], float]:
    """{(metric, name label): value} of an exposition."""
    out = {}
    for m in re.finditer(r'^(frugal_\w+)\{name="([^"]*)"\} (\S+)$', text, re.M):
        out[(m.group(1), m.group(2))] = float(m.group(3))
    return out


@pytest.fixture
def server() -> Iterator[str]:
    srv, thread = fp.start_http_server(0)
    try:
        yield f"127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        srv.server_close()


def scrape(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        return str(response.read().decode())


def test_the_scrape_passes_promtool_and_equals_the_results_sums(server: str) -> None:
    """Over HTTP on loopback: promtool accepts the exposition; energy and calls per name equal frugal.results()."""
    measure_some("prom_a")
    text = scrape(server)
    got = samples(text)
    frame = frugal.results()
    for name in ("prom_a.work", "prom_a.fails", "prom_a.summed"):
        rows = frame[frame["name"] == name]
        energy = float(rows["energy_j"].sum())
        assert energy > 0
        assert got[("frugal_energy_joules_total", name)] == pytest.approx(energy, rel=1e-3)
        assert got[("frugal_cpu_seconds_total", name)] == pytest.approx(float(rows["cpu_s"].sum()), rel=1e-3)
        assert got[("frugal_calls_total", name)] == float(rows["calls"].sum())
    assert got[("frugal_calls_total", "prom_a.summed")] == 30
    assert got[("frugal_errors_total", "prom_a.fails")] == 1 and got[("frugal_errors_total", "prom_a.work")] == 0
    for metric in ("carbon_grams", "embodied_grams", "wall_seconds"):
        assert got[(f"frugal_{metric}_total", "prom_a.work")] > 0
    assert "# HELP frugal_energy_joules_total" in text and "# TYPE frugal_energy_joules_total counter" in text
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is absent (Debian's prometheus package; .ci/run installs it)")
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_counters_never_go_down_across_clear(server: str) -> None:
    """Each scrape's counters are at least the last one's, clear() included, and sum every call measured."""
    frugal.clear()      # this test's frames then hold every call of its names
    frames = []
    last: dict[tuple[str, str], float] = {}
    for step in range(3):
        measure_some("prom_b")
        got = samples(scrape(server))
        for key, value in last.items():
            assert got[key] >= value, key
        last = got
        measure_some("prom_b")      # measured after the scrape, forgotten by clear() before the next
        frames.append(frugal.results())
        frugal.clear()              # the exporter counts the rows it forgets first
    got = samples(scrape(server))
    assert all(got[key] >= value for key, value in last.items())
    for name in ("prom_b.work", "prom_b.summed", "prom_b.fails"):
        want = expected(name, frames)
        assert got[("frugal_calls_total", name)] == want["calls"]
        assert got[("frugal_energy_joules_total", name)] == pytest.approx(want["energy"], rel=1e-3)
    assert got[("frugal_calls_total", "prom_b.summed")] == 6 * 30 and got[("frugal_calls_total", "prom_b.work")] == 18


def test_names_past_the_limit_are_summed_under_other_with_one_warning() -> None:
    """With max_names=3, the fourth name on goes to the label "other", said in one warning."""
    frugal.clear()      # the names of earlier tests would take the slots
    registry = prometheus_client.CollectorRegistry()
    fp.register(registry, max_names=3)
    for i in range(6):
        frugal.measure(name=f"prom_c.{i}")(burn)(1_000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = samples(prometheus_client.generate_latest(registry).decode())
        for i in range(6, 9):
            frugal.measure(name=f"prom_c.{i}")(burn)(1_000)
        second = samples(prometheus_client.generate_latest(registry).decode())
    said = [w for w in caught if "summed under the name 'other'" in str(w.message)]
    assert len(said) == 1
    labels = {label for metric, label in second if metric == "frugal_calls_total"}
    assert labels == {"prom_c.0", "prom_c.1", "prom_c.2", "other"}
    assert first[("frugal_calls_total", "other")] == 3 and second[("frugal_calls_total", "other")] == 6


def test_bad_arguments_name_themselves() -> None:
    """max_names and port must be positive ints: the error names the argument."""
    with pytest.raises(ValueError, match="max_names"):
        fp.Collector(max_names=0)
    with pytest.raises(TypeError, match="port"):
        fp.start_http_server("9464")  # type: ignore[arg-type]


def test_without_the_extra_the_error_names_it() -> None:
    """Importing frugal.prometheus without prometheus-client says which extra to install."""
    code = ("import sys; sys.modules['prometheus_client'] = None\n"
            "try:\n    import frugal.prometheus\nexcept ImportError as e:\n    print(e)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install 'frugal[prometheus]'" in proc.stdout, proc.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_prometheus_server_scrapes_it_and_promql_returns_the_same_sum(server: str, tmp_path: Path) -> None:
    """A real Prometheus on loopback scrapes the exporter; a PromQL query returns the name's energy sum."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus is absent (Debian's prometheus package; .ci/run installs it)")
    measure_some("prom_d")
    frame = frugal.results()
    energy = float(frame.loc[frame["name"] == "prom_d.work", "energy_j"].sum())
    config = tmp_path / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: frugal\n"
                      f"    static_configs:\n      - targets: ['{server}']\n")
    port = free_port()
    proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    query = urllib.parse.urlencode({"query": 'frugal_energy_joules_total{name="prom_d.work"}'})
    value = None
    try:
        deadline = time.monotonic() + 30
        while value is None and time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?{query}", timeout=5) as r:
                    result = json.load(r)["data"]["result"]
            except OSError:
                continue        # not listening yet
            if result:
                value = float(result[0]["value"][1])
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert value is not None, err.decode()[-2000:]
    assert value == pytest.approx(energy, rel=1e-3)
