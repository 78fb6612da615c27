"""How long ``import frugal`` takes, beside a bare interpreter and the libraries frugal keeps out.

    python benchmarks/import_time.py [--repeat N]

Each figure is the median wall time of N fresh interpreters (interleaved), each running one
statement; the bare interpreter is the floor. Bytecode caches are allowed (as after an install).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

STATEMENTS = {
    "python (floor)": "pass",
    "import frugal": "import frugal",
    "import frugal; frugal.measure (a call)": "import frugal\nf = frugal.measure(lambda: None)\nf()",
    "import numpy": "import numpy",
    "import pandas": "import pandas",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for code in STATEMENTS.values():      # write the bytecode caches first
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
    times: dict[str, list[float]] = {label: [] for label in STATEMENTS}
    for _ in range(args.repeat):
        for label, code in STATEMENTS.items():
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, check=True)
            times[label].append(time.perf_counter() - t0)
    floor = statistics.median(times["python (floor)"])
    print(f"Start-up times, median of {args.repeat} fresh interpreters (Python {sys.version.split()[0]}):")
    for label, values in times.items():
        median = statistics.median(values)
        paired = statistics.median(v - f for v, f in zip(values, times["python (floor)"]))   # alternated pairs
        target = "  (target: +15 ms)" if label == "import frugal" else ""
        print(f"  {label:<42} {median * 1e3:7.1f} ms   +{(median - floor) * 1e3:6.1f} ms over the floor, "
              f"paired +{paired * 1e3:6.1f} ms{target}")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    code = "import sys, frugal; print(sorted(m for m in ('pandas', 'numpy', 'matplotlib', 'scipy', 'codecarbon') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    print(f"heavy libraries loaded by import frugal: {out.stdout.strip()}")


if __name__ == "__main__":
    main()
