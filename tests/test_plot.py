"""frugal.plot: each chart rendered to PNG headless and checked through the Figure's artists."""
from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure

import frugal
from frugal import plot
from frugal.measurement import FIELDS

PNG = b"\x89PNG\r\n\x1a\n"
SPREAD = np.array([0.9, 0.95, 1.0, 1.05, 1.1])     # median 1: a variant's median is its nominal value
# variant -> (energy per call J, wall s per call, peak B)
VARIANTS = {"sorted": (10e-3, 2e-3, 4e6), "heap": (5e-3, 3e-3, 2e6), "bisect": (20e-3, 1e-3, 8e6),
            "naive": (12e-3, 4e-3, 1e6)}


def frame_of(rows: list[dict]) -> pd.DataFrame:
    base = {f: np.nan for f in FIELDS}
    base.update(status="ok", calls=1, depth=0, scope="process", children=False, pid=1, name="f",
                energy_method="model", intensity_g_per_kwh=56.0, intensity_source="FRA: test mix")
    extra = sorted({k for r in rows for k in r} - set(FIELDS))
    return pd.DataFrame([{**base, **r} for r in rows], columns=list(FIELDS) + extra)


@pytest.fixture
def runs() -> pd.DataFrame:
    """Five runs of four variants, 100 units each: CPU 70%, RAM 20%, 10% PUE overhead, no GPU."""
    rows = []
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    for v, (energy, wall, peak) in VARIANTS.items():
        for i, k in enumerate(SPREAD):
            e = energy * k
            rows.append(dict(variant=v, name=v, energy_j=e, energy_cpu_j=0.7 * e, energy_ram_j=0.2 * e,
                             energy_gpu_j=0.0, carbon_g=e * 56 / 3.6e6, embodied_g=e * 56 / 3.6e6 / 4,
                             wall_s=wall * k, cpu_s=wall * k, peak_rss_bytes=peak, units=100.0,
                             started_at=t0 + pd.Timedelta(days=i), commit=f"c{i}{'abcdef' * 3}"))
    return frame_of(rows)


def render(fig: Figure, tmp_path, name: str) -> bytes:
    """Draw the figure to PNG through Agg, as a headless CI would."""
    assert isinstance(fig, Figure)
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=60)
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 2000
    return data


def bars_of(ax) -> list[BarContainer]:
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def assert_units_on_axes(fig: Figure) -> None:
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel()
        assert "(" in ax.get_ylabel() and ax.get_ylabel().endswith(")")


def assert_provenance(fig: Figure, basis: str = "modelled") -> None:
    caption = plot.caption_of(fig)
    assert basis in caption
    assert "Grid intensity: 56 gCO2e/kWh (FRA: test mix)" in caption


# --- compare --------------------------------------------------------------------------------

