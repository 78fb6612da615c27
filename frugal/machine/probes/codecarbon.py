"""``energy="codecarbon"``: CodeCarbon's offline tracker as a cross-check meter.

One long-lived ``OfflineEmissionsTracker`` per process (no output file, no API, quiet
logging, ``tracking_mode="process"``, PUE 1: frugal applies its own). It always has one
task running; ``read()`` stops that task, adds its CPU, RAM and GPU energy to running totals
and starts the next, so the totals are cumulative counters like RAPL's and nested or
overlapping regions take their differences as with any meter. Each read costs a CodeCarbon
measurement (milliseconds): a cross-check for coarse regions, not for hot functions.
CodeCarbon is imported only when this back-end is chosen; it is an extra
(``pip install 'frugal[codecarbon]'``). It is set up fully offline and quiet: CodeCarbon is
given a country (the configured one, else the time zone's, else ``USA``: its country only
labels CodeCarbon's own emission figure, which frugal does not use), so it never reaches for
a location service and prints no error line.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from frugal.errors import FrugalError

if TYPE_CHECKING:
    from codecarbon.output_methods.emissions_data import EmissionsData

KWH_TO_J = 3.6e6
_TASK = "frugal"
LABEL_COUNTRY = "USA"   # CodeCarbon's country when frugal has none (a label: frugal computes carbon itself)
INSTALL = "pip install 'frugal[codecarbon]'"


class CodeCarbonMeter:
    """Cumulative (cpu_J, ram_J, gpu_J) built from back-to-back CodeCarbon tasks."""

    method = "codecarbon"
    cpu_source = "CodeCarbon task (CodeCarbon's own CPU model)"

    def __init__(self, country_iso_code: str | None = None) -> None:
        try:
            from codecarbon import OfflineEmissionsTracker
        except ImportError as exc:
            raise FrugalError(f"energy='codecarbon' needs CodeCarbon, an optional extra: {INSTALL} "
                              f"({type(exc).__name__}: {exc})") from None
        # after its import (which sets INFO) and before the tracker's first message
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        self.country = country_iso_code or LABEL_COUNTRY
        self.country_note = "" if country_iso_code else " (no country set or found: a label only)"
        self._tracker = OfflineEmissionsTracker(
            country_iso_code=self.country, save_to_file=False, save_to_api=False,
            save_to_logger=False, save_to_prometheus=False, save_to_logfire=False,
            log_level="error", tracking_mode="process", pue=1.0, allow_multiple_runs=True,
            project_name="frugal", measure_power_secs=1,
        )
        self._lock = threading.Lock()
        self._totals = (0.0, 0.0, 0.0)
        self._pid = os.getpid()
        self.failures = 0
        self.last_error: str | None = None
        self._tracker.start_task(_TASK)
        first = self._tracker.stop_task()  # CodeCarbon sets up its hardware here, not in a region
        if first is None:
            raise FrugalError("CodeCarbon's offline tracker did not start (its log level is 'error': "
                              "set CODECARBON_LOG_LEVEL=info and retry to see why)")
        self.gpu = bool(getattr(self._tracker, "_gpu_ids", None)) or "GPU" in " ".join(
            str(h) for h in getattr(self._tracker, "_hardware", []))
        self.hardware = ", ".join(str(h) for h in getattr(self._tracker, "_hardware", []))
        getattr(self._tracker, "_tasks", {}).clear()
        self._tracker.start_task(_TASK)
        atexit.register(self.close)

    def read(self) -> tuple[float, float, float] | None:
        """Cumulative (cpu, ram, gpu) energy in J since set-up; None in a forked child or on failure."""
        if os.getpid() != self._pid:
            return None  # the tracker and its threads belong to the parent process
        with self._lock:
            try:
                # None when no task was running, whatever CodeCarbon's annotation says
                d: EmissionsData | None = self._tracker.stop_task()
                tasks = getattr(self._tracker, "_tasks", None)
                if isinstance(tasks, dict):
                    tasks.clear()  # one finished task per read would otherwise pile up
                self._tracker.start_task(_TASK)
            except Exception as exc:  # CodeCarbon's failure must not break the measured program
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                return None
            if d is None:
                self.failures += 1
                self.last_error = "stop_task returned no data"
                return None
            c, r, g = self._totals
            self._totals = (c + d.cpu_energy * KWH_TO_J, r + d.ram_energy * KWH_TO_J,
                            g + d.gpu_energy * KWH_TO_J)
            return self._totals

    def joules(self, start: Any, end: Any, cpu_s: Any) -> tuple[Any, Any, Any]:
        """(cpu_j, ram_j, gpu_j) per region: differences of the cumulative totals."""
        import numpy as np

        d = np.asarray(end, dtype="f8") - np.asarray(start, dtype="f8")
        return d[:, 0], d[:, 1], (d[:, 2] if self.gpu else None)

    def after_fork(self) -> None:
        pass  # read() sees the new pid and returns None: the child's regions are modelled

    def describe(self) -> str:
        from frugal import data

        text = (f"CodeCarbon {data.version('codecarbon')} OfflineEmissionsTracker, process mode, "
                f"country {self.country}{self.country_note}, regions as tasks; hardware: {self.hardware}")
        if self.failures:
            text += f"; {self.failures} failed read(s), last: {self.last_error}"
        return text

    def close(self) -> None:
        if os.getpid() != self._pid:
            return
        with self._lock:
            try:
                self._tracker.stop_task()
                self._tracker.stop()
            except Exception as exc:  # at exit, CodeCarbon's own errors are not the program's
                self.last_error = f"at exit: {type(exc).__name__}: {exc}"

    def __repr__(self) -> str:
        return "<frugal CodeCarbonMeter>"


_shared: CodeCarbonMeter | None = None
_shared_lock = threading.Lock()


def shared_meter(country_iso_code: str | None = None) -> CodeCarbonMeter:
    """The process's one CodeCarbon meter, made on first use (a new one in a forked child)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared._pid != os.getpid():
            _shared = CodeCarbonMeter(country_iso_code)
        return _shared
