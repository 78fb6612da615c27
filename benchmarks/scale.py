"""Millions of calls: each step after the measured call beside its floor, measured in one run.

For each size (``--rows``, default 10^5 and 10^6), with a measured no-op function:

  results()        frugal.results()                 vs pandas.DataFrame of columns of the same names and
                   dtypes (32: 15 float64, 3 int64, 4 Int64, 8 string, a datetime, a bool), made
                   beforehand (a first call of each, then the median of --repeat more, alternated);
                   also beside issue 18's floor, 20 float64 numpy columns (no target)
  store loop       the calling loop with store= set vs the same loop without a store (per call)
  store writer     extra time to store every row    vs sqlite3.executemany of 12-column tuples + commit
  load             frugal.load(db)                  vs pandas.read_sql of the same rows (one SQL row each)
  report           frugal.report() of those rows    (its growth from 10^5 to 10^6 rows: at most 3x)
  pg write         rows to a postgresql:// store    vs psycopg's COPY of the same 32 columns (prepared rows)
  pg load          frugal.load(url)                 vs pandas.read_sql of the same rows (one SQL row each)

(the two PostgreSQL lines when a server can be started here, tests/pgserver.py, or
FRUGAL_BENCH_PG_URL names one: a schema of its own is made in it, and left there)

then the per-call cost of a measured call with 50,000 suspended measured generators, and with
20,000 measured coroutines gathered and suspended, against the same call with nothing open; and,
with ``--dask-tasks N``, N tracked tasks (each spinning ``--dask-task-ms``, 1 by default) on a
LocalCluster of 2 workers, between two rounds of N/2 untracked ones, with the rows counted in
the client's frame and in the store: wall time (target: at most 5% added, issue 18), and CPU
time of the whole cluster (this process, which holds the scheduler, and the worker processes),
printed without a target: other jobs on a shared machine disturb it less, and it shows the
cost that a busier cluster would feel as time. Each figure is the median of
``--repeat`` runs; ratios are frugal over its floor. No figure is asserted: CI runs a small size
(``--rows 10000``) as a smoke test.

    .venv/bin/python benchmarks/scale.py [--rows 100000 1000000] [--repeat 3] [--dask-tasks 20000]
                                         [--dask-task-ms 1]
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import frugal
from frugal import store

TARGETS = {"results()": 5.0, "store loop": 1.15, "store writer": 1.0, "load": 1.0, "pg write": 2.0, "pg load": 1.0,
           "open generators": 1.5,
           "open coroutines": 1.5, "dask cluster time": 1.05}


def noop() -> None:
    pass


def timed(fn) -> float:
    """Seconds ``fn()`` takes; what it returns is freed after the clock stops (a caller keeps
    its frame: freeing a million Python strings is not part of making them)."""
    gc.collect()
    t0 = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - t0
    del result
    return elapsed


def median_of(repeat: int, fn) -> float:
    return statistics.median(timed(fn) for _ in range(repeat))


def loop(f, n: int) -> None:
    for _ in range(n):
        f()


def floor_columns(frame: pd.DataFrame) -> dict[str, object]:
    """Columns of the same names and dtypes as ``frame`` (what results() returns), made before
    the clock starts: numpy arrays for numpy's dtypes, and for those numpy has not (``string``,
    ``Int64``, ``datetime64[ns, UTC]``) the pandas array of that dtype over numpy memory (an
    object array of str; int64 values and a mask; datetime64[ns]), as the floor of 20 float
    columns was numpy arrays of its dtype. Text repeats one str per column, as results() does
    for a no-op."""
    n, rng = len(frame), np.random.default_rng(0)
    out: dict[str, object] = {}
    for name, dtype in frame.dtypes.items():
        kind = str(dtype)
        if kind == "float64":
            out[name] = rng.random(n)
        elif kind in ("int64", "Int64"):
            values = rng.integers(0, 1 << 40, n)
            out[name] = values if kind == "int64" else pd.arrays.IntegerArray(values, rng.random(n) > 0.9)
        elif kind == "bool":
            out[name] = rng.random(n) > 0.5
        elif kind == "datetime64[ns, UTC]":
            out[name] = pd.DatetimeIndex(rng.integers(0, 1 << 60, n).view("datetime64[ns]"), tz="UTC").array
        elif kind == "string":
            out[name] = pd.arrays.StringArray(np.full(n, name, dtype=object))
        else:
            raise TypeError(f"no floor column for dtype {kind} (column {name})")
    return out


def results_case(n: int, repeat: int) -> dict[str, tuple[float, float]]:
    """results() and its floor, pandas.DataFrame(columns) of the same names and dtypes
    (``floor_columns``): the first call of each (the kernel hands over fresh memory, which
    costs both alike), then the median of ``repeat`` more, alternated (drift on a shared
    machine, and the C library's choice between reusing freed memory and asking the kernel
    for fresh pages, which follows the sizes freed before, weigh on both alike). The floor of
    20 float columns (issue 18's) is printed beside, without a target."""
    frugal.clear()
    f = frugal.measure(name="noop")(noop)
    loop(f, n)
    first = timed(frugal.results)
    columns = floor_columns(frugal.results())
    floor_first = timed(lambda: pd.DataFrame(columns))
    assert pd.DataFrame(columns).dtypes.equals(frugal.results().dtypes), "the floor's dtypes are results()'s"
    floats20 = {f"c{i}": np.random.default_rng(i).random(n) for i in range(20)}
    ours, floor, old = [], [], []
    for _ in range(repeat):
        ours.append(timed(frugal.results))
        floor.append(timed(lambda: pd.DataFrame(columns)))
        old.append(timed(lambda: pd.DataFrame(floats20)))
    frugal.clear()
    return {"results()": (statistics.median(ours), statistics.median(floor)),
            "results() first call": (first, floor_first),
            "results() vs 20 float columns": (statistics.median(ours), statistics.median(old))}


def store_cases(n: int, repeat: int, folder: Path) -> dict[str, tuple[float, float]]:
    """The loop with and without a store (per call), the writer's extra time, load, report."""
    f = frugal.measure(name="noop")(noop)
    plain, stored, extra = [], [], []
    db = folder / "scale.db"
    db.unlink(missing_ok=True)
    for i in range(repeat):                  # alternated, so drift on a shared machine hits both
        frugal.clear()
        plain.append(timed(lambda: loop(f, n)) / n)
        frugal.clear()
        path = folder / f"run{i}.db"
        store.set_default_store(path)
        stored.append(timed(lambda: loop(f, n)) / n)
        extra.append(timed(frugal.flush))    # what is still to write once the loop is done
        store.set_default_store(None)
        if i == 0:
            path.rename(db)
        else:
            path.unlink()
        frugal.clear()
    out = {"store loop": (statistics.median(stored), statistics.median(plain)),
           "store writer": (statistics.median(extra), _executemany_floor(n, folder, repeat))}
    rows = frugal.load(db)
    assert len(rows) == n, f"{len(rows)} of {n} rows stored"
    out["load"] = (median_of(repeat, lambda: frugal.load(db)), _read_sql_floor(rows, folder, repeat))
    page = folder / f"page{n}.html"
    out["report"] = (timed(lambda: frugal.report(rows, page, progress=False)), float("nan"))
    return out


def _executemany_floor(n: int, folder: Path, repeat: int) -> float:
    values = [(i, "noop", i * 1000, 1e-6, 1e-6, 0.0, 1e-6, 14_000_000, 0, 0, "ok", 12345) for i in range(n)]

    def write() -> None:
        path = folder / "floor.db"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("CREATE TABLE t (a INTEGER, b TEXT, c INTEGER, d REAL, e REAL, f REAL, g REAL, "
                     "h INTEGER, i INTEGER, j INTEGER, k TEXT, l INTEGER)")
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO t VALUES ({', '.join('?' * 12)})", values)
        conn.execute("COMMIT")
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    return median_of(repeat, write)


def _read_sql_floor(rows: pd.DataFrame, folder: Path, repeat: int) -> float:
    path = folder / "rows.db"
    path.unlink(missing_ok=True)
    fields = list(frugal.measurement.FIELDS)
    table = rows[fields].copy()
    table["started_at"] = table["started_at"].astype("int64")
    for column in table.columns:                 # plain SQLite types, NULL for missing
        if str(table[column].dtype) in ("string", "Int64", "bool"):
            table[column] = table[column].astype(object).where(table[column].notna(), None)
    conn = sqlite3.connect(path)
    table.to_sql("measurements", conn, index=False, chunksize=50_000)
    conn.close()

    def read() -> None:
        with sqlite3.connect(path) as c:
            pd.read_sql("SELECT * FROM measurements", c)

    return median_of(repeat, read)


def pg_server() -> tuple[str | None, object, str]:
    """(a server URL or None, the server to stop at the end or None, why there is none)."""
    url = os.environ.get("FRUGAL_BENCH_PG_URL")
    if url:
        return url, None, ""
    sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
    import pgserver

    try:
        srv = pgserver.start()
    except pgserver.Unavailable as exc:
        return None, None, str(exc)
    srv.psql("CREATE DATABASE bench")
    return srv.url("postgres", pgserver.ADMIN_PASSWORD, "bench"), srv, ""


def pg_cases(n: int, repeat: int, url: str) -> dict[str, tuple[float, float]]:
    """Writing n recorded calls to a PostgreSQL store (columns derived, encoded, inserted) vs
    psycopg's COPY of the same columns; frugal.load vs pandas.read_sql of the same rows."""
    import warnings

    import psycopg

    from frugal.core.rows import LOG
    from frugal.frames.tail import Tail, row_columns
    from frugal.measurement import FIELDS
    from frugal.store.postgres import PgStore

    schema = f"bench_{os.getpid()}_{n}"
    target = f"{url}{'&' if '?' in url else '?'}schema={schema}"
    f = frugal.measure(name="noop")(noop)
    frugal.clear()
    loop(f, n)
    _, data = Tail(LOG.base, {}).rows(None)
    pg = PgStore(target).open()
    ours = median_of(repeat, lambda: pg.append(store.new_run(), row_columns(data, os.getpid())))
    frugal.clear()
    rows = frugal.load(target)
    assert len(rows) == n * repeat, f"{len(rows)} of {n * repeat} rows stored"
    rows = rows.iloc[:n]
    table = rows[list(FIELDS)].copy()
    table["started_at"] = table["started_at"].astype("int64")
    plain = table.astype(object).where(table.notna(), None)     # NULL for missing
    values = list(plain.itertuples(index=False, name=None))
    types = {c: "BIGINT" if str(table[c].dtype) in ("int64", "Int64") else "BOOLEAN" if str(table[c].dtype) == "bool"
             else "TEXT" if str(table[c].dtype) in ("object", "string") else "DOUBLE PRECISION" for c in table.columns}
    columns = ", ".join(f"{c} {t}" for c, t in types.items())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.floor ({columns})")

        def copy() -> None:
            with conn.transaction():
                conn.execute(f"TRUNCATE {schema}.floor")
                with conn.cursor().copy(f"COPY {schema}.floor FROM STDIN") as cp:
                    for row in values:
                        cp.write_row(row)

        floor = median_of(repeat, copy)
        out = {"pg write": (ours, floor)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)    # pandas prefers SQLAlchemy; psycopg's DBAPI is the floor
            read_floor = median_of(repeat, lambda: pd.read_sql(f"SELECT * FROM {schema}.floor", conn))
    one = f"{target}"
    out["pg load"] = (median_of(repeat, lambda: frugal.load(one, run=rows["run_id"].iloc[0])), read_floor)
    return out


def open_generators_case(calls: int, repeat: int, open_count: int = 50_000) -> tuple[float, float]:
    f = frugal.measure(name="noop")(noop)

    @frugal.measure(name="stream")
    def stream():
        yield 1
        yield 2

    def per_call() -> float:
        return median_of(repeat, lambda: loop(f, calls)) / calls

    frugal.clear()
    none = per_call()
    suspended = [stream() for _ in range(open_count)]
    for g in suspended:
        next(g)
    many = per_call()
    for g in suspended:
        g.close()
    frugal.clear()
    return many, none


def open_coroutines_case(calls: int, repeat: int, open_count: int = 20_000) -> tuple[float, float]:
    f = frugal.measure(name="noop")(noop)

    @frugal.measure(name="waiter")
    async def waiter(event: asyncio.Event) -> None:
        await event.wait()

    def per_call() -> float:
        return median_of(repeat, lambda: loop(f, calls)) / calls

    async def main() -> tuple[float, float]:
        none = per_call()
        event = asyncio.Event()
        tasks = [asyncio.ensure_future(waiter(event)) for _ in range(open_count)]
        await asyncio.sleep(0)               # every one has started and is suspended
        many = per_call()
        event.set()
        await asyncio.gather(*tasks)
        return many, none

    frugal.clear()
    many, none = asyncio.run(main())
    frugal.clear()
    return many, none


def _spin(x: int, ms: float) -> int:
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass
    return x


def dask_case(tasks: int, task_ms: float, folder: Path) -> dict[str, tuple[float, float]]:
    """``tasks`` tasks of ``task_ms`` ms tracked, between two rounds of half as many untracked
    (so that drift on a shared machine weighs on both sides alike)."""
    from functools import partial

    from dask_overhead import cluster_cpu_s  # this folder is on the path: scripts run from it
    from distributed import Client, LocalCluster

    import frugal.dask

    task = partial(_spin, ms=task_ms)
    path = folder / "dask.db"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster, Client(cluster) as client:
        def run(count: int) -> None:
            # 20,000 futures at a time: gathering 10^5 results at once timed out on this machine
            # (Dask then computes them again), with or without frugal
            for first in range(0, count, 20_000):
                client.gather(client.map(task, range(first, min(first + 20_000, count)), pure=False))

        def timed(count: int) -> tuple[float, float]:
            """(wall s, cluster CPU s) of ``run(count)``."""
            c0, t0 = cluster_cpu_s(), time.perf_counter()
            run(count)
            return time.perf_counter() - t0, cluster_cpu_s() - c0

        run(200)
        plain = timed(tasks // 2)
        store.set_default_store(path)
        try:
            c0, t0 = cluster_cpu_s(), time.perf_counter()
            with frugal.dask.track(client) as tracker:
                run(tasks)
            tracked = time.perf_counter() - t0, cluster_cpu_s() - c0
            rows = len(tracker.results())
            frugal.flush()
        finally:
            store.set_default_store(None)
        after = timed(tasks - tasks // 2)
        plain = plain[0] + after[0], plain[1] + after[1]
    in_store = len(frugal.load(path))
    print(f"  dask: {tasks:,} tasks of {task_ms:g} ms, {rows:,} in the client's frame, {in_store:,} in the store; "
          f"tracked {tracked[0]:.1f} s wall, {tracked[1]:.1f} s CPU; untracked {plain[0]:.1f} s, {plain[1]:.1f} s")
    return {"dask cluster time": (tracked[0], plain[0]), "dask cluster CPU": (tracked[1], plain[1])}


def show(label: str, ours: float, floor: float, unit: str = "s") -> None:
    scale = {"µs": 1e6, "ms": 1e3}.get(unit, 1.0)
    ratio = ours / floor if floor == floor and floor > 0 else float("nan")
    target = TARGETS.get(label.split(" (")[0])
    mark = "" if target is None or ratio != ratio else ("  (target <= %gx: %s)" % (target, "met" if ratio <= target else "NOT met"))
    floor_text = "" if floor != floor else f"  floor {floor * scale:10.3f} {unit}"
    print(f"  {label:<32} {ours * scale:10.3f} {unit}{floor_text}  ratio {ratio:6.2f}x{mark}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--open-calls", type=int, default=100_000, help="calls timed in the open-regions cases")
    parser.add_argument("--dask-tasks", type=int, default=0, help="tasks in the Dask case (0: skip it)")
    parser.add_argument("--dask-task-ms", type=float, default=1.0, help="what each Dask task spins, in ms")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, pandas {pd.__version__}, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    pg_url, pg_srv, pg_why = pg_server()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in args.rows:
            print(f"\n{n:,} recorded calls (median of {args.repeat}):")
            for label, figures in results_case(n, args.repeat).items():
                show(label, *figures, unit="ms")
            cases = store_cases(n, args.repeat, folder)
            show("store loop (per call)", *cases["store loop"], unit="µs")
            show("store writer", *cases["store writer"])
            show("load", *cases["load"])
            show("report", *cases["report"])
            if pg_url is not None:
                pg = pg_cases(n, args.repeat, pg_url)
                show("pg write", *pg["pg write"])
                show("pg load", *pg["pg load"])
            else:
                print(f"  PostgreSQL: skipped ({pg_why})")
        print(f"\nA measured call with regions open ({args.open_calls:,} calls, median of {args.repeat}):")
        show("open generators (50,000)", *open_generators_case(args.open_calls, args.repeat), unit="µs")
        show("open coroutines (20,000)", *open_coroutines_case(args.open_calls, args.repeat), unit="µs")
        if args.dask_tasks:
            print(f"\nDask, LocalCluster of 2 workers x 1 thread, {args.dask_tasks:,} tasks of {args.dask_task_ms:g} ms:")
            for label, (ours, floor) in dask_case(args.dask_tasks, args.dask_task_ms, folder).items():
                show(label, ours, floor)
    if pg_srv is not None:
        import pgserver

        pgserver.destroy(pg_srv)   # type: ignore[arg-type]


if __name__ == "__main__":
    main()
