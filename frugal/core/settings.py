"""Settings: what frugal assumes (grid, PUE, hardware, meters), kept as immutable snapshots.

Each measured call records the index of the snapshot in force (handed to the hot path with
``frugal.core.span.activate``); energy and carbon are derived later, when results are read, with
that snapshot. Snapshot 0 is the defaults plus the ``FRUGAL_*`` environment variables;
``configure(...)`` validates everything it is given before it changes anything, then appends
a snapshot (or reuses an equal one) and puts it and its meter in force. A new ``store``
setting is handed to the store, a layer above, by a late import (``_set_store``).
Standard library only: ``import frugal`` loads this.
"""
from __future__ import annotations

import dataclasses
import math
import os
import threading
from dataclasses import dataclass
from types import ModuleType
from collections.abc import Callable, Mapping

TYPE_CHECKING = False   # typing is not imported at run time: ``import frugal`` stays light
if TYPE_CHECKING:
    from typing import Any

from frugal.core import span
from frugal.core import startup
from frugal.core.startup import POWERCAP_ROOT, no_meter_possible
from frugal.errors import FrugalError
from frugal.validate import check_bool, check_choice, check_int, check_number, check_path, check_text, redact

ENERGY_CHOICES = ("auto", "model", "rapl", "codecarbon")   # frugal.machine.probes.meter.build serves each
POWER_MODELS = ("specpower", "tdp")            # frugal.machine.hardware.cpu_power serves each
IDLE_POWER = ("none", "reserved")              # frugal.energy.model: idle share of the reserved CPUs or not
EMBODIED_ALLOCATIONS = ("reserved", "usage")   # frugal.energy.model: SCI's RR, or the threads used
MAX_SNAPSHOTS = 1 << 16  # settings_id is packed as an unsigned 16-bit field


@dataclass(frozen=True)
class Settings:
    """One snapshot of the settings. Units: gCO2e/kWh, W, W/GB (GiB), gCO2e, years."""

    country: str | None = None             # ISO 3166 alpha-3, resolved from any accepted spelling
    region: str | None = None              # key of a region of `country` in the bundled data
    intensity_g_per_kwh: float | None = None   # explicit grid intensity; wins over country
    pue: float = 1.0                       # power usage effectiveness, multiplies all energy
    embodied: str = "auto"                 # preset: auto, laptop, desktop, server
    embodied_total_g: float | None = None  # TE override, gCO2e for the whole machine
    lifetime_years: float | None = None    # lifetime override
    cpu_tdp_w: float | None = None         # TDP override, W per CPU package
    cpu_model: str | None = None           # the (host) chip, a name of frugal/data/cpus.csv
    host_threads: int | None = None        # hardware threads of the host (SCI's ToR; P_thread on a VM)
    instance_type: str | None = None       # cloud instance type of frugal/data/instances.csv
    ram_w_per_gb: float = 0.3725           # Green Algorithms (Lannelongue et al. 2021)
    energy: str = "auto"                   # auto, model, rapl, codecarbon
    powercap_root: str = POWERCAP_ROOT
    gpu: bool = True                       # read NVIDIA GPUs through NVML when present
    # default store path or postgresql:// URL (frugal.store); out of repr: a URL may hold a password
    store: str | None = dataclasses.field(default=None, repr=False)
    power_model: str = "specpower"         # W per busy CPU: specpower (CCF's max - min) or tdp (TDP / threads)
    idle_power: str = "none"               # none, or reserved: + wall x reserved CPUs x min W per vCPU
    embodied_allocation: str = "reserved"  # reserved (SCI's RR: CPUs the process may use) or usage (cpu_s/wall_s)


SETTINGS = tuple(f.name for f in dataclasses.fields(Settings))

def _grid() -> ModuleType:
    # the country tables are read when a country is first set, not at ``import frugal``
    from frugal.machine import grid

    return grid


def _hardware() -> ModuleType:
    # the CPU and instance tables likewise
    from frugal.machine import hardware

    return hardware


