"""The single-file dashboard: content, escaping, trend, errors, and a real headless Chromium."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

import frugal
from frugal.pages.dashboard import render, report

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def comparison():
    """Three real variants compared (sorting small lists), one of them with a hostile name."""
    data = list(range(200, 0, -1))
    return frugal.compare({"sorted": lambda: sorted(data), "reverse": lambda: data[::-1],
                           EVIL: lambda: [x for x in sorted(data)]}, repeat=6, warmup=1, seed=3)


@pytest.fixture(scope="module")
def two_run_store(tmp_path_factory):
    """A store written by two separate processes: two runs of the same measured names."""
    path = tmp_path_factory.mktemp("store") / "frugal.db"
    code = textwrap.dedent(f"""
        import frugal
        from frugal import store
        store.set_default_store({str(path)!r})
        for i in range(5):
            with frugal.measure("build", units=100):
                sum(range(20_000))
            with frugal.measure({EVIL!r}):
                sorted(range(5_000), key=lambda x: -x)
    """)
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    return path


@pytest.mark.slow
def test_the_page_has_every_section(comparison, tmp_path):
    """Headlines, indicators with grades, comparison charts as inline SVG and provenance."""
    out = report(comparison, tmp_path / "d.html", title="Sorting")
    text = out.read_text()
    for words in ("Energy", "Carbon (SCI total)", "Embodied share", "Like driving",
                  "Frugality indicators by variant", 'class="grade"', "Comparison",
                  "Methodology and provenance", "Grid intensity", "Version: frugal", "Generated"):
        assert words in text, words
    assert text.count("<svg") >= 5
    assert "against the baseline" in text.lower() and "reverse uses" in text or "no significant" in text
    assert "<h2>Trend</h2>" not in text          # one process: nothing to trend


@pytest.mark.slow
def test_memory_is_memory_added_and_a_frame_without_it_says_so(comparison):
    """Cards, table and charts show memory added (peak_added_bytes) under that name; a frame
    stored before frugal recorded it shows the peak resident memory and says why."""
    frame = comparison.frame.assign(peak_added_bytes=2 * 2**20)
    text = render(frame, by="variant")
    assert "Memory added" in text and "Memory added/unit" in text and "2 MiB" in text
    assert "predate" not in text and "stored before frugal recorded" not in text
    old = render(comparison.frame.drop(columns=["peak_added_bytes"], errors="ignore"), by="variant")
    assert "Peak memory/unit" in old and "stored before frugal recorded peak_added_bytes" in old


@pytest.mark.slow
def test_nothing_on_the_page_can_load_anything(comparison, tmp_path):
    """No script, stylesheet link, font, image source or remote URL; a CSP forbids them too."""
    text = report(comparison, tmp_path / "d.html").read_text()
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert not re.search(r"<script|<link|<iframe|<img|@import|@font-face", text, re.IGNORECASE)
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#)""", text, re.IGNORECASE)
    assert not re.search(r"url\(\s*['\"]?(?!#)", text, re.IGNORECASE)


@pytest.mark.slow
def test_every_name_is_escaped_in_text_and_charts(comparison, tmp_path):
    """A variant named <script>...</script> appears only escaped, in tables and in the SVG."""
    text = report(comparison, tmp_path / "d.html").read_text()
    assert EVIL not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    svgs = re.findall(r"<svg.*?</svg>", text, re.DOTALL)
    assert svgs and not any("<script" in s.lower() for s in svgs)
    assert "<!--" not in "".join(svgs)           # matplotlib's text comments are dropped


@pytest.mark.slow
def test_trend_and_runs_appear_with_several_stored_runs(two_run_store, tmp_path):
    """A store with two runs gives figures for the latest run, a trend across both and both runs."""
    frame = frugal.load(two_run_store)
    text = report(frame, tmp_path / "d.html", store=two_run_store, baseline="build").read_text()
    assert "<h2>Trends</h2>" in text and "build: energy per call across runs" in text
    assert "the latest of 2 runs" in text and "2 runs from" in text
    assert "<h2>Runs</h2>" in text and text.count('<details class="run') == 2 and "CPython" in text
    assert "All settings in force when measured" in text


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"})


