"""Hostile names: HTML, quotes, control characters, non-Latin scripts and emoji pass through the
store, the command line and the dashboard intact, and escaped wherever they are shown."""
from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import frugal
from frugal import store
from frugal.cli import parser as cli
from frugal.pages.text import markdown
from frugal.text import shown

NAMES = [
    "<script>alert(1)</script>",
    "\"double\" & 'single' <b>quotes</b>",
    "line\nbreak\r\nand more",
    "tab\there",
    "nul\x00byte",
    "\x1b[31mred\x1b[0m \x1b]0;title\x07",      # terminal escape sequences
    "数据处理",
    "данные",
    "بيانات",
    "🌱 frugal 💚",
    "pipe|back`tick [link](javascript:alert(1))",
    "echo $HOME and $PATH",
    "awk '{print $1}' | cut -f$2",                  # between two $, matplotlib would read math
]
pytestmark = [pytest.mark.slow,   # subprocesses and charts, seconds each: not in the quick tier
              pytest.mark.filterwarnings("ignore:Glyph .* missing from font")]   # CJK, emoji: see RELIABILITY.md
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")   # anything but newline and tab
FRUGAL = str(Path(sys.executable).with_name("frugal"))


@pytest.fixture(autouse=True)
def _fresh():
    frugal.clear()
    yield
    frugal.clear()


class Page(HTMLParser):
    """What a browser would build from the page: its tags, and the names in the tables."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.titles: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if tag == "span" and "title" in attrs:
            self.titles.append(attrs["title"])


def check_page(path: Path, names: list[str]) -> None:
    text = path.read_bytes().decode("utf-8")          # bytes as written: no newline translation
    page = Page(text)
    assert "<script" not in text.lower() and "script" not in page.tags
    assert "<b>" not in text and not re.search(r"href=\"(?!#)", text)   # charts link only inside
    assert set(names) <= set(page.titles)               # every name, unescaped by the parser, intact
    # every chart drew every name; only the memory chart gives way to its sentence when no
    # measurement added memory (small blocks often add 0 B)
    assert text.count("Not drawn") == text.count("Not drawn: no measurement added memory above its start")


class Ошибка(Exception):
    pass


def test_names_round_trip_through_the_store(tmp_path):
    """Hostile function, parent and error names load back from the store exactly as measured."""
    path = tmp_path / "names.db"
    store.set_default_store(path)
    try:
        for name in NAMES:
            with frugal.measure(name):
                frugal.measure(lambda: None, name=name + " ▸ inner")()
        with pytest.raises(Ошибка):
            with frugal.measure("fails"):
                raise Ошибка("x")
        assert frugal.flush() == 2 * len(NAMES) + 1
    finally:
        store.set_default_store(None)
    loaded, live = frugal.load(path), frugal.results()
    live = live.sort_values("started_at", kind="stable")          # the store is in start order
    assert loaded["name"].tolist() == live["name"].tolist()
    assert loaded["parent"].tolist() == live["parent"].tolist()
    assert set(loaded["name"]) == set(NAMES) | {n + " ▸ inner" for n in NAMES} | {"fails"}
    inner = loaded[loaded["name"].str.endswith(" ▸ inner")]
    assert (inner["parent"] + " ▸ inner").tolist() == inner["name"].tolist()
    assert loaded.loc[loaded["name"] == "fails", "error"].tolist() == ["Ошибка"]


def test_a_name_that_is_not_unicode_is_stored_escaped_and_blocks_nothing(tmp_path):
    """A name with undecodable bytes (lone surrogates) is stored as escapes; the rows around it are stored too."""
    odd = os.fsdecode(b"load caf\xe9.csv")            # a Latin-1 file name on a UTF-8 system
    path = tmp_path / "odd.db"
    store.set_default_store(path)
    try:
        for name in ("before", odd, "after"):
            with frugal.measure(name):
                pass
        assert frugal.flush() == 3
    finally:
        store.set_default_store(None)
    assert frugal.load(path)["name"].tolist() == ["before", "load caf\\udce9.csv", "after"]
    assert frugal.results()["name"].tolist() == ["before", odd, "after"]
    out = frugal.report(frugal.results(), tmp_path / "odd.html")
    assert "load caf\\udce9.csv" in out.read_text(encoding="utf-8")


def test_the_dashboard_escapes_every_name_and_draws_them(tmp_path):
    """The dashboard of hostile names holds each one intact (as its text) and never as markup."""
    path = tmp_path / "names.db"
    store.set_default_store(path)
    try:
        for name in NAMES:
            for i in range(3):
                with frugal.measure(name, units=i + 1):
                    sum(range(1000 * (i + 1)))
        frugal.flush()
    finally:
        store.set_default_store(None)
    out = frugal.report(frugal.load(path), tmp_path / "dashboard.html", store=path, progress=False)
    check_page(out, NAMES)


def test_frugal_run_keeps_names_intact_and_the_terminal_safe(tmp_path, capsys):
    """frugal run --name: JSON and store keep each name; the text output escapes control characters."""
    db = tmp_path / "run.db"
    for name in NAMES:
        assert cli.main(["run", "--name", name, "--store", str(db), "--json", "--", "true"]) == 0
        assert json.loads(capsys.readouterr().out)["name"] == name
        assert cli.main(["run", "--name", name, "--store", str(db), "--", "true"]) == 0
        err = capsys.readouterr().err
        assert f"frugal run: {shown(name)}\n" in err and not CONTROL.search(err)
    assert frugal.load(db)["name"].tolist() == [n for n in NAMES for _ in range(2)]


def test_frugal_compare_and_dashboard_keep_names_in_every_output_and_escape_them(tmp_path, capsys):
    """compare's table and Markdown escape names; JSON, CSV, the store and frugal dashboard keep them exactly."""
    out = {k: tmp_path / f"c.{k}" for k in ("json", "csv", "md")}
    db = tmp_path / "cmp.db"
    argv = ["compare", *["true"] * len(NAMES), "--runs", "2", "--warmup", "0", "--seed", "3",
            "--store", str(db), "--export-json", str(out["json"]), "--export-csv", str(out["csv"]),
            "--export-markdown", str(out["md"])]
    for name in NAMES:
        argv += ["-n", name]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert not CONTROL.search(text.replace("\n", ""))
    for name in NAMES:
        assert shown(name) in text
    data = json.loads(out["json"].read_text(encoding="utf-8"))
    assert list(data["commands"]) == NAMES
    assert {r["variant"] for r in data["runs"]} == {r["name"] for r in data["runs"]} == set(NAMES)
    assert {r["variant"] for r in data["summary"]} == set(NAMES)
    csv = pd.read_csv(out["csv"], keep_default_na=False, dtype=str)
    assert set(csv["variant"]) == set(NAMES)
    assert frugal.load(db).groupby("name").size().to_dict() == {n: 2 for n in NAMES}
    md = out["md"].read_text(encoding="utf-8")
    assert sum(line.startswith("| ") for line in md.splitlines()) == 1 + len(NAMES)   # a row each, whole
    assert "\\<script\\>" in md                     # outside code spans, escaped (rendered: see below)
    page = tmp_path / "cmp.html"
    assert cli.main(["dashboard", str(db), "-o", str(page)]) == 0
    check_page(page, NAMES)


