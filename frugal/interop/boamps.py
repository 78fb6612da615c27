"""A BoAmps report (Boavizta's JSON for AI energy reports, the one CodeCarbon 3.x writes): one
``measures`` entry per name (or per measurement), its ``powerConsumption`` in kWh.

Only what frugal knows is written, in BoAmps' camelCase keys, and no key is null: CodeCarbon's
BoAmps models read the report and write it back unchanged. The task context (stage, family,
algorithms, data set) is the author's to add: frugal does not know it.
"""
from __future__ import annotations

import json
from datetime import timezone
from typing import Any

import pandas as pd

from frugal._version import __version__
from frugal.energy.row import J_PER_KWH
from frugal.interop.common import Record, records, shared

FORMAT_VERSION = "0.1"
SPEC_URI = "https://github.com/Boavizta/BoAmps/tree/main/model"


def _datetime(r: Record) -> str:
    # BoAmps' format (YYYY-MM-DD HH:MM:SS), in UTC
    return r.started_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _measure(r: Record) -> dict[str, Any]:
    energy, wall = r.get("energy_j"), r.get("wall_s")
    out: dict[str, Any] = {"measurementMethod": "frugal", "version": __version__}
    method = r.text["energy_method"]
    if method:
        # frugal's energy method: "model", "rapl", "rapl+nvml"...: how the CPU (and GPU) were tracked
        out["cpuTrackingMode"] = method.split("+")[0]
        if "nvml" in method:
            out["gpuTrackingMode"] = "nvml"
    if energy is not None:
        out["powerConsumption"] = energy / J_PER_KWH
    if wall is not None:
        out["measurementDuration"] = wall
    out["measurementDateTime"] = _datetime(r)
    return out


def boamps_report(frame: pd.DataFrame, per: str, now: Any) -> dict[str, Any]:
    """The report as a dict of BoAmps' keys; ``now`` (a UTC datetime) stamps it."""
    recs = records(frame, per)
    header: dict[str, Any] = {"formatVersion": FORMAT_VERSION, "formatVersionSpecificationUri": SPEC_URI}
    run = shared([r.text["run_id"] for r in recs])
    if run is not None:
        header["reportId"] = run
    header["reportDatetime"] = now.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    report: dict[str, Any] = {"header": header, "measures": [_measure(r) for r in recs]}
    platform = shared([r.text["platform"] for r in recs])
    if platform is not None:
        report["system"] = {"os": platform}
    software: dict[str, Any] = {"language": "python"}
    python = shared([r.text["python"] for r in recs])
    if python is not None:
        software["version"] = python
    report["software"] = software
    cpu = shared([r.text["cpu"] for r in recs])
    if cpu is not None:
        report["infrastructure"] = {"components": [{"componentType": "cpu", "componentName": cpu}]}
    intensity = frame["intensity_g_per_kwh"] if "intensity_g_per_kwh" in frame.columns else None
    if intensity is not None:
        values = pd.to_numeric(intensity, errors="coerce").dropna().unique().tolist()
        if len(values) == 1:
            report["environment"] = {"powerSourceCarbonIntensity": float(values[0])}
    return report


def boamps_json(frame: pd.DataFrame, per: str, now: Any) -> str:
    return json.dumps(boamps_report(frame, per, now), indent=2, allow_nan=False) + "\n"
