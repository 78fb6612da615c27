"""Probes on the real kernel: exact per-region peak memory and CPU time by scope."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import frugal
from frugal.machine import probes
from frugal.machine.probes.psutil_probe import PsutilMemoryProbe

MB = 1024 * 1024
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="clear_refs is Linux-only")


@pytest.fixture(autouse=True)
def _fresh():
    frugal.clear()
    yield
    frugal.clear()


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def touch(n_bytes: int) -> bytes:
    return b"\x01" * n_bytes  # every page written, so every page resident


@linux_only
def test_region_peak_is_start_plus_what_it_touched():
    """A region that touches 200 MB reports a peak within 5% of its starting RSS + 200 MB."""
    start = rss_bytes()
    with frugal.measure("alloc") as m:
        data = touch(200 * MB)
        del data
    expected = start + 200 * MB
    assert abs(m.result.peak_rss_bytes - expected) <= 0.05 * expected
    assert abs(m.result.rss_delta_bytes) < 20 * MB  # freed before the end


@linux_only
def test_outer_region_includes_inner_peak():
    """An outer region whose inner region peaked at 200 MB reports at least that peak."""
    with frugal.measure("outer") as outer:
        with frugal.measure("inner") as inner:
            data = touch(200 * MB)
            del data
        with frugal.measure("after"):  # another reset after the peak
            pass
    assert inner.result.peak_rss_bytes >= 200 * MB
    assert outer.result.peak_rss_bytes >= inner.result.peak_rss_bytes


@linux_only
def test_later_region_does_not_inherit_an_earlier_peak():
    """A region started after an earlier peak reports only its own."""
    with frugal.measure("big") as big:
        data = touch(200 * MB)
        del data
    with frugal.measure("small") as small:
        x = sum(range(1000))
    assert small.result.peak_rss_bytes < big.result.peak_rss_bytes - 150 * MB
    assert x


@linux_only
def test_concurrent_region_keeps_its_peak_while_others_reset():
    """A region in one thread keeps its 200 MB peak although another thread's regions reset the mark."""
    ready, done = threading.Event(), threading.Event()
    results = {}

    def allocate():
        with frugal.measure("thread-big") as m:
            data = touch(200 * MB)
            ready.set()
            done.wait(10)
            del data
        results["big"] = m.result

    t = threading.Thread(target=allocate)
    t.start()
    ready.wait(10)
    for _ in range(50):
        with frugal.measure("main-small"):
            pass
    done.set()
    t.join()
    assert results["big"].peak_rss_bytes >= 200 * MB


@linux_only
@pytest.mark.slow
def test_mark_retained_across_exec_is_not_reported():
    """After an exec, the kernel's retained mark of the old image does not leak into regions."""
    child = textwrap.dedent("""
        import frugal
        with frugal.measure("small") as s:
            pass
        with frugal.measure("grow") as g:
            data = b"\\x01" * (100 * 1024 * 1024)
            del data
        print(s.result.peak_rss_bytes, g.result.peak_rss_bytes)
    """)
    parent = (
        "import os, sys\n"
        "data = b'\\x01' * (600 * 1024 * 1024)\n"
        "del data\n"
        f"os.execv(sys.executable, [sys.executable, '-c', {child!r}])\n"
    )
    out = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, check=True)
    small, grow = map(int, out.stdout.split())
    assert small < 300 * MB           # not the 600 MB of the image before exec
    assert 100 * MB <= grow < 400 * MB


@linux_only
def test_procfs_probe_resets_and_reads_the_mark():
    """The procfs probe's reset brings VmHWM back to the resident set."""
    probe = probes.select()
    assert probe.name == "procfs" and probe.exact
    data = touch(100 * MB)
    del data
    probe.reset()
    assert probe.mark_kb() * 1024 < rss_bytes() + 20 * MB


def test_select_falls_back_to_psutil_and_says_why(tmp_path):
    """Where procfs is unusable, the psutil probe reports the resident set and no peak, with a reason."""
    probe = probes.select(proc_root=str(tmp_path))
    assert isinstance(probe, PsutilMemoryProbe)
    assert probe.mark_kb() is None and probe.rss_kb() > 0
    assert "no per-region peak" in probe.why and "procfs" in probe.why


def busy(seconds: float) -> int:
    """Pure-Python work for about ``seconds`` of wall time (the clock is read rarely, in user space)."""
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        for i in range(10_000):
            n += i
    return n


@pytest.mark.slow
def test_cpu_of_a_busy_loop_matches_process_time():
    """A 1-second busy loop reports cpu_s within 3% of the loop's own process_time delta."""
    with frugal.measure("busy") as m:
        t0 = time.process_time()
        busy(1.0)
        own = time.process_time() - t0
    assert abs(m.result.cpu_s - own) <= 0.03 * own
    assert m.result.cpu_user_s > 0.9 * own


@pytest.mark.slow
def test_thread_scope_leaves_out_another_busy_thread():
    """scope='thread' counts only the calling thread while process scope counts both."""
    stop = threading.Event()
    bg = {}

    def hash_away():  # hashlib releases the GIL: this thread burns CPU beside the main one
        t0 = time.thread_time()
        block = b"x" * (1 << 20)
        while not stop.is_set():
            hashlib.sha256(block).digest()
        bg["cpu"] = time.thread_time() - t0

    with frugal.measure("process") as proc:
        with frugal.measure("thread", scope="thread") as thr:
            worker = threading.Thread(target=hash_away)
            worker.start()
            t0 = time.thread_time()
            busy(0.5)
            own = time.thread_time() - t0
            stop.set()
            worker.join()
    assert abs(thr.result.cpu_s - own) <= 0.05 * own + 0.01
    assert thr.result.scope == "thread"
    assert proc.result.cpu_s == pytest.approx(thr.result.cpu_s + bg["cpu"], rel=0.1, abs=0.02)


@pytest.mark.slow
def test_children_includes_a_waited_subprocess():
    """children=True adds the CPU of a subprocess that was waited for; the default does not."""
    code = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\n"
    with frugal.measure("with-children", children=True) as withc:
        subprocess.run([sys.executable, "-c", code], check=True)
    with frugal.measure("without") as without:
        subprocess.run([sys.executable, "-c", code], check=True)
    assert withc.result.cpu_s >= 0.5 and withc.result.children
    assert without.result.cpu_s < 0.25
