"""What `frugal run` adds to a command that lives a millisecond: `frugal run -- true` against `true`.

    python benchmarks/cli_startup.py [--repeat N]

Each figure is the median wall time of N launches (interleaved, bytecode caches allowed, as
after an install), started from this process with subprocess; bare `true` is the floor. Also
timed: `frugal --help`, `frugal info` and the same run with a store, and, as the cost the
command line avoids, `python -c "import pandas"`. The heavy libraries each command loaded
are listed (none of pandas and matplotlib is the aim).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FRUGAL = [sys.executable, "-m", "frugal"]
TARGETS = {"frugal run -- true (stored)": "  (target: +100 ms)", "frugal run --no-store -- true": "  (target: +100 ms)"}


def commands(store: Path) -> dict[str, list[str]]:
    return {
        "true (floor)": ["true"],
        "frugal run --no-store -- true": [*FRUGAL, "run", "--no-store", "--", "true"],
        "frugal run -- true (stored)": [*FRUGAL, "run", "--store", str(store), "--", "true"],
        "frugal --help": [*FRUGAL, "--help"],
        "frugal info": [*FRUGAL, "info"],
        "python -c 'import pandas'": [sys.executable, "-c", "import pandas"],
    }


def heavy(argv: list[str], env: dict[str, str], cwd: str) -> list[str]:
    """The heavy libraries that ``frugal ARGS`` loads, read from -X importtime."""
    if argv[:3] != FRUGAL:
        return []
    out = subprocess.run([sys.executable, "-X", "importtime", *argv[1:]], env=env, cwd=cwd, capture_output=True,
                         text=True)
    loaded = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    return sorted(m for m in ("pandas", "matplotlib", "numpy", "scipy", "codecarbon", "psutil") if m in loaded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as tmp:
        cmds = commands(Path(tmp) / "frugal.db")
        # run from an empty folder: `python -m` puts the working directory first on sys.path
        for argv in cmds.values():          # bytecode caches first, and the store created
            subprocess.run(argv, env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times: dict[str, list[float]] = {label: [] for label in cmds}
        for _ in range(args.repeat):
            for label, argv in cmds.items():
                t0 = time.perf_counter()
                subprocess.run(argv, env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               check=True)
                times[label].append(time.perf_counter() - t0)
        floor = statistics.median(times["true (floor)"])
        # each launch against the `true` launched just before it (alternated pairs): load drifts less within a pair
        pairs = {label: statistics.median(v - f for v, f in zip(values, times["true (floor)"]))
                 for label, values in times.items()}
        print(f"Wall time, median of {args.repeat} launches (Python {sys.version.split()[0]}, {os.cpu_count()} CPUs):")
        for label, values in times.items():
            median = statistics.median(values)
            print(f"  {label:<32} {median * 1e3:8.1f} ms   +{(median - floor) * 1e3:7.1f} ms over true, "
                  f"{median / floor:6.1f}x   paired: +{pairs[label] * 1e3:7.1f} ms{TARGETS.get(label, '')}   "
                  f"heavy: {', '.join(heavy(cmds[label], env, tmp)) or '-'}")
        print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
