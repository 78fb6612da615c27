"""The two figures RELIABILITY.md promises (issue 20), measured with real processes:

- rows lost when a CPU-bound program (a loop of measured no-ops, as fast as it goes) with a
  store is killed with SIGKILL after 1, 2, 3, 5 and 8 s, in seconds of rows (target: <= 1 s);
- time from a program's last statement to the end of its process while daemon threads
  measure no-ops without pause, store set (target: <= 1.5 s).

    .venv/bin/python benchmarks/reliability.py [--kill-after 1 2 3 5 8] [--threads 4 8]
"""
from __future__ import annotations

import argparse
import os
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import frugal

KILLED = """
    import mmap, struct, sys, time, frugal
    frugal.configure(store=sys.argv[1])
    progress = open(sys.argv[2], "r+b")
    shared = mmap.mmap(progress.fileno(), 16)
    noop = frugal.measure(name="noop")(lambda: None)
    t0 = time.perf_counter()
    calls = 0
    while True:                              # CPU-bound: never sleeps, never does I/O
        for _ in range(1000):
            noop()
        calls += 1000
        shared[:16] = struct.pack("<qd", calls, time.perf_counter() - t0)
"""

EXITING = """
    import sys, threading, time, frugal
    frugal.configure(store=sys.argv[1])
    def work():
        f = frugal.measure(name="daemon")(lambda: None)
        while True:
            f()
    for _ in range(int(sys.argv[2])):
        threading.Thread(target=work, daemon=True).start()
    time.sleep(3)
    print(time.time(), flush=True)
"""


def killed_after(seconds: float, folder: Path) -> tuple[float, int, float]:
    """(seconds of rows lost, calls made, calls per second) for one program killed after ``seconds``."""
    fresh = tempfile.mkdtemp(dir=folder)           # one store per run, even for equal ``seconds``
    path, progress = Path(fresh) / "killed.db", Path(fresh) / "progress"
    progress.write_bytes(b"\0" * 16)
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(KILLED), str(path), str(progress)])
    deadline = time.monotonic() + seconds + 60
    try:
        while struct.unpack("<qd", progress.read_bytes())[1] < seconds:
            time.sleep(0.01)
            if proc.poll() is not None:
                raise RuntimeError(f"the measured program ended by itself (status {proc.returncode})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the measured program did not run {seconds:g} s within a minute more")
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    calls, elapsed = struct.unpack("<qd", progress.read_bytes())
    rate = calls / elapsed
    stored = len(frugal.load(path)) if path.exists() else 0
    return (calls - stored) / rate, calls, rate


def exit_delay(threads: int, folder: Path) -> float:
    """Seconds from the program's last statement to the end of its process."""
    path = folder / f"exit-{threads}.db"
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(EXITING), str(path), str(threads)],
                            stdout=subprocess.PIPE, text=True)
    try:
        last = float(proc.stdout.readline())
        proc.wait(600)
    finally:
        if proc.poll() is None:
            proc.kill()
    return time.time() - last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kill-after", type=float, nargs="+", default=[1, 2, 3, 5, 8], metavar="S")
    parser.add_argument("--threads", type=int, nargs="+", default=[4, 8], metavar="N")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for seconds in args.kill_after:
            lost, calls, rate = killed_after(seconds, folder)
            print(f"SIGKILL after {seconds:g} s: {calls:,} calls at {rate:,.0f}/s, "
                  f"{lost:.2f} s of rows lost (target <= 1 s: {'met' if lost <= 1 else 'NOT met'})")
        for threads in args.threads:
            delay = exit_delay(threads, folder)
            print(f"exit with {threads} measuring daemon threads: {delay:.2f} s after the last statement "
                  f"(target <= 1.5 s: {'met' if delay <= 1.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
