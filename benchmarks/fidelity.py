"""Fidelity: frugal's energy split beside CodeCarbon's, for the same three executions.

Workloads: a 1-second busy loop (CPU time), a 200 MB allocation touched and held for one
second (memory), a 1-second sleep (neither). Each runs once, measured at the same time by
frugal (its model, or the meters this machine has) and by a CodeCarbon
``OfflineEmissionsTracker`` task around it (``tracking_mode="process"``, as frugal
attributes to the process), both for the same country, so both see one execution.
Prints CPU, RAM and total energy (J) and carbon (mgCO2e) per tool, then the constants each
used. METHODOLOGY.md explains each difference.

    python benchmarks/fidelity.py [--country FRA]
"""
from __future__ import annotations

import argparse
import logging
import time

import frugal
import frugal.core.settings


def busy_loop() -> None:
    end = time.process_time() + 1.0
    while time.process_time() < end:
        pass


def allocate_200mb() -> None:
    block = bytearray(200_000_000)
    block[::4096] = b"\x01" * len(block[::4096])  # touch every page: resident, not just reserved
    time.sleep(1.0)
    del block


def sleep_1s() -> None:
    time.sleep(1.0)


WORKLOADS = {"busy 1 s": busy_loop, "alloc 200 MB, hold 1 s": allocate_200mb, "sleep 1 s": sleep_1s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--country", default="FRA", help="ISO alpha-3 country for both tools (default FRA)")
    args = parser.parse_args()

    frugal.core.settings.init_from_env()
    frugal.configure(country=args.country)
    from codecarbon import OfflineEmissionsTracker

    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    tracker = OfflineEmissionsTracker(country_iso_code=args.country, save_to_file=False, log_level="error",
                                      tracking_mode="process", pue=1.0, allow_multiple_runs=True,
                                      measure_power_secs=1)
    tracker.start_task("warm-up")   # CodeCarbon detects its hardware on the first task
    tracker.stop_task()

    rows = []
    for label, work in WORKLOADS.items():
        tracker.start_task(label)
        with frugal.measure(label) as m:
            work()
        cc = tracker.stop_task()
        r = m.result
        rows.append((label, "frugal", r.wall_s, r.cpu_s, r.energy_cpu_j, r.energy_ram_j or 0.0,
                     r.energy_j, r.carbon_g * 1e3, r.energy_method))
        rows.append((label, "codecarbon", cc.duration, None, cc.cpu_energy * 3.6e6, cc.ram_energy * 3.6e6,
                     cc.energy_consumed * 3.6e6, cc.emissions * 1e6, "process mode"))
    tracker.stop()

    head = f"{'workload':<24}{'tool':<12}{'wall s':>8}{'cpu s':>8}{'CPU J':>9}{'RAM J':>9}{'total J':>9}{'mgCO2e':>9}  method"
    print(head)
    print("-" * len(head))
    for label, tool, wall, cpu, cpu_j, ram_j, total, mg, method in rows:
        cpu_text = f"{cpu:8.3f}" if cpu is not None else f"{'':>8}"
        print(f"{label:<24}{tool:<12}{wall:8.3f}{cpu_text}{cpu_j:9.3f}{ram_j:9.3f}{total:9.3f}{mg:9.4f}  {method}")

    env = frugal.environment()
    print()
    print(f"frugal:     {env['cpu_w_per_logical_cpu']} W per logical CPU ({env['cpu_power_source']});")
    print(f"            RAM {env['ram_w_per_gb']} W/GB x memory held (what the region added with idle_power='none', the resident peak with 'reserved'); intensity {env['intensity_g_per_kwh']} g/kWh "
          f"({env['intensity_source']})")
    hardware = ", ".join(str(h) for h in getattr(tracker, "_hardware", []))
    ram_w = next((h.total_power().W for h in getattr(tracker, "_hardware", []) if type(h).__name__ == "RAM"), None)
    print(f"codecarbon: {frugal.data.version('codecarbon')}, hardware {hardware}; RAM power now "
          f"{ram_w if ram_w is None else round(ram_w, 2)} W")


if __name__ == "__main__":
    main()
