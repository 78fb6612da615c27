"""Baselines: a run's per-test footprints saved as JSON, and the gate that compares with them.

A baseline lives at ``<rootdir>/.frugal/baselines/<NAME>.json``: a plain file that can be
committed, diffed and shared by CI jobs (pytest's cache, by contrast, is wiped by
``--cache-clear`` and usually ignored by git). It keeps every run of each test (the call
phase is run ``--frugal-runs`` times), so the gate compares distributions, not two single
runs: a test fails only when its metric grew past the threshold *and* significantly so, by
the rule of ``frugal.compare`` (the ratio of medians' bootstrap interval, corrected across
the thresholds of the test, lies wholly above 1 + the allowed growth). A test too short for
the clocks to resolve, or with too few runs, is reported as not gated.
"""
from __future__ import annotations

import json
import math
import os
import re
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from frugal import stats
from frugal.files import write_output
from frugal.analysis.ratios import against_baseline
from frugal.analysis.runner import shortest_resolved
from frugal.analysis.thresholds import Threshold
from frugal.units import format_ratio
from frugal.analysis.verdicts import ALPHA, level_text

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
FORMAT = 2            # 2: every run of each test under "runs"; 1 (one run per test) is still read
RUNS = 5              # runs of each test's call phase when saving or comparing a baseline
MEMORY_FLOOR = 1 << 20  # peak memory held below 1 MiB is a few pages: too little to gate

# the clock that limits each metric: energy and carbon are derived from CPU time (or a meter
# read over the same span), embodied carbon from wall time
CLOCK_OF = {"energy_j": "cpu_s", "carbon_g": "cpu_s", "cpu_s": "cpu_s", "wall_s": "wall_s", "embodied_g": "wall_s"}


def floors() -> dict[str, float]:
    """Below these medians a test is too short (or too small) to gate: 1000 steps of the
    clock that limits the metric (1 ms of CPU or wall time here), 1 MiB of memory."""
    clocks = shortest_resolved()
    out = {m: clocks[c] for m, c in CLOCK_OF.items()}
    out.update(peak_added_bytes=MEMORY_FLOOR, peak_rss_bytes=MEMORY_FLOOR)
    return out


def baseline_path(rootdir: Path, name: str, option: str) -> Path:
    """Where baseline ``name`` lives; ``option`` names the command-line option in errors."""
    if not _NAME.match(name) or name.endswith(".json"):
        raise ValueError(f"{option}={name!r}: a baseline name is letters, digits, '_', '.' or '-' "
                         "(it becomes .frugal/baselines/NAME.json)")
    return Path(rootdir) / ".frugal" / "baselines" / f"{name}.json"


