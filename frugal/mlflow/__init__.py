"""frugal's footprint in MLflow (the extra ``frugal[mlflow]``): ``with frugal.mlflow.track("train"):``
measures a block and logs it to the active MLflow run; ``frugal.mlflow.log(data)`` logs a
Measurement or a frame. Metrics ``frugal.energy_j``, ``frugal.carbon_g``, ``frugal.embodied_g``,
``frugal.cpu_s``, ``frugal.wall_s``, ``frugal.peak_added_bytes``; the methodology's provenance
as tags. Without an active run, one is started and ended.

frugal sends nothing anywhere: when it is frugal that imports MLflow (the program has not), it
imports it with MLflow's usage telemetry off (``MLFLOW_DISABLE_TELEMETRY``) unless the
environment already says otherwise; the tracking store is wherever the program points MLflow.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import warnings
from collections.abc import Iterator
from typing import Any

from frugal._version import __version__
from frugal.core.measure import Region, measure
from frugal.measurement import Measurement


def _mlflow() -> Any:
    """MLflow, imported on first use (this face imports nothing of it: ``frugal.mlflow`` is there
    without the extra, and says which extra when it is used)."""
    if "mlflow" not in sys.modules and "DO_NOT_TRACK" not in os.environ:
        # MLflow reads this when it is imported and starts its telemetry client then
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        import mlflow
    except ImportError:
        raise ModuleNotFoundError("frugal.mlflow needs the extra: pip install 'frugal[mlflow]'") from None
    return mlflow


METRICS = ("energy_j", "carbon_g", "embodied_g", "cpu_s", "wall_s", "peak_added_bytes")
# The provenance of the numbers: how energy was had, the CPU's watts, the grid's intensity.
TAGS = ("energy_method", "cpu_power_source", "intensity_g_per_kwh", "intensity_source")
_TAG_LIMIT = 5000           # MLflow's longest tag value
_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")     # what an MLflow key may not hold


def _of_measurement(m: Measurement) -> tuple[dict[str, float], dict[str, str]]:
    metrics = {f"frugal.{k}": float(v) for k in METRICS if (v := getattr(m, k)) is not None and v == v}
    tags = {f"frugal.{k}": str(v)[:_TAG_LIMIT] for k in TAGS if (v := getattr(m, k)) is not None}
    tags["frugal.name"] = m.name[:_TAG_LIMIT]
    return metrics, tags


def _of_frame(frame: Any) -> tuple[dict[str, float], dict[str, str]]:
    """Summed per name (memory: the largest of the name's peaks); one name's keys are
    ``frugal.<metric>``, several names' ``frugal.<name>.<metric>``."""
    import numpy as np

    from frugal.frames.frame import floats

    if "name" not in frame.columns or len(frame) == 0:
        raise ValueError("frugal.mlflow.log(data=...): the frame has no rows or no 'name' column")
    metrics: dict[str, float] = {}
    tags: dict[str, str] = {}
    groups = list(frame.groupby("name", sort=False))
    for name, g in groups:
        prefix = "frugal." if len(groups) == 1 else f"frugal.{_KEY.sub('_', str(name))}."
        for k in METRICS:
            if k not in g.columns:
                continue
            values = floats(g[k])
            if not np.isnan(values).any():      # a sum with an unknown part would pass for the whole
                metrics[prefix + k] = float(values.max() if k == "peak_added_bytes" else values.sum())
        for k in TAGS:
            if k in g.columns:
                distinct = sorted({str(v) for v in g[k].dropna().tolist()})
                if distinct:
                    tags[prefix + k] = "; ".join(distinct)[:_TAG_LIMIT]
        if len(groups) == 1:
            tags["frugal.name"] = str(name)[:_TAG_LIMIT]
    return metrics, tags


@contextlib.contextmanager
def _run(run_name: str) -> Iterator[bool]:
    """The active MLflow run, else one started here and ended on leaving (FAILED on an error).
    Yields whether there is a run to log to: MLflow failing to start one is a warning, and the
    measured block runs all the same."""
    mlflow = _mlflow()
    if mlflow.active_run() is not None:
        yield True
        return
    try:
        run = mlflow.start_run(run_name=run_name)
    except Exception as exc:  # MLflow's store failing must not break the measured program
        _warn(exc, "no MLflow run could be started")
        yield False
        return
    with run:
        yield True


def _warn(exc: BaseException, what: str) -> None:
    warnings.warn(f"frugal.mlflow: {what} ({type(exc).__name__}: {exc}); the footprint was not logged to "
                  "MLflow, it stays in frugal.results()", RuntimeWarning, stacklevel=4)


def _send(metrics: dict[str, float], tags: dict[str, str]) -> None:
    tags = {**tags, "frugal.version": __version__}
    mlflow = _mlflow()
    try:
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
    except Exception as exc:  # MLflow's store failing must not break the measured program
        _warn(exc, "MLflow refused the metrics")


def log(data: Any) -> None:
    """Log ``data`` (a ``Measurement``, or a frame of ``frugal.results()``/``frugal.load()``,
    summed per name) to the active MLflow run (one is started and ended when none is).
    Values frugal does not know are not logged."""
    if isinstance(data, Measurement):
        metrics, tags, run_name = *_of_measurement(data), data.name
    elif hasattr(data, "columns") and hasattr(data, "groupby"):
        metrics, tags = _of_frame(data)
        run_name = tags.get("frugal.name", "frugal")
    else:
        raise TypeError(f"frugal.mlflow.log(data=...) takes a Measurement or a frame, got {type(data).__name__}")
    with _run(run_name) as logging:
        if logging:
            _send(metrics, tags)


@contextlib.contextmanager
def track(name: str, *, units: Any = None, scope: str = "process", children: bool = False) -> Iterator[Region]:
    """Measure the block as ``frugal.measure(name)`` does and log its footprint to the active
    MLflow run when it ends, also when it raises (the exception goes on unchanged). Without an
    active run, one named ``name`` is started before the block and ended after it."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"frugal.mlflow.track(name=...) must be a non-empty str, got {name!r}")
    with _run(name) as logging:
        region = measure(name, units=units, scope=scope, children=children)
        try:
            with region:
                yield region
        finally:
            if logging:
                _send(*_of_measurement(region.result))
