"""One ratio everywhere: the ratio of medians that ratios() gives is what the terminal, the
dashboard, the chart and the JSON export print; failed variants are shown as failed on each."""
from __future__ import annotations

import json
import re
import warnings

import pytest

import frugal
from frugal import plot
from frugal.pages.dashboard import report
from frugal.pages.text import records, text_report
from frugal.demo import insertion_sort
from frugal.units import format_ratio


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
