"""How ``Comparison``, ``Scaling`` and the indicators present themselves: plain-word verdicts
that follow the interval shown, failures, warnings about too-short runs, and tables that
print their warnings under themselves. Numbers are printed by ``frugal.units``, the one formatter.
"""
from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from frugal.analysis.runner import CLOCK_STEPS, cpu_clock_resolution, wall_clock_resolution
from frugal.frames.columns import memory_column
from frugal.stats import MIN_RUNS
from frugal.units import MEMORY, format_quantity, format_ratio, label_of

METRICS = ("wall_s", "cpu_s", "peak_added_bytes", "energy_j", "carbon_g", "embodied_g")
"""The columns summarised and compared (those with no value at all are skipped). Memory is
what a run added (``peak_added_bytes``); a frame stored before frugal recorded it compares
the peak resident memory (``peak_rss_bytes``) instead."""

CONFIDENCE = 0.95     # level of every confidence interval before the multiplicity correction
ALPHA = 0.05          # false discovery rate of the verdicts (Benjamini-Hochberg)
SMALL_RATIO = 1.05    # an observed ratio within 5% of 1 is not called a difference worth more runs

# what a ratio against the baseline came to
HIGHER, LOWER, SAME = "higher", "lower", "no significant difference"
TOO_FEW, FAILED, CANNOT = "too few runs", "failed", "cannot compare"


class Table(pd.DataFrame):  # type: ignore[misc]  # pandas has no type information here: DataFrame is Any
    """A DataFrame that shows ``attrs["notes"]`` (e.g. the grade scale) and the warnings in
    ``attrs["warnings"]`` under itself when printed."""

    @property
    def _constructor(self) -> Any:  # derived frames are plain DataFrames
        return pd.DataFrame

    def __repr__(self) -> str:
        notes = "".join(f"\n{n}" for n in self.attrs.get("notes", []))
        return (str(super().__repr__()) + ("\n" + notes if notes else "")
                + warnings_text(self.attrs.get("warnings", [])))

    def _repr_html_(self) -> str:
        notes = "".join(f"<p>{html.escape(n)}</p>" for n in self.attrs.get("notes", []))
        return (str(pd.DataFrame(self).to_html(index=False, escape=True)) + notes
                + warnings_html(self.attrs.get("warnings", [])))


def table(rows: list[dict[str, Any]], columns: list[str], warnings: list[str], **attrs: Any) -> Table:
    """A Table of ``rows`` that shows ``warnings`` under itself; ``attrs`` join its ``attrs``."""
    out = Table(pd.DataFrame(rows, columns=columns))
    out.attrs["warnings"] = list(warnings)
    out.attrs.update(attrs)
    return out


def warnings_text(warnings: list[str]) -> str:
    """The warnings as lines under a printed table ('' when there are none)."""
    return "".join(["\n\nwarnings:"] + [f"\n- {w}" for w in warnings]) if warnings else ""


def warnings_html(warnings: list[str]) -> str:
    """The warnings as an HTML list ('' when there are none)."""
    if not warnings:
        return ""
    items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
    return f"<p><b>Warnings</b></p><ul>{items}</ul>"


def level_text(level: float) -> str:
    """A confidence level as people quote it: ``95%``, ``99.2%``."""
    return f"{float(f'{level * 100:.3g}'):g}%"


def verdict(variant: str, baseline: str, metric: str, ratio: float, ci: tuple[float, float], level: float,
            outcome: str, *, per_unit: bool = False, n: tuple[int, int] = (0, 0), runs_needed: int = 0,
            failure: str = "") -> str:
    """One plain sentence: how ``variant``'s median ``metric`` compares with ``baseline``'s.

    It follows ``outcome`` (``HIGHER``/``LOWER`` exactly when the interval ``ci`` at
    ``level`` excludes 1); ``runs_needed``: runs per side that the observed spread would
    need, suggested when the runs are too few or a visible difference is not resolved;
    ``failure``: a sentence on failed runs (a failed variant's whole verdict).
    """
    noun = label_of(metric) + (" per unit" if per_unit else "")
    if outcome == FAILED:
        return failure
    flag = f" ({failure})" if failure else ""
    if outcome == CANNOT:
        return (f"cannot compare the {noun} of {variant} and {baseline}: not enough successful runs "
                f"or a median of 0{flag}")
    shown = max(ratio, 1 / ratio) if ratio > 0 else ratio
    if outcome == TOO_FEW:
        return (f"too few runs to tell the {noun} of {variant} from {baseline} (n={n[0]} vs {n[1]}): "
                f"about {runs_needed} runs each would tell a difference of {format_ratio(shown)}x at the "
                f"spread observed (ratio {format_ratio(ratio)}){flag}")
    ci_text = f"{level_text(level)} CI {format_ratio(ci[0])}-{format_ratio(ci[1])}x"
    if outcome in (HIGHER, LOWER):
        return f"{variant} uses {format_ratio(ratio)}x the {noun} of {baseline} ({ci_text}){flag}"
    more = ""
    if runs_needed > max(n) and shown >= SMALL_RATIO:
        more = f"; about {runs_needed} runs each would tell whether the {format_ratio(ratio)}x is real"
    return (f"no significant difference in {noun} between {variant} and {baseline} "
            f"(ratio {format_ratio(ratio)}, {ci_text}){more}{flag}")


