"""A frugal install: ``pip install .`` without extras in a fresh environment brings at most 20
packages and 300 MB, no scipy, CodeCarbon or pycountry, and frugal works there without them.

The rest of the suite runs with the ``test`` extra, CodeCarbon included; this module is the
suite's run without it. It needs a package index (as installing the suite itself does): pip
runs outside the no-network guard, frugal inside the new environment runs under it.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow   # a fresh venv from the package index: not in the quick tier

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("install_size", ROOT / "benchmarks" / "install_size.py")
install_size = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(install_size)

_NETWORK = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable",
            "Failed to establish a new connection", "Max retries exceeded")


@pytest.fixture(scope="module")
def lean(tmp_path_factory):
    """The python of a fresh virtual environment where only ``pip install <this checkout>`` ran."""
    folder = tmp_path_factory.mktemp("lean") / "venv"
    try:
        return install_size.venv(folder, str(ROOT))
    except RuntimeError as exc:
        if any(word in str(exc) for word in _NETWORK):
            pytest.skip(f"no package index reachable to build a fresh environment: {str(exc)[-300:]}")
        raise


def _run(python: Path, code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRUGAL_")}   # the guard stays on PYTHONPATH
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_plain_install_is_at_most_20_packages_and_300_mb(lean):
    """pip install . gives <= 20 packages (pip and setuptools aside), <= 300 MB, none of scipy, codecarbon, pycountry."""
    names, size = install_size.footprint(lean)
    assert "frugal" in names and len(names) <= 20, names
    assert size <= 300e6, f"{size / 1e6:.1f} MB"
    assert not set(names) & {"scipy", "codecarbon", "pycountry"}


def test_frugal_demo_works_without_extras(lean, tmp_path):
    """frugal demo compares, stores and writes its dashboard in the plain install."""
    frugal = lean.parent / "frugal"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRUGAL_")}
    out = subprocess.run([str(frugal), "demo", "--repeat", "3", "--size", "60", "--out", str(tmp_path / "demo")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "dashboard written" in out.stdout
    assert (tmp_path / "demo" / "dashboard.html").stat().st_size > 10_000
    assert (tmp_path / "demo" / "frugal.db").stat().st_size > 0


def test_country_intensity_and_codecarbon_hint_without_extras(lean, tmp_path):
    """configure(country='FR') gives France's intensity with its source; energy='codecarbon' says how to get it."""
    out = _run(lean, """
import json, frugal
frugal.configure(country="FR")
env = frugal.environment()
with frugal.measure("x") as m:
    sum(range(10_000))
try:
    frugal.configure(energy="codecarbon")
    hint = None
except frugal.FrugalError as exc:
    hint = str(exc)
import sys
print(json.dumps({"g": env["intensity_g_per_kwh"], "source": env["intensity_source"], "row": m.result.intensity_source,
                  "cpu": m.result.cpu_power_source, "hint": hint,
                  "loaded": sorted(k for k in ("codecarbon", "pycountry", "scipy") if k in sys.modules)}))
""", tmp_path)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["g"] == 56.039
    assert got["source"] == got["row"] == "France (FRA): life-cycle 2023 (Our World in Data / Ember via CodeCarbon 3.3.2)"
    assert got["cpu"] and got["loaded"] == []
    assert "pip install 'frugal[codecarbon]'" in got["hint"]