def _embodied_choices() -> tuple[str, ...]:
    from frugal import data

    return ("auto", *data.embodied_presets())


def _optional(check: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    """``check``, with None accepted as "not set"."""
    return lambda n, v: None if v is None else check(n, v)


# --- validation: each returns the normalised value or raises naming the setting ----------

def _validate(given: Mapping[str, Any], base: Settings) -> dict[str, Any]:
    """Check every given setting against ``base``; returns the changes, raises before any is applied."""
    unknown = [k for k in given if k not in SETTINGS]
    if unknown:
        import difflib

        hints = [m for k in unknown for m in difflib.get_close_matches(k, SETTINGS, n=1)]
        hint = f"; did you mean {', '.join(map(repr, hints))}?" if hints else ""
        raise TypeError(f"unknown setting {', '.join(map(repr, unknown))}{hint} "
                        f"(settings: {', '.join(SETTINGS)})")
    out: dict[str, Any] = {}
    if "country" in given:
        value = given["country"]
        out["country"] = None if value is None else _grid().resolve_country(value, "country")
    country = out.get("country", base.country)
    if "region" in given:
        value = given["region"]
        out["region"] = None if value is None else _grid().resolve_region(country, value, "region")
    elif "country" in out and out["country"] != base.country:
        out["region"] = None  # a region belongs to its country
    for name, value in given.items():
        check = _CHECKS.get(name)
        if check is not None:
            out[name] = check(name, value)
    return out


# One check per setting (country and region above: they depend on each other).
_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "intensity_g_per_kwh": lambda n, v: check_number(n, v, 0, 2000, optional=True, unit=" gCO2e/kWh"),
    "pue": lambda n, v: check_number(n, v, 1.0, 10.0),
    "embodied": lambda n, v: check_choice(n, v, _embodied_choices()),
    "embodied_total_g": lambda n, v: check_number(n, v, 0, math.inf, optional=True, unit=" gCO2e"),
    "lifetime_years": lambda n, v: check_number(n, v, 0, 100, optional=True, low_open=True, unit=" years"),
    "cpu_tdp_w": lambda n, v: check_number(n, v, 0, 10_000, optional=True, low_open=True,
                                           unit=" W per CPU package"),
    "cpu_model": _optional(lambda n, v: _hardware().resolve_cpu_model(check_text(n, v), n)),
    "host_threads": _optional(lambda n, v: check_int(n, v, 1, 1_000_000)),
    "instance_type": _optional(lambda n, v: _hardware().resolve_instance(check_text(n, v), n)),
    "ram_w_per_gb": lambda n, v: check_number(n, v, 0, 100, unit=" W/GB"),
    "energy": lambda n, v: check_choice(n, v, ENERGY_CHOICES),
    "powercap_root": lambda n, v: check_path(n, v),
    "gpu": lambda n, v: check_bool(n, v),
    "store": lambda n, v: check_path(n, v, optional=True),
    "power_model": lambda n, v: check_choice(n, v, POWER_MODELS),
    "idle_power": lambda n, v: check_choice(n, v, IDLE_POWER),
    "embodied_allocation": lambda n, v: check_choice(n, v, EMBODIED_ALLOCATIONS),
}


# --- snapshots and the meters in force ------------------------------------------------------

SNAPSHOTS: list[Settings] = []                 # index = settings_id recorded with each call
_index: dict[Settings, int] = {}
_meters: dict[int, tuple[Any, dict[str, str] | None]] = {}   # settings_id -> (meter, why per meter)
_meter_cache: dict[tuple[str, str, bool], tuple[Any, dict[str, str] | None]] = {}
_lock = threading.RLock()


def _meter_key(s: Settings) -> tuple[str, str, bool]:
    return (s.energy, s.powercap_root, s.gpu)


