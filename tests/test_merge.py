"""frugal merge: the union of real stores by run id, idempotent, sources untouched, never into
a file that is not a store, and safe while another process writes the output."""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import frugal
from frugal import store
from frugal.cli.parser import main
from frugal.frames.columns import log_columns
from frugal.store.merge import merge
from frugal.store.run_info import new_run
from frugal.store.sqlite import Store

from test_store import _SCHEMA_1

PY = sys.executable


def write_store(path: Path, runs: dict[str, int], monkeypatch: pytest.MonkeyPatch,
                commit: str = "c0ffee00", branch: str = "main") -> None:
    """Runs of this process stored in ``path`` by frugal's own writer: one run per entry of
    ``runs`` (name -> how many measured calls), each with ``commit`` and ``branch``."""
    monkeypatch.setenv("FRUGAL_GIT_COMMIT", commit)
    monkeypatch.setenv("FRUGAL_GIT_BRANCH", branch)
    for name, calls in runs.items():
        frugal.clear()
        store.set_default_store(path)       # each switch starts a new run
        try:
            f = frugal.measure(name=name)(lambda: None)
            for _ in range(calls):
                f()
            frugal.flush()
        finally:
            store.set_default_store(None)
            frugal.clear()


def fingerprint(path: Path) -> tuple[str, int]:
    """The file's SHA-256 and modification time (ns)."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def by_run(frame: pd.DataFrame) -> pd.DataFrame:
    """A load() frame in a canonical order (run, then time), so that copies compare equal."""
    return frame.sort_values(["run_id", "started_at", "name"], kind="stable").reset_index(drop=True)


@pytest.fixture
def two_sources(tmp_path, monkeypatch):
    """a.db (two runs, commit aaaa1111 on main) and b.db (one run, commit bbbb2222 on feature)."""
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    write_store(a, {"parse": 30, "load": 20}, monkeypatch, commit="aaaa1111", branch="main")
    write_store(b, {"parse": 12}, monkeypatch, commit="bbbb2222", branch="feature")
    return a, b


def test_merge_copies_every_measurement_of_every_run(tmp_path, two_sources):
    """OUT holds exactly the measurements of all sources, value for value."""
    a, b = two_sources
    merge(tmp_path / "out.db", [a, b])
    expected = by_run(pd.concat([frugal.load(a), frugal.load(b)], ignore_index=True))
    pd.testing.assert_frame_equal(by_run(frugal.load(tmp_path / "out.db")), expected)


def test_merge_keeps_each_runs_metadata(tmp_path, two_sources):
    """Each run keeps its commit, branch, host, program, settings and counts."""
    a, b = two_sources
    merge(tmp_path / "out.db", [a, b])
    expected = pd.concat([store.load_runs(a), store.load_runs(b)], ignore_index=True).sort_values("run_id")
    got = store.load_runs(tmp_path / "out.db").sort_values("run_id")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))
    assert sorted(got["git_commit"]) == ["aaaa1111", "aaaa1111", "bbbb2222"]
    assert sorted(got["git_branch"]) == ["feature", "main", "main"]


def test_merge_counts_what_it_added(tmp_path, two_sources):
    """The result gives, per source and in total, runs added, runs already there and measurements."""
    a, b = two_sources
    result = merge(tmp_path / "out.db", [a, b])
    assert [(s.runs_added, s.runs_present, s.measurements_added) for s in result.sources] == [(2, 0, 50), (1, 0, 12)]
    assert (result.runs_added, result.runs_present, result.measurements_added) == (3, 0, 62)


def test_merging_twice_adds_nothing(tmp_path, two_sources):
    """A second merge of the same sources finds every run there and leaves OUT's content as it was."""
    a, b = two_sources
    out = tmp_path / "out.db"
    merge(out, [a, b])
    before = by_run(frugal.load(out))
    again = merge(out, [a, b, a])
    assert (again.runs_added, again.runs_present, again.measurements_added) == (0, 5, 0)
    pd.testing.assert_frame_equal(by_run(frugal.load(out)), before)


def test_only_the_runs_out_lacks_are_added(tmp_path, two_sources):
    """Merging b into a store that already holds a's runs adds b's run only."""
    a, b = two_sources
    out = tmp_path / "out.db"
    merge(out, [a])
    result = merge(out, [a, b])
    assert [(s.runs_added, s.runs_present) for s in result.sources] == [(0, 2), (1, 0)]
    assert len(store.load_runs(out)) == 3 and len(frugal.load(out)) == 62