def test_compare_draws_medians_whiskers_and_baseline(runs, tmp_path):
    """One bar per variant at its median, a whisker per bar, the baseline hatched and lined."""
    fig = plot.compare(runs, metric="energy_j", baseline="sorted")
    render(fig, tmp_path, "compare")
    ax = fig.axes[0]
    (bars,) = bars_of(ax)
    assert len(bars) == 4
    assert [p.get_height() for p in bars] == pytest.approx([10, 5, 20, 12])      # mJ
    assert ax.get_ylabel() == "Energy per call (mJ)"
    (whiskers,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    segments = whiskers.lines[2][0].get_segments()
    assert len(segments) == 4
    for seg, med in zip(segments, [10, 5, 20, 12]):
        assert seg[0][1] <= med <= seg[1][1] and seg[0][1] < seg[1][1]
    assert bars[0].get_hatch() == "//" and not bars[1].get_hatch()
    assert any(line.get_label() == "baseline: sorted" for line in ax.get_lines())
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "sorted\n(baseline)"
    assert any(t.get_text().startswith("×0.5\n") for t in ax.texts)
    assert_units_on_axes(fig)
    assert_provenance(fig)


def test_compare_accepts_a_comparison_and_uses_its_summary(runs):
    """With a Comparison-like object, bars and whiskers are its summary's medians and CIs."""
    summary = pd.DataFrame({"variant": ["a", "b"], "metric": ["wall_s", "wall_s"], "n": [9, 9],
                            "median": [2.0, 3.0], "ci_low": [1.5, 2.0], "ci_high": [2.5, 4.0], "cv": [0.1, 0.1]})
    fake = SimpleNamespace(frame=runs.assign(variant=np.where(runs["variant"] == "sorted", "a", "b")),
                           baseline="b", per_unit=True, summary=lambda: summary)
    fig = plot.compare(fake, metric="wall_s")
    ax = fig.axes[0]
    (bars,) = bars_of(ax)
    assert [p.get_height() for p in bars] == pytest.approx([2.0, 3.0])
    (whiskers,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    ends = [(s[0][1], s[1][1]) for s in whiskers.lines[2][0].get_segments()]
    assert ends == [pytest.approx((1.5, 2.5)), pytest.approx((2.0, 4.0))]
    assert bars[1].get_hatch() == "//"
    assert ax.get_ylabel() == "Wall time per unit (s)"


@pytest.mark.slow
def test_compare_with_a_real_comparison(tmp_path):
    """frugal.compare's Comparison draws through Comparison.plot with its baseline marked."""
    cmp = frugal.compare({"slow": lambda: sorted(range(3000), key=lambda x: -x),
                          "fast": lambda: sorted(range(3000))}, repeat=4, warmup=1, seed=1)
    frugal.clear()
    fig = cmp.plot("wall_s")
    render(fig, tmp_path, "compare_real")
    (bars,) = bars_of(fig.axes[0])
    assert len(bars) == 2 and bars[0].get_hatch() == "//"
    assert "Wall time: measured" in plot.caption_of(fig)
    assert "Grid intensity" in plot.caption_of(fig)


def test_compare_on_a_results_frame_groups_by_name(tmp_path):
    """A frugal.results() frame groups by name and shows CPU time per call, measured."""
    frugal.clear()
    for n in (1000, 2000):
        with frugal.measure(f"sum{n}"):
            sum(range(n * 10))
        with frugal.measure(f"sum{n}"):
            sum(range(n * 10))
    frame = frugal.results()
    frugal.clear()
    fig = plot.compare(frame, metric="cpu_s")
    render(fig, tmp_path, "compare_results")
    (bars,) = bars_of(fig.axes[0])
    assert len(bars) == 2
    assert fig.axes[0].get_xlabel() == "name (name)"
    assert "CPU time: measured" in plot.caption_of(fig)


@pytest.mark.parametrize("change, kwargs, error, word", [
    (None, {"metric": "joules"}, ValueError, "joules"),
    (("energy_j", np.nan), {"metric": "energy_j"}, ValueError, "energy_j"),
    (("wall_s", -1.0), {"metric": "wall_s"}, ValueError, "wall_s"),
    (None, {"metric": "wall_s", "baseline": "nope"}, ValueError, "baseline"),
    (None, {"metric": "wall_s", "by": "team"}, ValueError, "team"),
])
def test_compare_bad_input(runs, change, kwargs, error, word):
    """A missing metric, a metric with no values, negative values or a bad baseline are named."""
    frame = runs.copy()
    if change:
        frame[change[0]] = change[1]
    with pytest.raises(error, match=word):
        plot.compare(frame, **kwargs)


def test_compare_refuses_what_is_not_a_frame():
    """Something with no .frame is a TypeError naming the argument."""
    with pytest.raises(TypeError, match="cmp_or_frame"):
        plot.compare([1, 2, 3])


# --- profile --------------------------------------------------------------------------------

@pytest.mark.slow
def test_profile_normalises_every_indicator_side_by_side(runs, tmp_path):
    """One bar group per cost indicator, one bar per variant, the largest of each at 1, grades on top."""
    fig = plot.profile(runs, baseline="sorted")
    render(fig, tmp_path, "profile")
    ax = fig.axes[0]
    containers = bars_of(ax)
    assert len(containers) == 4
    assert {len(c) for c in containers} == {6}
    heights = np.array([[p.get_height() for p in c] for c in containers])
    assert heights.max(axis=0) == pytest.approx(np.ones(6))
    assert heights[2, 0] == pytest.approx(1.0)             # bisect spends the most energy per unit
    assert heights[1, 0] == pytest.approx(0.25)            # heap: 5 of 20 mJ
    assert {t.get_text() for t in ax.texts} <= set("ABCDEFG") and "A" in {t.get_text() for t in ax.texts}
    assert "sorted (baseline)" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert_units_on_axes(fig)
    assert_provenance(fig)
    assert "relative to this set" in plot.caption_of(fig)


def test_profile_leaves_out_indicators_with_no_value(runs):
    """Without energy, the profile draws time, CPU and memory and names what is missing."""
    frame = runs.assign(energy_j=np.nan, carbon_g=np.nan, embodied_g=np.nan)
    fig = plot.profile(frame)
    assert {len(c) for c in bars_of(fig.axes[0])} == {3}
    assert "Zero or not available, not drawn: energy_per_unit_j, carbon_per_unit_g" in plot.caption_of(fig)
    assert "Energy: not available" in plot.caption_of(fig)


# --- pareto ---------------------------------------------------------------------------------

def test_pareto_front_keeps_the_undominated_points():
    """Of (1,4) (2,2) (3,3) (4,1), only (3,3) is beaten on both axes."""
    x, y = np.array([1.0, 2, 3, 4]), np.array([4.0, 2, 3, 1])
    assert list(plot.pareto_front(x, y)) == [0, 1, 3]


@pytest.mark.slow
def test_pareto_chart_draws_bubbles_and_the_front(tmp_path):
    """A bubble per variant sized by memory, and the front through the undominated ones."""
    rows = []
    for v, (t, e, m) in {"A": (1, 4, 1e6), "B": (2, 2, 4e6), "C": (3, 3, 2e6), "D": (4, 1, 8e6)}.items():
        rows += [dict(variant=v, wall_s=t * 1e-6 * 10 * k, cpu_s=1e-6, energy_j=e * 1e-6 * 10 * k, carbon_g=0.0,
                      embodied_g=0.0, peak_rss_bytes=m, units=10.0) for k in SPREAD]
    fig = plot.pareto(frame_of(rows))
    render(fig, tmp_path, "pareto")
    ax = fig.axes[0]
    assert len(ax.collections) == 4
    sizes = [c.get_sizes()[0] for c in ax.collections]
    assert sizes.index(max(sizes)) == 3                      # D holds the most memory per unit
    (front,) = [line for line in ax.get_lines() if line.get_gid() == "pareto-front"]
    fx, fy = front.get_data()
    assert (1.0, 4.0) in zip(fx, fy) and (4.0, 1.0) in zip(fx, fy) and (3.0, 3.0) not in zip(fx, fy)
    assert ax.get_xlabel() == "Time per unit (µs/unit)"
    assert ax.get_ylabel() == "Energy per unit (µJ/unit)"
    assert "Pareto front" in plot.caption_of(fig) and "modelled" in plot.caption_of(fig)


def test_pareto_needs_energy(runs):
    """Without energy values the chart refuses, naming energy_j."""
    with pytest.raises(ValueError, match="energy_j"):
        plot.pareto(runs.assign(energy_j=np.nan))


# --- breakdown ------------------------------------------------------------------------------

@pytest.mark.slow
def test_breakdown_stacks_components_and_embodied_carbon(runs, tmp_path):
    """CPU, RAM and the PUE remainder stack to the energy per unit; carbon splits operational + embodied."""
    fig = plot.breakdown(runs)
    render(fig, tmp_path, "breakdown")
    left, right = fig.axes
    stacks = bars_of(left)
    assert [c.get_label() for c in stacks] == ["CPU", "RAM", "other (PUE)"]
    assert all(len(c) == 4 for c in stacks)
    totals = np.sum([[p.get_height() for p in c] for c in stacks], axis=0)
    assert totals == pytest.approx([100, 50, 200, 120])       # µJ per unit
    assert [p.get_height() for p in stacks[0]] == pytest.approx([70, 35, 140, 84])
    assert left.get_ylabel() == "Energy (µJ/unit)"
    carbon = bars_of(right)
    assert [c.get_label() for c in carbon] == ["operational", "embodied"]
    op = np.array([p.get_height() for p in carbon[0]])
    emb = np.array([p.get_height() for p in carbon[1]])
    assert emb / op == pytest.approx(np.full(4, 0.25))
    assert "CO2e/unit" in right.get_ylabel()
    assert "not drawn: GPU" in plot.caption_of(fig)
    assert_units_on_axes(fig)
    assert_provenance(fig)


# --- scaling --------------------------------------------------------------------------------

def scaling_frame(exponent: float) -> pd.DataFrame:
    rows = [dict(size=s, cpu_s=3e-9 * s ** exponent * k, wall_s=1e-3, peak_rss_bytes=1e6)
            for s in (1e3, 1e4, 1e5) for k in (0.95, 1.0, 1.05)]
    return frame_of(rows)


@pytest.mark.slow
def test_scaling_draws_the_fitted_exponent_of_a_scaling(tmp_path):
    """With a Scaling-like object, the line is its predict() and the legend its exponent and CI."""
    fit = SimpleNamespace(exponent=1.5, ci_low=1.4, ci_high=1.6, r2=0.99, coefficient=3e-9)
    fake = SimpleNamespace(frame=scaling_frame(1.5), exponent=lambda metric: fit,
                           predict=lambda metric, size: 3e-9 * np.asarray(size) ** 1.5)
    fig = plot.scaling(fake, metric="cpu_s")
    render(fig, tmp_path, "scaling")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    (line,) = [ln for ln in ax.get_lines() if ln.get_gid() == "scaling-fit"]
    assert line.get_label() == "fit: size^1.50 (95% CI 1.40-1.60), R² 0.990"
    x, y = line.get_data()
    factor = y[0] / (3e-9 * x[0] ** 1.5)
    assert y == pytest.approx(factor * 3e-9 * x ** 1.5)
    assert ax.get_ylabel().startswith("CPU time per call (") and "log scale" in ax.get_ylabel()
    assert "CPU time: measured" in plot.caption_of(fig)


def test_scaling_fits_a_plain_frame_itself():
    """A frame with a size column is fitted by frugal.stats: a quadratic reads as exponent 2."""
    fig = plot.scaling(scaling_frame(2.0), metric="cpu_s")
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "scaling-fit"]
    assert line.get_label().startswith("fit: size^2.00")


@pytest.mark.slow
def test_scaling_with_a_real_scaling(tmp_path):
    """frugal.scaling's Scaling.plot draws runs, medians and the fit on log-log axes."""
    sc = frugal.scaling(sorted, sizes=[2000, 8000, 32000], make_input=lambda n: list(range(n, 0, -1)),
                        repeat=2, warmup=0, seed=1)
    frugal.clear()
    fig = sc.plot("cpu_s")
    render(fig, tmp_path, "scaling_real")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert any(ln.get_gid() == "scaling-fit" and "size^" in ln.get_label() for ln in ax.get_lines())


def test_scaling_needs_a_size_column(runs):
    """A frame without sizes raises ValueError naming size."""
    with pytest.raises(ValueError, match="size"):
        plot.scaling(runs)


# --- trend ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_trend_over_time_draws_one_line_per_group(runs, tmp_path):
    """Over started_at, each variant is a line of its five runs on a UTC time axis."""
    fig = plot.trend(runs, metric="energy_j", by="variant")
    render(fig, tmp_path, "trend")
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == list(VARIANTS)
    assert all(len(ln.get_xdata()) == 5 for ln in lines)
    assert ax.get_xlabel() == "Run start (UTC)" and ax.get_ylabel() == "Energy per call (mJ)"
    assert_provenance(fig)


def test_trend_over_commits_takes_the_median_per_commit(runs):
    """Over a commit column, each commit is one tick in run order, at the median of its runs."""
    frame = pd.concat([runs, runs.assign(energy_j=runs["energy_j"] * 3)])
    fig = plot.trend(frame, metric="energy_j", by="variant", x="commit")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"c{i}abcde" for i in range(5)]
    sorted_line = ax.get_lines()[0]
    assert sorted_line.get_ydata()[2] == pytest.approx(20.0)   # median of 10 and 30 mJ
    assert ax.get_xlabel() == "commit (in run order)"


