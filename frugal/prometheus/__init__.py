"""Prometheus exporter: frugal's running totals per region name as counters (``frugal[prometheus]``).

``start_http_server(9464)`` serves them on loopback; ``register(registry)`` adds them to a
registry of yours. Nothing listens until one of them is called; the counters are computed from
the rows measured since the last scrape, and never go down (``frugal.clear()`` included).
"""
from __future__ import annotations

from typing import Any

from frugal.frames.totals import DEFAULT_MAX_NAMES, METRICS, RunningTotals

try:
    from prometheus_client.core import REGISTRY, CounterMetricFamily
    from prometheus_client.exposition import start_http_server as _serve
except ModuleNotFoundError as exc:     # the extra is not installed: say which one
    if not (exc.name or "").startswith("prometheus_client"):
        raise
    raise ImportError("frugal.prometheus needs the extra: pip install 'frugal[prometheus]'") from exc

# metric of each total: (name without _total, unit, help)
FAMILIES: dict[str, tuple[str, str, str]] = {
    "energy_j": ("frugal_energy_joules", "joules",
                 "Energy of the measured calls (CPU, memory, GPU, times PUE), measured or modelled"),
    "carbon_g": ("frugal_carbon_grams", "grams",
                 "Operational carbon of the measured calls' energy on the local grid, in gCO2e"),
    "embodied_g": ("frugal_embodied_grams", "grams",
                   "Embodied (manufacturing) carbon the measured calls used up, in gCO2e (SCI's M)"),
    "cpu_s": ("frugal_cpu_seconds", "seconds", "CPU time of the measured calls"),
    "wall_s": ("frugal_wall_seconds", "seconds", "Wall-clock time of the measured calls"),
    "calls": ("frugal_calls", "", "Measured calls"),
    "errors": ("frugal_errors", "", "Measured calls that raised"),
}


class Collector:
    """A Prometheus collector of frugal's counters, one sample per region name (label ``name``).

    ``max_names``: names exported each on its own; further ones are summed under ``other``.
    """

    def __init__(self, max_names: int = DEFAULT_MAX_NAMES) -> None:
        self.totals = RunningTotals(max_names)

    def collect(self) -> Any:
        totals = self.totals.update()
        for i, metric in enumerate(METRICS):
            name, unit, text = FAMILIES[metric]
            family = CounterMetricFamily(name, text, labels=["name"], unit=unit)
            for label, values in sorted(totals.items()):
                family.add_metric([label], values[i])
            yield family

    def describe(self) -> Any:
        # the families without computing them: registering costs no scrape
        for metric in METRICS:
            name, unit, text = FAMILIES[metric]
            yield CounterMetricFamily(name, text, labels=["name"], unit=unit)


def register(registry: Any = None, max_names: int = DEFAULT_MAX_NAMES) -> Collector:
    """Add frugal's counters to ``registry`` (prometheus_client's default ``REGISTRY`` if None)."""
    collector = Collector(max_names)
    (REGISTRY if registry is None else registry).register(collector)
    return collector


def start_http_server(port: int, addr: str = "127.0.0.1", registry: Any = None,
                      max_names: int = DEFAULT_MAX_NAMES) -> tuple[Any, Any]:
    """Serve frugal's counters at ``http://addr:port/metrics`` from a daemon thread (loopback
    by default: pass ``addr="0.0.0.0"`` to let other machines scrape). ``registry``: serve
    that registry, frugal's counters added (default: a registry of frugal's counters alone).
    Returns prometheus_client's (server, thread); ``server.shutdown()`` stops it."""
    from prometheus_client import CollectorRegistry

    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"port must be an int, not {type(port).__name__}")
    if registry is None:
        registry = CollectorRegistry(auto_describe=True)
    register(registry, max_names)
    server, thread = _serve(port, addr=addr, registry=registry)
    return server, thread


__all__ = ["Collector", "FAMILIES", "register", "start_http_server"]
