"""Outputs never overwrite inputs, are written whole with the umask's permissions, and bad
arguments are clear errors; a command runs exactly as given."""
from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import frugal
from frugal import store

pytestmark = pytest.mark.slow   # the command line and the dashboard in subprocesses, seconds each: not in the quick tier

PY = sys.executable
FRUGAL = [PY, "-m", "frugal"]


def frugal_cmd(*args: str, cwd: Path | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([*FRUGAL, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def one_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def db(tmp_path):
    """A store holding two names (the default store is unset again afterwards)."""
    frugal.clear()
    path = tmp_path / "frugal.db"
    store.set_default_store(path)
    for name in ("a", "b"):
        for _ in range(3):
            with frugal.measure(name):
                sum(range(1000))
    frugal.flush()
    store.set_default_store(None)
    frugal.clear()
    return path


def test_the_dashboard_refuses_to_write_onto_its_own_store(db):
    """frugal dashboard S -o S: exit status 2, one line, the store byte for byte as it was."""
    before = sha(db)
    proc = frugal_cmd("dashboard", str(db), "-o", str(db))
    assert proc.returncode == 2
    assert "frugal store" in one_line(proc)
    assert sha(db) == before and len(frugal.load(db)) == 6


def test_an_export_onto_the_store_is_refused_before_anything_runs(db, tmp_path):
    """frugal compare ... --export-json S: refused at once (exit 2), no command run, the store intact."""
    before = sha(db)
    marker = tmp_path / "ran"
    proc = frugal_cmd("compare", f"touch {marker}", "true", "--runs", "1", "--warmup", "0",
                      "--no-store", "--export-json", str(db))
    assert proc.returncode == 2 and "frugal store" in one_line(proc)
    assert sha(db) == before and not marker.exists()


@pytest.mark.parametrize("option", ["--export-json", "--export-csv", "--export-markdown"])
def test_an_export_onto_a_file_of_another_kind_needs_force(tmp_path, option):
    """An export onto someone's notes is refused; --force replaces them; an export of the same
    kind is replaced without asking."""
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    base = ["compare", "true", "sh -c true", "--runs", "2", "--warmup", "0", "--no-store"]
    proc = frugal_cmd(*base, option, str(notes))
    assert proc.returncode == 2 and "left untouched" in one_line(proc)
    assert notes.read_text() == "my notes\n"
    assert frugal_cmd(*base, option, str(notes), "--force").returncode == 0
    written = notes.read_text()
    assert written != "my notes\n"
    assert frugal_cmd(*base, option, str(notes)).returncode == 0       # same kind: replaced


def test_the_dashboard_replaces_its_own_page_but_not_another_file(db, tmp_path):
    """A dashboard frugal wrote is replaced; an HTML page of someone else is not, unless forced."""
    page = tmp_path / "page.html"
    assert frugal_cmd("dashboard", str(db), "-o", str(page)).returncode == 0
    assert frugal_cmd("dashboard", str(db), "-o", str(page)).returncode == 0
    other = tmp_path / "index.html"
    other.write_text("<!DOCTYPE html><html><body>my site</body></html>")
    proc = frugal_cmd("dashboard", str(db), "-o", str(other))
    assert proc.returncode == 2 and "not an HTML page written by frugal" in one_line(proc)
    assert "my site" in other.read_text()
    assert frugal_cmd("dashboard", str(db), "-o", str(other), "--force").returncode == 0
    assert "my site" not in other.read_text()


def test_report_refuses_a_store_and_names_a_bad_title(db, tmp_path):
    """report() onto a store is a ValueError (the store intact); title=5 a TypeError naming title."""
    frame = frugal.load(db)
    before = sha(db)
    with pytest.raises(ValueError, match="frugal store"):
        frugal.report(frame, db)
    assert sha(db) == before
    with pytest.raises(TypeError, match="title"):
        frugal.report(frame, tmp_path / "t.html", title=5)


@pytest.mark.parametrize("umask, mode", [(0o077, 0o600), (0o022, 0o644), (0o002, 0o664)])
def test_outputs_take_their_permissions_from_the_umask(db, tmp_path, umask, mode):
    """The dashboard and the exports get what the umask gives a new file, not a fixed 0644."""
    code = f"""
        import os, frugal
        os.umask({umask:#o})
        frugal.report(frugal.load({str(db)!r}), {str(tmp_path / 'd.html')!r})
    """
    out = subprocess.run([PY, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert stat.S_IMODE((tmp_path / "d.html").stat().st_mode) == mode
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_name_of_100000_characters_makes_a_page_in_reasonable_time(tmp_path):
    """A 100,000-character function name: report() finishes (run with a 120 s limit; it took 213 s),
    the table shows the name whole, the charts a shortened label."""
    code = f"""
        import frugal
        f = frugal.measure(name="x" * 100_000)(lambda: None)
        g = frugal.measure(name="short")(lambda: None)
        for _ in range(5):
            f(); g()
        frugal.report(frugal.results(), {str(tmp_path / 'long.html')!r})
    """
    out = subprocess.run([PY, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    page = (tmp_path / "long.html").read_text()
    assert "x" * 100_000 in page and "…" in page


def test_demo_out_onto_an_existing_file_is_a_clear_error(tmp_path):
    """frugal demo --out FILE: exit status 2 and one line naming --out's folder, the file intact."""
    target = tmp_path / "file"
    target.write_text("keep me")
    proc = frugal_cmd("demo", "--out", str(target), "--repeat", "2")
    assert proc.returncode == 2 and "not a folder" in one_line(proc)
    assert target.read_text() == "keep me"


def test_a_command_runs_exactly_as_given(tmp_path):
    """frugal run -- ./opt=3/bench: the program at that path runs with its arguments exactly
    (not env reading "./opt=3/bench" as an assignment)."""
    folder = tmp_path / "opt=3"
    folder.mkdir()
    bench = folder / "bench"
    marker = tmp_path / "marker"
    bench.write_text(f'#!/bin/sh\nprintf "%s|" "$0" "$@" > {marker}\n')
    bench.chmod(0o755)
    proc = frugal_cmd("run", "--no-store", "--", "./opt=3/bench", "a b", "x=1", "--", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert marker.read_text() == "./opt=3/bench|a b|x=1|--|"