def test_sources_are_never_modified(tmp_path, two_sources):
    """Each source's bytes and modification time are the same after the merge."""
    a, b = two_sources
    before = [fingerprint(a), fingerprint(b)]
    merge(tmp_path / "out.db", [a, b])
    merge(tmp_path / "out.db", [a, b])
    assert [fingerprint(a), fingerprint(b)] == before


@pytest.mark.parametrize("how", ["same path", "symlink"])
def test_out_given_as_a_source_is_a_no_op(tmp_path, two_sources, how):
    """OUT among the sources (by its path or a link to it) is skipped, said so, and adds nothing."""
    a, _ = two_sources
    out = tmp_path / "out.db"
    merge(out, [a])
    alias = out
    if how == "symlink":
        alias = tmp_path / "alias.db"
        alias.symlink_to(out)
    before = by_run(frugal.load(out))
    result = merge(out, [alias])
    assert result.sources[0].skipped == "it is OUT itself" and result.runs_added == 0
    pd.testing.assert_frame_equal(by_run(frugal.load(out)), before)


def test_rows_dropped_survive_the_merge(tmp_path):
    """A run's count of measurements it could not store is copied with it."""
    frugal.clear()
    f = frugal.measure(name="f")(lambda: None)
    for _ in range(5):
        f()
    src = tmp_path / "dropped.db"
    Store(src).append(new_run(), log_columns(), dropped=7)
    frugal.clear()
    merge(tmp_path / "out.db", [src])
    runs = store.load_runs(tmp_path / "out.db")
    assert runs[["measurements", "rows_dropped"]].values.tolist() == [[5, 7]]


def test_a_schema_1_source_is_copied_as_it_reads(tmp_path):
    """A store of schema 1 (one SQL row per measurement) is merged: OUT reads back the same rows."""
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.executescript(_SCHEMA_1)
    conn.close()
    before = fingerprint(old)
    result = merge(tmp_path / "out.db", [old])
    assert (result.runs_added, result.measurements_added) == (1, 1)
    pd.testing.assert_frame_equal(frugal.load(tmp_path / "out.db"), frugal.load(old))
    assert fingerprint(old) == before


def test_a_field_unknown_to_this_frugal_is_kept(tmp_path, monkeypatch):
    """A source's chunk column that this frugal does not know (a newer field) is copied, not lost."""
    src = tmp_path / "newer.db"
    write_store(src, {"f": 3}, monkeypatch)
    conn = sqlite3.connect(src)
    conn.execute("ALTER TABLE chunks ADD COLUMN future_field BLOB")
    conn.execute("INSERT INTO chunks (run, rows, dropped, future_field) SELECT run, 0, 0, ? FROM chunks LIMIT 1",
                 (b"f=future",))
    conn.commit()
    conn.close()
    merge(tmp_path / "out.db", [src])
    conn = sqlite3.connect(tmp_path / "out.db")
    assert conn.execute("SELECT future_field FROM chunks WHERE future_field IS NOT NULL").fetchall() == [(b"f=future",)]
    conn.close()


# --- the command line ----------------------------------------------------------------------

