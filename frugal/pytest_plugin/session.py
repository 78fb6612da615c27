"""The plugin's state and hooks: which tests to measure, budgets, baselines, the footprint table.

What is measured is the *call* phase of a test: the test function's body, as pytest runs it
(with whatever plugin runs ``async def`` tests), not its fixtures' setup and teardown, which
are shared between tests and would be charged to whichever test happened to create them.
When a baseline is saved or compared, a test that passed is run again (``--frugal-runs``
times in all, with the same fixtures) so that its footprint is a distribution; budgets
hold the first run. A footprint travels with the test's report (``user_properties``), so
the table and the baseline also work when another process ran the test.

With a store set (``--frugal-store PATH``, or ``FRUGAL_STORE``), the measured calls go to it
as every frugal measurement does: through the process's default store, as one run with the
git commit and branch of the working directory, each call named by the test's node id.
"""
from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any, Generator

import pytest

from frugal.analysis.thresholds import METRICS, Threshold, parse_threshold
from frugal.pytest_plugin import baseline as baselines
from frugal.pytest_plugin.marks import Limit, parse_marks
from frugal.core.measure import measure
from frugal._version import __version__
from frugal.core.settings import configure, current as current_settings
from frugal.errors import FrugalError
from frugal.store.default import flush
from frugal.store.run_info import git_info
from frugal.text import table
from frugal.units import counted, format_change, format_quantity

LIMITS = pytest.StashKey[tuple[Limit, ...]]()
REGIONS = pytest.StashKey[list[dict[str, Any]]]()
PROPERTY = "frugal"
OUTCOMES = (pytest.fail.Exception, pytest.skip.Exception, pytest.xfail.Exception)


def footprint(m: Any) -> dict[str, Any]:
    """The JSON-able summary of one Measurement kept per test.

    ``peak_added_bytes`` is the memory the region added: its resident high point above what
    the process held when it began, without pytest's own memory.
    """
    return {
        "name": m.name, "status": m.status, "wall_s": m.wall_s, "cpu_s": m.cpu_s,
        "peak_rss_bytes": m.peak_rss_bytes, "peak_added_bytes": m.peak_added_bytes, "energy_j": m.energy_j,
        "carbon_g": m.carbon_g, "embodied_g": m.embodied_g, "energy_method": m.energy_method,
        "intensity_g_per_kwh": m.intensity_g_per_kwh, "intensity_source": m.intensity_source,
    }


