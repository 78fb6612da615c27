"""``frugal.export``: a frame (or a Comparison) written in another tool's format."""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from frugal.files import write_output
from frugal.interop import FORMATS
from frugal.interop.boamps import boamps_json
from frugal.interop.codecarbon import codecarbon_csv
from frugal.interop.common import check_per, frame_of
from frugal.interop.impact import manifest_text

# one row per measurement, except in a BoAmps report: one measure per name
_DEFAULT_PER = {"codecarbon": "measurement", "impact-framework": "measurement", "boamps": "name"}


def export(data: Any, path: str | os.PathLike[str], format: str, *, per: str | None = None,
           overwrite: bool = False) -> Path:
    """Write ``data`` (a frame of ``frugal.results()``, ``frugal.load()`` or
    ``frugal.load_codecarbon()``, or a ``Comparison``) to ``path`` in another tool's format:

    - ``"codecarbon"``: CodeCarbon's ``emissions.csv``, its 38 columns in its order and units
      (s, kg, kg/s, W, kWh); what frugal does not know is empty (METHODOLOGY.md says what fills
      each column);
    - ``"impact-framework"``: a manifest that ``if-run`` (npm ``@grnsft/if`` 1.x) computes:
      one child per name, ``carbon`` and ``sci`` per input; ``path`` ends in .yml or .yaml;
    - ``"boamps"``: a BoAmps JSON report, ``powerConsumption`` in kWh.

    ``per``: ``"measurement"`` (one row, input or measure each) or ``"name"`` (each name's
    totals, one each); by default per measurement, and per name for BoAmps. Failed runs are
    kept: the energy they spent was spent. An existing file of another kind is left untouched
    unless ``overwrite``. Returns the path written. Raises ``ValueError`` naming the argument.
    """
    if format not in FORMATS:
        raise ValueError(f"export(format=...) must be one of {', '.join(map(repr, FORMATS))}, got {format!r}")
    per = check_per(_DEFAULT_PER[format] if per is None else per)
    frame = frame_of(data, "export(data=...)")
    argument = "export(path=...)"
    if format == "codecarbon":
        return write_output(path, codecarbon_csv(frame, per), "csv", overwrite=overwrite, argument=argument)
    if format == "boamps":
        return write_output(path, boamps_json(frame, per, datetime.now(timezone.utc)), "json", overwrite=overwrite,
                            argument=argument)
    name = os.fspath(path)
    if not name.endswith((".yml", ".yaml")):
        raise ValueError(f"{argument}: an Impact Framework manifest's name ends in .yml or .yaml (if-run reads "
                         f"no other), got {name!r}")
    # the manifest is JSON text (YAML reads it): refused and replaced as a JSON file is
    return write_output(path, manifest_text(frame, per, Path(name).stem), "json", overwrite=overwrite,
                        argument=argument)
