"""``frugal.profile()``: a sampling profiler that says which functions and lines spend the joules.

The region as a whole is measured as ``frugal.measure`` measures it (``prof.measurement``).
Inside it, a sampling thread (``frugal.analysis.sampler``) charges each thread's own CPU time, read
from the thread's CPU clock, to the stack that thread is in; a thread that sleeps or waits is
charged nothing. Each function's energy and carbon are the region's (measured by a meter or
modelled, as ``energy_method`` says) split by its share of the region's CPU time, so the self
energies of all rows add up to the region's energy. Two rows stand for CPU time that no Python
stack explains: ``<frugal>`` (threads running only frugal's code; the sampler's own CPU is left out of the
region, ``frugal.core.own``) and
``<unattributed>`` (native threads, a thread's last slice before it ended, clock skew).
METHODOLOGY.md ("Energy per function and per line") gives the rule and its limits.
"""
from __future__ import annotations

import functools
import inspect
import math
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from frugal.analysis import sampler as _sampler
from frugal.core.measure import measure, qualified_name
from frugal.files import write_output
from frugal.analysis.sampler import FrameInfo, Stack, Subscription
from frugal._version import __version__
from frugal.errors import FrugalError
from frugal.measurement import Measurement
from frugal.units import format_quantity
from frugal.validate import check_bool, check_choice, check_int, check_number, check_text

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_INTERVAL", "FlameNode", "Profile", "profile"]

DEFAULT_INTERVAL = 0.005   # s between samples: see METHODOLOGY.md for the trade-off
FRUGAL_ROW = "<frugal>"
UNATTRIBUTED_ROW = "<unattributed>"
SPEEDSCOPE_SCHEMA = "https://www.speedscope.app/file-format-schema.json"

_PER_ROW = ("samples", "cpu_s", "share", "energy_j", "carbon_g", "embodied_g")
COLUMNS = ("function", "module", "file", "line") + tuple(
    f"{kind}_{what}" for what in _PER_ROW for kind in ("self", "total"))


@dataclass
class FlameNode:
    """One box of the flame graph: a function on a path from the root, its totals and self part.

    ``share`` is the box's inclusive share of the region's CPU time; energy and carbon follow
    from it (the region's, measured or modelled, times the share)."""

    name: str
    module: str
    file: str
    line: int
    cpu_s: float
    self_cpu_s: float
    share: float
    energy_j: float
    self_energy_j: float
    carbon_g: float
    embodied_g: float
    children: list[FlameNode] = field(default_factory=list)


@dataclass(frozen=True)
class _Data:
    """What one finished profile holds: CPU ns per (thread, stack), and the region's Measurement."""

    stacks: dict[tuple[int, Stack], list[int]]
    frames: list[FrameInfo]                  # the sampler's, with the two pseudo rows appended
    names: dict[int, str]
    denominator_ns: int
    measurement: Measurement | None
    why_no_measurement: str | None
    samples: int


def _pseudo(frames: list[FrameInfo], frugal_ns: int, unattributed_ns: int,
            stacks: dict[tuple[int, Stack], list[int]]) -> None:
    """Add the two rows of CPU time no Python stack explains, as one-frame stacks of thread 0."""
    for name, ns in ((FRUGAL_ROW, frugal_ns), (UNATTRIBUTED_ROW, unattributed_ns)):
        key = len(frames)
        frames.append((name, "", "", 0))
        if ns > 0:
            stacks[(0, (key, 0))] = [0, ns]