@pytest.fixture(scope="module")
def compared_over_commits(tmp_path_factory):
    """A real git repository with three commits; at each, a process compares two sorts with
    frugal.compare and stores the runs; then `frugal compare` stores one more comparison."""
    repo = tmp_path_factory.mktemp("repo")
    path = repo / "frugal.db"
    _git(repo, "init", "-q")
    code = textwrap.dedent(f"""
        import frugal
        from frugal import store
        store.set_default_store({str(path)!r})
        data = list(range(400, 0, -1))
        frugal.compare({{"sorted": lambda: sorted(data), "bubble": lambda: [min(data[i:]) for i in range(200)]}},
                       repeat=5, warmup=1, seed=1, progress=False)
    """)
    commits = []
    for i in range(3):
        (repo / "file.txt").write_text(str(i))
        _git(repo, "add", "file.txt")
        _git(repo, "commit", "-qm", f"commit {i}")
        commits.append(subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                                      text=True).stdout.strip())
        proc = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "frugal", "compare", "true", "sh -c true", "--runs", "3",
                           "--store", str(path)], cwd=repo, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return path, commits


@pytest.mark.slow
def test_every_run_newest_first_each_collapsible(compared_over_commits, tmp_path):
    """Every stored run is a collapsible section, newest first (the newest open), with its names."""
    path, commits = compared_over_commits
    text = report(frugal.load(path), tmp_path / "d.html", store=path).read_text()
    sections = re.findall(r'<details class="run[^"]*"( open)?><summary>(.*?)</summary>', text)
    assert len(sections) == 4 and sections[0][0] == " open" and not any(o for o, _ in sections[1:])
    numbers = [int(re.match(r"#(\d+)", summary).group(1)) for _, summary in sections]
    assert numbers == [4, 3, 2, 1]
    assert "frugal compare" in sections[0][1] and f"commit {commits[2][:12]}" in sections[1][1]
    assert "Newest first: all 4 runs one by one" in text


@pytest.mark.slow
def test_a_trend_per_name_over_commits_with_commit_and_date_on_hover(compared_over_commits, tmp_path):
    """Each name measured at several commits has its own trend chart; each point's hover title
    names its commit and date."""
    path, commits = compared_over_commits
    text = report(frugal.load(path), tmp_path / "d.html", store=path).read_text()
    assert "sorted: energy per call across commits" in text and "bubble: energy per call across commits" in text
    titles = re.findall(r"<title>(.*?)</title>", text)
    for commit in commits:
        assert any(f"git_commit {commit[:12]}" in t and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", t)
                   for t in titles), commit


@pytest.mark.slow
def test_a_large_store_is_summarised_by_the_stated_rule(compared_over_commits, tmp_path, monkeypatch):
    """Beyond RUNS_LISTED runs the older ones are summed per month; beyond NAMES_PER_RUN names a
    run's others are summed on one line; beyond TREND_CHARTS names the rest are a table."""
    from frugal.pages import runs as _dashboard_runs

    path, _ = compared_over_commits
    monkeypatch.setattr(_dashboard_runs, "RUNS_LISTED", 2)
    monkeypatch.setattr(_dashboard_runs, "NAMES_PER_RUN", 1)
    monkeypatch.setattr(_dashboard_runs, "TREND_CHARTS", 1)
    text = render(frugal.load(path))
    assert text.count("<summary>#") == 2 and "2 older runs, per month" in text
    assert "Newest first: the newest 2 of 4 runs one by one, each with its 1 costliest names" in text
    assert "1 more names" in text
    assert "More names with a trend" in text and text.count("energy per call across commits</h3>") == 1


@pytest.mark.slow
def test_many_names_are_all_in_the_table_but_charts_keep_the_costliest(tmp_path):
    """With more names than a chart can hold, the table lists all and charts the costliest."""
    frugal.clear()
    for i in range(15):
        with frugal.measure(f"step_{i:02d}"):
            sum(range(1000 * (i + 1)))
    text = render(frugal.results(), by="name")
    frugal.clear()
    assert all(f"step_{i:02d}" in text for i in range(15))
    assert "Charts show the 12 names that cost the most of 15" in text


@pytest.mark.slow
def test_a_chart_that_cannot_be_drawn_says_why(tmp_path):
    """Without energy values the energy charts say why they are missing; the page still renders."""
    frugal.clear()
    for _ in range(3):
        with frugal.measure("no_energy"):
            sum(range(1000))
    frame = frugal.results()
    frugal.clear()
    for column in ("energy_j", "energy_cpu_j", "energy_ram_j", "energy_gpu_j", "carbon_g", "embodied_g"):
        frame[column] = float("nan")
    text = render(frame)
    assert "Not drawn:" in text and "energy_j" in text
    assert "Wall time per call" in text and "<svg" in text


@pytest.mark.parametrize("kwargs, error, match", [
    ({"data": [1, 2]}, TypeError, "data"),
    ({"baseline": "nope"}, ValueError, "baseline"),
    ({"by": "missing"}, ValueError, "by"),
])
def test_bad_arguments_name_themselves(comparison, tmp_path, kwargs, error, match):
    """report() raises TypeError/ValueError naming the argument."""
    data = kwargs.pop("data", comparison)
    with pytest.raises(error, match=match):
        report(data, tmp_path / "d.html", **kwargs)


