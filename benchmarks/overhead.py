"""Per-call overhead of frugal against an unmeasured call and against CodeCarbon, in one run.

    python benchmarks/overhead.py [--calls N] [--repeat R] [--skip-codecarbon]

Prints the median per-call overhead of:
- a measured no-op (record="calls", peak memory on) and in record="summary" mode,
  each minus the same no-op unmeasured;
- with a RAPL meter read on a synthetic powercap tree (the reads a real meter costs);
- CodeCarbon's start_task/stop_task on a warm OfflineEmissionsTracker, and its
  @track_emissions decorator (offline, no output files);
then the memory held per recorded call over 1,000,000 calls, and the ratios.
"""
from __future__ import annotations

import argparse
import gc
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings


def noop() -> None:
    pass


def per_call_ns(fn, calls: int, repeat: int) -> list[float]:
    """Per-call time of ``fn()`` in ns, one figure per repeat (a tight loop, GC off)."""
    out = []
    gc.disable()
    try:
        for _ in range(repeat):
            t0 = time.perf_counter_ns()
            for _ in range(calls):
                fn()
            out.append((time.perf_counter_ns() - t0) / calls)
    finally:
        gc.enable()
    return out


def overhead_us(fn, calls: int, repeat: int) -> float:
    """Median over interleaved repeats of (measured - unmeasured) per call, in µs."""
    diffs = []
    for _ in range(repeat):
        base = per_call_ns(noop, calls, 1)[0]
        measured = per_call_ns(fn, calls, 1)[0]
        diffs.append((measured - base) / 1000)
    return statistics.median(diffs)


def coroutine_step_us(coroutines: int = 200, steps: int = 200, repeat: int = 9) -> tuple[float, float]:
    """(µs added per step, µs added per coroutine) by measuring coroutines: ``coroutines`` of
    them gathered, each suspending ``steps`` times; measured against unmeasured, interleaved.
    A measured coroutine is driven one step at a time (its CPU is the sum of its own steps)."""
    import asyncio

    import frugal

    async def plain(n: int) -> None:
        for _ in range(n):
            await asyncio.sleep(0)

    measured = frugal.measure(name="coro")(plain)

    def run(fn, n: int) -> float:
        async def main() -> None:
            await asyncio.gather(*(fn(n) for _ in range(coroutines)))

        t0 = time.perf_counter_ns()
        asyncio.run(main())
        return (time.perf_counter_ns() - t0) / 1000

    per_step, per_coroutine = [], []
    for _ in range(repeat):
        long_plain, long_measured = run(plain, steps), run(measured, steps)
        short_plain, short_measured = run(plain, 1), run(measured, 1)
        extra_long, extra_short = long_measured - long_plain, short_measured - short_plain
        per_step.append((extra_long - extra_short) / (coroutines * (steps - 1)))
        per_coroutine.append(extra_short / coroutines)
        frugal.clear()
    return statistics.median(per_step), statistics.median(per_coroutine)


def synthetic_powercap(root: str) -> str:
    """A powercap tree like a one-socket machine's: package and dram zones."""
    from frugal.machine.probes.rapl import write_tree

    write_tree(root, [("intel-rapl:0", "package-0", 123456789, 2**32),
                      ("intel-rapl:0:2", "dram", 12345678, 2**32)])
    return root


def codecarbon_task_us(calls: int) -> float:
    from codecarbon import OfflineEmissionsTracker

    tracker = OfflineEmissionsTracker(country_iso_code="FRA", save_to_file=False, log_level="error",
                                      measure_power_secs=3600)
    tracker.start()
    try:
        times = []
        for i in range(calls):
            t0 = time.perf_counter_ns()
            tracker.start_task(f"t{i}")
            noop()
            tracker.stop_task()
            times.append((time.perf_counter_ns() - t0) / 1000)
    finally:
        tracker.stop()
    return statistics.median(times)


def codecarbon_decorator_us(calls: int) -> float:
    from codecarbon import track_emissions

    fn = track_emissions(offline=True, country_iso_code="FRA", save_to_file=False, log_level="error")(noop)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - t0) / 1000)
    return statistics.median(times)


def bytes_per_call(n: int) -> tuple[float, float]:
    """(bytes held by frugal's log per call, resident-set growth per call) over ``n`` calls."""
    import frugal
    from frugal.core.rows import LOG

    frugal.clear()
    f = frugal.measure(name="held")(noop)
    gc.collect()
    rss0 = _rss()
    for _ in range(n):
        f()
    held = sys.getsizeof(LOG.rows) + sys.getsizeof(LOG.units) + sys.getsizeof(LOG.meters)
    grown = _rss() - rss0
    assert LOG.count() == n
    frugal.clear()
    return held / n, grown / n


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000, help="calls per timing loop")
    parser.add_argument("--repeat", type=int, default=9, help="interleaved repeats (median taken)")
    parser.add_argument("--held-calls", type=int, default=1_000_000, help="calls for the memory figure")
    parser.add_argument("--skip-codecarbon", action="store_true")
    args = parser.parse_args()

    import frugal

    measured = frugal.measure(name="noop")(noop)
    summary = frugal.measure(name="noop-summary", record="summary")(noop)
    rows = []
    rows.append(("frugal, record='calls' (peak memory on)", overhead_us(measured, args.calls, args.repeat)))
    frugal.clear()
    rows.append(("frugal, record='summary'", overhead_us(summary, args.calls, args.repeat)))
    frugal.clear()

    with tempfile.TemporaryDirectory() as tree:
        try:
            frugal.configure(energy="rapl", powercap_root=synthetic_powercap(tree))
        except (ImportError, AttributeError, TypeError, ValueError) as exc:
            print(f"(RAPL meter not available to configure: {exc})")
        else:
            metered = frugal.measure(name="noop-rapl")(noop)
            rows.append(("frugal, record='calls' + RAPL meter (synthetic tree)",
                         overhead_us(metered, args.calls // 4, args.repeat)))
            frugal.configure(energy="auto", powercap_root="/sys/class/powercap")
    frugal.clear()

    if not args.skip_codecarbon:
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        warnings.simplefilter("ignore")
        rows.append(("CodeCarbon start_task/stop_task (warm offline tracker)", codecarbon_task_us(300)))
        rows.append(("CodeCarbon @track_emissions (offline, no files)", codecarbon_decorator_us(3)))

    step_us, coroutine_us = coroutine_step_us()
    held, grown = bytes_per_call(args.held_calls)

    width = max(len(label) for label, _ in rows)
    print(f"\nPer-call overhead on {os.cpu_count()} CPUs, Python {sys.version.split()[0]} (median):")
    for label, us in rows:
        print(f"  {label:<{width}}  {us:12.2f} µs")
    print(f"\nMeasured coroutines (CPU summed over their own steps): {step_us:.2f} µs added per step "
          f"(each resumption), {coroutine_us:.2f} µs per coroutine besides")
    print(f"\nMemory over {args.held_calls:,} recorded calls: {held:.1f} B held by the log per call "
          f"(resident set grew {grown:.1f} B per call)")
    base = rows[0][1]
    print("\nRatios (how many times frugal's calls-mode overhead):")
    for label, us in rows[1:]:
        print(f"  {label:<{width}}  {us / base:10.2f}x")


if __name__ == "__main__":
    main()