def _meter_for(s: Settings, explain: bool = False) -> tuple[Any, dict[str, str] | None]:
    """(meter, why for each meter); without ``explain``, a machine with no meter skips the probes
    (the reasons, None, are worked out when ``environment()`` asks)."""
    key = _meter_key(s)
    hit = _meter_cache.get(key)
    if hit is None or (explain and hit[1] is None):
        if not explain and no_meter_possible(s.energy, s.powercap_root, s.gpu):
            _meter_cache[key] = (None, None)
            return None, None
        country = s.country
        if country is None and s.energy == "codecarbon":
            grid = _grid()
            country = grid.country_from_timezone(grid.system_timezone())
        from frugal.machine.probes.meter import build

        hit = build(s.energy, s.powercap_root, s.gpu, country)
        _meter_cache[key] = hit
    return hit


def _set_store(path: str | None) -> None:
    """Hand a new ``store`` setting to the store, a layer above (imported then, not with this
    module). A FrugalError, OSError, ValueError or TypeError it raises refuses the change:
    the settings stay as they were."""
    from frugal.store.default import set_default_store

    set_default_store(path)


def _commit(new: Settings, meter_state: tuple[Any, dict[str, str] | None]) -> int:
    index = _index.get(new)
    if index is None:
        if len(SNAPSHOTS) >= MAX_SNAPSHOTS:
            raise FrugalError(f"more than {MAX_SNAPSHOTS} distinct settings in one process")
        index = len(SNAPSHOTS)
        SNAPSHOTS.append(new)
        _index[new] = index
    _meters[index] = meter_state
    span.activate(index, meter_state[0])
    return index


def _after_fork() -> None:
    meter = span.active().meter
    if meter is not None and hasattr(meter, "after_fork"):
        meter.after_fork()


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not a boolean: accepted 1/0, true/false, yes/no, on/off")


