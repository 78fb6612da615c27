"""``frugal info``: what frugal detected, and which data and energy model it uses."""
from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(sub: Any) -> None:
    """``frugal info``'s arguments, on the subparsers ``sub``."""
    p = sub.add_parser("info", help="what frugal detected and which data and model it uses",
                       description="The environment: hardware, meters, energy model, grid intensity and sources.")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(func=run)


_INFO_SECTIONS = (
    ("Hardware", ("host", "platform", "cpu_brand", "cpu_model", "cpu_model_source", "logical_cpus", "cpu_packages",
                  "virtual", "virtual_source", "instance_type", "instance_type_source", "host_threads",
                  "host_threads_source", "memory_probe")),
    ("Meters", ("energy", "energy_method", "meters", "gpu")),
    ("Energy model", ("power_model", "cpu_family", "cpu_tdp_w", "cpu_w_per_logical_cpu", "cpu_power_source",
                      "idle_power", "idle_w_per_cpu", "reserved_cpus", "reserved_cpus_source", "ram_w_per_gb", "pue")),
    ("Grid carbon intensity", ("country", "region", "time_zone", "intensity_g_per_kwh", "intensity_source")),
    ("Embodied carbon", ("embodied_allocation", "embodied_preset", "embodied_total_g", "lifetime_years", "embodied_source")),
    ("Data sources", ("data",)),
    ("frugal's own work (left out of the regions)", ("frugal_cpu_s", "frugal_calls_measured")),
    ("frugal", ("frugal_version", "python", "store", "settings_id", "git_commit", "git_branch")),
)


def run(args: argparse.Namespace) -> int:
    """Print the environment by section, or all of it as JSON."""
    from frugal import store
    from frugal.energy.environment import environment

    environment()  # a bad FRUGAL_* setting is this command's error, said in one line
    info = json.loads(store.settings_json())
    if not isinstance(info, dict):
        info = {"environment": info}
    meta = store.new_run(program="frugal info")
    for key in ("host", "platform", "python", "frugal_version", "git_commit", "git_branch"):
        info.setdefault(key, meta[key])
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    if isinstance(info.get("gpu"), bool):     # the setting, not a GPU found: meters.nvml says what is there
        info["gpu"] = ("NVIDIA GPUs are read where a driver is present (setting gpu=True)" if info["gpu"]
                       else "NVIDIA GPUs are not read (setting gpu=False)")
    placed = {k for _, keys in _INFO_SECTIONS for k in keys}
    sections = [(title, [k for k in keys if k in info]) for title, keys in _INFO_SECTIONS]
    sections.append(("Other", [k for k in info if k not in placed]))
    out = []
    for title, keys in sections:
        lines = [line for k in keys for line in _flatten(info[k], k)]
        if lines:
            out += [title] + [f"  {line}" for line in lines] + [""]
    print("\n".join(out).rstrip())
    return 0


def _flatten(value: Any, key: str) -> list[str]:
    if isinstance(value, dict):
        return [line for k, v in value.items() for line in _flatten(v, f"{key}.{k}")]
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    return [f"{key}: {'n/a' if value is None else value}"]