class Profile:
    """A sampling profile of a region: ``with frugal.profile() as prof:`` then ``prof.results()``.

    Also a decorator of functions and coroutine functions (each call profiles anew; the
    results are the last call's; a call made while the profile already runs, such as a
    recursive one, runs inside it). ``interval``: seconds between samples.
    """

    def __init__(self, interval: float = DEFAULT_INTERVAL, name: str | None = None) -> None:
        self.interval = check_number("profile(interval=...)", interval, 0.0001, 1.0, unit=" s")
        self.name: str | None = check_text("profile(name=...)", name, optional=True)
        self._guard = threading.Lock()
        self._region: Any = None
        self._sub: Subscription | None = None
        self._data: _Data | None = None
        self._root_code: CodeType | None = None

    # --- the region -----------------------------------------------------------------------
    def _start(self, root: FrameType | None, strict: bool = True) -> bool:
        """Open the region (False, or with ``strict`` a FrugalError, when it is already open)."""
        if not self._guard.acquire(blocking=False):
            if not strict:
                return False
            raise FrugalError(f"profile {self.name or 'profile'!r} is already running: a profile object "
                              "covers one region at a time (open another frugal.profile() to nest)")
        self._data = None
        try:
            region = measure(self.name or "profile")
            region.__enter__()
        except BaseException:
            self._guard.release()
            raise
        self._region = region
        sub = Subscription(self.interval, self._root_code or root, threading.get_ident())
        try:
            _sampler.sampler().subscribe(sub)
            self._sub = sub
        except Exception as exc:
            _warn(f"could not start sampling ({type(exc).__name__}: {exc}); the region is measured "
                  "as a whole only")
            self._sub = None
        return True

    def _finish(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        sub, region = self._sub, self._region
        self._sub = self._region = None
        served = False
        try:
            if sub is not None:
                served = _sampler.sampler().unsubscribe(sub)
        except Exception as error:
            _warn(f"sampling failed at the end of the region ({type(error).__name__}: {error})")
        finally:
            try:
                region.__exit__(exc_type, exc, tb)
            finally:
                self._guard.release()
        m, why = None, None
        try:
            m = region.result
        except FrugalError as error:
            why = str(error)
        if sub is not None and sub.failure is not None:
            _warn(f"the sampler stopped early ({type(sub.failure).__name__}: {sub.failure}); the "
                  "profile covers the region until then, the rest is <unattributed>")
        if sub is None or not served:
            sub = Subscription(self.interval)
        self._data = _collect(sub, m, why)

    def __enter__(self) -> Profile:
        self._start(sys._getframe(1))
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._finish(exc_type, exc, tb)

    async def __aenter__(self) -> Profile:
        self._start(sys._getframe(1))
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._finish(exc_type, exc, tb)

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Profile each call of ``func`` (a function or a coroutine function)."""
        if not callable(func) or isinstance(func, type):
            raise TypeError(f"profile() decorates functions, got {type(func).__name__}")
        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            raise TypeError(f"profile() cannot decorate the generator function {qualified_name(func)}: "
                            "profile the code that consumes it (with frugal.profile(): ...)")
        if self.name is None:
            self.name = qualified_name(func)
        wrapper: Callable[..., Any]
        # a call made while this profile runs (recursion, another thread) runs inside it
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if not self._start(sys._getframe(0), strict=False):
                    return await func(*args, **kwargs)
                try:
                    result = await func(*args, **kwargs)
                except BaseException as exc:
                    self._finish(type(exc), exc, exc.__traceback__)
                    raise
                self._finish(None, None, None)
                return result
            wrapper = async_wrapper
        else:
            @functools.wraps(func)
            def call_wrapper(*args: Any, **kwargs: Any) -> Any:
                if not self._start(sys._getframe(0), strict=False):
                    return func(*args, **kwargs)
                try:
                    result = func(*args, **kwargs)
                except BaseException as exc:
                    self._finish(type(exc), exc, exc.__traceback__)
                    raise
                self._finish(None, None, None)
                return result
            wrapper = call_wrapper
        setattr(wrapper, "profile", self)    # f.profile.results() after a call
        return wrapper

    def _cut_at(self, code: CodeType) -> None:
        """Start the opening thread's stacks at the outermost frame running ``code`` (the pytest
        plugin: the test function), its CPU outside that code in one ``<outside NAME>`` row."""
        self._root_code = code

    # --- reading ----------------------------------------------------------------------------
    def _finished(self) -> _Data:
        if self._guard.locked():
            raise FrugalError(f"profile {self.name or 'profile'!r} is read inside its own region: "
                              "its results exist once the region has ended")
        if self._data is None:
            raise FrugalError("this profile has not run yet: use it in a with block or as a decorator first")
        return self._data

    @property
    def measurement(self) -> Measurement:
        """The region as a whole, measured as ``frugal.measure`` measures it."""
        data = self._finished()
        if data.measurement is None:
            raise FrugalError(f"the profiled region was not measured: {data.why_no_measurement}")
        return data.measurement

    @property
    def samples(self) -> int:
        """How many times the sampler read the stacks during the region."""
        return self._finished().samples

    def _region_values(self) -> tuple[float, float, float]:
        m = self._finished().measurement
        if m is None:
            return math.nan, math.nan, math.nan
        return tuple(math.nan if v is None else float(v)  # type: ignore[return-value]
                     for v in (m.energy_j, m.carbon_g, m.embodied_g))

    def results(self) -> pd.DataFrame:
        """One row per function, by self energy: samples, CPU s, share of the region's CPU,
        energy J, operational and embodied carbon gCO2e, each as self and total (inclusive).

        CPU time is measured per thread; energy and carbon are the region's split by CPU share,
        so ``self_energy_j`` over all rows adds up to ``prof.measurement.energy_j``."""
        data = self._finished()
        return self._table([(data.frames[k], agg) for k, agg in _per_function(data).items()])

    def lines(self, top: int = 10) -> pd.DataFrame:
        """Per source line, for the ``top`` functions by self energy: the same columns as
        ``results()`` (``line`` is the line; self: the line was running; total: it was
        running or waiting on a call)."""
        top = check_int("lines(top=...)", top, 1)
        data = self._finished()
        pseudo = len(data.frames) - 2          # the two pseudo rows have no lines
        ranked = sorted(((k, agg) for k, agg in _per_function(data).items() if k < pseudo and agg[1] > 0),
                        key=lambda kv: (-kv[1][1], -kv[1][3], data.frames[kv[0]][0]))
        rank = {k: i for i, (k, _) in enumerate(ranked[:top])}
        per: dict[tuple[int, int], list[int]] = {}
        for (_, stack), (n, ns) in data.stacks.items():
            if stack[-2] in rank:
                _add(per, (stack[-2], stack[-1]), n, ns, 0)
            for pair in {(stack[i], stack[i + 1]) for i in range(0, len(stack), 2) if stack[i] in rank}:
                _add(per, pair, n, ns, 2)
        order = sorted(per, key=lambda kl: (rank[kl[0]], kl[1]))
        return self._table([(data.frames[k][:3] + (line,), per[(k, line)]) for k, line in order], keep_order=True)

    def _table(self, rows: list[tuple[FrameInfo, list[int]]], keep_order: bool = False) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        data = self._finished()
        energy, carbon, embodied = self._region_values()
        denominator = data.denominator_ns
        out: dict[str, Any] = {
            "function": pd.array([r[0][0] for r in rows], dtype="string"),
            "module": pd.array([r[0][1] for r in rows], dtype="string"),
            "file": pd.array([r[0][2] for r in rows], dtype="string"),
            "line": np.array([r[0][3] for r in rows], dtype="i8"),
        }
        for kind, (n_at, ns_at) in (("self", (0, 1)), ("total", (2, 3))):
            ns = np.array([r[1][ns_at] for r in rows], dtype="f8")
            share = ns / denominator if denominator else np.zeros(len(rows))
            out[f"{kind}_samples"] = np.array([r[1][n_at] for r in rows], dtype="i8")
            out[f"{kind}_cpu_s"] = ns / 1e9
            out[f"{kind}_share"] = share
            out[f"{kind}_energy_j"] = share * energy
            out[f"{kind}_carbon_g"] = share * carbon
            out[f"{kind}_embodied_g"] = share * embodied
        frame = pd.DataFrame({c: out[c] for c in COLUMNS})
        if keep_order:
            return frame
        order = frame.sort_values(["self_cpu_s", "total_cpu_s", "function"], ascending=[False, False, True],
                                  kind="stable").index
        return frame.loc[order].reset_index(drop=True)

    def top(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` functions that spent the most energy themselves (then their callers, by
        total), as text for people."""
        n = check_int("top(n=...)", n, 1)
        import pandas as pd

        table = self.results()
        table = table[table["total_cpu_s"] > 0].head(n)
        rows = []
        for r in table.itertuples(index=False):
            where = f"{os.path.basename(r.file)}:{r.line}" if r.file else ""
            rows.append({"function": r.function, "self energy": format_quantity(r.self_energy_j, "J"),
                         "CPU share": format_quantity(r.self_share, "%"),
                         "total energy": format_quantity(r.total_energy_j, "J"),
                         "carbon (self)": format_quantity(r.self_carbon_g + r.self_embodied_g, "gCO2e"),
                         "where": where})
        return pd.DataFrame(rows, columns=["function", "self energy", "CPU share", "total energy",
                                           "carbon (self)", "where"])

    # --- outputs ----------------------------------------------------------------------------
    def tree(self) -> FlameNode:
        """The flame graph's tree: the region at the root, each path of functions below it,
        children by inclusive energy, largest first (threads merged)."""
        data = self._finished()
        energy, carbon, embodied = self._region_values()
        denominator = data.denominator_ns or 1
        raw: dict[str, Any] = {"ns": 0, "self": 0, "kids": {}}
        for (_, stack), (_, ns) in data.stacks.items():
            node = raw
            node["ns"] += ns
            for k in stack[0::2]:
                node = node["kids"].setdefault(k, {"ns": 0, "self": 0, "kids": {}})
                node["ns"] += ns
            node["self"] += ns

        def build(key: int | None, d: dict[str, Any]) -> FlameNode:
            name, module, file, line = data.frames[key] if key is not None else (self.name or "profile", "", "", 0)
            share = d["ns"] / denominator
            self_share = d["self"] / denominator
            node = FlameNode(name, module, file, line, d["ns"] / 1e9, d["self"] / 1e9, share,
                             share * energy, self_share * energy, share * carbon, share * embodied)
            kids = sorted(d["kids"].items(), key=lambda kv: (-kv[1]["ns"], data.frames[kv[0]][0]))
            node.children = [build(k, v) for k, v in kids]
            return node

        root = build(None, raw)
        if data.denominator_ns:
            root.share, root.energy_j, root.carbon_g, root.embodied_g = 1.0, energy, carbon, embodied
        return root

    def flamegraph(self, path: str | os.PathLike[str] = "profile.html", *, color: str = "module",
                   title: str | None = None, force: bool = False) -> Path:
        """Write one self-contained HTML page with an SVG flame graph: width is energy, colour
        by ``color`` (``"module"`` or ``"self"``: self energy), a ``<title>`` tooltip per box
        with J, gCO2e and share, and the top functions below. No script, nothing fetched."""
        check_choice("flamegraph(color=...)", color, ("module", "self"))
        check_text("flamegraph(title=...)", title, optional=True)
        from frugal.pages.flamegraph import render   # the page is drawn a layer above

        text = render(self, color=color, title=title)
        return _write(path, text, "html", force, "flamegraph")

    def to_speedscope(self, path: str | os.PathLike[str] = "profile.speedscope.json", *,
                      force: bool = False) -> Path:
        """Write the profile in speedscope's file format (one sampled profile per thread,
        weights in joules, unit ``none``), to open at speedscope's site or app."""
        import json

        return _write(path, json.dumps(self.speedscope(), indent=1), "speedscope", force, "to_speedscope")

    def _joules_per_ns(self) -> tuple[_Data, float]:
        """The profile's data and the joules one charged ns of CPU stands for."""
        data = self._finished()
        energy, _, _ = self._region_values()
        if not math.isfinite(energy):
            raise FrugalError("the region's energy is unknown, so the profile has no weights in joules")
        return data, energy / (data.denominator_ns or 1)

    def speedscope(self) -> dict[str, Any]:
        """The speedscope document (``$schema`` ... ``profiles``) as a dict."""
        data, joules = self._joules_per_ns()
        index: dict[int, int] = {}
        frames: list[dict[str, Any]] = []
        by_thread: dict[int, dict[tuple[int, ...], float]] = {}
        for (tid, stack), (_, ns) in data.stacks.items():
            if ns <= 0:
                continue
            path = []
            for k in stack[0::2]:
                if k not in index:
                    index[k] = len(frames)
                    name, _, file, line = data.frames[k]
                    frames.append({"name": name, "file": file, "line": line} if file else {"name": name})
                path.append(index[k])
            weights = by_thread.setdefault(tid, {})
            weights[tuple(path)] = weights.get(tuple(path), 0.0) + ns * joules
        profiles = []
        for tid, weights in sorted(by_thread.items(), key=lambda kv: -sum(kv[1].values())):
            label = "CPU outside Python stacks" if tid == 0 else f"{data.names.get(tid, 'thread')} (thread {tid})"
            total = sum(weights.values())
            profiles.append({"type": "sampled", "name": f"{label}: energy in J", "unit": "none",
                             "startValue": 0, "endValue": total,
                             "samples": [list(p) for p in weights], "weights": list(weights.values())})
        return {"$schema": SPEEDSCOPE_SCHEMA, "shared": {"frames": frames}, "profiles": profiles,
                "name": f"{self.name or 'profile'} (frugal: energy in J)", "activeProfileIndex": 0,
                "exporter": f"frugal@{__version__}"}

    def to_collapsed(self, path: str | os.PathLike[str] | None = None, *, force: bool = False) -> str:
        """Collapsed stacks for FlameGraph and inferno: ``root;...;leaf WEIGHT`` per line, the
        weight in whole microjoules (stacks under 0.5 µJ are left out). Written to ``path``
        when given; returned either way."""
        data, joules = self._joules_per_ns()
        merged: dict[str, float] = {}
        for (_, stack), (_, ns) in data.stacks.items():
            line = ";".join(_collapsed_name(data.frames[k]) for k in stack[0::2])
            merged[line] = merged.get(line, 0.0) + ns * joules * 1e6
        text = "".join(f"{k} {round(v)}\n" for k, v in sorted(merged.items()) if round(v) > 0)
        if path is not None:
            _write(path, text, "collapsed", force, "to_collapsed")
        return text

    def _repr_html_(self) -> str:
        if self._data is None or self._guard.locked():
            return f"<p>{self!r}</p>"
        from frugal.pages.flamegraph import render

        fragment: str = render(self, color="module", title=None, fragment=True)
        return fragment

    def __repr__(self) -> str:
        state = "running" if self._guard.locked() else ("finished" if self._data is not None else "not run")
        return f"<frugal.Profile {self.name or 'profile'!r} {state}>"


