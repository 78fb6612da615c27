"""Reliability across processes: multiprocessing children (fork, spawn, forkserver) measure
their own memory and CPU, and one store keeps every record of parent and children exactly once.

Each scenario runs in a fresh interpreter (a script written to ``tmp_path``), so the start
method, the store setting and the forkserver are that scenario's alone.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import textwrap

import pytest

import frugal

pytestmark = pytest.mark.slow   # fork, spawn and forkserver children: not in the quick tier

ALLOC_MB = 50
BURN_CPU_S = 0.1
CHILDREN = 2

SCRIPT = textwrap.dedent("""
    import json, multiprocessing, os, sys, time
    import frugal

    ALLOC = {alloc_mb} * 1024 * 1024
    BURN = {burn}

    def child(queue):
        # what the child measures of itself, sent back as plain numbers
        with frugal.measure("child_empty") as empty:
            pass
        with frugal.measure("child_alloc") as alloc:
            data = bytearray(ALLOC)          # zero-filled: every page is touched
            del data
        with frugal.measure("child_burn") as burn:
            # the child's own work, on its thread's clock: the region leaves frugal's threads out
            c0 = time.thread_time()
            while time.thread_time() - c0 < BURN:
                pass
            burned = time.thread_time() - c0
        hot = frugal.measure(lambda: None, name="hot", record="summary")
        for _ in range(50):
            hot()
        queue.put({{"pid": os.getpid(), "empty_peak": empty.result.peak_rss_bytes,
                    "alloc_peak": alloc.result.peak_rss_bytes, "alloc_pid": alloc.result.pid,
                    "burn_cpu": burn.result.cpu_s, "burn_wall": burn.result.wall_s, "burned": burned,
                    "names": sorted(set(frugal.results()["name"]))}})

    if __name__ == "__main__":
        method, how, store = sys.argv[1], sys.argv[2], sys.argv[3]
        if how == "configure":
            frugal.configure(store=store)
        ctx = multiprocessing.get_context(method)
        big = bytearray(3 * ALLOC)               # the parent's high-water mark: far above the child's
        del big
        for _ in range(5):
            with frugal.measure("parent"):
                pass
        hot = frugal.measure(lambda: None, name="hot", record="summary")
        for _ in range(100):
            hot()
        queue = ctx.Queue()
        with frugal.measure("spanning"):          # open while the children start: the parent's alone
            procs = [ctx.Process(target=child, args=(queue,)) for _ in range({children})]
            for p in procs:
                p.start()
            reports = [queue.get(timeout=120) for _ in procs]
            for p in procs:
                p.join(120)
        frugal.flush()
        print(json.dumps({{"parent": os.getpid(), "exitcodes": [p.exitcode for p in procs],
                          "reports": reports}}))
""")


@pytest.mark.parametrize("method, how", [
    ("fork", "configure"), ("fork", "env"), ("spawn", "env"), ("forkserver", "env"),
])
def test_children_measure_themselves_and_the_store_keeps_every_record_once(tmp_path, method, how):
    """A multiprocessing child measures its own peak memory and CPU; the store holds each record once."""
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"start method {method} is not available here")
    script = tmp_path / "scenario.py"
    script.write_text(SCRIPT.format(alloc_mb=ALLOC_MB, burn=BURN_CPU_S, children=CHILDREN))
    path = tmp_path / "shared.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRUGAL_")}
    if how == "env":
        env["FRUGAL_STORE"] = str(path)
    proc = subprocess.run([sys.executable, str(script), method, how, str(path)], capture_output=True,
                          text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    parent = out["parent"]
    assert out["exitcodes"] == [0] * CHILDREN
    for r in out["reports"]:
        assert r["pid"] != parent and r["alloc_pid"] == r["pid"]
        # its own peak: the allocation shows above the child's empty region, and the parent's
        # high-water mark (three times larger, before the child started) does not leak in
        assert r["alloc_peak"] - r["empty_peak"] >= 0.9 * ALLOC_MB * 2**20
        assert r["alloc_peak"] < 2.5 * ALLOC_MB * 2**20 + r["empty_peak"]
        assert r["burn_cpu"] >= 0.9 * r["burned"] and r["burned"] >= BURN_CPU_S
        assert r["burn_cpu"] <= r["burn_wall"] + 0.05
        assert "parent" not in r["names"] and "spanning" not in r["names"]

    stored = frugal.load(path)
    calls = stored.groupby(["pid", "name"])["calls"].sum().to_dict()
    rows = stored.groupby(["pid", "name"]).size().to_dict()
    expected = {(parent, "parent"): 5, (parent, "spanning"): 1, (parent, "hot"): 100}
    for r in out["reports"]:
        expected.update({(r["pid"], "child_empty"): 1, (r["pid"], "child_alloc"): 1,
                         (r["pid"], "child_burn"): 1, (r["pid"], "hot"): 50})
    assert calls == expected
    assert all(rows[key] == n for key, n in expected.items() if key[1] != "hot")  # one row per call
    assert stored.groupby("pid")["run_id"].nunique().eq(1).all()       # one run per process
    assert stored["run_id"].nunique() == 1 + CHILDREN
