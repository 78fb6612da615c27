"""No network, ever: frugal opens no socket, and the suite's guard covers the processes it starts.

The guard itself lives in ``tests/conftest.py`` and ``tests/_netguard``; these tests show that
a child Python is guarded (and reports), and that measuring, configuring, storing, the
command line and the dashboard create no socket at all, loopback included.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CHILD_CONNECTS = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.connect(("192.0.2.1", 9))          # TEST-NET-1: never routed
except ConnectionRefusedError as exc:
    print("refused:", exc)
try:
    socket.getaddrinfo("example.org", 443)
except ConnectionRefusedError as exc:
    print("refused:", exc)
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
socket.create_connection(server.getsockname()).close()
print("loopback ok")
"""


def test_a_child_python_is_guarded_and_reports_to_the_session(child_network_log):
    """A Python subprocess gets the guard: public addresses are refused and reported, loopback works."""
    proc = subprocess.run([sys.executable, "-c", CHILD_CONNECTS], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("refused: frugal test guard") == 2 and "loopback ok" in proc.stdout
    lines = child_network_log.read_text().splitlines()
    mine = [line for line in lines if "192.0.2.1" in line or "example.org" in line]
    assert len(mine) == 2 and all(line.startswith("pid=") for line in mine)
    # the attempts were this test's own: not a failure of the suite
    child_network_log.write_text("".join(f"{line}\n" for line in lines if line not in mine))


def test_a_multiprocessing_spawn_child_is_guarded(child_network_log, tmp_path):
    """A multiprocessing child started by spawn (a fresh interpreter, as Dask's workers) is guarded too."""
    script = tmp_path / "spawned.py"
    script.write_text(textwrap.dedent("""
        import multiprocessing, socket

        def attempt(queue):
            try:
                socket.getaddrinfo("example.net", 80)
                queue.put("resolved")
            except ConnectionRefusedError:
                queue.put("refused")

        if __name__ == "__main__":
            ctx = multiprocessing.get_context("spawn")
            queue = ctx.Queue()
            p = ctx.Process(target=attempt, args=(queue,))
            p.start()
            print(queue.get(timeout=60))
            p.join()
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "refused"
    lines = child_network_log.read_text().splitlines()
    mine = [line for line in lines if "example.net" in line]
    assert len(mine) == 1
    child_network_log.write_text("".join(f"{line}\n" for line in lines if line not in mine))


EVERYTHING = """
import json, sys, warnings
events = []
def hook(event, args):
    if event.startswith("socket.") and event != "socket.gethostname":
        events.append(f"{event} {args[1:] if event == 'socket.__new__' else args[-1]!r}")
sys.addaudithook(hook)

import frugal
from frugal.cli import parser as cli

frugal.configure(country="FRA", pue=1.3, store=sys.argv[1] + "/lib.db")
@frugal.measure(units=lambda n: n)
def work(n):
    return sum(range(n))
for n in (10_000, 20_000):
    work(n)
with frugal.measure("block"):
    work(5_000)
frugal.compare({"a": lambda: work(1000), "b": lambda: work(2000)}, repeat=3, warmup=1, progress=False)
frugal.flush()
frame = frugal.load(sys.argv[1] + "/lib.db")
frugal.indicators(frame)
frugal.environment()
frugal.report(frame, sys.argv[1] + "/lib.html", progress=False)
frugal.configure(store=None)
codes = [
    cli.main(["run", "--store", sys.argv[1] + "/cli.db", "--", sys.executable, "-c", "pass"]),
    cli.main(["info"]),
    cli.main(["info", "--json"]),
    cli.main(["dashboard", sys.argv[1] + "/cli.db", "-o", sys.argv[1] + "/cli.html"]),
]
print(json.dumps({"codes": codes, "events": events}), file=sys.__stderr__)
"""


@pytest.mark.slow
def test_measuring_storing_the_cli_and_the_dashboard_open_no_socket_at_all(tmp_path):
    """Measure, configure, compare, store, load, report, frugal run/info/dashboard: not one socket is made."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRUGAL_", "CODECARBON_"))}
    proc = subprocess.run([sys.executable, "-c", EVERYTHING, str(tmp_path)], capture_output=True, text=True,
                          timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stderr.strip().splitlines()[-1])
    assert out["codes"] == [0, 0, 0, 0]
    assert out["events"] == []          # no socket created, connected, bound or resolved
    assert Path(tmp_path / "lib.html").stat().st_size > 0 and Path(tmp_path / "cli.html").stat().st_size > 0


EXPORTERS = """
import json, sys
events = []
def hook(event, args):
    if event.startswith("socket.") and event != "socket.gethostname":
        events.append(f"{event} {args[1:] if event == 'socket.__new__' else args[-1]!r}")
sys.addaudithook(hook)

import frugal
loaded = sorted(m for m in ("prometheus_client", "opentelemetry") if m in sys.modules)
import prometheus_client
import frugal.otel, frugal.prometheus
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

registry = prometheus_client.CollectorRegistry()
frugal.prometheus.register(registry)
reader = InMemoryMetricReader()
frugal.otel.instrument(MeterProvider(metric_readers=[reader]))
frugal.measure(name="exported")(sum)(range(1000))
text = prometheus_client.generate_latest(registry).decode()
reader.get_metrics_data()
print(json.dumps({"loaded": loaded, "events": events, "scraped": 'name="exported"' in text}), file=sys.__stderr__)
"""


def test_the_exporters_open_no_socket_until_asked() -> None:
    """With the extras installed: import frugal loads neither; registering, collecting and reading
    the counters (Prometheus registry, OpenTelemetry reader) open no socket; only start_http_server listens."""
    pytest.importorskip("prometheus_client")
    pytest.importorskip("opentelemetry.sdk.metrics")
    proc = subprocess.run([sys.executable, "-c", EXPORTERS], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stderr.strip().splitlines()[-1])
    assert out == {"loaded": [], "events": [], "scraped": True}
