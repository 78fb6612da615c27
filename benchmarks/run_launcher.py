"""What `frugal run` charges a command for starting it: the CPU it records for `true` against the floor.

    python benchmarks/run_launcher.py [--repeat N]

In one run, in alternating blocks: the median user+system CPU per run that `frugal run --repeat N --json -- true`
records (read from its printed rows), beside the median that ``os.wait4`` gives for
``Popen(["true"])`` started from this process (the kernel's accounting of the bare command:
the floor), and their ratio. Target: the ratio within noise of 1 (the launcher that keeps
frugal's memory out of the command's peak must not be charged to the command).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

FRUGAL = [sys.executable, "-m", "frugal"]


def frugal_cpu(repeat: int) -> list[float]:
    """CPU seconds per run of ``true`` as ``frugal run`` records them."""
    out = subprocess.run([*FRUGAL, "run", "--repeat", str(repeat), "--no-store", "--json", "--", "true"],
                         capture_output=True, text=True, check=True)
    return [r["cpu_user_s"] + r["cpu_system_s"] for r in json.loads(out.stdout)["runs"]]


def floor_cpu(repeat: int) -> list[float]:
    """CPU seconds per run of ``true`` started by Popen and waited for with wait4."""
    cpu = []
    for _ in range(repeat):
        proc = subprocess.Popen(["true"])
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0
        cpu.append(usage.ru_utime + usage.ru_stime)
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    # in 10 alternating blocks: a machine that gets busier weighs on both sides alike
    block = max(1, args.repeat // 10)
    recorded_runs: list[float] = []
    floor_runs: list[float] = []
    while len(recorded_runs) < args.repeat:
        recorded_runs += frugal_cpu(block)
        floor_runs += floor_cpu(block)
    recorded, floor = statistics.median(recorded_runs), statistics.median(floor_runs)
    print(f"runs of `true`: {len(recorded_runs)} each, in blocks of {block}")
    print(f"frugal run -- true: median CPU {recorded * 1e3:.3f} ms per run (recorded)")
    print(f"wait4(Popen(true)): median CPU {floor * 1e3:.3f} ms per run (floor)")
    print(f"ratio recorded/floor: {recorded / floor:.2f}x (target: within noise of 1.00x)")


if __name__ == "__main__":
    main()
