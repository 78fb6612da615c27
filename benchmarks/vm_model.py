"""A busy second on four machines, before and after the per-thread model (issue 16), side by side.

    python benchmarks/vm_model.py [--before REF] [--country FR]

One region of 1 s wall time and 1 s CPU time (one busy logical CPU, no memory counted),
derived by frugal's own ``derive`` with ``country`` (France by default) on: (a) this machine
as it is, (b) a 2-vCPU VM of an AMD EPYC 7763, (c) an AWS m6i.large (2 vCPUs of a Xeon
Platinum 8375C host), (d) an Intel Core i7-8650U laptop on bare metal. "Before" is frugal at
``REF`` (default a97e7a1), run from a ``git archive`` of it, told the machine by replacing its
probes (brand string, logical CPUs, packages, preset); "after" is this checkout, told the
machine as a ``frugal.machine.hardware.Machine`` and the settings a user would give (cpu_model on (b),
instance_type on (c)); before has no such settings, so (b) and (c) are what it made of the
brand string. Each side runs in its own interpreter. Prints W per busy CPU, operational and
embodied gCO2e and the embodied share of their sum.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (label, brand string, logical CPUs, virtual, preset before, settings after, embodied after)
SCENARIOS = [
    ("(a) this VM", None, None, None, None, {}, "auto"),
    ("(b) EPYC 7763, 2-vCPU VM", "AMD EPYC 7763 64-Core Processor", 2, True, "server",
     {"cpu_model": "AMD EPYC 7763"}, "auto"),
    ("(c) m6i.large", "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", 2, True, "server",
     {"instance_type": "m6i.large"}, "auto"),
    ("(d) i7-8650U laptop, bare metal", "Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz", 8, False, "laptop",
     {}, "laptop"),
]

BEFORE = """
import json, sys
import numpy as np
import frugal
from frugal.machine import hardware
from frugal.core import span as _hot
from frugal.energy.model import derive
from frugal.energy.row import params
label, brand, cpus, virtual, preset, country = json.loads(sys.argv[1])
if brand is not None:
    hardware.brand_string = lambda proc_root="/proc": brand
    hardware.logical_cpus = lambda: cpus
    hardware.sockets = lambda proc_root="/proc": 1
    hardware.detect_preset = lambda *a, **k: (preset, "told by the benchmark")
frugal.configure(energy="model", country=country)
cols = {"wall_s": np.array([1.0]), "cpu_s": np.array([1.0]), "peak_rss_bytes": np.array([0.0]),
        "_seq": np.array([0]), "_settings_id": np.array([_hot.active().settings_id])}
out = derive(cols, {})
print(json.dumps({"w": params(frugal.configure()).watts_per_cpu, "op": out["carbon_g"][0],
                  "emb": out["embodied_g"][0], "source": hardware.cpu_power(None).source}))
"""

AFTER = """
import json, sys
import numpy as np
import frugal
from frugal.machine import hardware
from frugal.core import span as _hot
from frugal.energy.model import derive
from frugal.energy.row import params
label, brand, cpus, virtual, settings, embodied, country = json.loads(sys.argv[1])
m = None if brand is None else hardware.Machine(brand, cpus, 1, virtual, "told by the benchmark", "", "")
frugal.configure(energy="model", country=country, embodied=embodied, **settings)
cols = {"wall_s": np.array([1.0]), "cpu_s": np.array([1.0]), "peak_rss_bytes": np.array([0.0]),
        "_seq": np.array([0]), "_settings_id": np.array([_hot.active().settings_id])}
out = derive(cols, {}, m)
print(json.dumps({"w": params(frugal.configure(), m).watts_per_cpu, "op": out["carbon_g"][0],
                  "emb": out["embodied_g"][0], "source": out["cpu_power_source"][0]}))
"""


def run(code: str, path: Path, arg: list[object]) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRUGAL_")}
    env["PYTHONPATH"] = str(path)
    out = subprocess.run([sys.executable, "-c", code, json.dumps(arg)], capture_output=True, text=True,
                         env=env, cwd=path, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="a97e7a1")
    parser.add_argument("--country", default="FR")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="frugal-before-") as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before, "frugal"],
                                 capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        print(f"A busy second (1 s wall, 1 s CPU), country {args.country}; before = {args.before}, after = this checkout\n")
        print("| machine | | W per busy CPU | operational g | embodied g | embodied share |")
        print("|---|---|---:|---:|---:|---:|")
        for label, brand, cpus, virtual, preset, settings, embodied in SCENARIOS:
            before = run(BEFORE, Path(tmp), [label, brand, cpus, virtual, preset, args.country])
            after = run(AFTER, ROOT, [label, brand, cpus, virtual, settings, embodied, args.country])
            for side, r in (("before", before), ("after", after)):
                share = r["emb"] / (r["op"] + r["emb"])
                print(f"| {label if side == 'before' else ''} | {side} | {r['w']:.3g} | {r['op']:.3g} | "
                      f"{r['emb']:.3g} | {share:.1%} |")
            print(f"|  | after's source | {after['source']} | | | |", file=sys.stderr)


if __name__ == "__main__":
    main()
