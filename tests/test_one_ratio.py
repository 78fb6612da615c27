"""One ratio everywhere: the ratio of medians that ratios() gives is what the terminal, the
dashboard, the chart and the JSON export print; failed variants are shown as failed on each."""
from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest

import frugal
from frugal import plot
from frugal.pages.dashboard import report
from frugal.pages.text import records, text_report
from frugal.analysis.thresholds import Threshold
from frugal.pytest_plugin.baseline import judge
from frugal.demo import insertion_sort
from frugal.units import format_ratio
from test_verdicts import synthetic

pytestmark = pytest.mark.slow   # every surface of a comparison, seconds each: not in the quick tier


@pytest.fixture(scope="module")
def sorts() -> frugal.Comparison:
    data = [(i * 7919) % 1000 for i in range(400)]

    def broken():
        raise RuntimeError("no sorting today")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return frugal.compare({"sorted": lambda: sorted(data), "insertion": lambda: insertion_sort(list(data)),
                               "broken": broken}, repeat=8, warmup=1, seed=11, progress=False)


def test_terminal_dashboard_chart_and_json_print_the_same_ratio(sorts, tmp_path):
    """insertion against sorted, energy: ratios() gives r; the verdict, the terminal report,
    the dashboard's "x baseline" cell, the chart's label and the JSON export all show r."""
    pytest.importorskip("matplotlib").use("Agg")
    row = sorts.ratios().set_index(["variant", "metric"]).loc[("insertion", "energy_j")]
    shown = format_ratio(row["ratio"])
    assert f"insertion uses {shown}x the energy of sorted" in row["verdict"]
    text = text_report(sorts.summary(), sorts.ratios(), sorts.warnings, sorts.baseline)
    assert f"insertion uses {shown}x the energy of sorted" in text
    page = report(sorts, tmp_path / "d.html").read_text()
    cells = re.findall(r"<td>([0-9.]+)x \[", page)
    assert cells == [shown]
    fig = plot.compare(sorts, metric="energy_j")
    assert f"×{shown}\n" in "".join(t.get_text() for t in fig.axes[0].texts)
    exported = json.loads(json.dumps(records(sorts.ratios())))
    energy = next(r for r in exported if r["variant"] == "insertion" and r["metric"] == "energy_j")
    assert energy["ratio"] == pytest.approx(row["ratio"]) and format_ratio(energy["ratio"]) == shown
    table = sorts.indicators()
    assert table.loc["insertion", "ratio"] == pytest.approx(row["ratio"])


def test_failed_variant_on_every_surface(sorts, tmp_path):
    """The failed variant: in summary, ratios, indicators, the terminal table and the dashboard,
    with its error, and without a grade; the grade scale is printed on the dashboard."""
    assert set(sorts.summary().query("variant == 'broken'")["status"]) == {"failed"}
    assert set(sorts.ratios().query("variant == 'broken'")["outcome"]) == {"failed"}
    table = sorts.indicators()
    assert table.loc["broken", "status"] == "failed" and table.loc["broken", "errors"] == \
        "RuntimeError: no sorting today x8"
    text = text_report(sorts.summary(), sorts.ratios(), sorts.warnings, sorts.baseline)
    assert re.search(r"^broken +failed \(8\)", text, re.M)
    assert "8 of 8 runs of broken failed (RuntimeError: no sorting today x8)" in text
    page = report(sorts, tmp_path / "d.html").read_text()
    assert "<h3>Failed runs</h3>" in page and "no sorting today" in page
    row = page[page.index(">broken<"):]
    row = row[:row.index("</tr>")]
    assert '<span class="missing">failed</span>' in row and 'class="grade"' not in row
    assert "A &lt;= 1.1x the best, B &lt;= 1.25x, C &lt;= 1.5x, D &lt;= 2x, E &lt;= 4x, F &lt;= 10x" in page


def test_compare_indicators_and_the_gate_share_one_engine():
    """One frame, b 1.3x a on four metrics over 20 runs each: compare's energy ratio,
    indicators' ratio of energy per call and the pytest gate's growth are the one ratio of
    medians; compare and indicators, drawing the same resamples (one seed, 3200 each), also
    give the same interval, level, outcome and verdict."""
    rng = np.random.default_rng(4)
    frame = synthetic({"a": 1.0, "b": 1.3}, 20, rng).assign(peak_rss_bytes=np.nan, embodied_g=np.nan)
    ratios = frugal.Comparison(frame, "a", seed=3).ratios()
    assert len(ratios) == 4 and ratios["significant"].all()
    row = ratios.set_index("metric").loc["energy_j"]
    table = frugal.indicators(frame, by="variant", baseline="a", seed=3).loc["b"]
    assert (table["ratio"], table["ratio_ci_low"], table["ratio_ci_high"], table["ratio_ci_level"], table["outcome"]) \
        == (row["ratio"], row["ci_low"], row["ci_high"], row["ci_level"], row["outcome"])
    assert table["verdict"] == row["verdict"].replace("the energy of", "the energy per unit of")
    runs = {v: {"runs": {"energy_j": list(frame.loc[frame["variant"] == v, "energy_j"])}} for v in "ab"}
    gate = judge([Threshold("energy_j", 0.0, True)], runs["b"], runs["a"], "a")
    assert len(gate.breaches) == 1 and f"energy_j grew {row['ratio'] - 1:+.1%} over baseline 'a'" in gate.breaches[0]