def save(path: Path, tests: dict[str, dict[str, Any]], meta: dict[str, Any]) -> int:
    """Merge ``tests`` into the baseline at ``path`` and write it atomically (a reader never
    sees half a file), with the permissions the umask gives any new file: a baseline is
    meant to be committed and shared. A test in ``tests`` replaces its entry; every other
    test of the baseline stays, so that a session run with ``-x``, ``-k`` or a few node ids,
    or interrupted, loses nothing saved before. Two sessions saving one baseline at once
    take turns (a lock on its folder), so neither loses the other's tests. Returns how many
    tests were kept from before. ValueError for an existing file that is not a baseline."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)      # released when the folder is closed
        before = load(path, "--frugal-save") if path.exists() else {}
        merged = {**before, **tests}
        data = {"format": FORMAT, "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                **meta, "tests": merged}
        write_output(path, json.dumps(data, indent=1, sort_keys=True, allow_nan=False), "json", overwrite=True,
                     argument="--frugal-save")
    finally:
        os.close(folder)
    return len(set(before) - set(tests))


def load(path: Path, option: str) -> dict[str, dict[str, Any]]:
    """The per-test footprints of a saved baseline; ValueError naming ``option`` if unusable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{option}: no baseline at {path}; save one first with "
                         f"--frugal-save {path.stem}") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{option}: cannot read the baseline {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") not in (1, FORMAT) or not isinstance(data.get("tests"), dict):
        raise ValueError(f"{option}: {path} is not a frugal baseline (format 1 or {FORMAT})")
    tests: dict[str, dict[str, Any]] = data["tests"]
    return tests


def runs_of(footprint: dict[str, Any], metric: str) -> list[float]:
    """Every run's value of ``metric`` in a footprint (one run in a format-1 baseline)."""
    runs = footprint.get("runs")
    values = runs.get(metric) if isinstance(runs, dict) else None
    if values is None:
        values = [footprint.get(metric)]
    return [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


@dataclass(frozen=True)
class Gate:
    """What the gate found for one test: ``breaches`` (sentences; the test fails) and
    ``not_gated`` (sentences: too short, too few runs; the test neither fails nor passes
    the gate), and per metric the change of the medians (``change``: now / baseline - 1)."""

    breaches: list[str]
    not_gated: list[str]
    change: dict[str, float]


def judge(thresholds: Sequence[Threshold], now: dict[str, Any], before: dict[str, Any], baseline: str,
          seed: str = "") -> Gate:
    """Compare a test's runs with its baseline runs, threshold by threshold.

    A threshold is breached when the bootstrap interval of the ratio of medians (now /
    baseline) lies wholly above the largest ratio it allows, the intervals and decisions
    corrected across this test's thresholds (``frugal.stats.fdr_decisions``, one-sided,
    5%). Not gated: a median under the floor of its clock (``floors``), or fewer than
    ``MIN_RUNS`` runs on a side. An unknown metric is a breach (it cannot be checked); a
    zero baseline is not judged relatively. ``seed`` (the test's id) seeds the bootstrap.
    """
    breaches: list[str] = []
    not_gated: list[str] = []
    change: dict[str, float] = {}
    floor = floors()
    samples: dict[int, tuple[np.ndarray, np.ndarray]] = {}   # by the threshold's place: two may name one metric
    nulls: dict[int, float] = {}
    for i, t in enumerate(thresholds):
        x, y = runs_of(now, t.metric), runs_of(before, t.metric)
        if not x or not y:
            where = "in this run" if not x else f"in baseline {baseline!r}"
            breaches.append(f"{t.metric} unknown {where}, so {t} cannot be checked")
            continue
        old, new = float(np.median(y)), float(np.median(x))
        change[t.metric] = new / old - 1 if old > 0 else math.nan
        if old <= 0 and t.relative:
            continue  # a relative change from zero is undefined: nothing to hold it to
        if min(old, new) < floor[t.metric]:
            not_gated.append(f"{t.metric}: too short to gate (median {t.show(min(old, new))}, under the "
                             f"{t.show(floor[t.metric])} that the clock and the noise resolve)")
            continue
        if min(len(x), len(y)) < stats.MIN_RUNS:
            not_gated.append(f"{t.metric}: too few runs to gate (n={len(x)} vs {len(y)}; "
                             f"use --frugal-runs {stats.MIN_RUNS} or more when saving and comparing)")
            continue
        samples[i], nulls[i] = (np.array(x), np.array(y)), t.limit(old)
    n_boot = stats.replicates_for(len(thresholds), ALPHA)

    def medians(i: int) -> tuple[np.ndarray, np.ndarray]:
        # each metric draws from its own seed (the test's id and the metric): its draws repeat run after run
        key = [zlib.crc32(f"{seed}|{thresholds[i].metric}".encode())]
        x, y = samples[i]
        return stats.resample_medians(x, n_boot, key + [0]), stats.resample_medians(y, n_boot, key + [1])

    for i, r in against_baseline(samples, medians, ALPHA, nulls=nulls, side="greater").items():
        if r.significant:
            t, (runs_now, runs_before) = thresholds[i], samples[i]
            old, new = float(np.median(runs_before)), float(np.median(runs_now))
            breaches.append(
                f"{t.metric} grew {new / old - 1:+.1%} over baseline {baseline!r} ({t.show(old)} -> {t.show(new)}, "
                f"medians of {r.n[1]} and {r.n[0]} runs; the ratio's {level_text(r.ci_level)} CI "
                f"{format_ratio(r.ci_low)}-{format_ratio(r.ci_high)}x lies above "
                f"{format_ratio(t.limit(old))}x), allowed {t.allowance()}")
    return Gate(breaches, not_gated, change)