def _add(per: dict[Any, list[int]], key: Any, n: int, ns: int, at: int) -> None:
    agg = per.get(key)
    if agg is None:
        agg = per[key] = [0, 0, 0, 0]
    agg[at] += n
    agg[at + 1] += ns


def _per_function(data: _Data) -> dict[int, list[int]]:
    """Frame key -> [self samples, self CPU ns, total samples, total CPU ns] (recursion counted once)."""
    per: dict[int, list[int]] = {}
    for (_, stack), (n, ns) in data.stacks.items():
        keys = stack[0::2]
        _add(per, keys[-1], n, ns, 0)
        for k in set(keys):
            _add(per, k, n, ns, 2)
    return per


def _collect(sub: Subscription, m: Measurement | None, why: str | None) -> _Data:
    """A finished subscription and its region's Measurement as the profile's data."""
    stacks = {k: list(v) for k, v in sub.stacks.items()}
    frames = list(sub.frames)
    seen = sum(v[1] for v in stacks.values()) + sub.frugal_ns
    region_ns = int(round(m.cpu_s * 1e9)) if m is not None else seen
    # CPU the process used that no sampled thread explains; the per-thread clocks may also run
    # a little past the region's own reading, then the rows share what they measured.
    unattributed = max(0, region_ns - seen)
    denominator = seen + unattributed
    if denominator == 0 and m is not None and (m.energy_j or 0) > 0:
        unattributed = denominator = 1    # no CPU at all: the region's energy (memory) is unexplained
    _pseudo(frames, sub.frugal_ns, unattributed, stacks)
    return _Data(stacks, frames, dict(sub.names), denominator, m, why, sub.samples)


