"""Interrupts and re-entrancy: frugal's start/stop code lets every exception of the program through,
stays sound whatever line an interrupt lands on, and never deadlocks a signal handler."""
from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import frugal
from frugal.core import measure, span

pytestmark = pytest.mark.slow   # signals at every line, seconds each: not in the quick tier

HOT_FILES = {os.path.realpath(measure.__file__), os.path.realpath(span.__file__)}


@pytest.fixture(autouse=True)
def _fresh():
    frugal.clear()
    yield
    frugal.clear()


class Tick(Exception):
    """What the test's signal handler raises: an ordinary exception of the measured program."""


def _nested(inner, generator):
    with frugal.measure("block"):
        inner()
        for _ in generator():
            pass


def _scenario():
    inner = frugal.measure(name="inner")(lambda: None)

    @frugal.measure(name="gen")
    def generator():
        yield 1

    @frugal.measure(name="outer")
    def outer():
        _nested(inner, generator)

    return outer


def _assert_sound():
    """No region is left open or tracked, and new regions nest from the top again."""
    gc.collect()
    assert not span._open, "a tracker of an interrupted region leaked"
    with frugal.measure("probe-outer") as outer:
        with frugal.measure("probe-inner") as inner:
            pass
    assert (outer.result.parent, outer.result.depth) == (None, 0)
    assert (inner.result.parent, inner.result.depth) == ("probe-outer", 1)


def _on_hot_lines(run, at_line) -> None:
    """Run ``run()`` with ``at_line(k)`` called at the k-th line (1, 2, ...) that frugal's hot
    path executes; what ``at_line`` raises lands on that line."""
    seen = 0

    def local(frame, event, arg):
        nonlocal seen
        if event == "line":
            seen += 1
            at_line(seen)
        return local

    def tracer(frame, event, arg):
        return local if os.path.realpath(frame.f_code.co_filename) in HOT_FILES else None

    sys.settrace(tracer)
    try:
        run()
    finally:
        sys.settrace(None)


def interrupt_every_line() -> int:
    """Inject KeyboardInterrupt at each line frugal runs in ``_scenario``, one line per run;
    check that it reaches the caller and that nesting is sound after it. Returns the lines."""
    outer = _scenario()
    counted: list[int] = []
    _on_hot_lines(outer, counted.append)
    lines = len(counted)
    assert lines > 50
    for target in range(1, lines + 1):

        def at_line(k: int, target: int = target) -> None:
            if k == target:
                raise KeyboardInterrupt(f"line {target}")

        try:
            _on_hot_lines(outer, at_line)
        except KeyboardInterrupt as exc:
            assert str(exc) == f"line {target}", exc
        else:
            raise AssertionError(f"the KeyboardInterrupt at line {target} did not reach the caller")
        _assert_sound()
        frugal.clear()
    return lines


def test_a_keyboard_interrupt_at_any_line_of_start_or_stop_leaves_nesting_sound():
    """KeyboardInterrupt injected at every line frugal runs while measuring nested calls, a block
    and a generator: it always reaches the caller, and nesting is sound afterwards (no tracker
    leaked, the next regions are at depth 0 and 1). In its own interpreter: each check collects
    garbage, which in the suite's process, full of earlier tests' objects, takes 15 times longer."""
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
            "import test_reliability_interrupts as t; print(t.interrupt_every_line())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]
    assert int(out.stdout.split()[-1]) > 50


def _storm(handler, seconds, body):
    """Run ``body()`` over and over for ``seconds`` while a timer calls ``handler`` every 0.2 ms;
    the handler acts only while ``body`` runs (``armed``) and one exception at a time is in
    flight (a handler interrupted by the next tick would count one it never raised), so what
    it raises lands in ``body`` or in frugal, never in this loop. Returns how many times
    ``body`` raised each type."""
    armed = False
    caught: dict[type, int] = {}

    def on_timer(signum, frame):
        nonlocal armed
        if armed:
            armed = False
            handler()

    previous = signal.signal(signal.SIGALRM, on_timer)
    signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                armed = True
                body()
                armed = False
            except (Tick, KeyboardInterrupt) as exc:
                armed = False
                caught[type(exc)] = caught.get(type(exc), 0) + 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return caught