def test_an_empty_frame_or_a_folder_path_is_refused(comparison, tmp_path):
    """An empty frame and a directory as the output path are ValueErrors."""
    with pytest.raises(ValueError, match="no measurements"):
        report(comparison.frame.iloc[0:0], tmp_path / "d.html")
    with pytest.raises(ValueError, match="directory"):
        report(comparison, tmp_path)


def test_report_is_the_public_name():
    """frugal.report is the dashboard writer."""
    assert frugal.report is report




# --- a real browser ----------------------------------------------------------------------------

def _browser_or_skip():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium); .ci/run installs it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    return sync_api


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)], ids=["laptop", "phone"])
@pytest.mark.slow
def test_the_page_in_headless_chromium(two_run_store, tmp_path, width, height):
    """Chromium loads the page with no console error and no request beyond the file itself,
    shows the hostile name as text, fits the screen width, draws every chart's text as text
    no smaller than about 11 CSS px in a font stack every browser has, and a screenshot is taken."""
    sync_api = _browser_or_skip()
    page_path = report(frugal.load(two_run_store), tmp_path / "dashboard.html", store=two_run_store).resolve()
    shot = tmp_path / f"shot-{width}.png"
    requests, problems = [], []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
            page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))

            def record(route):
                requests.append(route.request.url)
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    route.abort()

            page.route("**/*", record)
            page.goto(page_path.as_uri(), wait_until="load")
            assert page.locator("script").count() == 0
            assert EVIL in page.inner_text("body")
            assert page.locator("svg").count() >= 5
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            # every chart's text is text, drawn at its on-screen size (font size x the SVG's scale)
            sizes = page.evaluate("""() => Array.from(document.querySelectorAll('svg text')).map(t => {
                const m = t.getScreenCTM();
                return parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b); })""")
            fonts = page.evaluate("getComputedStyle(document.querySelector('svg text')).fontFamily")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert requests == [page_path.as_uri()]
    assert problems == []
    assert overflow <= 0
    assert len(sizes) > 100 and min(sizes) >= 10.8, sorted(sizes)[:5]     # about 11 CSS px at least
    assert "Arial" in fonts and fonts.endswith("sans-serif")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    width_px, height_px = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width_px == width and height_px > height


@pytest.mark.slow
def test_large_groups_are_sampled_for_the_median_charts(monkeypatch):
    """Median charts bootstrap a seeded sample of each large group; the page says so."""
    from frugal.pages import dashboard

    frugal.clear()
    for _ in range(40):
        with frugal.measure("many"):
            pass
    with frugal.measure("few"):
        pass
    frame = frugal.results()
    frugal.clear()
    sample, cut = dashboard._sample(frame, "name", 10)
    assert cut and sample.groupby("name").size().to_dict() == {"many": 10, "few": 1}
    kept, cut = dashboard._sample(frame, "name", 40)
    assert kept is frame and not cut
    monkeypatch.setattr(dashboard, "CHART_SAMPLE", 10)
    assert "random sample of 10 measurements per name" in render(frame)


@pytest.mark.slow
def test_progress_bar_only_when_asked_or_on_a_terminal(comparison, capsys):
    """progress=True draws a bar on stderr; by default (stderr not a terminal) nothing is drawn."""
    render(comparison.frame, by="variant", progress=True)
    assert "frugal dashboard [" in capsys.readouterr().err
    render(comparison.frame, by="variant")
    assert capsys.readouterr().err == ""


# --- changes across commits (issue 28, item 7) ------------------------------------------------

def _history_store(path, steps, commits=20, step_at=12):
    """A real store of one run per commit, written with the store's append API (as
    tests/test_regressions.py does): each name of ``steps`` with 5 real measured rows a run whose
    energy, CPU and wall time are set to lognormal values (CV 3%), times its factor from ``step_at`` on."""
    import hashlib

    import numpy as np
    from test_history import T0, rows

    from frugal.store import Store, new_run

    rng = np.random.default_rng(5)
    ids = [hashlib.sha1(str(i).encode()).hexdigest() for i in range(commits)]
    for i, c in enumerate(ids):
        values = {name: (rng.lognormal(0.0, 0.03, 5) * (f if i >= step_at else 1.0)).tolist()
                  for name, f in steps.items()}
        cols = rows(values)
        cols["energy_j"] = cols["cpu_s"] * 10.0
        cols["wall_s"] = cols["cpu_s"] * 1.1
        run = new_run("test", git=(c, "main"))
        run["started_at"] = T0 + i * 3_600_000_000_000      # a commit an hour
        Store(path).append(run, cols)
    return ids


