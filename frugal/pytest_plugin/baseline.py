"""Baselines: a run's per-test footprints saved as JSON, and thresholds to compare against them.

A baseline lives at ``<rootdir>/.frugal/baselines/<NAME>.json``: a plain file that can be
committed, diffed and shared by CI jobs (pytest's cache, by contrast, is wiped by
``--cache-clear`` and usually ignored by git).
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from frugal.units import format_quantity, parse_number, parse_size

# footprint fields a threshold may name, with their unit ("B" prints as a size)
METRICS: dict[str, str] = {
    "energy_j": "J", "carbon_g": "gCO2e", "embodied_g": "gCO2e", "cpu_s": "s", "wall_s": "s",
    "peak_memory_bytes": "B", "peak_rss_bytes": "B",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
FORMAT = 1


def baseline_path(rootdir: Path, name: str, option: str) -> Path:
    """Where baseline ``name`` lives; ``option`` names the command-line option in errors."""
    if not _NAME.match(name) or name.endswith(".json"):
        raise ValueError(f"{option}={name!r}: a baseline name is letters, digits, '_', '.' or '-' "
                         "(it becomes .frugal/baselines/NAME.json)")
    return Path(rootdir) / ".frugal" / "baselines" / f"{name}.json"


def save(path: Path, tests: dict[str, dict[str, Any]], meta: dict[str, Any]) -> None:
    """Write the footprints atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"format": FORMAT, "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **meta, "tests": tests}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True, allow_nan=False)
    os.replace(tmp, path)


def load(path: Path, option: str) -> dict[str, dict[str, Any]]:
    """The per-test footprints of a saved baseline; ValueError naming ``option`` if unusable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{option}: no baseline at {path}; save one first with "
                         f"--frugal-save {path.stem}") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{option}: cannot read the baseline {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("tests"), dict):
        raise ValueError(f"{option}: {path} is not a frugal baseline (format {FORMAT})")
    tests: dict[str, dict[str, Any]] = data["tests"]
    return tests


@dataclass(frozen=True)
class Threshold:
    """How much ``metric`` may grow over the baseline: relatively (``10%``) or absolutely."""

    metric: str
    allowed: float
    relative: bool

    def __str__(self) -> str:
        return f"{self.metric}:{self.allowed * 100:g}%" if self.relative else f"{self.metric}:{self.show(self.allowed)}"

    def show(self, value: float) -> str:
        return format_quantity(value, METRICS[self.metric])

    def breach(self, now: dict[str, Any], before: dict[str, Any], baseline: str) -> str | None:
        """A sentence when the footprint grew past this threshold or cannot be compared."""
        new, old = now.get(self.metric), before.get(self.metric)
        if new is None or old is None:
            where = "in this run" if new is None else f"in baseline {baseline!r}"
            return f"{self.metric} unknown {where}, so {self} cannot be checked"
        growth = new - old
        if self.relative:
            if old <= 0:
                return None  # a relative change from zero is undefined: nothing to hold it to
            if growth / old > self.allowed:
                return (f"{self.metric} grew {growth / old:+.1%} over baseline {baseline!r} "
                        f"({self.show(old)} -> {self.show(new)}), allowed {self.allowed:.0%}")
        elif growth > self.allowed:
            return (f"{self.metric} grew {self.show(growth)} over baseline {baseline!r} "
                    f"({self.show(old)} -> {self.show(new)}), allowed {self.show(self.allowed)}")
        return None


def parse_threshold(text: str, option: str = "--frugal-compare-fail") -> Threshold:
    """``energy_j:10%`` (relative growth) or ``cpu_s:0.05`` / ``peak_memory_bytes:20 MB`` (absolute)."""
    metric, sep, amount = text.partition(":")
    metric, amount = metric.strip(), amount.strip()
    if not sep or not amount:
        raise ValueError(f"{option}={text!r}: write METRIC:AMOUNT, e.g. energy_j:10% or cpu_s:0.05")
    if metric not in METRICS:
        raise ValueError(f"{option}={text!r}: unknown metric {metric!r}; known: {', '.join(METRICS)}")
    what = f"{option}={text!r}"
    if amount.endswith("%"):
        try:
            value = float(amount[:-1])
        except ValueError:
            raise ValueError(f"{what}: {amount!r} is not a percentage") from None
        return Threshold(metric, parse_number(value, what) / 100, relative=True)
    if METRICS[metric] == "B":
        return Threshold(metric, float(parse_size(amount, what)), relative=False)
    try:
        value = float(amount)
    except ValueError:
        raise ValueError(f"{what}: {amount!r} is not a number of {METRICS[metric]} "
                         "(or a percentage such as 10%)") from None
    return Threshold(metric, parse_number(value, what), relative=False)
