"""The store's writer under pressure: a CPU-bound program killed with SIGKILL, clear() and store
switches while other threads measure, exit with measuring daemon threads, a bounded memory,
fork while other threads hold frugal's locks, and store paths that are not files.

Scenarios that could hang or that end a process run in a fresh interpreter with a timeout.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import frugal
from frugal import store
from frugal.store import default
from frugal.errors import FrugalError

pytestmark = pytest.mark.slow   # threads, forks and kills, seconds each: not in the quick tier

PY = sys.executable


@pytest.fixture(autouse=True)
def _fresh(fresh_log):
    """Each test starts with an empty log and no store, and leaves them so."""


def run_py(code: str, timeout: float = 120, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, **kwargs)


# --- fault 1: a CPU-bound program killed with SIGKILL ------------------------------------------

def _benchmark():
    """benchmarks/reliability.py, whose programs these tests run too (one copy of each)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "reliability_benchmark", Path(__file__).resolve().parent.parent / "benchmarks" / "reliability.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("after_s", [3.0, 6.0])
def test_a_cpu_bound_program_killed_with_sigkill_loses_at_most_a_second_of_rows(tmp_path, after_s):
    """A loop of measured calls as fast as it can go (about 100,000 a second), killed with SIGKILL:
    the store holds every row but those of the last second at most."""
    lost_s, calls, rate = _benchmark().killed_after(after_s, tmp_path)
    assert rate > 20_000                    # the program really was busy measuring
    assert -0.02 <= lost_s <= 1.0, f"{lost_s:.2f} s of rows lost of {calls} calls at {rate:,.0f}/s"


# --- fault 2: clear() while other threads measure ----------------------------------------------

@pytest.mark.parametrize("record", ["calls", "summary"])
def test_clear_while_threads_measure_loses_nothing_from_the_store(tmp_path, record):
    """Four threads measure while the main thread calls clear() 200 times: the store holds every
    call exactly once, and results() after the last clear holds only calls made after it."""
    path = tmp_path / "cleared.db"
    store.set_default_store(path)
    stop = threading.Event()
    made = [0] * 4

    def work(i):
        f = frugal.measure(name=f"t{i}", record=record)(lambda: None)
        while not stop.is_set():
            for _ in range(50):
                f()
            made[i] += 50
            # let the GIL go now and then, as real work does: four threads that never release it
            # make every system call of clear()'s flush wait out switch intervals (170 s in all)
            time.sleep(0)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for _ in range(200):
        time.sleep(0.002)
        frugal.clear()
    stop.set()
    for t in threads:
        t.join()
    frugal.flush()
    counts = frugal.load(path).groupby("name")["calls"].sum().to_dict()
    assert counts == {f"t{i}": made[i] for i in range(4)}
    assert frugal.results()["calls"].sum() <= sum(made)


# --- fault 3: switching stores while another thread measures -----------------------------------

def test_switching_stores_while_a_thread_measures_loses_nothing_and_never_deadlocks(tmp_path):
    """A thread measures without pause while the main thread switches among three stores 60 times
    with configure(store=...): every call is in exactly one store, and no switch hangs (the
    scenario runs in its own interpreter with a timeout)."""
    code = f"""
        import threading, time, frugal
        paths = [{str(tmp_path / 'a.db')!r}, {str(tmp_path / 'b.db')!r}, {str(tmp_path / 'c.db')!r}]
        stop = threading.Event()
        made = 0
        def work():
            global made
            f = frugal.measure(name="work")(lambda: None)
            while not stop.is_set():
                for _ in range(20):
                    f()
                made += 20
        frugal.configure(store=paths[0])
        t = threading.Thread(target=work)
        t.start()
        for i in range(60):
            time.sleep(0.01)
            frugal.configure(store=paths[(i + 1) % 3], pue=1.0 + (i % 2) / 10)
        stop.set()
        t.join()
        frugal.flush()
        stored = sum(len(frugal.load(p)) for p in paths)
        print(made, stored)
    """
    out = run_py(code, timeout=120)
    assert out.returncode == 0, out.stderr
    made, stored = map(int, out.stdout.split())
    assert made > 1000 and stored == made


