"""An Impact Framework manifest (the Green Software Foundation's ``if-run``, 1.x): one child per
name, its measurements (or its totals) as inputs, and a pipeline of IF's builtins that
computes ``carbon`` (operational + embodied, gCO2e) and ``sci`` (carbon per functional unit).

The manifest is written as JSON, which is YAML too: ``if-run`` reads it as it is (its file name
must end in .yml or .yaml), and frugal needs no YAML library.
"""
from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from frugal.energy.row import J_PER_KWH
from frugal.interop.common import Record, records, utc_text

FUNCTIONAL_UNIT = "functional-units"
# the builtins, by the names the pipeline uses
_PLUGINS = {
    "sum-carbon": {
        "method": "Sum", "path": "builtin",
        "config": {"input-parameters": ["carbon-operational", "carbon-embodied"], "output-parameter": "carbon"},
    },
    "sci": {
        "method": "Sci", "path": "builtin", "config": {"functional-unit": FUNCTIONAL_UNIT},
        # IF knows its own parameters only: this one is described here, summed over time
        "parameter-metadata": {"inputs": {FUNCTIONAL_UNIT: {
            "description": "units of work of the name (its calls where it has no units)", "unit": "none",
            "aggregation-method": {"time": "sum", "component": "sum"}}}},
    },
}


def _input(r: Record) -> dict[str, Any]:
    wall = r.get("wall_s") or 0.0
    energy, carbon, embodied = r.get("energy_j"), r.get("carbon_g"), r.get("embodied_g")
    if carbon is None or embodied is None or energy is None:
        missing = [c for c, v in (("energy_j", energy), ("carbon_g", carbon), ("embodied_g", embodied)) if v is None]
        raise ValueError(f"format='impact-framework' needs {', '.join(missing)} on every row; {r.name!r} has "
                         "rows without (a frame of load_codecarbon() has no embodied carbon): SCI would be "
                         "computed from a part of the carbon")
    return {
        "timestamp": utc_text(r.started_at),
        # IF's observations last whole seconds (its Sci builtin refuses a duration under 1 s):
        # rounded up here, the exact wall time is in wall-time
        "duration": max(1, math.ceil(wall)),
        "wall-time": wall,
        "energy": energy / J_PER_KWH,                 # kWh, IF's unit of energy
        "carbon-operational": carbon,                 # gCO2e
        "carbon-embodied": embodied,                  # gCO2e
        FUNCTIONAL_UNIT: r.work,                      # units of work, or calls where a name has no units
        "functional-unit-kind": r.unit,
    }


def manifest(frame: pd.DataFrame, per: str, title: str) -> dict[str, Any]:
    """The manifest as a dict (``title``: its name)."""
    children: dict[str, Any] = {}
    for r in records(frame, per):
        child = children.setdefault(r.name, {"pipeline": {"compute": list(_PLUGINS)}, "inputs": []})
        child["inputs"].append(_input(r))
    return {
        "name": title,
        "description": "frugal's measurements: energy, operational and embodied carbon per name; "
                       f"'{FUNCTIONAL_UNIT}' counts each name's units of work (or its calls)",
        "tags": None,
        # each child's totals of carbon and functional units: their ratio is the name's SCI
        "aggregation": {"metrics": ["carbon", FUNCTIONAL_UNIT], "type": "horizontal"},
        "initialize": {"plugins": _PLUGINS},
        "tree": {"children": children},
    }


def manifest_text(frame: pd.DataFrame, per: str, title: str) -> str:
    return json.dumps(manifest(frame, per, title), indent=2, allow_nan=False) + "\n"