def test_trend_marks_a_commit_with_a_rule_and_its_label(runs):
    """A mark is a vertical rule at its commit's tick, labelled; an unknown commit draws nothing;
    a date axis refuses marks, naming the argument."""
    fig = plot.trend(runs, metric="energy_j", by="variant", x="commit",
                     marks={"c3" + "abcdef" * 3: "energy +20%", "nowhere": "never drawn"})
    ax = fig.axes[0]
    rules = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(rules) == 1 and list(rules[0].get_xdata()) == [3, 3]
    texts = [t.get_text() for t in ax.texts]
    assert "energy +20%" in texts and "never drawn" not in texts
    with pytest.raises(ValueError, match="marks"):
        plot.trend(runs, metric="energy_j", by="variant", marks={"c3abcde": "x"})


def test_trend_needs_the_x_column(runs):
    """A missing x column is named."""
    with pytest.raises(ValueError, match="git_sha"):
        plot.trend(runs, x="git_sha")


# --- output ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_to_svg_is_an_inline_deterministic_svg(runs):
    """to_svg gives an <svg> element without XML prolog, the same string for the same figure."""
    fig = plot.compare(runs, metric="wall_s")
    svg = plot.to_svg(fig)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg
    assert plot.to_svg(fig) == svg


def test_svg_text_stays_text_in_a_font_stack_every_browser_has(runs):
    """Titles, labels and names are <text> elements (selectable, searchable, read aloud), not
    glyph outlines, in DejaVu Sans then Arial, Helvetica and the generic sans-serif."""
    import re

    svg = plot.to_svg(plot.compare(runs, metric="energy_j"))
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "sorted" in texts and any(t.startswith("Energy") for t in texts)
    assert "glyph" not in svg and not re.search(r'<path id="DejaVuSans-', svg)
    assert "font-family: 'DejaVu Sans', 'Arial', 'Helvetica', 'Liberation Sans', sans-serif" in svg