def test_the_markdown_export_renders_each_name_as_written_and_nothing_else():
    """Rendered by a CommonMark parser that passes HTML through, the Markdown shows each name, whole, and no markup."""
    markdown_it = pytest.importorskip("markdown_it")
    cmp = frugal.compare({name: (lambda: None) for name in NAMES}, repeat=2, warmup=0, seed=1, progress=False)
    md = markdown(cmp.summary(), cmp.ratios(), cmp.warnings, cmp.baseline)
    rendered = markdown_it.MarkdownIt("commonmark").enable("table").render(md)   # raw HTML allowed
    page = Page(rendered)
    assert "script" not in page.tags and "a" not in page.tags and "b" not in page.tags
    cells = re.findall(r"<tr>\s*<td><code>(.*?)</code>", rendered, flags=re.DOTALL)
    assert [html.unescape(c) for c in cells] == [shown(n) for n in NAMES]   # one row each, whole


def test_the_console_script_passes_undecodable_and_non_latin_arguments(tmp_path):
    """The frugal command, given names in several scripts and bytes that are not UTF-8, stores and reports them."""
    db = tmp_path / "argv.db"
    name = "数据 данные بيانات 🌱 <i>x</i> caf".encode() + b"\xe9"
    base = [FRUGAL.encode(), b"run", b"--name", name, b"--store", str(db).encode()]
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    text = subprocess.run(base + [b"--", b"true"], capture_output=True, env=env, timeout=120)
    assert text.returncode == 0, text.stderr
    assert "数据 данные بيانات 🌱 <i>x</i> caf\\udce9".encode() in text.stderr
    js = subprocess.run(base + [b"--json", b"--", b"true"], capture_output=True, env=env, timeout=120)
    assert js.returncode == 0, js.stderr
    assert json.loads(js.stdout)["name"] == os.fsdecode(name)
    assert frugal.load(db)["name"].tolist() == ["数据 данные بيانات 🌱 <i>x</i> caf\\udce9"] * 2
    page = tmp_path / "argv.html"
    dash = subprocess.run([FRUGAL, "dashboard", str(db), "-o", str(page)], capture_output=True, env=env,
                          timeout=120)
    assert dash.returncode == 0, dash.stderr
    assert "<i>" not in page.read_text(encoding="utf-8")
    check_page(page, ["数据 данные بيانات 🌱 <i>x</i> caf\\udce9"])