def outcome_of(ratio: float, significant: bool, n: tuple[int, int]) -> str:
    """``TOO_FEW`` under ``MIN_RUNS`` runs a side, ``CANNOT`` without a ratio, else
    ``HIGHER``/``LOWER`` when ``significant``, else ``SAME``."""
    if min(n) == 0 or not math.isfinite(ratio):
        return CANNOT
    if min(n) < MIN_RUNS:
        return TOO_FEW
    if significant:
        return HIGHER if ratio > 1 else LOWER
    return SAME


@dataclass(frozen=True)
class Failure:
    """The failed runs of one variant (or group): how many of how many, and their errors."""

    failed: int
    runs: int
    errors: tuple[str, ...]

    @property
    def status(self) -> str:
        """``"failed"`` when no run succeeded, else ``"partly failed"``."""
        return "failed" if self.failed >= self.runs else "partly failed"

    def sentence(self, name: str, left_out: str = "it is not compared, ranked or graded",
                 kept: str = "it is compared on its {ok} successful runs only") -> str:
        """``5 of 5 runs of 'broken' failed (ZeroDivisionError: division by zero x5): ...``, ending
        with ``left_out`` when no run succeeded, else ``kept`` (``{ok}``: the successful runs)."""
        tail = left_out if self.status == "failed" else kept.format(ok=self.runs - self.failed)
        return f"{self.failed} of {self.runs} runs of {name} failed ({'; '.join(self.errors)}): {tail}"


def failures_of(frame: pd.DataFrame, key: str,
                details: Mapping[Any, Sequence[str]] | None = None) -> dict[Any, Failure]:
    """Per value of ``key`` with failed runs (status other than "ok"): a ``Failure``.

    The errors are ``details[value]`` (e.g. ``"KeyError: 'x'"`` or an exit status and the
    end of stderr) when given, else the frame's ``error`` column (the exception's type).
    """
    if "status" not in frame.columns:
        return {}
    out = {}
    failed = frame[frame["status"].astype("string").fillna("error") != "ok"]
    for value, group in failed.groupby(key, sort=False):
        texts = list((details or {}).get(value, ()))
        if len(texts) < len(group):
            column = group["error"] if "error" in group.columns else group["status"]
            texts = [str(e) for e in column.fillna(group["status"]).astype("string")]
        counts: Counter[str] = Counter(texts)
        errors = tuple(f"{e} x{n}" if n > 1 else e for e, n in counts.items())
        out[value] = Failure(len(group), int((frame[key] == value).sum()), errors)
    return out


def metrics_of(frame: pd.DataFrame) -> list[str]:
    """The compared columns (``METRICS``) that hold at least one value in ``frame``; memory is
    the frame's ``memory_column``."""
    def known(m: str) -> bool:
        return m in frame.columns and not np.isnan(frame[m].to_numpy(dtype="f8", na_value=np.nan)).all()

    shown = [memory_column(frame) if m == MEMORY else m for m in METRICS]
    return [m for m in shown if known(m)]


def failed_runs(frame: pd.DataFrame, key: str, label: Callable[[Any], str],
                details: Mapping[Any, Sequence[str]] | None = None, **tails: str) -> list[str]:
    """One warning per group of ``key`` with failed runs: how many, their errors, and what is
    done about them (``tails``: the ``left_out``/``kept`` endings of ``Failure.sentence``)."""
    return [failure.sentence(label(value), **tails) for value, failure in failures_of(frame, key, details).items()]


def short_runs(frame: pd.DataFrame, key: str, label: Callable[[Any], str]) -> list[str]:
    """Runs whose wall or CPU time is under CLOCK_STEPS steps of its clock, one line per group."""
    out = []
    ok = frame[frame["status"] == "ok"]
    clocks = (("wall_s", "wall", wall_clock_resolution()), ("cpu_s", "CPU", cpu_clock_resolution()))
    for value, group in ok.groupby(key, sort=False):
        parts = []
        for column, clock, step in clocks:
            times = group[column].to_numpy(dtype="f8", na_value=np.nan)
            short = int((times < CLOCK_STEPS * step).sum())
            if short:
                parts.append(f"{short} of {len(group)} under {format_quantity(CLOCK_STEPS * step, 's')} of "
                             f"{clock} time ({CLOCK_STEPS} steps of the {clock} clock's "
                             f"{format_quantity(step, 's')} resolution)")
        if parts:
            out.append(f"runs of {label(value)} are short for the clocks: {'; '.join(parts)}. A clock "
                       "step then exceeds 0.1% of a value and frugal's own overhead weighs: make each "
                       "run do more work (e.g. a loop inside it)")
    return out
