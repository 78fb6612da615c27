"""How often frugal's verdicts and grades follow the noise: rates over many seeded repetitions.

    python benchmarks/verdict_rates.py [--reps 1000] [--real 40] [--gate 20]

Synthetic frames (lognormal runs with the relations of real metrics: energy from CPU time and
memory, carbon from energy, embodied from wall time) measure, over ``--reps`` seeds:
identical triples graded alike, the any-metric false-positive rate of identical pairs over
six metrics, the coverage of the shown intervals, verdicts that disagree with their interval,
the largest grade gap between 1.00x and 1.04x, and the power to see a 1.2x difference.
Real runs (``frugal.compare`` of identical functions, ``--real`` times) give the same rates on
this machine; ``--gate`` runs the pytest gate on an unchanged suite that many times (in fresh
pytest processes) and counts false alarms, then makes one test three times slower.
Figures go in benchmarks/README.md ("Verdict rates").
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import frugal
from frugal.measurement import FIELDS

GRADE_COLUMNS = ["grade_energy", "grade_carbon", "grade_memory", "grade_time", "grade"]


def synthetic(groups: dict[str, float], n: int, rng: np.random.Generator, cv: float = 0.05) -> pd.DataFrame:
    """Runs of each group, ``scale`` times a 10 ms baseline, with lognormal noise of ``cv``."""
    cols: dict[str, list] = {f: [] for f in FIELDS}
    variant: list[str] = []
    for g, scale in groups.items():
        wall = 0.01 * scale * rng.lognormal(0, cv, n)
        cpu = wall * 0.97 * rng.lognormal(0, cv / 3, n)
        peak = 50e6 + 4096 * rng.integers(0, 50, n)
        energy = cpu * 15.0 + peak / 1e9 * 0.3725 * wall
        values = {"wall_s": wall, "cpu_s": cpu, "peak_rss_bytes": peak, "energy_j": energy,
                  "carbon_g": energy * 50 / 3.6e6, "embodied_g": wall * 1e-4}
        for f in FIELDS:
            cols[f].extend(values[f] if f in values else [np.nan] * n)
        cols["status"][-n:] = ["ok"] * n
        cols["calls"][-n:] = [1] * n
        cols["name"][-n:] = [g] * n
        variant += [g] * n
    frame = pd.DataFrame(cols)
    frame.insert(0, "variant", variant)
    return frame


def synthetic_rates(reps: int) -> dict[str, float]:
    rng = np.random.default_rng(2026)
    out: dict[str, float] = {}
    for cv in (0.05, 0.2):
        alike = sum(frugal.indicators(synthetic({"a": 1, "b": 1, "c": 1}, 20, rng, cv), by="variant")[GRADE_COLUMNS]
                    .nunique().eq(1).all() for _ in range(reps))
        out[f"identical triples graded alike (20 runs, CV {cv:.0%})"] = alike / reps
    flagged = disagree = covered = shown = 0
    for r in range(reps):
        ratios = frugal.Comparison(synthetic({"a": 1, "b": 1}, 20, rng), "a", seed=r).ratios()
        flagged += bool(ratios["significant"].any())
        excludes = (ratios["ci_low"] > 1) | (ratios["ci_high"] < 1)
        disagree += int((excludes != ratios["significant"]).sum())
        covered += int(((ratios["ci_low"] <= 1) & (ratios["ci_high"] >= 1)).sum())
        shown += len(ratios)
    out["identical pair: any of 6 metrics significant"] = flagged / reps
    out["identical pair: intervals covering the true ratio 1"] = covered / shown
    detected = 0
    for r in range(reps):
        ratios = frugal.Comparison(synthetic({"a": 1, "b": 1.2}, 20, rng), "a", seed=r).ratios().set_index("metric")
        excludes = (ratios["ci_low"] > 1) | (ratios["ci_high"] < 1)
        disagree += int((excludes != ratios["significant"]).sum())
        detected += bool(ratios.loc["cpu_s", "significant"])
        shown += len(ratios)
    out["verdicts that disagree with their interval"] = disagree
    out["1.2x difference found (CPU time, 20 runs, CV 5%)"] = detected / reps
    gap = 0
    for _ in range(reps):
        t = frugal.indicators(synthetic({"a": 1, "b": 1.04}, 20, rng), by="variant")
        for column in GRADE_COLUMNS:
            gap = max(gap, abs(ord(t.loc["a", column]) - ord(t.loc["b", column])))
    out["largest grade gap between 1.00x and 1.04x (letters)"] = gap
    hits = 0
    for _ in range(reps):
        low, high = frugal.stats.bootstrap_ratio_ci(2.0 * rng.lognormal(0, 0.3, 20), rng.lognormal(0, 0.3, 20),
                                                    seed=rng)
        hits += low <= 2.0 <= high
    out["coverage of one 95% ratio interval (true ratio 2, CV 30%)"] = hits / reps
    return out


def work(n: int = 30_000) -> int:
    return sum(i * i for i in range(n))


def real_rates(reps: int) -> dict[str, float]:
    alike = flagged = 0
    for r in range(reps):
        cmp = frugal.compare({"a": lambda: work(), "b": lambda: work(), "c": lambda: work()}, repeat=20,
                             warmup=2, seed=r, progress=False)
        alike += bool(cmp.indicators()[GRADE_COLUMNS].nunique().eq(1).all())
        ratios = cmp.ratios()
        flagged += bool(ratios[ratios["variant"] == "b"]["significant"].any())
    return {"real identical triples graded alike": alike / reps,
            "real identical pair: any of 6 metrics significant": flagged / reps}


SUITE = """
import os

def work(n):
    return sum(i * i for i in range(n))

def test_a():
    work(60_000)

def test_b():
    work(120_000)

def test_c():
    work(30_000 * int(os.environ.get("SLOWER", "1")))

def test_d():
    work(250_000)

def test_tiny():
    pass
"""


def gate_rates(reps: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "test_suite.py").write_text(textwrap.dedent(SUITE))
        run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_suite.py"]
        env = {**os.environ, "SLOWER": "1"}
        subprocess.run(run + ["--frugal-save", "main"], cwd=tmp, env=env, check=True, capture_output=True)
        gate = ["--frugal-compare", "main", "--frugal-compare-fail=cpu_s:10%,energy_j:10%", "-rA"]
        alarms = gated = 0
        for _ in range(reps):
            proc = subprocess.run(run + gate, cwd=tmp, env=env, capture_output=True, text=True)
            alarms += proc.stdout.count("grew past baseline")
            gated += 4          # test_tiny is too short to gate
        slower = subprocess.run(run + gate, cwd=tmp, env={**env, "SLOWER": "3"}, capture_output=True, text=True)
    return {"gate: false alarms over unchanged runs (tests gated)": alarms / gated,
            "gate: unchanged compare runs": reps,
            "gate: 3x slower test failed": float("test_suite.py::test_c grew past baseline" in slower.stdout)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--real", type=int, default=40)
    parser.add_argument("--gate", type=int, default=20)
    args = parser.parse_args()
    warnings.simplefilter("ignore", RuntimeWarning)
    out = synthetic_rates(args.reps)
    if args.real:
        out.update(real_rates(args.real))
    if args.gate:
        out.update(gate_rates(args.gate))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