def combined(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One footprint for several runs of a test: the median of each metric, and every run's
    values under ``runs`` (what a baseline keeps and the gate compares)."""
    if len(runs) == 1:
        return runs[0]
    out = dict(runs[0])
    out["runs"] = {}
    for metric in METRICS:
        values = [r.get(metric) for r in runs]
        known = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
        out["runs"][metric] = known
        out[metric] = statistics.median(known) if known else None
    return out


class FrugalPlugin:
    """Registered once per run; inactive (measures and prints nothing) unless asked."""

    def __init__(self, config: pytest.Config) -> None:
        opt = config.option
        self.config = config
        self.measure_all = bool(opt.frugal or opt.frugal_save or opt.frugal_compare or opt.frugal_store)
        self.top: int = opt.frugal_top
        self.runs: int = opt.frugal_runs if opt.frugal_runs is not None else (
            baselines.RUNS if opt.frugal_save or opt.frugal_compare else 1)
        self.save_path: Path | None = None
        self.compare_name: str | None = opt.frugal_compare
        self.baseline: dict[str, dict[str, Any]] | None = None
        self.thresholds: list[Threshold] = []
        self.footprints: dict[str, dict[str, Any]] = {}
        self.passed: set[str] = set()
        self.saved: str | None = None
        self.not_gated: dict[str, list[str]] = {}
        self.store: Path | None = None          # set by --frugal-store
        self.store_before: tuple[str | None] | None = None   # the store setting to restore at the end
        self.stored: str | None = None
        try:
            self._read_options(config)
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None

    def _read_options(self, config: pytest.Config) -> None:
        opt = config.option
        if self.top < 0:
            raise ValueError(f"--frugal-top={self.top}: must be >= 0 (0 shows every test)")
        if self.runs < 1:
            raise ValueError(f"--frugal-runs={self.runs}: must be >= 1")
        for text in opt.frugal_compare_fail or ():
            for part in filter(None, (p.strip() for p in text.split(","))):
                self.thresholds.append(parse_threshold(part))
        if self.thresholds and not opt.frugal_compare:
            raise ValueError("--frugal-compare-fail needs --frugal-compare NAME (the baseline to compare with)")
        if opt.frugal_save:
            self.save_path = baselines.baseline_path(config.rootpath, opt.frugal_save, "--frugal-save")
        if opt.frugal_compare:
            path = baselines.baseline_path(config.rootpath, opt.frugal_compare, "--frugal-compare")
            self.baseline = baselines.load(path, "--frugal-compare")
        if self.measure_all:
            before = current_settings().store  # bad FRUGAL_* settings stop the run now, not in every test
            if opt.frugal_store:
                self._set_store(config, opt.frugal_store, before)

    def _set_store(self, config: pytest.Config, given: str, before: str | None) -> None:
        """Make ``given`` (relative to where pytest was started) the process's store: refused at
        once when it is not a frugal store or cannot be created."""
        path = Path(config.invocation_params.dir, given)
        try:
            configure(store=str(path))
        except (FrugalError, OSError, TypeError, ValueError) as exc:
            raise ValueError(f"--frugal-store={given}: {exc}") from None
        self.store, self.store_before = path, (before,)

    # --- collection: bad budgets fail the collection of their module -----------------
    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Generator[None, Any, Any]:
        report = yield
        if report.passed and report.result:
            for node in report.result:
                if not isinstance(node, pytest.Item) or node.get_closest_marker("frugal") is None:
                    continue
                try:
                    node.stash[LIMITS] = parse_marks("frugal", list(node.iter_markers("frugal"))[::-1],
                                                     node.nodeid)
                except (TypeError, ValueError) as exc:
                    report.outcome = "failed"
                    report.longrepr = str(exc)
                    report.result = []
                    break
        return report

    # --- the call phase ---------------------------------------------------------------
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        limits = item.stash.get(LIMITS, None)
        if limits is None and not self.measure_all:
            return (yield)
        region = measure(item.nodeid)
        try:
            with region:
                result = yield
        except BaseException:
            first = self._footprint(item, region)
            if first is not None:
                item.user_properties.append((PROPERTY, first))
            raise
        first = used = self._footprint(item, region)
        if first is not None and self._repeated(item):
            used = combined([first] + self._again(item))
        if used is not None:
            item.user_properties.append((PROPERTY, used))
        self._check(item, first, used, limits or ())
        return result

    @staticmethod
    def _footprint(item: pytest.Item, region: Any) -> dict[str, Any] | None:
        try:
            used = footprint(region.result)
        except FrugalError:
            return None  # the hot path has already warned why
        regions = item.stash.get(REGIONS, None)
        if regions:
            used["regions"] = list(regions)
        return used

    def _repeated(self, item: pytest.Item) -> bool:
        """Run again: saving a baseline, or comparing a test the baseline knows."""
        if self.runs < 2:
            return False
        return self.save_path is not None or (self.baseline is not None and item.nodeid in self.baseline)

    def _again(self, item: pytest.Item) -> list[dict[str, Any]]:
        """``runs - 1`` more measured runs of the test's call phase; stops at the first that
        fails (the test passed once: it is then gated on the runs that passed, and says so)."""
        regions = item.stash.get(REGIONS, None)
        kept = len(regions) if regions is not None else 0
        out: list[dict[str, Any]] = []
        for _ in range(self.runs - 1):
            region = measure(item.nodeid)
            try:
                with region:
                    item.runtest()
            except (Exception, *OUTCOMES) as exc:
                self.not_gated.setdefault(item.nodeid, []).append(
                    f"run {len(out) + 2} of {self.runs} failed ({type(exc).__name__}): the test does not "
                    f"run twice alike, so it is measured on {len(out) + 1} run(s)")
                break
            finally:
                if regions is not None:
                    del regions[kept:]     # regions of the first run only
            try:
                out.append(footprint(region.result))
            except FrugalError:
                break
        return out

    def _check(self, item: pytest.Item, first: dict[str, Any] | None, used: dict[str, Any] | None,
               limits: tuple[Limit, ...]) -> None:
        """Fail a test that passed but went over a budget (first run) or grew past the baseline."""
        checks = bool(limits) or (self.thresholds and self.baseline is not None
                                  and item.nodeid in self.baseline)
        if not checks:
            return
        if first is None or used is None:
            pytest.fail(f"frugal could not measure {item.nodeid}, so its budgets cannot be checked",
                        pytrace=False)
        lines = [b for b in (limit.breach(first) for limit in limits) if b]
        if lines:
            lines.insert(0, f"frugal: {item.nodeid} went over its budget")
        if self.thresholds and self.baseline is not None and item.nodeid in self.baseline:
            gate = baselines.judge(self.thresholds, used, self.baseline[item.nodeid], self.compare_name or "",
                                   seed=item.nodeid)
            if gate.not_gated:
                self.not_gated.setdefault(item.nodeid, []).extend(gate.not_gated)
                item.user_properties.append((f"{PROPERTY}-not-gated", list(gate.not_gated)))
            if gate.breaches:
                lines.append(f"frugal: {item.nodeid} grew past baseline {self.compare_name!r}")
                lines.extend(gate.breaches)
        if lines:
            pytest.fail("\n  ".join(lines), pytrace=False)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" or report.skipped:
            return
        for key, value in report.user_properties:
            if key == PROPERTY and isinstance(value, dict):
                self.footprints[report.nodeid] = value
                if report.passed:
                    self.passed.add(report.nodeid)
            elif key == f"{PROPERTY}-not-gated" and isinstance(value, list):
                known = self.not_gated.setdefault(report.nodeid, [])
                known.extend(v for v in value if v not in known)

    # --- end of the run -----------------------------------------------------------------
    def pytest_report_header(self, config: pytest.Config) -> str | None:
        if not self.measure_all:
            return None
        text = "frugal: measuring the call phase of every test"
        if self.compare_name:
            text += f"; comparing with baseline {self.compare_name!r}"
        if self.store is not None:
            text += f"; storing the measured calls in {self.store}"
        return text

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.store is not None:
            self._flush_store()
        if self.save_path is None or hasattr(self.config, "workerinput"):
            return  # an xdist worker: the controller saves what every worker measured
        tests = {k: {f: v for f, v in fp.items() if f != "regions" and not _nan(v)}
                 for k, fp in self.footprints.items() if k in self.passed}
        kept = baselines.save(self.save_path, tests, {"frugal_version": __version__, "runs_per_test": self.runs})
        not_saved = sorted(set(self.footprints) - self.passed)
        self.saved = (f"frugal: saved {counted(len(tests), 'passed test')} to the baseline {self.save_path}"
                      + (f"; {counted(kept, 'test')} kept as saved before (not run, or not passed, this time)"
                         if kept else "")
                      + (f"; not saved, as they did not pass: {', '.join(not_saved[:5])}"
                         + (f" and {len(not_saved) - 5} more" if len(not_saved) > 5 else "") if not_saved else ""))

    def _flush_store(self) -> None:
        """Write what this process measured to the store now (not only at exit), and say where."""
        flush()   # a store that fails warns and keeps the rows in memory
        commit, branch = git_info()
        where = (f"git commit {commit[:12]}" + (f" on {branch}" if branch else "")) if commit else \
            "no git commit (not inside a git repository)"
        self.stored = f"frugal: stored the measured calls of {len(self.footprints)} tests in {self.store} ({where})"

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.store_before is not None:     # an in-process run (pytester) leaves the setting as it found it
            configure(store=self.store_before[0])
            self.store_before = None

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.measure_all:
            return
        for line in self.table():
            if line.startswith("="):
                terminalreporter.write_sep("-", line.strip("= "))
            else:
                terminalreporter.write_line(line)
        if self.not_gated:
            terminalreporter.write_line(f"frugal: {len(self.not_gated)} test(s) not gated against baseline "
                                        f"{self.compare_name!r} (neither failed nor passed by it):"
                                        if self.compare_name else "frugal: runs that could not be repeated:")
            for nodeid, reasons in self.not_gated.items():
                terminalreporter.write_line(f"  {nodeid}: {'; '.join(reasons)}")
        if self.saved:
            terminalreporter.write_line(self.saved)
        if self.stored:
            terminalreporter.write_line(self.stored)

    def table(self) -> list[str]:
        """The footprint table: the top tests by energy (by CPU time where energy is unknown)."""
        rows = list(self.footprints.items())
        if not rows:
            return ["= frugal footprint: no test was measured ="]
        known = any(fp.get("energy_j") is not None for _, fp in rows)
        key = "energy_j" if known else "cpu_s"
        rows.sort(key=lambda r: -(r[1].get(key) or 0.0))
        shown = rows if self.top == 0 else rows[: self.top]
        metric = self.thresholds[0].metric if self.thresholds else key
        header = ["energy", "carbon", "CPU", "wall", "mem added"]
        if self.baseline is not None:
            header.append(f"{metric} vs {self.compare_name}")
        lines = [f"= frugal footprint: top {len(shown)} of {len(rows)} tests by "
                 f"{'energy' if known else 'CPU time (energy unknown)'} ="]
        body = []
        for nodeid, fp in shown:
            for name, cells in [(nodeid, fp)] + [(f"  [{r['name']}]", r) for r in fp.get("regions", ())]:
                cols = [format_quantity(cells.get("energy_j"), "J"), format_quantity(cells.get("carbon_g"), "gCO2e"),
                        format_quantity(cells.get("cpu_s"), "s"), format_quantity(cells.get("wall_s"), "s"),
                        "+" + format_quantity(cells.get("peak_added_bytes"), "B")]
                if self.baseline is not None:
                    cols.append(self._change(nodeid, cells, metric) if cells is fp else "")
                body.append(cols + [name])
        # the numbers right-aligned, the test's name last and as it is; one entry, not split on
        # newlines, since a region's name may hold one and must not pass for a line of ours
        lines.append(table(header + ["test"], body, align=">" * len(header) + "<", rule=False))
        lines.append(self._totals(rows))
        return lines

    def _change(self, nodeid: str, fp: dict[str, Any], metric: str) -> str:
        """The change of the medians over the baseline; "too short" when the test is not gated."""
        before = (self.baseline or {}).get(nodeid)
        if before is None:
            return "new"
        if any(r.startswith(metric) and "too short" in r for r in self.not_gated.get(nodeid, ())):
            return "too short"
        old, new = baselines.runs_of(before, metric), baselines.runs_of(fp, metric)
        if not old or not new or statistics.median(old) <= 0:
            return "n/a"
        return format_change(statistics.median(new) / statistics.median(old))

    @staticmethod
    def _totals(rows: list[tuple[str, dict[str, Any]]]) -> str:
        def total(field: str) -> float | None:
            values = [fp.get(field) for _, fp in rows]
            known: list[float] = [v for v in values if v is not None]
            return None if len(known) < len(values) else sum(known)

        methods = sorted({fp.get("energy_method") or "unknown" for _, fp in rows})
        return (f"total of {len(rows)} tests: energy {format_quantity(total('energy_j'), 'J')}, "
                f"carbon {format_quantity(total('carbon_g'), 'gCO2e')} operational + "
                f"{format_quantity(total('embodied_g'), 'gCO2e')} embodied, CPU {format_quantity(total('cpu_s'), 's')} "
                f"(energy: {', '.join(methods)}; mem added: resident memory above the test's start, at its peak)")


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