@pytest.fixture
def outside_git(tmp_path, monkeypatch):
    """Outside any git repository: commits go by the time of their first run."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    return tmp_path


@pytest.mark.slow
def test_a_planted_step_opens_the_page_and_is_marked_on_its_trend(outside_git):
    from frugal.store.read import load

    db = outside_git / "frugal.db"
    ids = _history_store(db, {"parse": 1.25, "flat": 1.0})
    text = render(load(db), progress=False)
    section = text.split("<h2>Changes across commits</h2>", 1)[1].split("</section>", 1)[0]
    assert text.index("Changes across commits") < text.index("Frugality indicators")
    assert "parse" in section and "flat" not in section
    assert "3 steps over 20 commits: 3 regressions, 0 improvements." in section   # energy, CPU, wall time
    assert "energy" in section and "CPU time" in section and "wall time" in section
    assert f"{ids[11][:7]} (" in section and f"{ids[12][:7]} (" in section     # the commits on each side
    assert re.search(r"\+2\d%: 1\.2\dx \[1\.2\d, 1\.[23]\d\]", section), section
    trend = text.split("<h2>Trends</h2>", 1)[1]
    assert "A dashed rule marks a step" in trend and "energy +2" in trend   # the mark's label, as SVG text


@pytest.mark.slow
def test_regressions_come_before_improvements(outside_git):
    from frugal.store.read import load

    db = outside_git / "frugal.db"
    _history_store(db, {"faster": 0.7, "slower": 1.3})
    section = render(load(db), progress=False).split("<h2>Changes across commits</h2>", 1)[1].split("</section>")[0]
    assert section.index("slower") < section.index("faster")
    assert section.index("regression") < section.index("improvement")


@pytest.mark.slow
def test_a_flat_history_says_no_step_over_how_many_commits(outside_git):
    from frugal.store.read import load

    db = outside_git / "frugal.db"
    _history_store(db, {"flat": 1.0}, commits=15)
    section = render(load(db), progress=False).split("<h2>Changes across commits</h2>", 1)[1].split("</section>")[0]
    assert "No step found in energy, CPU time or wall time over 15 commits." in section


def test_runs_without_a_commit_say_how_to_give_one(two_run_store):
    from frugal.store.read import load

    frame = load(two_run_store)
    if frame["git_commit"].notna().any():
        frame = frame.assign(git_commit=None)
    section = render(frame, progress=False).split("<h2>Changes across commits</h2>", 1)[1].split("</section>")[0]
    assert "no git commit" in section and "FRUGAL_GIT_COMMIT" in section


def test_a_frame_not_from_a_store_has_no_such_section(comparison):
    assert "Changes across commits" not in render(comparison.frame, by="variant", progress=False)


def _indicator_rows(text: str) -> list[str]:
    """The body rows of the page's indicators table."""
    section = text[text.index("<h2>Frugality indicators"):]
    body = section[section.index("<tbody>"):section.index("</tbody>")]
    return re.findall(r"<tr>(.*?)</tr>", body)


def test_the_indicators_table_shows_the_costliest_names_and_sums_the_rest(tmp_path):
    """With 300 names the table lists the 30 costliest and one line for the 270 others."""
    frugal.clear()
    for _ in range(2):
        for i in range(300):
            with frugal.measure(f"name_{i:03d}"):
                sum(range(50 * (i + 1)))
    text = render(frugal.results(), by="name", progress=False)
    frugal.clear()
    rows = _indicator_rows(text)
    assert len(rows) == 30 + 1       # TABLE_NAMES and the line of the others
    assert "270 other names" in rows[-1] and ">540<" in rows[-1]
    assert "the table above lists the 30 that cost the most" in text


def test_one_run_that_added_no_memory_says_so_in_words(tmp_path):
    """The demo's page said "1 runs" and drew an empty memory chart when every measurement added 0 B."""
    path = tmp_path / "one.db"
    code = textwrap.dedent(f"""
        import frugal
        from frugal import store
        store.set_default_store({str(path)!r})
        for i in range(6):
            for name in ("a", "b"):
                with frugal.measure(name):
                    pass
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    frame = frugal.load(path)
    frame["peak_added_bytes"] = 0       # what an empty block adds on most runs: nothing
    text = report(frame, tmp_path / "d.html").read_text()
    assert "The one run, with its" in text and "1 runs" not in text
    assert "Not drawn: no measurement added memory above its start (each added 0 B)." in text
