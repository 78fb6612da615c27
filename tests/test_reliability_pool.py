"""Rows measured in multiprocessing pool workers reach the store, however the pool ends.

``Pool.__exit__`` and ``Pool.terminate()`` end the workers with SIGTERM, which skips every exit
hook of Python: frugal flushes on SIGTERM in a multiprocessing child (only where the handler is
still the default one). Each scenario runs in a fresh interpreter (a script written to
``tmp_path``), so the start method, the store and the forkserver are that scenario's alone.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import frugal

TASKS = 8
CALLS = 100
WORKERS = 4

SCRIPT = textwrap.dedent("""
    import multiprocessing, os, signal, sys
    from concurrent.futures import ProcessPoolExecutor
    import frugal

    def task(k, rep):
        for _ in range({calls}):
            with frugal.measure(f"rep{{rep}}"):
                pass
        return k

    def task_args(a):
        return task(*a)

    def run(ctx, pattern, rep):
        args = [(k, rep) for k in range({tasks})]
        if pattern == "with":
            with ctx.Pool({workers}) as pool:
                assert pool.map(task_args, args) == list(range({tasks}))
        elif pattern == "close":
            pool = ctx.Pool({workers})
            assert pool.map(task_args, args) == list(range({tasks}))
            pool.close()
            pool.join()
        elif pattern == "terminate":
            pool = ctx.Pool({workers})
            assert pool.map(task_args, args) == list(range({tasks}))
            pool.terminate()
            pool.join()
        elif pattern == "executor":
            with ProcessPoolExecutor({workers}, mp_context=ctx) as ex:
                assert list(ex.map(task_args, args)) == list(range({tasks}))
        else:
            raise ValueError(pattern)

    if __name__ == "__main__":
        method, pattern, store, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
        if method == "fork":
            frugal.configure(store=store)     # spawn and forkserver: FRUGAL_STORE, set by the test
        ctx = multiprocessing.get_context(method)
        for rep in range(reps):
            run(ctx, pattern, rep)
""")


def _run(tmp_path: Path, method: str, pattern: str, reps: int = 1) -> Path:
    script = tmp_path / "pool_script.py"
    script.write_text(SCRIPT.format(calls=CALLS, tasks=TASKS, workers=WORKERS))
    store = tmp_path / "pool.db"
    env = dict(os.environ, FRUGAL_STORE=str(store))
    if method == "fork":
        env.pop("FRUGAL_STORE")
    proc = subprocess.run([sys.executable, str(script), method, pattern, str(store), str(reps)],
                          env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "could not store" not in proc.stderr, proc.stderr
    return store


def _rows_per_name(store: Path) -> dict[str, int]:
    frame = frugal.load(store)
    assert (frame["calls"] == 1).all()      # call rows, no summary aggregates
    return {str(k): int(v) for k, v in frame.groupby("name").size().items()}


def test_rows_of_fork_workers_survive_with_pool(tmp_path):
    """``with Pool()`` under fork: all 800 rows measured in the workers are in the store."""
    store = _run(tmp_path, "fork", "with")
    assert _rows_per_name(store) == {"rep0": TASKS * CALLS}


@pytest.mark.slow
@pytest.mark.parametrize("pattern", ["with", "close", "terminate", "executor"])
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_rows_of_pool_workers_survive_every_way_a_pool_ends(tmp_path, method, pattern):
    """``with Pool()``, ``close/join``, ``terminate()`` after the results, ``ProcessPoolExecutor``:
    all 800 rows measured in the workers are in the store, under each start method."""
    store = _run(tmp_path, method, pattern)
    assert _rows_per_name(store) == {"rep0": TASKS * CALLS}


@pytest.mark.slow
@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_with_pool_keeps_every_row_every_time(tmp_path, method):
    """20 pools in a row, each ended by ``with``: every row of every one is in the store."""
    store = _run(tmp_path, method, "with", reps=20)
    assert _rows_per_name(store) == {f"rep{r}": TASKS * CALLS for r in range(20)}


USER_HANDLER = textwrap.dedent("""
    import multiprocessing, os, signal, sys, time
    import frugal

    MARKS = sys.argv[2]

    def user_handler(signum, frame):
        # long enough for frugal to have sent a second SIGTERM or a SIGKILL, had it meddled
        with open(os.path.join(MARKS, str(os.getpid())), "a") as f:
            f.write("called\\n")
            f.flush()
            time.sleep(4)
            f.write("done\\n")
        os._exit(0)

    def install():
        if sys.argv[3] == "initializer":
            signal.signal(signal.SIGTERM, user_handler)

    def task(k):
        with frugal.measure("work"):
            pass
        return signal.getsignal(signal.SIGTERM).__name__

    def busy(busy_dir):
        # each worker busy in Python when terminate() comes: an idle worker waits in sem_wait,
        # and a SIGTERM that lands just before that wait is never handled, frugal or not (1 pool
        # in about 100 under load, with no frugal imported: CPython's race, not what is tested)
        open(os.path.join(busy_dir, str(os.getpid())), "w").close()
        while True:
            time.sleep(0.01)

    if __name__ == "__main__":
        frugal.configure(store=sys.argv[1])
        if sys.argv[3] == "parent":      # inherited by the fork workers
            signal.signal(signal.SIGTERM, user_handler)
        busy_dir = sys.argv[4]
        with multiprocessing.get_context("fork").Pool(2, initializer=install) as pool:
            print(set(pool.map(task, range(8))))
            for _ in range(2):      # one each: the first never ends, so the other worker takes the second
                pool.apply_async(busy, (busy_dir,))
            while len(os.listdir(busy_dir)) < 2:
                time.sleep(0.01)