def test_exceptions_raised_by_a_signal_handler_inside_frugal_all_reach_the_program():
    """A timer's handler raises an ordinary exception thousands of times while the program makes
    measured calls (most land inside frugal's own code): every one reaches the program."""
    raised = 0

    def raise_tick():
        nonlocal raised
        raised += 1
        raise Tick()

    noop = frugal.measure(name="noop")(lambda: None)

    def body():
        for _ in range(100):
            noop()

    caught = _storm(raise_tick, 1.5, body)
    assert raised > 500
    assert caught.get(Tick, 0) == raised
    _assert_sound()


def test_ctrl_c_landing_anywhere_in_measured_calls_keeps_nesting_sound():
    """KeyboardInterrupt every 0.2 ms for 1.5 s during nested measured calls (Ctrl-C's handler,
    ``signal.default_int_handler``): each one reaches the program, depth and trackers stay sound."""
    raised = 0

    def interrupt():
        nonlocal raised
        raised += 1
        signal.default_int_handler(signal.SIGINT, None)

    caught = _storm(interrupt, 1.5, _scenario())
    assert raised > 100 and caught.get(KeyboardInterrupt, 0) == raised
    assert frugal.results()["depth"].max() <= 2      # inner and gen under block under outer
    _assert_sound()


def test_a_signal_handler_may_open_a_region_with_a_new_name():
    """A handler that measures a region under a never-seen name, landing while the program is
    itself interning names, neither deadlocks nor mixes names up (run in a subprocess with a
    timeout, since the fault is a hang)."""
    code = textwrap.dedent("""
        import signal, frugal
        count = 0
        inside = False
        def handler(signum, frame):
            # a tick landing in the handler itself (under load it can take more than the 100 us
            # interval) would nest handlers until Python's recursion limit: skip it
            global count, inside
            if inside:
                return
            inside = True
            count += 1
            with frugal.measure(f"in-handler-{count}"):
                pass
            inside = False
        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, 0.0001, 0.0001)
        for i in range(30000):
            with frugal.measure(f"main-{i}"):
                pass
        signal.setitimer(signal.ITIMER_REAL, 0)
        names = frugal.results()["name"].tolist()
        expected = {f"main-{i}" for i in range(30000)} | {f"in-handler-{i}" for i in range(1, count + 1)}
        print(count, len(names), set(names) == expected)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    count, rows, same = out.stdout.split()
    assert int(count) > 10 and int(rows) == 30000 + int(count) and same == "True"


def test_one_region_entered_by_two_threads_at_once_measures_each():
    """One Region object, two threads whose blocks overlap (A: 0 to 0.6 s, B: 0.3 to 1.2 s, so A
    leaves first while B is inside): each block gets its own start and wall time."""
    region = frugal.measure("shared")

    def block(delay, seconds):
        time.sleep(delay)
        with region:
            time.sleep(seconds)

    threads = [threading.Thread(target=block, args=args) for args in ((0, 0.6), (0.3, 0.9))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first, second = frugal.results().sort_values("started_at")["wall_s"]
    assert first >= 0.6 and second >= 0.9


def test_one_region_entered_by_two_tasks_at_once_measures_each():
    """One Region object, two asyncio tasks whose blocks overlap the same way: each block gets its
    own start and wall time."""
    region = frugal.measure("shared-async")

    async def block(delay, seconds):
        await asyncio.sleep(delay)
        async with region:
            await asyncio.sleep(seconds)

    async def main():
        await asyncio.gather(block(0, 0.6), block(0.3, 0.9))

    asyncio.run(main())
    first, second = frugal.results().sort_values("started_at")["wall_s"]
    assert first >= 0.6 and second >= 0.9


def test_a_region_entered_recursively_measures_each_block():
    """The same Region entered inside itself: the inner block nests in the outer one."""
    region = frugal.measure("again")
    with region:
        with region:
            time.sleep(0.01)
        time.sleep(0.05)
    rows = frugal.results().sort_values("depth")
    assert rows["depth"].tolist() == [0, 1]
    assert rows["wall_s"].iloc[0] > rows["wall_s"].iloc[1] >= 0.01