@pytest.mark.slow
def test_for_screen_makes_every_text_legible_and_returns_the_caption(runs):
    """for_screen: the caption leaves the figure (returned for HTML), the figure is 5 in wide,
    side-by-side panels are stacked, and no text is under 11 pt; the same figure still saves as PNG."""
    from matplotlib.text import Text

    fig = plot.breakdown(runs)
    caption = plot.caption_of(fig)
    assert plot.for_screen(fig) == caption and plot.caption_of(fig) == ""
    assert fig.get_size_inches()[0] == pytest.approx(5.0)
    left, right = fig.axes
    assert right.get_subplotspec().rowspan.start == 1            # stacked, not side by side
    fig.draw_without_rendering()
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text()]
    assert sizes and min(sizes) >= 11
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue().startswith(PNG)


def test_a_long_trend_is_binned_with_a_band_and_every_point_has_a_title(runs):
    """A line of 1,000 runs is drawn as at most MAX_POINTS points, each the median of its bin,
    with a 10-90% band; in SVG each point carries a title naming its dates and values."""
    import re

    from matplotlib.collections import PolyCollection

    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    frame = frame_of([dict(name="f", energy_j=1e-3 * (1 + (i % 7) / 10), wall_s=1e-3,
                           started_at=t0 + pd.Timedelta(hours=i)) for i in range(1000)])
    fig = plot.trend(frame, metric="energy_j")
    ax = fig.axes[0]
    (line,) = ax.get_lines()
    assert len(line.get_xdata()) == plot.xy.MAX_POINTS
    assert any(isinstance(c, PolyCollection) for c in ax.collections)
    titles = re.findall(r"<title>(.*?)</title>", plot.to_svg(fig))
    assert len(titles) == plot.xy.MAX_POINTS
    assert "2026-01-01 00:00 UTC to 2026-01-01 04:00 UTC" in titles[0] and "10-90%" in titles[0]
    assert "binned" in plot.caption_of(fig)