""")


@pytest.mark.parametrize("where", ["parent", "initializer"])
def test_a_user_s_sigterm_handler_in_the_worker_is_left_alone(tmp_path, where):
    """A SIGTERM handler of the user's (inherited from the parent, or set by the pool's
    initializer) stays the worker's handler: it alone runs at ``terminate()``, once, to its end
    (the workers are busy then: see ``busy``)."""
    script = tmp_path / "handler_script.py"
    script.write_text(USER_HANDLER)
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "busy").mkdir()
    env = dict(os.environ)
    env.pop("FRUGAL_STORE", None)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "h.db"), str(marks), where,
                           str(tmp_path / "busy")],
                          env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "{'user_handler'}"
    assert [(marks / m).read_text() for m in os.listdir(marks)] == ["called\ndone\n"] * 2


def _run_script(tmp_path: Path, source: str, store: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``source`` as a script in ``tmp_path`` with ``store`` as its argument and no
    FRUGAL_STORE (it configures the store itself); it must exit 0."""
    script = tmp_path / "script.py"
    script.write_text(source)
    env = dict(os.environ)
    env.pop("FRUGAL_STORE", None)
    proc = subprocess.run([sys.executable, str(script), str(store)], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return proc


IDLE_WORKERS = textwrap.dedent("""
    import multiprocessing, sys
    import frugal
    import frugal.store.default

    def task(k):
        with frugal.measure("work"):
            pass
        return k

    if __name__ == "__main__":
        # the waits of the flush thread that ends a worker, 2 x and 1 x this: were they ever
        # needed, ending this pool would take a minute, and the run times out
        frugal.store.default.EXIT_TIMEOUT_S = 30.0
        frugal.configure(store=sys.argv[1])
        for _ in range(3):
            with multiprocessing.get_context("fork").Pool(4) as pool:
                pool.map(task, range(8))
        print("ended")
""")


def test_ending_a_pool_kills_its_idle_workers_once_their_rows_are_stored(tmp_path):
    """``Pool.__exit__`` sends SIGTERM to workers idle in a queue's ``get()``: each dies as soon as
    its rows are stored. Before, a worker whose SIGTERM another thread took ran frugal's handler
    only at the flush thread's first nudge, which then found it still set, and lived on until the
    second, 2 x ``EXIT_TIMEOUT_S`` later (ending each pool took 2.4 s instead of milliseconds)."""
    proc = _run_script(tmp_path, IDLE_WORKERS, tmp_path / "idle.db", timeout=50)
    assert proc.stdout.split() == ["ended"]
    assert _rows_per_name(tmp_path / "idle.db") == {"work": 24}


THREAD_MASKS = textwrap.dedent("""
    import multiprocessing, os, signal, sys, threading, time
    import frugal

    def masks(_):
        with frugal.measure("work"):
            pass
        main = threading.main_thread().native_id
        named = {t.native_id: t.name for t in threading.enumerate()}
        out = {}
        for tid in map(int, os.listdir("/proc/self/task")):
            with open(f"/proc/self/task/{tid}/status") as f:
                blocked = int(next(l for l in f if l.startswith("SigBlk:")).split()[1], 16)
            # main; frugal's Python threads (by name); threads Python does not know (the watcher)
            kind = "main" if tid == main else named.get(tid, "unnamed")
            out.setdefault(kind, set()).add(bool(blocked >> (signal.SIGTERM - 1) & 1))
        return sorted((k, sorted(v)) for k, v in out.items())

    if __name__ == "__main__":
        frugal.configure(store=sys.argv[1])
        with multiprocessing.get_context("fork").Pool(1) as pool:
            print(pool.map(masks, [0])[0])
        print(masks(0))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/task")
def test_frugal_s_threads_leave_sigterm_to_the_program_s(tmp_path):
    """frugal's threads (the store's writer, a pool worker's SIGTERM watcher) block SIGTERM, so
    the kernel gives a SIGTERM sent to the process to a thread of the program's: a pool worker
    idle in a queue's ``get()`` whose SIGTERM went to frugal's store thread never ran its own
    handler and never ended (1 in about 40 pools of the user's-handler test, loaded)."""
    proc = _run_script(tmp_path, THREAD_MASKS, tmp_path / "m.db", timeout=60)
    worker, parent = proc.stdout.splitlines()
    # the worker: its main thread, frugal's writer and its SIGTERM watcher; the parent: main, writer
    assert worker == "[('frugal-store', [True]), ('main', [False]), ('unnamed', [True])]", worker
    assert parent == "[('frugal-store', [True]), ('main', [False])]", parent
