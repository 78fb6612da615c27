"""``frugal demo``: three ways to sort the same lists, compared, stored and put on a dashboard.

Python's ``sorted`` (Timsort, in C), a heap sort with ``heapq`` and an insertion sort in
pure Python sort the same random list; ``frugal.compare`` runs them interleaved; every run
is stored in an embedded SQLite file, and the dashboard is written next to it. Running the
demo again appends to the same store, and the dashboard then shows the trend across runs.
"""
from __future__ import annotations

import heapq
import random
from pathlib import Path
from typing import Any, Callable

from frugal.units import format_quantity


def insertion_sort(values: list[int]) -> list[int]:
    """Sort by inserting each value into the sorted prefix: O(n^2) comparisons, in Python."""
    out = list(values)
    for i in range(1, len(out)):
        value = out[i]
        j = i - 1
        while j >= 0 and out[j] > value:
            out[j + 1] = out[j]
            j -= 1
        out[j + 1] = value
    return out


def heap_sort(values: list[int]) -> list[int]:
    """Sort by building a binary heap (heapq, in C) and popping it: O(n log n)."""
    heap = list(values)
    heapq.heapify(heap)
    return [heapq.heappop(heap) for _ in range(len(heap))]


def run_demo(out: str | Path = "frugal-demo", repeat: int = 20, size: int = 300, seed: int = 2024) -> dict[str, Any]:
    """Compare the three sorts on one list of ``size`` integers (``repeat`` runs each, cost
    per element sorted), store every run in ``out/frugal.db`` and write ``out/dashboard.html``.

    Returns the paths (``store``, ``dashboard``), the Comparison (``comparison``) and the
    text to print (``text``). Time, CPU and memory are measured; energy and carbon are
    measured by a meter where one exists, modelled otherwise (the dashboard says which).
    """
    from frugal.analysis.compare import compare
    from frugal.pages.dashboard import report
    from frugal.store.default import current_store, flush, set_default_store
    from frugal.store.read import load

    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"demo(out=...): {folder} is a file, not a folder; give a folder for frugal.db and dashboard.html")
    folder.mkdir(parents=True, exist_ok=True)
    db, page = folder / "frugal.db", folder / "dashboard.html"
    data = random.Random(seed).sample(range(size * 10), size)
    variants: dict[str, Callable[[], list[int]]] = {
        "sorted": lambda: sorted(data),
        "heapq": lambda: heap_sort(data),
        "insertion_sort": lambda: insertion_sort(data),
    }
    assert all(f() == sorted(data) for f in variants.values())
    previous = current_store()    # the store itself: a server's URL keeps its password there
    set_default_store(db)
    try:
        cmp = compare(variants, repeat=repeat, warmup=2, baseline="sorted", units=size, seed=seed)
        flush()
    finally:
        set_default_store(previous)
    report(load(db, name=list(variants)), page, title="frugal demo: three ways to sort a list",
           baseline="sorted", store=db)
    return {"store": db, "dashboard": page, "comparison": cmp, "text": _text(cmp, size)}


def _text(cmp: Any, size: int) -> str:
    summary = cmp.summary()
    lines = [f"Sorting {size} integers, {len(cmp.frame) // len(cmp.variants)} runs each, cost per element sorted:"]
    for variant in cmp.variants:
        row = {m: summary[(summary["variant"] == variant) & (summary["metric"] == m)]["median"]
               for m in ("energy_j", "wall_s", "carbon_g")}
        values = {m: (float(v.iloc[0]) if len(v) else float("nan")) for m, v in row.items()}
        lines.append(f"  {variant:<15} energy {format_quantity(values['energy_j'], 'J'):>10}   "
                     f"time {format_quantity(values['wall_s'], 's'):>10}   "
                     f"operational carbon {format_quantity(values['carbon_g'], 'gCO2e'):>13}")
    ratios = cmp.ratios()
    lines += [""] + [f"- {v}" for v in ratios[ratios["metric"].isin(["energy_j", "wall_s"])]["verdict"]]
    return "\n".join(lines)