@pytest.mark.slow
def test_charts_draw_headless_without_pyplot(tmp_path):
    """With no display and no backend set, the charts render and pyplot is never imported."""
    code = f"""
import sys, numpy as np, pandas as pd
sys.path.insert(0, {os.path.dirname(__file__)!r})
from test_plot import frame_of
from frugal import plot
rows = [dict(variant=v, wall_s=w, cpu_s=w, energy_j=w * 10, energy_cpu_j=w * 10, energy_ram_j=0.0,
             energy_gpu_j=0.0, carbon_g=w, embodied_g=w / 2, peak_rss_bytes=1e6, units=1.0,
             started_at=pd.Timestamp('2026-01-01', tz='UTC'))
        for v in ('a', 'b') for w in (1.0, 1.1, 1.2)]
frame = frame_of(rows)
for name in ('compare', 'profile', 'pareto', 'breakdown'):
    getattr(plot, name)(frame).savefig({str(tmp_path)!r} + '/' + name + '.png')
plot.trend(frame, metric='wall_s', by='variant').savefig({str(tmp_path)!r} + '/trend.png')
assert 'matplotlib.pyplot' not in sys.modules
print('ok')
"""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND", "WAYLAND_DISPLAY")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    assert len(list(tmp_path.glob("*.png"))) == 5


def test_trend_of_a_stored_frame(tmp_path):
    """A frame read back by frugal.load draws over time and over its git_commit column."""
    from frugal import store

    frugal.clear()
    path = tmp_path / "frugal.db"
    store.set_default_store(path)
    try:
        for n in (1, 2, 3):
            with frugal.measure("work"):
                sum(range(n * 20_000))
        frugal.flush()
    finally:
        store.set_default_store(None)
        frugal.clear()
    frame = frugal.load(path)
    fig = plot.trend(frame, metric="cpu_s")
    render(fig, tmp_path, "trend_stored")
    (line,) = fig.axes[0].get_lines()
    assert len(line.get_xdata()) == 3
    by_commit = plot.trend(frame, metric="cpu_s", x="git_commit")
    assert len(by_commit.axes[0].get_xticklabels()) == 1
    assert "CPU time: measured" in plot.caption_of(by_commit)
