"""Reliability of the core under load and faults: nothing lost, the measured program unchanged."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading

import pytest

import frugal


@pytest.fixture(autouse=True)
def _fresh():
    frugal.clear()
    yield
    frugal.clear()


@pytest.mark.parametrize("record", ["calls", "summary"])
@pytest.mark.slow
def test_eight_threads_of_nested_calls_are_all_counted(record):
    """8 threads each making 100,000 nested measured calls: every call is counted exactly."""
    inner = frugal.measure(name="inner", record=record)(lambda x: x + 1)

    @frugal.measure(name="outer", record=record)
    def outer(x):
        return inner(x) * 2

    def run():
        for i in range(50_000):  # 50,000 outer calls, each with one inner: 100,000 regions
            outer(i)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    df = frugal.results()
    counts = df.groupby("name")["calls"].sum().to_dict()
    assert counts == {"inner": 400_000, "outer": 400_000}
    if record == "calls":
        inner_rows = df[df["name"] == "inner"]
        assert (inner_rows["parent"] == "outer").all() and (inner_rows["depth"] == 1).all()


@pytest.mark.slow
def test_summary_memory_stays_bounded_over_ten_million_calls():
    """Summary mode holds constant memory: 10 million calls grow the resident set by under 4 MB."""
    code = textwrap.dedent("""
        import frugal
        hot = frugal.measure(name="hot", record="summary")(lambda: None)
        def rss():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * 4096
        for _ in range(100_000):
            hot()
        before = rss()
        for _ in range(10_000_000 - 100_000):
            hot()
        after = rss()
        print(after - before, int(frugal.results()["calls"].iloc[0]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    grown, calls = map(int, out.stdout.split())
    assert calls == 10_000_000
    assert grown < 4 * 1024 * 1024


@pytest.mark.parametrize("exc_type, status", [
    (ValueError, "error"), (KeyboardInterrupt, "interrupted"), (SystemExit, "interrupted"),
])
def test_faults_are_recorded_and_propagate_unchanged(exc_type, status):
    """An exception, KeyboardInterrupt or SystemExit is recorded and propagates as the same object."""
    exc = exc_type(3)

    @frugal.measure(name="faulty")
    def faulty():
        raise exc

    with pytest.raises(exc_type) as caught:
        faulty()
    assert caught.value is exc
    row = frugal.results().iloc[0]
    assert row["status"] == status and row["error"] == exc_type.__name__


@pytest.mark.slow
def test_a_generator_never_closed_does_not_corrupt_later_regions():
    """A generator left suspended forever neither parents nor breaks the regions after it."""
    @frugal.measure(name="stream")
    def stream():
        while True:
            yield 1

    g = stream()
    next(g)  # left open, never closed while the test runs
    with frugal.measure("after") as m:
        with frugal.measure("inner") as inner:
            pass
    assert m.result.parent is None and m.result.depth == 0
    assert inner.result.parent == "after" and inner.result.depth == 1
    del g
    gc.collect()  # closing it at collection records it like any closed generator
    assert "stream" in set(frugal.results()["name"])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_measures_its_own_memory_and_keeps_parent_regions_out():
    """After os.fork the child measures its own peak; a region opened before the fork is the parent's."""
    r, w = os.pipe()
    with frugal.measure("spans-fork") as spanning:
        pid = os.fork()
        if pid == 0:  # child: measures its own region, then leaves the parent's block
            frugal.clear()
            with frugal.measure("child") as m:
                data = b"\x01" * (100 * 1024 * 1024)
                del data
    if pid == 0:
        try:
            names = ",".join(frugal.results()["name"])
            os.write(w, f"{m.result.peak_rss_bytes} {m.result.pid} {names}".encode())
        finally:
            os._exit(0)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    peak, child_pid, child_names = os.read(r, 1000).decode().split()
    os.close(r)
    assert status == 0 and int(child_pid) == pid
    assert int(peak) >= 100 * 1024 * 1024
    assert child_names == "child"  # the block opened before the fork is not recorded twice
    assert spanning.result.pid == os.getpid()
    assert list(frugal.results()["name"]) == ["spans-fork"]


def test_a_failing_meter_never_breaks_the_call_nor_later_regions():
    """A meter that fails at start is reported once; the call runs and later regions nest right."""
    from frugal.core import span as _hot

    class BrokenMeter:
        def read(self):
            raise OSError("counter vanished")

    saved = _hot.active()
    _hot.activate(saved.settings_id, BrokenMeter())
    try:
        with pytest.warns(RuntimeWarning, match="could not start"):
            assert frugal.measure(name="f")(lambda: 7)() == 7
    finally:
        _hot.activate(*saved)
    with frugal.measure("after") as m:
        pass
    assert m.result.parent is None and m.result.depth == 0
    assert not _hot._open