# --- fault 7: exit with measuring daemon threads -------------------------------------------------

def test_exit_does_not_wait_for_measuring_daemon_threads(tmp_path):
    """Eight daemon threads measure no-ops without pause while the program runs 3 s and ends: the
    process is gone within a few seconds of its last statement (target: EXIT_TIMEOUT_S, 1 s),
    and the rows measured up to its end are stored."""
    path = tmp_path / "exit.db"
    code = f"""
        import threading, time, frugal
        frugal.configure(store={str(path)!r})
        made = [0] * 8
        def work(i):
            f = frugal.measure(name="daemon")(lambda: None)
            while True:
                f()
                made[i] += 1
        for i in range(8):
            threading.Thread(target=work, args=(i,), daemon=True).start()
        time.sleep(3)
        print(sum(made), time.time(), flush=True)
    """
    proc = subprocess.Popen([PY, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    ended = time.time()
    made, last_statement = line.split()
    assert proc.returncode == 0, proc.stderr.read()
    assert ended - float(last_statement) < 4.0
    assert len(frugal.load(path)) >= int(made) > 1000


# --- a bounded memory: rows beyond the limit are dropped, counted, reported --------------------

def test_rows_that_cannot_be_stored_are_bounded_counted_and_reported(tmp_path, monkeypatch):
    """While the store cannot be written, at most MAX_ROWS_IN_MEMORY rows wait in memory; the
    rest are dropped with a warning, counted in environment(), and recorded with the run once the
    store takes rows again."""
    from frugal.store import writer as _store_writer

    monkeypatch.setattr(_store_writer, "MAX_ROWS_IN_MEMORY", 10_000)
    dropped_before = frugal.environment()["rows_dropped"]       # a count for the whole process
    path = tmp_path / "bounded.db"
    store.set_default_store(path)
    default._writer.stop()                     # only explicit flushes: the test says when
    f = frugal.measure(name="f")(lambda: None)
    for _ in range(2_000):
        f()
    assert frugal.flush() == 2_000
    aside = tmp_path / "aside.db"
    path.rename(aside)
    path.write_text("the store is gone for a while")
    for _ in range(30_000):
        f()
    with pytest.warns(RuntimeWarning) as caught:
        assert frugal.flush() == 0
    messages = " ".join(str(w.message) for w in caught)
    assert "could not store" in messages and "dropped before they could be stored" in messages
    dropped = frugal.environment()["rows_dropped"] - dropped_before
    assert 0 < dropped <= 30_000 and frugal.core.rows.LOG.count() <= 10_000
    path.unlink()
    aside.rename(path)
    for _ in range(100):
        f()
    frugal.flush()
    stored = len(frugal.load(path))
    assert stored + dropped == 2_000 + 30_000 + 100
    runs = store.load_runs(path)
    assert runs["rows_dropped"].sum() == dropped and runs["measurements"].sum() == stored


def test_rows_stored_and_then_released_stay_in_the_store(tmp_path, monkeypatch):
    """Past MAX_ROWS_IN_MEMORY the oldest stored rows leave memory: the store keeps them all."""
    from frugal.store import writer as _store_writer

    monkeypatch.setattr(_store_writer, "MAX_ROWS_IN_MEMORY", 10_000)
    dropped_before = frugal.environment()["rows_dropped"]       # a count for the whole process
    path = tmp_path / "released.db"
    store.set_default_store(path)
    default._writer.stop()
    f = frugal.measure(name="f")(lambda: None)
    for _ in range(5):
        for _ in range(9_000):
            f()
        frugal.flush()
    assert frugal.core.rows.LOG.count() <= 10_000
    assert len(frugal.load(path)) == 45_000
    assert frugal.environment()["rows_dropped"] == dropped_before
    with pytest.warns(RuntimeWarning, match="released from memory"):
        assert len(frugal.results()) == frugal.core.rows.LOG.count()


# --- faults 12 and 16: store paths that are not files --------------------------------------------

def test_a_fifo_as_store_is_refused_at_once_and_import_does_not_hang(tmp_path):
    """FRUGAL_STORE naming a FIFO: import frugal returns at once and the first use of the settings
    names the variable; nothing is written beside it."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    out = run_py("""
        import frugal
        try:
            frugal.configure()
        except ValueError as exc:
            print(exc)
    """, timeout=30, env={"FRUGAL_STORE": str(fifo)})
    assert out.returncode == 0, out.stderr
    assert "FRUGAL_STORE" in out.stdout and "FIFO" in out.stdout
    assert sorted(os.listdir(tmp_path)) == ["pipe"]


@pytest.mark.parametrize("path, message", [("/dev/null", "character device"), (":memory:", "memory")])
def test_a_device_or_memory_as_store_is_refused_and_nothing_is_written(path, message):
    """/dev/null and ':memory:' are refused with a clear error; no -journal or -wal appears."""
    before = set(os.listdir("/dev"))
    with pytest.raises(FrugalError, match=message):
        frugal.configure(store=path)
    with pytest.raises(FrugalError, match=message):
        frugal.load(path)
    assert set(os.listdir("/dev")) == before
    assert frugal.configure().store is None


def test_a_folder_as_store_is_refused(tmp_path):
    """A directory is not a store: a clear FrugalError, for writing and reading."""
    with pytest.raises(FrugalError, match="directory"):
        frugal.configure(store=tmp_path)
    with pytest.raises(FrugalError, match="directory"):
        frugal.load(tmp_path)


# --- fault 13: fork while other threads hold frugal's locks ---------------------------------------

def test_fork_while_other_threads_intern_names_and_clear_never_hangs_the_child(tmp_path):
    """Threads intern new names and clear the log without pause while the main thread forks 300
    children that measure under new names: every child exits (in its own interpreter, with a
    timeout, since the fault is a hang)."""
    code = f"""
        import os, threading, frugal
        frugal.configure(store={str(tmp_path / 'fork.db')!r})
        stop = threading.Event()
        def names():
            i = 0
            while not stop.is_set():
                i += 1
                with frugal.measure(f"thread-name-{{i}}"):
                    pass
        def clears():
            while not stop.is_set():
                frugal.clear()
        threads = [threading.Thread(target=names) for _ in range(4)] + [threading.Thread(target=clears)]
        for t in threads:
            t.start()
        statuses = []
        for k in range(300):
            pid = os.fork()
            if pid == 0:
                with frugal.measure(f"child-{{k}}"):
                    pass
                frugal.clear()
                frugal.flush()
                os._exit(7)
            statuses.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
        stop.set()
        for t in threads:
            t.join()
        print(statuses.count(7))
    """
    out = run_py(code, timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["300"]


# --- fault 15: dates out of range --------------------------------------------------------------

def test_dates_far_in_the_past_or_future_filter_without_error(tmp_path):
    """since= in year 1 keeps everything, in year 9999 nothing; an impossible timedelta is a
    ValueError naming since."""
    from datetime import datetime, timedelta

    path = tmp_path / "dates.db"
    store.set_default_store(path)
    with frugal.measure("x"):
        pass
    frugal.flush()
    assert len(frugal.load(path, since=datetime(1, 1, 1))) == 1
    assert len(frugal.load(path, since="0001-01-01T00:00:00+00:00")) == 1
    assert len(frugal.load(path, since=datetime(9999, 12, 31))) == 0
    with pytest.raises(ValueError, match="since"):
        frugal.load(path, since=timedelta(days=999_999_999))


def test_the_command_line_says_one_line_for_a_date_out_of_range(tmp_path):
    """frugal dashboard --since with an impossible date: exit status 2 and one line."""
    path = tmp_path / "cli.db"
    store.set_default_store(path)
    with frugal.measure("x"):
        pass
    frugal.flush()
    store.set_default_store(None)
    frugal_cmd = [PY, "-m", "frugal", "dashboard", str(path), "-o", str(tmp_path / "d.html")]
    out = subprocess.run(frugal_cmd + ["--since", "10000-01-01"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    out = subprocess.run(frugal_cmd + ["--since", "0001-01-01"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
