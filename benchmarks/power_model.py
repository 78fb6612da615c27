"""A busy second on five machines under the TDP/usage rule (before) and the SPECpower/reserved default (after).

    python benchmarks/power_model.py [--country FR]

One region of 1 s wall time and 1 s CPU time (one busy logical CPU, no memory counted),
derived by frugal's own ``derive`` on: (a) this machine as it is, (b) a 2-vCPU guest of an
AMD EPYC 7763 (cpu_model), (c) an AWS m6i.large, (d) an AWS c7g.large (instance_type), (e) an
Intel Core i5-1335U laptop on bare metal (12 threads). "Before" is power_model="tdp" with
embodied_allocation="usage" (frugal's rule until issue 29), "after" the defaults
(power_model="specpower", idle_power="none", embodied_allocation="reserved"); a third line adds
idle_power="reserved". All in this process, side by side. Prints W per busy CPU, J, operational
and embodied gCO2e, and the rule in force.
"""
from __future__ import annotations

import argparse

import numpy as np

import frugal
from frugal.core import span as _hot
from frugal.energy.model import derive
from frugal.energy.row import params
from frugal.machine import hardware

# (label, machine: None for this one, settings, embodied preset)
SCENARIOS: list[tuple[str, hardware.Machine | None, dict[str, str], str]] = [
    ("(a) this VM", None, {}, "auto"),
    ("(b) EPYC 7763, 2-vCPU guest", hardware.Machine("AMD EPYC 7763 64-Core Processor", 2, 1, True, "told", "", ""),
     {"cpu_model": "AMD EPYC 7763"}, "auto"),
    ("(c) m6i.large", hardware.Machine("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", 2, 1, True, "told", "", ""),
     {"instance_type": "m6i.large"}, "auto"),
    ("(d) c7g.large", hardware.Machine("", 2, 1, True, "told", "", ""), {"instance_type": "c7g.large"}, "auto"),
    ("(e) i5-1335U laptop", hardware.Machine("13th Gen Intel(R) Core(TM) i5-1335U", 12, 1, False, "told", "", ""),
     {}, "laptop"),
]

RULES = [("before: tdp, usage", {"power_model": "tdp", "embodied_allocation": "usage", "idle_power": "none"}),
         ("after: specpower, reserved", {"power_model": "specpower", "embodied_allocation": "reserved",
                                         "idle_power": "none"}),
         ("after + idle reserved", {"power_model": "specpower", "embodied_allocation": "reserved",
                                    "idle_power": "reserved"})]


def busy_second(m: hardware.Machine | None) -> dict[str, object]:
    cols = {"wall_s": np.array([1.0]), "cpu_s": np.array([1.0]), "peak_rss_bytes": np.array([0.0]),
            "_seq": np.array([0]), "_settings_id": np.array([_hot.active().settings_id])}
    out = derive(cols, {}, m)
    return {"w": params(frugal.configure(), m).watts_per_cpu, "j": out["energy_cpu_j"][0],
            "op": out["carbon_g"][0], "emb": out["embodied_g"][0], "source": out["cpu_power_source"][0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--country", default="FR")
    args = parser.parse_args()
    saved = frugal.configure()
    print(f"A busy second (1 s wall, 1 s CPU, no memory), country {args.country}\n")
    print("| machine | rule | W per busy CPU | J | operational g | embodied g | source |")
    print("|---|---|---:|---:|---:|---:|---|")
    try:
        for label, m, settings, preset in SCENARIOS:
            for rule, given in RULES:
                frugal.configure(**{"energy": "model", "country": args.country, "embodied": preset,
                                    "cpu_model": None, "instance_type": None, **settings, **given})
                r = busy_second(m)
                print(f"| {label} | {rule} | {r['w']:.4f} | {r['j']:.4f} | {r['op']:.3e} | {r['emb']:.3e} "
                      f"| {r['source']} |")
    finally:
        frugal.configure(**{k: getattr(saved, k) for k in ("energy", "country", "embodied", "cpu_model",
                                                           "instance_type", "power_model", "idle_power",
                                                           "embodied_allocation")})


if __name__ == "__main__":
    main()