def test_the_command_prints_one_line_per_source(tmp_path, two_sources, capsys):
    """frugal merge OUT A B prints what each source brought, then nothing new when run again."""
    a, b = two_sources
    assert main(["merge", str(tmp_path / "out.db"), str(a), str(b)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{a}: 2 runs added, 0 already there, 50 measurements",
                                                    f"{b}: 1 run added, 0 already there, 12 measurements"]
    assert main(["merge", str(tmp_path / "out.db"), str(a)]) == 0
    assert capsys.readouterr().out == f"{a}: 0 runs added, 2 already there, 0 measurements\n"


def test_the_command_prints_json(tmp_path, two_sources, capsys):
    """--json: the totals and one record per source, JSON alone on stdout."""
    a, b = two_sources
    assert main(["merge", "--json", str(tmp_path / "out.db"), str(a), str(b)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["runs_added"], data["runs_present"], data["measurements_added"]) == (3, 0, 62)
    assert [s["source"] for s in data["sources"]] == [str(a), str(b)]


@pytest.mark.parametrize("bad", ["out", "source"])
@pytest.mark.parametrize("content", [b"my notes\n", b"SQLite format 3\x00" + b"\x00" * 200])
def test_a_file_that_is_not_a_store_is_refused_and_nothing_written(tmp_path, two_sources, capsys, bad, content):
    """An OUT or a SRC that is not a frugal store: one line naming it, exit status 2, no file
    written or created."""
    a, _ = two_sources
    other = tmp_path / "notes.db"
    other.write_bytes(content)
    before = fingerprint(other)
    out, sources = (other, [a]) if bad == "out" else (tmp_path / "new.db", [a, other])
    assert main(["merge", str(out), *map(str, sources)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"frugal merge: error: {'out' if bad == 'out' else 'sources'}: {other}")
    assert fingerprint(other) == before
    assert not (tmp_path / "new.db").exists()


def test_a_missing_source_is_refused_before_out_is_created(tmp_path, two_sources, capsys):
    """A source that does not exist: exit status 2, OUT not created."""
    a, _ = two_sources
    assert main(["merge", str(tmp_path / "new.db"), str(a), str(tmp_path / "missing.db")]) == 2
    assert "sources: no frugal store at" in capsys.readouterr().err
    assert not (tmp_path / "new.db").exists()


def test_sources_must_be_a_list_of_paths(tmp_path):
    """merge(out, "a.db") is a TypeError naming sources (a str is not a list of stores)."""
    with pytest.raises(TypeError, match="sources"):
        merge(tmp_path / "out.db", str(tmp_path / "a.db"))  # type: ignore[arg-type]


# --- concurrency: another process appends to OUT while merges run ------------------------------

_APPENDER = """
    import os, sys, frugal
    from frugal import store
    store.set_default_store(sys.argv[1])
    f = frugal.measure(name="appended")(lambda: None)
    print("started", flush=True)
    calls = 0
    while not os.path.exists(sys.argv[2]):     # until every merge has ended
        for _ in range(50):
            f()
        calls += 50
        frugal.flush()
    frugal.flush()
    print(calls, store.default._writer.run["run_id"], flush=True)
"""


@pytest.mark.slow
def test_a_merge_while_another_process_appends_to_out_loses_nothing(tmp_path, monkeypatch):
    """A process appending to OUT (a flush every 50 calls) while merges into OUT run in other
    processes: every appended measurement and every merged run is in OUT afterwards."""
    sources = []
    for i in range(6):
        src = tmp_path / f"s{i}.db"
        write_store(src, {f"job{i}-{j}": 2_000 for j in range(5)}, monkeypatch, commit=f"{i:08x}")
        sources.append(src)
    monkeypatch.delenv("FRUGAL_GIT_COMMIT")
    monkeypatch.delenv("FRUGAL_GIT_BRANCH")
    out, stop = tmp_path / "out.db", tmp_path / "stop"
    appender = subprocess.Popen([PY, "-c", textwrap.dedent(_APPENDER), str(out), str(stop)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert appender.stdout is not None and appender.stdout.readline() == "started\n"
        merges = [subprocess.run([PY, "-m", "frugal", "merge", str(out), str(src)], capture_output=True,
                                 text=True, timeout=120) for src in sources]
        stop.touch()
        stdout, stderr = appender.communicate(timeout=120)
    finally:
        appender.kill()
    assert appender.returncode == 0 and stderr == "", stderr
    assert all(m.returncode == 0 and m.stdout.endswith("5 runs added, 0 already there, 10,000 measurements\n")
               for m in merges), [m.stdout + m.stderr for m in merges]
    calls, run_id = int(stdout.split()[-2]), stdout.split()[-1]
    frame = frugal.load(out)
    assert calls > 0 and (frame["run_id"] == run_id).sum() == calls
    assert (frame["name"] == "appended").sum() == calls
    assert len(frame) == calls + 6 * 5 * 2_000
    assert len(store.load_runs(out)) == 1 + 6 * 5


def test_the_merge_command_imports_no_pandas(tmp_path, two_sources):
    """frugal merge stays light: it never imports pandas or matplotlib."""
    a, b = two_sources
    code = ("import sys; from frugal import cli\nstatus = cli.main(sys.argv[1:])\n"
            "heavy = sorted(m for m in ('pandas', 'matplotlib') if m in sys.modules)\n"
            "print('HEAVY', heavy, file=sys.stderr); raise SystemExit(status)")
    proc = subprocess.run([PY, "-c", code, "merge", str(tmp_path / "out.db"), str(a), str(b)],
                          capture_output=True, text=True, timeout=60, env={**os.environ})
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stderr
