"""The SQLite store: batches off the hot path, concurrent writers, foreign files, reading back."""
from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

import frugal
from frugal import store
from frugal.store import default, run_info
from frugal.errors import FrugalError

PY = sys.executable


@pytest.fixture
def db(tmp_path):
    """A fresh store set as this process's default for the test, unset afterwards."""
    frugal.clear()
    path = tmp_path / "frugal.db"
    store.set_default_store(path)
    yield path
    store.set_default_store(None)
    frugal.clear()


def run_py(code: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_round_trip_keeps_every_call_and_its_values(db):
    """Every measured call comes back from the store with the values results() shows."""
    @frugal.measure
    def double(x):
        return 2 * x

    for i in range(500):
        double(i)
    with frugal.measure("block", units=7):
        sum(range(10_000))
    with pytest.raises(KeyError):
        with frugal.measure("fails"):
            raise KeyError("x")
    frugal.flush()      # the writer thread may have stored some already: what counts is all 502 stored
    loaded = frugal.load(db)
    live = frugal.results()
    assert len(loaded) == len(live) == 502
    assert list(loaded.columns[: len(frugal.measurement.FIELDS)]) == list(frugal.measurement.FIELDS)
    assert loaded["wall_s"].tolist() == live["wall_s"].tolist()
    assert loaded["started_at"].tolist() == live["started_at"].tolist()
    assert loaded["peak_rss_bytes"].tolist() == live["peak_rss_bytes"].tolist()
    block = loaded[loaded["name"] == "block"].iloc[0]
    assert block["units"] == 7
    failed = loaded[loaded["name"] == "fails"].iloc[0]
    assert (failed["status"], failed["error"]) == ("error", "KeyError")
    assert set(loaded["run_id"]) == {default._writer.run["run_id"]}
    assert loaded["host"].iloc[0] and loaded["python"].iloc[0].startswith("CPython")
    assert loaded["frugal_version"].iloc[0] == frugal.__version__


def test_a_second_flush_writes_nothing_twice(db):
    """A flush stores only what is new since the previous one."""
    with frugal.measure("once"):
        pass
    assert frugal.flush() == 1
    assert frugal.flush() == 0
    assert len(frugal.load(db)) == 1


def test_background_thread_stores_without_a_flush(db):
    """Rows reach the store on their own, within a few flush periods, with no flush() call."""
    with frugal.measure("background"):
        pass
    deadline = time.monotonic() + 30 * store.FLUSH_EVERY_S
    while time.monotonic() < deadline and len(frugal.load(db)) == 0:
        time.sleep(0.1)
    assert frugal.load(db)["name"].tolist() == ["background"]


def test_summary_mode_is_stored_as_increments(db):
    """Summary aggregates are stored as rows with calls > 1 whose sums give the totals."""
    hot = frugal.measure(lambda: None, name="hot", record="summary")
    for _ in range(300):
        hot()
    frugal.flush()
    for _ in range(200):
        hot()
    frugal.flush()
    frugal.flush()
    rows = frugal.load(db, name="hot")
    assert rows["calls"].tolist() == [300, 200]
    total = frugal.results().query("name == 'hot'")
    assert rows["wall_s"].sum() == pytest.approx(total["wall_s"].sum())


def test_clear_flushes_first_and_keeps_storing_after(db):
    """clear() stores what it is about to forget, and later calls are stored once."""
    for _ in range(3):
        with frugal.measure("before"):
            pass
    frugal.clear()
    for _ in range(2):
        with frugal.measure("after"):
            pass
    frugal.flush()
    assert frugal.load(db)["name"].tolist() == ["before"] * 3 + ["after"] * 2


def test_forked_child_is_a_new_run_and_never_rewrites_the_parent(db):
    """A forked child stores only its own calls, under a run of its own."""
    for _ in range(4):
        with frugal.measure("parent"):
            pass
    pid = os.fork()
    if pid == 0:  # child: measure, then leave normally so atexit flushes
        try:
            for _ in range(3):
                with frugal.measure("child"):
                    pass
        finally:
            default._at_exit()
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    frugal.flush()
    frame = frugal.load(db)
    by_name = frame.groupby("name")["run_id"].agg(["size", "nunique"])
    assert by_name.loc["parent", "size"] == 4 and by_name.loc["child", "size"] == 3
    assert frame["run_id"].nunique() == 2
    assert set(frame.loc[frame["name"] == "child", "pid"]) == {pid}


def test_multiprocessing_child_is_flushed_although_it_skips_atexit(db):
    """A multiprocessing (fork) child leaves through os._exit; its calls are stored anyway."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    proc = ctx.Process(target=_measure_twice)
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    assert frugal.load(db, name="in_child")["calls"].sum() == 2


def _measure_twice() -> None:
    for _ in range(2):
        with frugal.measure("in_child"):
            pass


@pytest.mark.slow
def test_four_processes_writing_at_once_lose_nothing(tmp_path):
    """Four processes storing 10,000 calls each into one file at once: all 40,000 are there."""
    path = tmp_path / "shared.db"
    go = tmp_path / "go"
    code = f"""
        import os, time, frugal
        from frugal import store
        store.set_default_store({str(path)!r})
        while not os.path.exists({str(go)!r}):
            time.sleep(0.005)
        f = frugal.measure(lambda i: i, name="work")
        for i in range(10_000):
            f(i)
    """
    procs = [subprocess.Popen([PY, "-c", textwrap.dedent(code)], stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    time.sleep(0.5)
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    frame = frugal.load(path)
    assert len(frame) == 40_000
    assert frame.groupby("run_id").size().tolist() == [10_000] * 4
    assert frame["pid"].nunique() == 4


@pytest.mark.slow
def test_a_hard_kill_loses_at_most_the_last_flush_period(tmp_path):
    """Calls made a few flush periods before a SIGKILL are in the store."""
    path = tmp_path / "killed.db"
    code = f"""
        import os, signal, time, frugal
        from frugal import store
        store.set_default_store({str(path)!r})
        for i in range(1000):
            with frugal.measure("before_kill"):
                pass
        time.sleep(3 * store.FLUSH_EVERY_S + 0.5)
        os.kill(os.getpid(), signal.SIGKILL)
    """
    proc = run_py(code)
    assert proc.returncode == -signal.SIGKILL
    assert len(frugal.load(path, name="before_kill")) == 1000


def test_store_file_is_marked_versioned_and_in_wal_mode(db):
    """The file carries frugal's application id, the schema version and WAL journaling."""
    with frugal.measure("x"):
        pass
    frugal.flush()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == store.APPLICATION_ID
        assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        assert meta["application"] == "frugal"
    finally:
        conn.close()


@pytest.mark.parametrize("statement", ["UPDATE chunks SET rows = 0", "DELETE FROM chunks",
                                       "DELETE FROM chunk_names", "DELETE FROM runs", "DELETE FROM meta"])
def test_store_is_append_only(db, statement):
    """UPDATE and DELETE are refused by the file itself."""
    with frugal.measure("kept"):
        pass
    frugal.flush()
    conn = sqlite3.connect(db)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(statement)
    finally:
        conn.close()
    assert len(frugal.load(db)) == 1


def _foreign_sqlite(path: Path, app_id: int = 0) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.execute("INSERT INTO customers VALUES ('ada')")
    if app_id:
        conn.execute(f"PRAGMA application_id = {app_id}")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("kind, message", [
    ("text", "not a SQLite database"),
    ("sqlite", "another application"),
    ("sqlite_app", "another application"),
    ("corrupt", "corrupt|unusable|malformed"),
    ("newer", "newer frugal"),
])
def test_a_file_that_is_not_our_store_is_refused_and_left_untouched(tmp_path, kind, message):
    """A foreign, corrupt or newer file gives a clear FrugalError and is not modified."""
    path = tmp_path / "thing.db"
    if kind == "text":
        path.write_text("name,value\nada,1\n" * 100)
    elif kind == "sqlite":
        _foreign_sqlite(path)
    elif kind == "sqlite_app":
        _foreign_sqlite(path, app_id=0x12345678)
    else:
        store.Store(path).open()
        if kind == "newer":
            conn = sqlite3.connect(path)
            conn.execute(f"PRAGMA user_version = {store.SCHEMA_VERSION + 1}")
            conn.commit()
            conn.close()
        else:
            data = bytearray(path.read_bytes())
            data[100:] = b"\xff" * (len(data) - 100)     # keep the header, break every page
            path.write_bytes(bytes(data))
    before = sha(path)
    listing = sorted(os.listdir(tmp_path))
    with pytest.raises(FrugalError, match=message):
        store.set_default_store(path)
    with pytest.raises(FrugalError, match=message):
        frugal.load(path)
    assert sha(path) == before
    if kind != "corrupt":  # a corrupt store of ours may gain SQLite's -wal/-shm side files
        assert sorted(os.listdir(tmp_path)) == listing
    assert store.default_store() is None


def test_missing_or_directory_paths_are_clear_errors(tmp_path):
    """load() of a missing file or a folder says so in one FrugalError."""
    with pytest.raises(FrugalError, match="does not exist"):
        frugal.load(tmp_path / "nope.db")
    with pytest.raises(FrugalError, match="is a directory"):
        frugal.load(tmp_path)
    with pytest.raises(FrugalError, match="is a directory"):
        store.set_default_store(tmp_path)


def test_an_empty_file_becomes_a_store(tmp_path):
    """A zero-byte file (a fresh temporary file) may become a store; nothing was in it to lose."""
    path = tmp_path / "empty.db"
    path.touch()
    store.Store(path).open()
    assert len(frugal.load(path)) == 0


def test_a_store_that_breaks_warns_and_keeps_results(db):
    """When the file stops being usable, flushing warns and results() still has everything."""
    with frugal.measure("kept_in_memory"):
        pass
    default._writer.stop()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_text("replaced by something else")
    with pytest.warns(RuntimeWarning, match="could not store"):
        assert frugal.flush() == 0
    assert db.read_text() == "replaced by something else"
    assert frugal.results()["name"].tolist() == ["kept_in_memory"]
    with pytest.warns(RuntimeWarning, match="not stored"):  # leaving the broken store says so again
        store.set_default_store(None)


def test_load_filters_by_name_and_time(db):
    """name= keeps the given names; since= keeps calls started at or after a time."""
    for name in ("a", "b", "c"):
        with frugal.measure(name):
            pass
    frugal.flush()
    middle_ns = frugal.load(db, name="b")["started_at"].iloc[0]
    middle = middle_ns.to_pydatetime(warn=False)          # microseconds, at or before the call
    assert frugal.load(db, name="a")["name"].tolist() == ["a"]
    assert frugal.load(db, name=["a", "c"])["name"].tolist() == ["a", "c"]
    assert frugal.load(db, since=middle_ns)["name"].tolist() == ["b", "c"]
    assert frugal.load(db, since=middle)["name"].tolist() == ["b", "c"]
    assert frugal.load(db, since=middle.isoformat())["name"].tolist() == ["b", "c"]
    assert frugal.load(db, since=middle.replace(tzinfo=None))["name"].tolist() == ["b", "c"]
    assert len(frugal.load(db, since=timedelta(hours=1))) == 3
    assert len(frugal.load(db, since=datetime.now(timezone.utc) + timedelta(hours=1))) == 0


@pytest.mark.slow
def test_load_filters_by_run(tmp_path):
    """run= keeps the measurements of the runs named by run_id, whatever else the store holds,
    with name= and since= alike; an unknown run_id keeps nothing."""
    path = tmp_path / "runs.db"
    for _ in range(3):          # three processes, one run each
        run_py(f"import frugal\nfrugal.configure(store={str(path)!r})\n"
               "for n in ('a', 'b'):\n    with frugal.measure(n):\n        pass\n")
    runs = store.load_runs(path)["run_id"].tolist()
    assert len(runs) == 3 and len(frugal.load(path)) == 6
    first = frugal.load(path, run=runs[0])
    assert first["run_id"].tolist() == [runs[0]] * 2 and first["name"].tolist() == ["a", "b"]
    assert sorted(set(frugal.load(path, run=runs[1:])["run_id"])) == sorted(runs[1:])
    assert frugal.load(path, run=runs[2], name="b")[["run_id", "name"]].values.tolist() == [[runs[2], "b"]]
    assert len(frugal.load(path, run="no such run")) == 0


@pytest.mark.parametrize("kwargs, error, match", [
    ({"name": 3}, TypeError, "name"),
    ({"run": 7}, TypeError, "run"),
    ({"since": 12}, TypeError, "since"),
    ({"since": "yesterday"}, ValueError, "since"),
])
def test_load_rejects_bad_arguments_by_name(db, kwargs, error, match):
    """Bad filters raise TypeError/ValueError naming the argument."""
    with pytest.raises(error, match=match):
        frugal.load(db, **kwargs)


def test_bad_path_types_are_type_errors():
    """A store path must be a str or path; anything else is a TypeError naming it."""
    with pytest.raises(TypeError, match="store"):
        store.set_default_store(42)
    with pytest.raises(TypeError, match="path"):
        frugal.load(b"frugal.db")


def test_unsetting_the_store_stops_storing(db):
    """After set_default_store(None), nothing more is written."""
    with frugal.measure("stored"):
        pass
    store.set_default_store(None)
    with frugal.measure("not_stored"):
        pass
    assert frugal.flush() == 0
    assert frugal.load(db)["name"].tolist() == ["stored"]


@pytest.mark.slow
def test_runs_record_git_commit_and_branch_inside_a_repository(tmp_path):
    """A run started inside a git repository records its commit and branch."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=trunk"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], cwd=repo, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    proc = run_py("""
        import frugal
        from frugal import store
        store.set_default_store("f.db")
        with frugal.measure("in_repo"):
            pass
    """, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    frame = frugal.load(repo / "f.db")
    assert frame["git_commit"].tolist() == [commit]
    assert frame["git_branch"].tolist() == ["trunk"]
    runs = store.load_runs(repo / "f.db")
    assert runs["measurements"].tolist() == [1] and runs["pid"].iloc[0] == frame["pid"].iloc[0]


def test_importing_the_store_loads_no_pandas():
    """The store module itself is light: pandas is imported only by load()."""
    proc = run_py("import sys, frugal.store; print('pandas' in sys.modules, 'numpy' in sys.modules)")
    assert proc.stdout.split() == ["False", "False"], proc.stderr


# Schema 1 (frugal before the columnar store): one SQL row per measurement.
_SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE, started_at INTEGER NOT NULL, host TEXT,
  pid INTEGER, program TEXT, platform TEXT, cpu TEXT, logical_cpus INTEGER, python TEXT,
  frugal_version TEXT, git_commit TEXT, git_branch TEXT, settings TEXT);
CREATE TABLE measurements (id INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs(id), name TEXT,
  started_at INTEGER, wall_s REAL, cpu_user_s REAL, cpu_system_s REAL, cpu_s REAL, cpu_util REAL,
  peak_rss_bytes INTEGER, rss_delta_bytes INTEGER, energy_cpu_j REAL, energy_ram_j REAL, energy_gpu_j REAL,
  energy_j REAL, carbon_g REAL, embodied_g REAL, units REAL, status TEXT, error TEXT, parent TEXT,
  depth INTEGER, energy_method TEXT, intensity_g_per_kwh REAL, intensity_source TEXT, scope TEXT,
  children INTEGER, calls INTEGER, wall_min_s REAL, wall_max_s REAL, pid INTEGER);
INSERT INTO meta VALUES ('application', 'frugal');
INSERT INTO runs (id, run_id, started_at, host) VALUES (1, 'r1', 1700000000000000000, 'old-host');
INSERT INTO measurements (run, name, started_at, wall_s, cpu_user_s, cpu_system_s, cpu_s, peak_rss_bytes,
  status, depth, scope, children, calls, pid)
  VALUES (1, 'from_schema_1', 1700000000000000000, 0.5, 0.25, 0.125, 0.375, 1048576, 'ok', 0, 'process', 0, 1, 42);
PRAGMA application_id = 1179800903;
PRAGMA user_version = 1;
"""


def _store_one(path: Path, name: str) -> None:
    """One region named ``name`` measured and stored in ``path`` (set as the store meanwhile)."""
    frugal.clear()
    store.set_default_store(path)
    try:
        with frugal.measure(name):
            pass
        frugal.flush()
    finally:
        store.set_default_store(None)
        frugal.clear()


def test_a_store_of_schema_1_is_read_and_extended(tmp_path):
    """A store written by an older frugal (one SQL row per measurement) is read, then extended:
    its rows stay as they were, new ones go to chunks, and both load together, oldest first."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(_SCHEMA_1)
    conn.close()
    old = frugal.load(path)
    assert old["name"].tolist() == ["from_schema_1"] and old["host"].tolist() == ["old-host"]
    assert old["cpu_s"].tolist() == [0.375] and old["peak_rss_bytes"].tolist() == [1048576]
    assert old["rss_start_bytes"].isna().all()      # a field schema 1 did not have
    _store_one(path, "after_upgrade")
    frame = frugal.load(path)
    assert frame["name"].tolist() == ["from_schema_1", "after_upgrade"]
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
        assert conn.execute("SELECT count(*) FROM measurements").fetchone()[0] == 1
    finally:
        conn.close()


def test_a_store_lacking_a_newer_field_is_read_and_gains_its_column(tmp_path):
    """Chunks written before a Measurement field existed read it as missing; the column is added
    when the store is next written, and new chunks fill it."""
    path = tmp_path / "older.db"
    _store_one(path, "before")
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER chunks_no_delete")
    conn.execute("DROP TRIGGER chunks_no_update")
    conn.execute("ALTER TABLE chunks DROP COLUMN wall_max_s")
    conn.commit()
    conn.close()
    assert frugal.load(path)["wall_max_s"].isna().all()
    _store_one(path, "after_upgrade")
    frame = frugal.load(path).set_index("name")
    assert pd.isna(frame.loc["before", "wall_max_s"])
    assert frame.loc["after_upgrade", "wall_max_s"] == frame.loc["after_upgrade", "wall_s"]


def test_flush_and_load_are_public():
    """frugal.flush and frugal.load are the store's functions."""
    assert frugal.flush is store.flush and frugal.load is store.load


@pytest.mark.slow
def test_frugal_store_variable_stores_a_program_that_never_asks(tmp_path):
    """With FRUGAL_STORE set, a program that only measures has its calls stored at exit."""
    path = tmp_path / "env.db"
    proc = run_py("""
        import sys, frugal
        for _ in range(3):
            with frugal.measure("from_env"):
                pass
        print("pandas" in sys.modules)
    """, env={"FRUGAL_STORE": str(path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
    assert frugal.load(path)["name"].tolist() == ["from_env"] * 3


# --- a run's commit in CI: FRUGAL_GIT_* > the CI's variables > git ------------------------------

def _git_repo(path: Path, branch: str = "trunk") -> str:
    """A real git repository at ``path`` with one commit on ``branch``; returns the commit."""
    path.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", f"init.defaultBranch={branch}"]
    subprocess.run([*git, "init", "-q"], cwd=path, check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], cwd=path, check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True).stdout.strip()


@pytest.mark.parametrize("variable", run_info.COMMIT_VARIABLES)
def test_a_run_outside_git_takes_its_commit_from_each_variable(tmp_path, variable):
    """A run stored by a process whose folder is not a git repository records the commit that
    FRUGAL_GIT_COMMIT, GITHUB_SHA or CI_COMMIT_SHA gives."""
    commit = hashlib.sha1(variable.encode()).hexdigest()
    proc = run_py("""
        import frugal
        frugal.configure(store="f.db")
        with frugal.measure("outside_git"):
            pass
    """, cwd=tmp_path, env={variable: commit, "GIT_CEILING_DIRECTORIES": str(tmp_path.parent)})
    assert proc.returncode == 0, proc.stderr
    assert frugal.load(tmp_path / "f.db")["git_commit"].tolist() == [commit]


@pytest.mark.parametrize("variable", run_info.BRANCH_VARIABLES)
def test_a_run_outside_git_takes_its_branch_from_each_variable(tmp_path, monkeypatch, variable):
    """Outside a repository, the branch is the one its variable gives."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.setenv(variable, f"from-{variable}")
    assert run_info.git_info() == (None, f"from-{variable}")


@pytest.mark.parametrize("given, expected", [
    ({}, "git"),
    ({"CI_COMMIT_SHA": "c1c1c1c1"}, "c1c1c1c1"),
    ({"GITHUB_SHA": "a1a1a1a1", "CI_COMMIT_SHA": "c1c1c1c1"}, "a1a1a1a1"),
    ({"FRUGAL_GIT_COMMIT": "f1f1f1f1", "GITHUB_SHA": "a1a1a1a1", "CI_COMMIT_SHA": "c1c1c1c1"}, "f1f1f1f1"),
    ({"FRUGAL_GIT_COMMIT": "F1F1F1F1"}, "f1f1f1f1"),
], ids=["git", "gitlab", "github-over-gitlab", "frugal-over-ci", "lower-case"])
def test_the_commit_comes_from_frugal_then_ci_then_git(tmp_path, monkeypatch, given, expected):
    """Inside a repository, FRUGAL_GIT_COMMIT wins over the CI's variables, which win over git."""
    commit = _git_repo(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    for variable, value in given.items():
        monkeypatch.setenv(variable, value)
    assert run_info.git_info()[0] == (commit if expected == "git" else expected)


@pytest.mark.parametrize("given, expected", [
    ({}, "trunk"),
    ({"CI_COMMIT_REF_NAME": "gitlab-branch"}, "gitlab-branch"),
    ({"GITHUB_REF_NAME": "main", "CI_COMMIT_REF_NAME": "gitlab-branch"}, "main"),
    ({"GITHUB_HEAD_REF": "feature", "GITHUB_REF_NAME": "12/merge"}, "feature"),
    ({"GITHUB_HEAD_REF": "", "GITHUB_REF_NAME": "main"}, "main"),
    ({"FRUGAL_GIT_BRANCH": "mine", "GITHUB_HEAD_REF": "feature"}, "mine"),
], ids=["git", "gitlab", "github-over-gitlab", "pull-request", "push", "frugal-over-ci"])
def test_the_branch_comes_from_frugal_then_ci_then_git(tmp_path, monkeypatch, given, expected):
    """The branch: FRUGAL_GIT_BRANCH, then a pull request's GITHUB_HEAD_REF, GITHUB_REF_NAME,
    CI_COMMIT_REF_NAME, then git's current branch."""
    _git_repo(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    for variable, value in given.items():
        monkeypatch.setenv(variable, value)
    assert run_info.git_info()[1] == expected


def test_a_run_records_the_host_name_as_socket_gives_it():
    """The host of a run is ``socket.gethostname()``, read without importing socket."""
    import socket

    assert run_info.new_run(git=(None, None))["host"] == socket.gethostname()


def test_git_alone_gives_commit_and_branch_in_each_state_of_a_checkout(tmp_path, monkeypatch):
    """With no variable set, one git call gives both: the commit and branch of a checkout, no
    branch when detached, neither before the first commit nor outside a repository."""
    for variable in (*run_info.COMMIT_VARIABLES, *run_info.BRANCH_VARIABLES):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    repo = tmp_path / "repo"
    commit = _git_repo(repo)
    monkeypatch.chdir(repo)
    assert run_info.git_info() == (commit, "trunk")
    subprocess.run(["git", "checkout", "-q", "--detach"], cwd=repo, check=True)
    assert run_info.git_info() == (commit, None)
    unborn = tmp_path / "unborn"
    unborn.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=unborn, check=True)
    monkeypatch.chdir(unborn)
    assert run_info.git_info() == (None, None)
    monkeypatch.chdir(tmp_path)
    assert run_info.git_info() == (None, None)


@pytest.mark.parametrize("value", ["main", "abc", "g1234567", "a" * 65, "abcd ef01", "HEAD~1"])
@pytest.mark.parametrize("variable", run_info.COMMIT_VARIABLES)
def test_an_implausible_commit_is_refused_with_a_warning_naming_its_variable(tmp_path, monkeypatch,
                                                                              variable, value):
    """A value that is not 4 to 64 hex digits is ignored with a warning naming the variable,
    and git's commit is used."""
    commit = _git_repo(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    monkeypatch.setenv(variable, value)
    with pytest.warns(UserWarning, match=f"{variable}=.* is not a git commit"):
        assert run_info.git_info()[0] == commit


@pytest.mark.parametrize("value", ["abcd", "0123456789abcdef0123456789abcdef01234567", "e" * 64])
def test_short_full_and_sha256_commits_are_accepted(tmp_path, monkeypatch, value):
    """Abbreviated (4 digits), SHA-1 (40) and SHA-256 (64) object names are taken as given."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.setenv("FRUGAL_GIT_COMMIT", value)
    assert run_info.git_info()[0] == value