def _from_env(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """(settings parsed from the FRUGAL_* variables, their raw text, errors naming each bad variable)."""
    out: dict[str, Any] = {}
    raw_text: dict[str, str] = {}
    errors: list[str] = []
    kinds = {f.name: str(f.type) for f in dataclasses.fields(Settings)}
    for name in SETTINGS:
        var = f"FRUGAL_{name.upper()}"
        raw = environ.get(var)
        if raw is None or raw.strip() == "":
            continue
        raw_text[name] = raw
        try:
            if name == "gpu":
                out[name] = _parse_bool(raw)
            elif "float" in kinds[name]:
                out[name] = float(raw)
            elif "int" in kinds[name]:
                out[name] = int(raw)
            else:
                out[name] = raw.strip()
        except ValueError as exc:
            detail = (str(exc) if name == "gpu" else f"{name} must be a whole number" if "int" in kinds[name]
                      else f"{name} must be a number")
            errors.append(f"{var}={raw!r}: {detail}")
    return out, raw_text, errors


_env_error: str | None = None   # the invalid FRUGAL_* variables found at import, if any


def _check_env() -> None:
    if _env_error is not None:
        raise ValueError(_env_error)


def init_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Make snapshot 0 from the defaults and the FRUGAL_* variables, and put its meter in force.

    Called once, when frugal is imported, or when the settings are first needed where
    ``import frugal`` could leave them for later (``frugal.core.startup``); later calls
    return snapshot 0 unchanged. An
    invalid FRUGAL_* value does not make the import fail (the pytest plugin's entry point
    imports frugal in every pytest run of the environment): the first call that needs the
    settings (``configure()``, ``environment()``, reading results) raises ValueError naming
    each bad variable and what it accepts. Numbers are never computed with settings that
    nobody asked for; the measured calls themselves go on being recorded.
    """
    global _env_error
    with _lock:
        if SNAPSHOTS:
            return SNAPSHOTS[0]
        if environ is None:     # as ``import frugal`` saw it when it left snapshot 0 for later
            environ = {} if startup.deferred else os.environ
        given, raw, errors = _from_env(environ)
        changes: dict[str, Any] = {}
        for name, value in given.items():   # one by one: a bad variable leaves the others valid
            try:
                changes.update(_validate({name: value}, dataclasses.replace(Settings(), **changes)))
            except (TypeError, ValueError) as exc:
                errors.append(f"FRUGAL_{name.upper()}={raw[name]!r}: {exc}")
        settings = dataclasses.replace(Settings(), **changes)
        try:
            state = _meter_for(settings)
        except (ValueError, FrugalError) as exc:   # no RAPL to read, or CodeCarbon not installed
            errors.append(f"FRUGAL_ENERGY={raw.get('energy', settings.energy)!r}: {exc}")
            settings = dataclasses.replace(settings, energy="auto")
            state = _meter_for(settings)
        if settings.store is not None:
            try:
                _set_store(settings.store)
            except (FrugalError, OSError, ValueError, TypeError) as exc:
                errors.append(f"FRUGAL_STORE={redact(raw['store'])!r}: {redact(str(exc))}")
                settings = dataclasses.replace(settings, store=None)
        if errors:
            _env_error = ("invalid FRUGAL_* environment variable(s); fix them and restart: "
                          + "; ".join(errors))
        _commit(settings, state)
        span.on_fork(_after_fork)
        return settings


def current() -> Settings:
    """The settings in force now (ValueError if a FRUGAL_* variable was invalid)."""
    if not SNAPSHOTS:
        init_from_env()
    _check_env()
    return SNAPSHOTS[span.active().settings_id]


def snapshot(settings_id: int) -> Settings | None:
    """The settings a call recorded with ``settings_id`` was measured under (None if unknown here)."""
    if not SNAPSHOTS:
        init_from_env()
    _check_env()
    return SNAPSHOTS[settings_id] if 0 <= settings_id < len(SNAPSHOTS) else None


def meter_state(settings_id: int | None = None) -> tuple[Any, dict[str, str]]:
    """(meter, why for each meter) of a snapshot, the one in force by default."""
    current()
    index = span.active().settings_id if settings_id is None else settings_id
    meter, reasons = _meters[index]
    if reasons is None:
        with _lock:
            reasons = _meter_for(SNAPSHOTS[index], explain=True)[1]
            assert reasons is not None  # explain=True always works the reasons out
            _meters[index] = (meter, reasons)
    return meter, reasons


def configure(**settings: Any) -> Settings:
    """Change settings for the calls measured from now on; returns the settings in force.

    Settings (units): country (ISO 3166 alpha-2/alpha-3 or English name), region (US state,
    Canadian or Chinese province, Swedish/Norwegian bidding zone), intensity_g_per_kwh
    (gCO2e/kWh, 0-2000, wins over country), pue (1-10), embodied ('auto', 'laptop',
    'desktop', 'server'), embodied_total_g (gCO2e), lifetime_years (0-100], cpu_tdp_w
    (W per package), cpu_model (a CPU model of frugal's table, 'AMD EPYC 7763'), host_threads
    (the host's hardware threads, >= 1), instance_type (a cloud instance type, 'm6i.large'),
    ram_w_per_gb (W/GB), energy ('auto', 'model', 'rapl', 'codecarbon'; 'codecarbon' needs
    ``pip install 'frugal[codecarbon]'``), powercap_root (path), gpu (bool), store (path, a
    ``postgresql://`` URL, or None), power_model ('specpower', 'tdp'), idle_power ('none', 'reserved'),
    embodied_allocation ('reserved', 'usage'); METHODOLOGY.md gives the model. Everything is checked first: a
    ValueError (bad value, with the accepted range) or TypeError (wrong type, unknown name)
    leaves the settings as they were. Calls already measured keep the settings they had.
    With no argument, returns the settings in force.
    """
    with _lock:
        base = current()
        if not settings:
            return base
        changes = _validate(settings, base)
        new = dataclasses.replace(base, **changes)
        state = _meter_for(new)
        if new.store != base.store:
            _set_store(new.store)
        _commit(new, state)
        return new


__all__ = ["SNAPSHOTS", "Settings", "configure", "current", "init_from_env", "snapshot"]
