"""frugal's pytest plugin (entry point ``pytest11``): per-test footprints, budgets, baselines.

Inactive unless asked: without ``--frugal``/``--frugal-save``/``--frugal-compare`` and
without a ``frugal`` marker it measures nothing, prints nothing and writes nothing.

- ``pytest --frugal [--frugal-top N]``: the footprint of every test's call phase, and a
  table of the top N by energy at the end of the run.
- ``@pytest.mark.frugal(max_energy_j=5, max_cpu_s=0.5, max_peak_added_bytes="50 MB")``: the test
  fails when it goes over a budget ("used 7.1 J, budget 5 J").
- ``--frugal-save NAME`` then ``--frugal-compare NAME --frugal-compare-fail=energy_j:10%``:
  baselines in ``<rootdir>/.frugal/baselines/NAME.json``, each test's call phase run
  ``--frugal-runs`` times (5); a test fails only when it grew past the threshold and
  significantly so, and one too short for the clocks is reported as not gated.
- ``--frugal-store PATH`` (or ``FRUGAL_STORE`` with one of the options above): every measured
  test call is also stored in a frugal store, named by the test's node id, with the run's git
  commit and branch, so that the store's history follows the test suite across commits.
- the ``frugal_measure`` fixture for explicit regions inside a test.
- ``pytest --frugal-profile [DIR] [--frugal-profile-top N]``: an energy flame graph per test.
"""
from __future__ import annotations

import pytest

from frugal.pytest_plugin.fixture import frugal_measure
from frugal.pytest_plugin.marks import MARKERS, marker_help
from frugal.pytest_plugin.profiling import ProfilePlugin, add_options as add_profile_options
from frugal.pytest_plugin.session import FrugalPlugin


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("frugal", "frugal: what each test costs (time, CPU, memory, energy, carbon)")
    group.addoption("--frugal", action="store_true", default=False,
                    help="measure the call phase of every test and print a footprint table at the end")
    group.addoption("--frugal-top", type=int, default=10, metavar="N",
                    help="rows of the footprint table, the tests using the most energy (0: all; default 10)")
    group.addoption("--frugal-save", metavar="NAME", default=None,
                    help="save every passed test's footprint into baseline NAME (.frugal/baselines/NAME.json); "
                         "the tests of the baseline not passed this session keep their saved footprints")
    group.addoption("--frugal-compare", metavar="NAME", default=None,
                    help="compare every test's footprint with baseline NAME (shown in the table)")
    group.addoption("--frugal-compare-fail", metavar="METRIC:AMOUNT", action="append", default=[],
                    help="fail a test whose METRIC grew past AMOUNT over the baseline, significantly "
                         "(the bootstrap interval of the ratio of medians lies above it): a percentage "
                         "(energy_j:10%%) or an amount in the metric's unit (cpu_s:0.05); repeatable")
    group.addoption("--frugal-store", metavar="PATH", default=None,
                    help="measure every test and store each measured call in the frugal store PATH, named by "
                         "the test's node id, with the git commit and branch of the run (FRUGAL_STORE stores "
                         "the tests that --frugal, a baseline or a marker measures)")
    group.addoption("--frugal-runs", type=int, default=None, metavar="N",
                    help="runs of each passed test's call phase when saving or comparing a baseline, "
                         "with the same fixtures (default 5; the gate needs 5 or more)")
    add_profile_options(group)


def pytest_configure(config: pytest.Config) -> None:
    for name in MARKERS:
        config.addinivalue_line("markers", marker_help(name))
    config.pluginmanager.register(FrugalPlugin(config), "frugal-session")
    if config.option.frugal_profile is not None:
        config.pluginmanager.register(ProfilePlugin(config), "frugal-profile")


__all__ = ["FrugalPlugin", "frugal_measure", "pytest_addoption", "pytest_configure"]
