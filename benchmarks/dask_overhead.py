"""What frugal.dask.track costs per task: tiny (~1 ms) tasks with and without tracking, in one run.

Runs rounds of N tasks on a LocalCluster (worker processes, one thread each, loopback),
alternating untracked and tracked rounds so that drift on a shared machine hits both,
and prints the median wall time per task of each, the difference (overhead per task)
and the ratio; then the same for the CPU time of the whole cluster (scheduler and client
in this process, plus the worker processes), which other load on the machine disturbs
less than wall time. Also prints the cost of the measuring wrapper alone, in-process, and
the bytes the scheduler holds per task until the client pulls them.

    .venv/bin/python benchmarks/dask_overhead.py [--tasks 2000] [--rounds 5] [--workers 2]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time


def spin(x: int) -> int:
    """About 1 ms of CPU work."""
    end = time.perf_counter() + 0.001
    while time.perf_counter() < end:
        pass
    return x


def cluster_cpu_s() -> float:
    """CPU time so far of this process (scheduler, client) and its children (workers, nanny)."""
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return total


def run_round(client, n: int) -> tuple[float, float]:
    """(wall s, cluster CPU s) to run n tiny tasks and gather their results."""
    c0, t0 = cluster_cpu_s(), time.perf_counter()
    client.gather(client.map(spin, range(n), pure=False))
    return time.perf_counter() - t0, cluster_cpu_s() - c0


def wrapper_cost(n: int = 20000) -> float:
    """Seconds per call that the in-thread measuring wrapper adds, timed without Dask."""
    from frugal.dask import _worker

    c = _worker._Collector(None, "bench", 1.0)  # the event loop's side is timed by the rounds
    fn = lambda: {"op": "task-finished"}  # noqa: E731
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    bare = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(n):
        c.run("spin-0123", fn, (), {})
        if i % 1000 == 999:
            c.pending.clear()
    return (time.perf_counter() - t0 - bare) / n


def kept_bytes(dask_scheduler, name: str) -> dict[str, int]:
    """Bytes that the tracker's scheduler plugin holds until the client pulls, by kind of
    message (every object counted once, at its ``sys.getsizeof``)."""
    import sys

    seen: set[int] = set()

    def size(obj) -> int:
        if id(obj) in seen:
            return 0
        seen.add(id(obj))
        n = sys.getsizeof(obj)
        if isinstance(obj, dict):
            n += sum(size(k) + size(v) for k, v in obj.items())
        elif isinstance(obj, (list, tuple)):
            n += sum(size(v) for v in obj)
        return n

    out: dict[str, int] = {}
    for msg in dask_scheduler.plugins[name].messages:
        out[msg["kind"]] = out.get(msg["kind"], 0) + size(msg)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    import dask
    from distributed import Client, LocalCluster

    import frugal.dask
    from frugal.dask import _worker

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, host="127.0.0.1") as cluster, Client(cluster) as client:
        run_round(client, 200)  # warm-up: imports, connections
        with frugal.dask.track(client):
            run_round(client, 200)
        plain, tracked, recorded = [], [], 0
        for _ in range(args.rounds):
            plain.append(run_round(client, args.tasks))
            with frugal.dask.track(client) as tracker:
                tracked.append(run_round(client, args.tasks))
                client.run(_worker.flush, name=tracker._name)   # energy up to the last task
                time.sleep(0.5)
                kept = client.run_on_scheduler(kept_bytes, name=tracker._name)
            recorded += len(tracker.results())
        n = args.tasks
        print(f"dask {dask.__version__}, {args.workers} workers x 1 thread, {n} tasks of ~1 ms, "
              f"{args.rounds} rounds each, alternated; {os.cpu_count()} logical CPUs")
        for i, what in ((0, "wall time"), (1, "cluster CPU")):
            p = statistics.median(r[i] for r in plain) / n
            t = statistics.median(r[i] for r in tracked) / n
            print(f"{what:11s}  untracked {p * 1e6:8.1f} us/task   tracked {t * 1e6:8.1f} us/task   "
                  f"overhead {(t - p) * 1e6:7.1f} us/task   ratio {t / p:.3f}")
        print(f"records: {recorded} of {n * args.rounds} tasks")
        print("kept on the scheduler until the client pulls, per task (last round): "
              + ", ".join(f"{kind} {b / n:.0f} B" for kind, b in sorted(kept.items())))
    print(f"wrapper alone (in the worker thread): {wrapper_cost() * 1e6:.2f} us per task")


if __name__ == "__main__":
    main()
