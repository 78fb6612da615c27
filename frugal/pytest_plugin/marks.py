"""The ``frugal`` marker: budgets as a registry of plain functions.

A marker is a function whose keyword-only parameters are the budget keys; its signature
and the first line of its docstring make the help of ``pytest --markers``, and calling it
on the marker's arguments validates them. Each budget key maps to one field of a test's
footprint (see ``frugal.pytest_plugin.session.footprint``) and the unit to print it in.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from frugal.units import format_quantity, parse_size
from frugal.validate import parse_number


@dataclass(frozen=True)
class Limit:
    """One budget: ``field`` of the footprint must stay at or below ``limit``."""

    key: str       # the marker's keyword, e.g. "max_energy_j"
    field: str     # the footprint's field, e.g. "energy_j"
    limit: float
    unit: str      # "J", "gCO2e", "s" or "B" (printed as a size)

    def show(self, value: float) -> str:
        return format_quantity(value, self.unit)

    def breach(self, used: dict[str, Any]) -> str | None:
        """A sentence when ``used`` goes over this limit or does not know the field, else None."""
        value = used.get(self.field)
        if value is None or value != value:
            why = used.get("energy_method") if self.field in _ENERGY_FIELDS else None
            return (f"{self.key}: {self.field} unknown ({why or 'not measured here'}), "
                    f"so the budget {self.show(self.limit)} cannot be checked")
        if value > self.limit:
            return f"{self.key}: used {self.show(value)}, budget {self.show(self.limit)}"
        return None


_ENERGY_FIELDS = ("energy_j", "carbon_g", "embodied_g")

# budget key -> (footprint field, unit); the unit "B" takes sizes such as "50 MiB" or "50 MB".
# Memory is what the test or region added (its peak above its start, ``peak_added_bytes``).
BUDGETS: dict[str, tuple[str, str]] = {
    "max_energy_j": ("energy_j", "J"),
    "max_carbon_g": ("carbon_g", "gCO2e"),
    "max_embodied_g": ("embodied_g", "gCO2e"),
    "max_cpu_s": ("cpu_s", "s"),
    "max_wall_s": ("wall_s", "s"),
    "max_peak_added_bytes": ("peak_added_bytes", "B"),
}


def limits(where: str, **budgets: Any) -> tuple[Limit, ...]:
    """Validate budget keywords into Limits; errors name ``where`` (the marker) and the key."""
    out = []
    for key, value in budgets.items():
        if key not in BUDGETS:
            raise TypeError(f"{where}: unknown budget key {key!r}; known keys: {', '.join(BUDGETS)}")
        if value is None:
            continue
        field, unit = BUDGETS[key]
        what = f"{where}: {key}"
        number = parse_size(value, what) if unit == "B" else parse_number(value, what)
        out.append(Limit(key, field, float(number), unit))
    return tuple(out)


def frugal(*, max_energy_j: float | None = None, max_carbon_g: float | None = None,
           max_embodied_g: float | None = None, max_cpu_s: float | None = None,
           max_wall_s: float | None = None, max_peak_added_bytes: str | int | None = None,
           ) -> tuple[Limit, ...]:
    """fail the test when its call phase goes over a budget: energy (J) and carbon (gCO2e), measured or modelled; CPU and wall time (s); memory added, the peak above the start ("50 MiB" or "50 MB").

    Unknown values (energy with no meter and no model) fail the budget rather than pass it.
    """
    return limits("@pytest.mark.frugal", max_energy_j=max_energy_j, max_carbon_g=max_carbon_g,
                  max_embodied_g=max_embodied_g, max_cpu_s=max_cpu_s, max_wall_s=max_wall_s,
                  max_peak_added_bytes=max_peak_added_bytes)


MARKERS: dict[str, Callable[..., tuple[Limit, ...]]] = {"frugal": frugal}


def marker_help(name: str) -> str:
    """``name(signature): first docstring line``, the text ``pytest --markers`` shows."""
    func = MARKERS[name]
    params = ", ".join(f"{p.name}=..." for p in inspect.signature(func).parameters.values())
    summary = (func.__doc__ or "").strip().splitlines()[0]
    return f"{name}({params}): {summary}"


def parse_marks(name: str, marks: list[Any], nodeid: str) -> tuple[Limit, ...]:
    """Merge a node's marks of one name (closest last wins per key) and validate them.

    Raises ValueError/TypeError naming the marker, the test and the key.
    """
    where = f"@pytest.mark.{name} on {nodeid}"
    merged: dict[str, Any] = {}
    for mark in marks:
        if mark.args:
            raise TypeError(f"{where}: takes budgets as keywords only "
                            f"(e.g. max_cpu_s=0.5), got positional {mark.args!r}")
        merged.update(mark.kwargs)
    signature = inspect.signature(MARKERS[name])
    for key in merged:
        if key not in signature.parameters:
            raise TypeError(f"{where}: unknown budget key {key!r}; "
                            f"known keys: {', '.join(signature.parameters)}")
    try:
        return MARKERS[name](**merged)
    except (TypeError, ValueError) as exc:
        raise type(exc)(str(exc).replace(f"@pytest.mark.{name}", where, 1)) from None
