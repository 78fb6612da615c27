"""Nothing leaves the machine, and the CodeCarbon cross-check back-end works offline.

Each check runs in a fresh interpreter with a PEP 578 audit hook installed before frugal
is imported, recording every socket connection, send and name resolution it attempts.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_PRELUDE = """
import json, sys
events = []
def hook(event, args):
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
                 "socket.gethostbyname", "socket.gethostbyaddr"):
        events.append(f"{event} {args[-1] if event.startswith('socket.connect') else args[0]!r}")
sys.addaudithook(hook)
import time
import frugal, frugal.core.settings
frugal.core.settings.init_from_env()
def busy(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
"""


def _run(body: str, prelude: str = "", **env_vars: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRUGAL_", "CODECARBON_"))}
    env.update(env_vars)
    out = subprocess.run([sys.executable, "-c", prelude + _PRELUDE + body], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    got["stderr"] = out.stderr
    return got


@pytest.mark.slow
def test_measuring_configuring_and_environment_open_no_socket():
    """Measuring, configuring, reading results and environment() attempt no network access at all."""
    got = _run("""
frugal.configure(country="FR", region=None, pue=1.2, embodied="laptop")
@frugal.measure
def work():
    busy(0.05)
work()
with frugal.measure("block") as m:
    busy(0.05)
m.result
frugal.results()
str(frugal.environment())
frugal.configure(country="USA", region="Texas")
work()
frugal.results()
print(json.dumps({"events": events, "codecarbon": "codecarbon" in sys.modules}))
""")
    assert got["events"] == []
    assert got["codecarbon"] is False  # the model path reads CodeCarbon's files, never imports it


@pytest.mark.slow
def test_codecarbon_backend_meters_regions_offline():
    """energy='codecarbon' meters regions through one offline tracker (no socket, no file); a forked child models."""
    got = _run("""
import os
before = set(os.listdir("."))
frugal.configure(energy="codecarbon", country="FR", pue=1.5)
with frugal.measure("busy") as m:
    busy(0.3)
with frugal.measure("nested-outer") as outer:
    with frugal.measure("nested-inner") as inner:
        busy(0.1)
r, o, i = m.result, outer.result, inner.result
from frugal.machine.probes.codecarbon import shared_meter
read_end, write_end = os.pipe()
if os.fork() == 0:  # the parent's tracker is not the child's: the child's regions are modelled
    with frugal.measure("in-child") as c:
        busy(0.01)
    os.write(write_end, c.result.energy_method.encode())
    os._exit(0)
os.wait()
child_method = os.read(read_end, 100).decode()
print(json.dumps({"events": events, "method": r.energy_method, "cpu_j": r.energy_cpu_j,
                  "ram_j": r.energy_ram_j, "energy_j": r.energy_j, "outer": o.energy_j, "inner": i.energy_j,
                  "same_tracker": shared_meter() is frugal.core.span.active().meter, "child": child_method,
                  "new_files": sorted(set(os.listdir(".")) - before)}))
""")
    assert got["events"] == [] and got["new_files"] == []
    assert got["stderr"] == ""          # no line from CodeCarbon: offline, country given, quiet
    assert got["method"] == "codecarbon" and got["same_tracker"] and got["child"] == "model"
    assert got["cpu_j"] > 0 and got["ram_j"] > 0
    assert got["energy_j"] == pytest.approx((got["cpu_j"] + got["ram_j"]) * 1.5)
    assert got["outer"] >= got["inner"] > 0  # nested regions difference the same cumulative counters


@pytest.mark.slow
def test_codecarbon_backend_without_a_country_is_quiet():
    """With no country and a UTC time zone, CodeCarbon gets a country label and prints nothing (no WLD error)."""
    got = _run("""
frugal.configure(energy="codecarbon")
with frugal.measure("busy") as m:
    busy(0.05)
print(json.dumps({"events": events, "method": m.result.energy_method,
                  "meter": frugal.environment()["meters"]["in use"]}))
""", TZ="Etc/UTC")
    assert got["events"] == [] and got["stderr"] == ""
    assert got["method"] == "codecarbon" and "country USA (no country set or found: a label only)" in got["meter"]


_NO_CODECARBON = "import sys\nsys.modules['codecarbon'] = None   # as if the extra were not installed\n"


def test_codecarbon_backend_without_the_extra_says_how_to_install_it():
    """Without CodeCarbon, energy='codecarbon' raises FrugalError saying pip install 'frugal[codecarbon]';
    the model path works, and FRUGAL_ENERGY=codecarbon is reported at first use, naming the variable."""
    got = _run("""
try:
    frugal.configure(energy="codecarbon")
    error = None
except frugal.FrugalError as exc:
    error = str(exc)
frugal.configure(country="FR")
with frugal.measure("x") as m:
    busy(0.01)
print(json.dumps({"error": error, "method": m.result.energy_method, "energy": frugal.configure().energy}))
""", prelude=_NO_CODECARBON)
    assert "pip install 'frugal[codecarbon]'" in got["error"]
    assert got["method"] == "model" and got["energy"] == "auto"
    got = _run("""
with frugal.measure("kept") as m:
    pass
try:
    frugal.configure()
    error = None
except ValueError as exc:
    error = str(exc)
print(json.dumps({"error": error}))
""", prelude=_NO_CODECARBON, FRUGAL_ENERGY="codecarbon")
    assert "FRUGAL_ENERGY='codecarbon'" in got["error"] and "pip install 'frugal[codecarbon]'" in got["error"]