def _collapsed_name(info: FrameInfo) -> str:
    name, _, file, line = info
    text = f"{name} ({os.path.basename(file)}:{line})" if file else name
    return re.sub(r"[;\r\n]", "_", text)


def _write(path: Any, text: str, kind: str, force: bool, method: str) -> Path:
    """Write an output of the profile (``frugal.files``); ``method`` names the call in errors."""
    check_bool(f"{method}(force=...)", force)
    return write_output(path, text, kind, overwrite=force, argument=f"{method}(path=...)")


def _warn(text: str) -> None:
    warnings.warn(f"frugal.profile: {text}", RuntimeWarning, stacklevel=4)


def profile(func: Callable[..., Any] | str | None = None, /, *, interval: float = DEFAULT_INTERVAL,
            name: str | None = None) -> Any:
    """A sampling profile of energy and carbon per function and line: a context manager
    (``with frugal.profile() as prof:``, also ``async with``) or a decorator (bare or with
    arguments) of functions and coroutine functions, whose wrapper carries ``.profile``.

    ``interval``: seconds between samples (default 5 ms; shorter splits CPU more finely among
    short functions at a higher cost). ``name``: the region's name in ``frugal.results()``.
    Regions nest (each profile sees the threads of the whole process while it is open).
    """
    if isinstance(func, str):
        if name is not None:
            raise TypeError("profile() got a name both as its first argument and as name=")
        name, func = func, None
    prof = Profile(interval=interval, name=name)
    if func is None:
        return prof
    return prof(func)
