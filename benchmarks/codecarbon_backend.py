"""What ``energy="codecarbon"`` costs: setting the back-end up, and each measured region, beside the model.

    python benchmarks/codecarbon_backend.py [--starts N] [--regions N]

Set-up: ``N`` fresh interpreters each time ``import frugal`` then ``frugal.configure(energy=
"codecarbon", country="FR")`` (CodeCarbon imported, its offline tracker made, its first task
run); the median is printed, with the lines CodeCarbon wrote on stderr (there should be none).
Per region: in one interpreter, ``--regions`` empty regions ``with frugal.measure(...)``
under the CodeCarbon back-end and under the model, interleaved in blocks of 10; the medians
per region and their ratio. Needs ``pip install 'frugal[codecarbon]'``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SETUP = """
import json, time
t0 = time.perf_counter()
import frugal
t1 = time.perf_counter()
frugal.configure(energy="codecarbon", country="FR")
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "setup": t2 - t1}))
"""


def setup_times(starts: int) -> tuple[list[float], list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRUGAL_", "CODECARBON_"))}
    times, lines = [], []
    for _ in range(starts):
        out = subprocess.run([sys.executable, "-c", SETUP], capture_output=True, text=True, env=env, check=True)
        times.append(json.loads(out.stdout.strip().splitlines()[-1])["setup"])
        lines += [line for line in out.stderr.splitlines() if line.strip()]
    return times, lines


def region_times(regions: int) -> dict[str, list[float]]:
    import frugal

    frugal.configure(energy="codecarbon", country="FR")
    cc_meter = frugal.configure()
    frugal.configure(energy="model")
    model = frugal.configure()
    times: dict[str, list[float]] = {"codecarbon": [], "model": []}
    for block in range(regions // 10):
        for label, settings in (("codecarbon", cc_meter), ("model", model))[:: 1 if block % 2 else -1]:
            frugal.configure(energy=settings.energy)
            for _ in range(10):
                t0 = time.perf_counter()
                with frugal.measure("empty"):
                    pass
                times[label].append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--regions", type=int, default=200)
    args = parser.parse_args()
    from frugal import data

    print(f"CodeCarbon {data.version('codecarbon')}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    setup, lines = setup_times(args.starts)
    print(f"set-up (configure(energy='codecarbon')): median {statistics.median(setup):.2f} s over {args.starts} "
          f"fresh interpreters (min {min(setup):.2f}, max {max(setup):.2f})")
    print(f"lines CodeCarbon wrote on stderr during those set-ups: {len(lines)}")
    for line in lines[:5]:
        print(f"  {line}")
    times = region_times(args.regions)
    cc, model = statistics.median(times["codecarbon"]), statistics.median(times["model"])
    print(f"per empty region, median of {len(times['model'])}: codecarbon {cc * 1e3:.2f} ms, model "
          f"{model * 1e6:.1f} us, ratio {cc / model:,.0f}x")


if __name__ == "__main__":
    main()
