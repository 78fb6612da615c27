"""Per-call overhead of frugal against an unmeasured call and against CodeCarbon, in one run.

    python benchmarks/overhead.py [--calls N] [--repeat R] [--skip-codecarbon] [--callgrind]

First, beside its floor, in one run: the CPU time per call (this thread's clock: steadier than wall
time on a shared machine) of a measured no-op (record="calls", exact peak memory) against the
system calls it cannot avoid, made from Python in a loop exactly as frugal makes them (two
perf_counter_ns, two getrusage, the clear_refs write, the statm pread), target 1.5x; and of
record="summary" against its own (two perf_counter_ns, two process_time_ns), target 0.8 µs.
``--callgrind`` adds the instructions per call of each under valgrind's callgrind (repeatable
whatever the machine's load): two runs of N1 and N2 calls, (Ir(N2) - Ir(N1)) / (N2 - N1), less
the same for an unmeasured no-op.

Then the median per-call overhead of:
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


# --- the floor: the system calls a measured call cannot avoid --------------------------------

CALLS_TARGET = 1.5       # a measured call, at most this many times its floor
SUMMARY_TARGET_US = 0.8  # a call in record="summary", at most this many µs over an unmeasured call


def loops(calls: int) -> dict[str, object]:
    """The loops compared, by name: each runs ``calls`` iterations of one thing."""
    import resource

    import frugal
    from frugal.core import span

    measured = frugal.measure(name="noop")(noop)
    summary = frugal.measure(name="noop-summary", record="summary")(noop)
    perf, process_ns, getrusage, SELF = time.perf_counter_ns, time.process_time_ns, resource.getrusage, resource.RUSAGE_SELF
    write, pread, clear_fd, statm_fd = os.write, os.pread, span._clear_fd, span._statm_fd

    def floor(n: int) -> None:
        # frugal's order: reset the mark, clock, usage | the call | usage, clock, resident set
        for _ in range(n):
            write(clear_fd, b"5")
            perf()
            getrusage(SELF)
            noop()
            getrusage(SELF)
            perf()
            pread(statm_fd, 128, 0)

    def summary_floor(n: int) -> None:
        for _ in range(n):
            perf()
            process_ns()
            noop()
            process_ns()
            perf()

    def calls_of(fn):
        def run(n: int) -> None:
            for _ in range(n):
                fn()
        return run

    return {"empty": calls_of(noop), "floor": floor, "calls": calls_of(measured),
            "summary floor": summary_floor, "summary": calls_of(summary)}


def cpu_ns_per_call(run, calls: int) -> float:
    """This thread's CPU time per iteration of ``run(calls)``, GC off (ns)."""
    gc.disable()
    try:
        t0 = time.thread_time_ns()
        run(calls)
        return (time.thread_time_ns() - t0) / calls
    finally:
        gc.enable()


def floor_figures(calls: int, repeat: int) -> dict[str, float]:
    """Median CPU ns per call of each loop, repeats interleaved, less the empty loop's (the
    no-op called bare), and the log cleared between repeats."""
    import frugal

    runs = loops(calls)
    per: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            per[name].append(cpu_ns_per_call(run, calls))
        frugal.clear()
    empty = statistics.median(per.pop("empty"))
    return {name: statistics.median(values) - empty for name, values in per.items()}


def callgrind_figures(n1: int = 1000, n2: int = 6000) -> dict[str, float] | str:
    """Instructions per call of each loop under callgrind, less the empty loop's; or why not."""
    import shutil
    import subprocess

    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return "valgrind is not installed: no instruction counts (apt-get install valgrind)"
    env = dict(os.environ, PYTHONHASHSEED="0")

    def instructions(name: str, n: int) -> int:
        out = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                              os.path.abspath(__file__), "--loop", name, str(n)],
                             capture_output=True, text=True, env=env, check=True)
        for line in out.stderr.splitlines():
            if "Collected :" in line:
                return int(line.rsplit(":", 1)[1])
        raise RuntimeError(f"no instruction count in callgrind's output: {out.stderr[-500:]}")

    per = {name: (instructions(name, n2) - instructions(name, n1)) / (n2 - n1)
           for name in ("empty", "floor", "calls", "summary floor", "summary")}
    empty = per.pop("empty")
    return {name: value - empty for name, value in per.items()}


def print_floor(figures: dict[str, float], unit: str, fmt: str, target: str) -> None:
    ratio = figures["calls"] / figures["floor"]
    print(f"  measured call (record='calls', exact peak)  {figures['calls']:{fmt}} {unit}")
    print(f"  its floor (the system calls, from Python)   {figures['floor']:{fmt}} {unit}")
    print(f"  ratio                                       {ratio:10.2f}x   {target}")
    print(f"  record='summary'                            {figures['summary']:{fmt}} {unit}")
    print(f"  its floor (2 perf_counter, 2 process_time)  {figures['summary floor']:{fmt}} {unit}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000, help="calls per timing loop")
    parser.add_argument("--repeat", type=int, default=9, help="interleaved repeats (median taken)")
    parser.add_argument("--held-calls", type=int, default=1_000_000, help="calls for the memory figure")
    parser.add_argument("--skip-codecarbon", action="store_true")
    parser.add_argument("--callgrind", action="store_true",
                        help="also count instructions per call under valgrind (about a minute)")
    parser.add_argument("--only-floor", action="store_true", help="print the floor figures only")
    parser.add_argument("--loop", nargs=2, metavar=("NAME", "N"), help=argparse.SUPPRESS)  # callgrind's child
    args = parser.parse_args()

    if args.loop:
        run = loops(1)[args.loop[0]]
        run(10)                     # warm: first calls intern names, specialise bytecode
        run(int(args.loop[1]))
        return

    floor = floor_figures(max(args.calls // 5, 1000), args.repeat * 2)
    print(f"Beside the floor, CPU time per call on {os.cpu_count()} CPUs, Python {sys.version.split()[0]} "
          "(median of interleaved repeats, less an unmeasured call):")
    print_floor({k: v / 1000 for k, v in floor.items()}, "µs", "10.2f", f"(target <= {CALLS_TARGET}x)")
    summary_us = floor["summary"] / 1000
    print(f"  summary target: <= {SUMMARY_TARGET_US} µs: {'met' if summary_us <= SUMMARY_TARGET_US else 'NOT met'} "
          f"({summary_us:.2f} µs; its floor alone {floor['summary floor'] / 1000:.2f} µs)")
    if args.callgrind:
        counted = callgrind_figures()
        if isinstance(counted, str):
            print(counted)
        else:
            print("\nInstructions per call under callgrind (repeatable whatever the load):")
            print_floor(counted, "Ir", "10.0f", "(the target is on time: the kernel's share of a system call is not counted here)")
    if args.only_floor:
        return

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
