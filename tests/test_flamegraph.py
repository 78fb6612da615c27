"""A profile's outputs: the HTML flame graph (in a real headless Chromium), speedscope, collapsed stacks."""
from __future__ import annotations

import contextlib
import json
import math
import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest

import frugal
from frugal.pages.flamegraph import render

EVIL = "<script>alert(1)</script>"
SCHEMA = Path(__file__).parent / "data" / "speedscope-file-format-schema.json"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# code whose module has a hostile name, so every surface must escape what it shows of it
HOSTILE = {"__name__": EVIL}
exec("""
import time
def burn(seconds):
    t0 = time.thread_time()
    while time.thread_time() - t0 < seconds:
        pass
""", HOSTILE)


def spin(seconds: float) -> None:
    t0 = time.thread_time()
    while time.thread_time() - t0 < seconds:
        pass


@pytest.fixture(scope="module")
def prof():
    """A profile of two threads: the main one spinning in a hostile module, a worker in spin()."""
    with frugal.profile(name="outputs") as p:
        worker = threading.Thread(target=spin, args=(0.15,), name="worker")
        worker.start()
        HOSTILE["burn"](0.25)
        worker.join()
    return p


def test_speedscope_file_is_valid_against_the_schema(prof, tmp_path) -> None:
    """The export validates against speedscope's published JSON Schema; weights are joules that add up."""
    jsonschema = pytest.importorskip("jsonschema")
    path = prof.to_speedscope(tmp_path / "p.speedscope.json")
    doc = json.loads(path.read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    weights = [w for p in doc["profiles"] for w in p["weights"]]
    assert math.fsum(weights) == pytest.approx(prof.measurement.energy_j, rel=1e-9)
    names = {f["name"] for f in doc["shared"]["frames"]}
    assert f"{EVIL}.burn" in names and any(n.endswith(".spin") for n in names)
    threads = [p["name"] for p in doc["profiles"]]
    assert any(n.startswith("MainThread") for n in threads) and any(n.startswith("worker") for n in threads)
    for p in doc["profiles"]:
        assert len(p["samples"]) == len(p["weights"]) and p["unit"] == "none"
        assert all(0 <= i < len(doc["shared"]["frames"]) for s in p["samples"] for i in s)


def test_a_broken_document_fails_the_schema() -> None:
    """The schema check bites: a profile without weights or an unknown unit is refused."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    bad = {"$schema": "https://www.speedscope.app/file-format-schema.json", "shared": {"frames": []},
           "profiles": [{"type": "sampled", "name": "x", "unit": "joules", "startValue": 0, "endValue": 1,
                         "samples": []}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_collapsed_stacks_in_microjoules(prof, tmp_path) -> None:
    """One 'root;...;leaf N' line per stack, N whole microjoules that add up to the region's energy."""
    text = prof.to_collapsed(tmp_path / "p.folded")
    assert (tmp_path / "p.folded").read_text() == text
    lines = text.splitlines()
    assert lines and all(re.fullmatch(r"[^\n;]+(;[^\n;]+)* \d+", line) for line in lines)
    total = sum(int(line.rsplit(" ", 1)[1]) for line in lines)
    assert total == pytest.approx(prof.measurement.energy_j * 1e6, abs=len(lines) + 1)
    assert any(f"{EVIL}.burn (<string>:3)" in line for line in lines)


def test_the_page_is_one_file_with_no_script_and_escaped_names(prof, tmp_path) -> None:
    """The page holds an SVG with a tooltip per box, escapes every name and asks for nothing."""
    path = prof.flamegraph(tmp_path / "p.html")
    text = path.read_text()
    assert EVIL not in text and "&lt;script&gt;alert(1)&lt;/script&gt;.burn" in text
    assert "<script" not in text.lower() and "src=" not in text and "url(" not in text
    assert text.count("<title>") >= 5 and "<svg" in text
    assert re.search(r"<title>[^<]*burn\ntotal [\d.]+ [mµ]?J \([\d.]+% of the region\)", text)
    assert "default-src 'none'" in text
    fragment = prof._repr_html_()             # a notebook shows the graph and the table
    assert fragment.startswith('<div class="frugal-profile">') and '<svg class="flame"' in fragment
    by_self = render(prof, color="self")
    assert "hsl(8, 78%" in by_self and "Colour: self energy" in by_self


def test_outputs_never_overwrite_a_file_of_another_kind(prof, tmp_path) -> None:
    """A store (or any other file) at the output path is refused unless force=True."""
    store = tmp_path / "frugal.db"
    with contextlib.closing(sqlite3.connect(store)) as conn:
        conn.execute("create table t (x)")
        conn.commit()
    for write in (prof.flamegraph, prof.to_speedscope, prof.to_collapsed):
        with pytest.raises(ValueError, match="not .* written by frugal"):
            write(store)
    assert store.read_bytes().startswith(b"SQLite format 3")
    prof.flamegraph(store, force=True)
    assert store.read_text().startswith("<!DOCTYPE html>")
    prof.flamegraph(store)                   # its own kind is replaced freely
    with pytest.raises(ValueError, match="directory"):
        prof.flamegraph(tmp_path)
    with pytest.raises(ValueError, match=r"flamegraph\(color=...\)"):
        prof.flamegraph(tmp_path / "x.html", color="rainbow")


@pytest.mark.parametrize("width", [390, 1280], ids=["phone", "laptop"])
@pytest.mark.slow
def test_the_page_in_headless_chromium(prof, tmp_path, width) -> None:
    """Chromium shows the graph across the screen with readable labels, the hostile name as text,
    no script, no request beyond the file, and nothing wider than the screen."""
    import os

    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("/usr/bin/chromium is absent (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    page_path = prof.flamegraph(tmp_path / "p.html").resolve()
    requests, problems = [], []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))

            def record(route):
                requests.append(route.request.url)
                route.continue_() if route.request.url.startswith("file://") else route.abort()

            page.route("**/*", record)
            page.goto(page_path.as_uri(), wait_until="load")
            assert page.locator("script").count() == 0
            assert f"{EVIL}.burn" in page.inner_text("body")
            graph = page.locator("svg.flame").bounding_box()
            sizes = page.evaluate("[...document.querySelectorAll('svg.flame text')]"
                                  ".map(t => parseFloat(getComputedStyle(t).fontSize))")
            widest = page.evaluate("Math.max(...[...document.querySelectorAll('svg.flame rect')]"
                                   ".map(r => r.getBoundingClientRect().width))")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        finally:
            browser.close()
    assert problems == [] and requests == [page_path.as_uri()]
    assert overflow <= 0
    assert graph is not None and graph["width"] >= min(width, 1100) * 0.9 and graph["height"] >= 3 * 18
    assert sizes and min(sizes) >= 11
    assert widest == pytest.approx(graph["width"], abs=1)     # the root box spans the graph
