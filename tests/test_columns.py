"""The columnar path, checked against an independent oracle: every packed row decoded one by one
with ``struct``, and the same values through ``frugal.results()``, the store and back."""
from __future__ import annotations

import asyncio
import math
import struct
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

import frugal
from frugal import store
from frugal.core import rows as _records
from frugal.core.rows import (
    CHILDREN, LOG, NO_SPLIT, PEAK_KNOWN, ROW, ROW_FIELDS, RSS_KNOWN, STATUS_MASK, STATUS_NAMES, TASK_SCOPE,
    THREAD_SCOPE,
)
from frugal.measurement import FIELDS


@pytest.fixture(autouse=True)
def _fresh():
    frugal.clear()
    yield
    store.set_default_store(None)
    frugal.clear()


def mixed_workload() -> None:
    """Nested calls, threads, errors, units, generators, coroutines, thread scope, summary mode."""
    @frugal.measure(name="leaf", units=lambda n: n)
    def leaf(n):
        return sum(range(n))

    @frugal.measure(name="outer")
    def outer(n):
        with frugal.measure("block", units=3):
            return leaf(n)

    @frugal.measure(name="fails")
    def fails():
        raise KeyError("x")

    @frugal.measure(name="gen")
    def gen():
        yield from range(3)

    @frugal.measure(name="coro")
    async def coro():
        await asyncio.sleep(0)
        return leaf(10)

    thread_scoped = frugal.measure(name="thread-scoped", scope="thread")(lambda: sum(range(100)))
    summarised = frugal.measure(name="summarised", record="summary")(lambda: None)

    def work():
        for i in range(50):
            outer(i)
            thread_scoped()
            summarised()
            try:
                fails()
            except KeyError:
                pass
            list(gen())

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    asyncio.run(coro())
    try:
        with frugal.measure("interrupted"):
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass


def oracle() -> list[dict]:
    """The call rows decoded one at a time with struct: what each row says, by the row format alone."""
    names, errors = LOG.names, LOG.errors
    out = []
    for (seq, name_id, t0, wall, user, system, peak, rss0, drss, parent_id, depth, flags, err,
         settings_id) in ROW.iter_unpack(LOG.take_rows()):
        split = not flags & NO_SPLIT
        cpu = user + system if split else user
        peak_known, rss_known = bool(flags & PEAK_KNOWN), bool(flags & RSS_KNOWN)
        out.append({
            "name": names[name_id],
            "started_at": t0 + _records.EPOCH_NS,
            "wall_s": wall / 1e9,
            "cpu_user_s": user if split else None,
            "cpu_system_s": system if split else None,
            "cpu_s": cpu,
            "cpu_util": cpu / (wall / 1e9) if wall > 0 else None,
            "peak_rss_bytes": peak * 1024 if peak_known else None,
            "rss_delta_bytes": drss * 1024 if rss_known else None,
            "rss_start_bytes": rss0 * 1024 if rss_known else None,
            "peak_added_bytes": max(peak - rss0, 0) * 1024 if peak_known and rss_known else None,
            "units": LOG.units.get(seq),
            "status": STATUS_NAMES[flags & STATUS_MASK],
            "error": errors[err] if err else None,
            "parent": names[parent_id - 1] if parent_id else None,
            "depth": depth,
            "scope": "task" if flags & TASK_SCOPE else "thread" if flags & THREAD_SCOPE else "process",
            "children": bool(flags & CHILDREN),
            "calls": 1,
            "wall_min_s": wall / 1e9,
            "wall_max_s": wall / 1e9,
        })
    return out


def _value(v):
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.value
    return v.item() if isinstance(v, np.generic) else v


def test_results_match_the_rows_decoded_one_by_one():
    """For a mixed workload, each call row of results() holds exactly what its packed row says
    (decoded by struct, one at a time), field by field: nothing lost, nothing shifted."""
    mixed_workload()
    expected = oracle()
    frame = frugal.results()
    calls = frame[frame["calls"] == 1].head(len(expected))
    assert len(expected) > 800 and len(calls) == len(expected)
    for field in expected[0]:
        got = [_value(v) for v in calls[field].tolist()]
        want = [_value(row[field]) for row in expected]
        if field in ("cpu_util", "cpu_s", "peak_added_bytes"):
            assert all((g is None and w is None) or math.isclose(g, w, rel_tol=1e-12, abs_tol=1e-15)
                       for g, w in zip(got, want)), field
        else:
            assert got == want, field
    summary = frame[frame["name"] == "summarised"]
    assert summary["calls"].tolist() == [150]
    assert set(frame["scope"]) == {"process", "thread", "task"}
    assert {"error", "interrupted", "ok"} == set(frame["status"])


def test_the_packed_format_the_dtype_and_the_decoding_are_one_row():
    """ROW (struct), ROW_DTYPE (numpy) and the decode table hold the same 62-byte row: the same
    fields in the same order at the same offsets."""
    from frugal.frames.columns import _DECODE, ROW_DTYPE

    names = [name for name, _, _, _ in ROW_FIELDS]
    offsets = [struct.calcsize("<" + "".join(code for _, code, _, _ in ROW_FIELDS[:i])) for i in range(len(names))]
    assert (ROW.size, ROW_DTYPE.itemsize, list(ROW_DTYPE.names), [d[0] for d in _DECODE],
            [ROW_DTYPE.fields[name][1] for name in names]) == (62, 62, names, names, offsets)


# How the decoded arrays hold the packed fields that change unit (the others are copied as packed).
CONVERTED = {
    "t0_ns": ("t0_utc_ns", lambda v: v + _records.EPOCH_NS),
    "wall_ns": ("wall_s", lambda v: v / 1e9),
    "peak_kb": ("peak_bytes", lambda v: v * 1024.0),
    "rss0_kb": ("rss0_bytes", lambda v: v * 1024.0),
    "rss_delta_kb": ("rss_delta_bytes", lambda v: v * 1024.0),
}


def test_a_row_packed_on_the_hot_path_decodes_to_the_same_values():
    """Rows packed by measured calls read the same field by field through struct, in place
    through numpy, and decoded into arrays (ns to s, KiB to bytes, the clock to UTC)."""
    from frugal.frames.columns import ROW_DTYPE, unpack

    mixed_workload()
    rows = LOG.take_rows()
    packed = list(zip(*ROW.iter_unpack(rows)))
    in_place, decoded = np.frombuffer(rows, dtype=ROW_DTYPE), unpack(rows)
    for (name, _, _, _), values in zip(ROW_FIELDS, packed):
        array, convert = CONVERTED.get(name, (name, lambda v: v))
        np.testing.assert_array_equal(in_place[name], np.array(values), err_msg=name)
        np.testing.assert_array_equal(decoded[array], np.array([convert(v) for v in values]), err_msg=name)


@pytest.mark.parametrize("make", [dict, pd.DataFrame], ids=["column dict", "DataFrame"])
@pytest.mark.parametrize("added, shown", [
    ([None, 2048.0], "peak_added_bytes"),
    ([None, None], "peak_rss_bytes"),
    (None, "peak_rss_bytes"),
])
def test_memory_is_what_was_added_where_known_else_the_process_peak(make, added, shown):
    """memory_column picks peak_added_bytes where the columns hold a value of it, else
    peak_rss_bytes (summary rows, stores written before memory added was recorded)."""
    from frugal.frames.columns import memory_column

    columns = {"peak_rss_bytes": np.array([4096.0, 8192.0])}
    if added is not None:       # as frames hold it (Int64, pd.NA) and as column dicts do (NaN)
        columns["peak_added_bytes"] = (pd.array(added, dtype="Int64") if make is pd.DataFrame
                                       else np.array(added, dtype="f8"))
    assert memory_column(make(columns)) == shown


def test_results_frame_types_are_those_of_the_measurement_fields():
    """Each column has the dtype results() has always had (strings, nullable integers, UTC times)."""
    mixed_workload()
    frame = frugal.results()
    assert list(frame.columns) == list(FIELDS)
    dtypes = frame.dtypes.astype(str).to_dict()
    for field in ("name", "status", "error", "parent", "energy_method", "intensity_source", "scope"):
        assert dtypes[field] == "string", field
    for field in ("peak_rss_bytes", "rss_delta_bytes", "rss_start_bytes", "peak_added_bytes"):
        assert dtypes[field] == "Int64", field
    assert dtypes["started_at"] == "datetime64[ns, UTC]"
    assert dtypes["depth"] == dtypes["calls"] == dtypes["pid"] == "int64"
    assert dtypes["children"] == "bool"
    m = frugal.measure("one")
    with m:
        pass
    frame = frugal.results()
    row = frame[frame["name"] == "one"].iloc[0]
    assert m.result.started_at == row["started_at"].floor("us").to_pydatetime()
    assert m.result.started_at.tzinfo == timezone.utc and isinstance(m.result.started_at, datetime)


def test_each_column_of_results_is_its_own():
    """Writing to one column of the frame changes no other: the frame is built without copies,
    and wall_s, wall_min_s and wall_max_s (equal for a call row) once shared one array."""
    f = frugal.measure(name="f")(lambda: None)
    for _ in range(3):
        f()
    before = frugal.results()
    for field in FIELDS:
        frame = frugal.results()
        value = {"string": "edited", "Int64": 7, "bool": True}.get(str(frame[field].dtype), 7)
        if field == "started_at":
            value = pd.Timestamp(0, tz="UTC")
        frame.loc[0, field] = value
        assert frame.loc[0, field] == value
        others = [f for f in FIELDS if f != field]
        pd.testing.assert_frame_equal(frame[others], before[others], obj=f"after writing to {field}")


def test_labels_are_the_distinct_texts_in_order_without_missing_ones():
    """frugal.frames.frame.labels, which the dashboard and the charts read text columns with."""
    from frugal.frames.frame import labels

    text = pd.Series(["b", None, "a", "b", pd.NA, "a"], dtype="string")
    assert labels(text) == ["b", "a"]
    assert labels(pd.Series(["x", float("nan"), None, "y"], dtype=object)) == ["x", "y"]
    assert labels(pd.Series([], dtype="string")) == []
    mixed_workload()
    frame = frugal.results()
    assert labels(frame["name"]) == [str(v) for v in frame["name"].dropna().unique()]


def test_energy_over_whole_columns_is_each_rows_energy_alone():
    """Energy, carbon and their sources derived over whole columns (one pass per settings
    snapshot, constants as scalars) equal, bit for bit, those derived for each row alone."""
    import dataclasses

    from frugal.frames.columns import ENERGY_FIELDS, log_columns
    from frugal.energy.model import derive

    saved = frugal.configure()
    try:
        frugal.configure(intensity_g_per_kwh=100.0)
        mixed_workload()
        frugal.configure(intensity_g_per_kwh=700.0, pue=1.5)
        mixed_workload()
    finally:
        frugal.configure(**dataclasses.asdict(saved))
    cols = log_columns()
    assert len(set(np.asarray(cols["_settings_id"]).tolist())) == 2
    inputs = {k: np.asarray(cols[k]) for k in ("wall_s", "cpu_s", "peak_rss_bytes", "peak_added_bytes", "_seq", "_settings_id")}
    for i in range(len(inputs["wall_s"])):
        alone = derive({k: v[i:i + 1] for k, v in inputs.items()}, {})
        for field in ENERGY_FIELDS:
            whole, one = cols[field][i], alone[field][0]
            assert whole == one or (whole != whole and one != one), (i, field, whole, one)


def test_rows_forgotten_during_a_scan_make_it_start_again():
    """Log.scan (how results() reads the log a piece at a time): if rows are forgotten between
    two pieces (a signal handler of the reading thread calling clear()), the scan starts
    again from the rows left; the columns hold exactly those, never a mix."""
    from frugal.frames.columns import log_fields

    log = _records.Log()
    assert len(log_fields(log)["seq"]) == 0
    for i in range(10_000):
        log.append(ROW.pack(i, 0, i, 0, 0.0, 0.0, 0, 0, 0, 0, 0, 0, 0, 0), i)
    seen = []

    def visit(piece, first, total):
        seen.append((first, total))
        if len(seen) == 1:                      # forget the first 100 rows after the first piece
            log.drop(log.base + 100 * ROW.size)

    log.scan(visit, 4096 * ROW.size)
    assert seen == [(0, 10_000), (0, 9_900), (4096, 9_900), (8192, 9_900)]
    assert log_fields(log)["seq"].tolist() == list(range(100, 10_000))


def test_the_store_round_trips_every_column_bit_for_bit(tmp_path):
    """Every Measurement field of every row (summary rows included) comes back from the store
    exactly as results() shows it: same values, same types, NaN where unknown."""
    path = tmp_path / "exact.db"
    store.set_default_store(path)
    mixed_workload()
    frugal.flush()
    live = frugal.results()[list(FIELDS)]
    loaded = frugal.load(path)[list(FIELDS)]
    key = ["started_at", "name", "wall_s"]
    live = live.sort_values(key, kind="stable").reset_index(drop=True)
    loaded = loaded.sort_values(key, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(loaded, live, check_exact=True)


@pytest.mark.slow
def test_no_row_is_lost_at_a_million_calls(tmp_path):
    """A million measured calls from two threads with a store: a million rows in results(), each
    with its own identity, and a million in the store. (In its own interpreter: a million rows
    and their frames leave hundreds of MB of freed, still resident memory behind, which later
    tests' allocations would reuse without raising the resident set they measure.)"""
    code = f"""
        import threading
        import numpy as np
        import frugal
        from frugal import store
        from frugal.core.rows import LOG, ROW
        store.set_default_store({str(tmp_path / "million.db")!r})
        f = frugal.measure(name="f")(lambda: None)
        def work():
            for _ in range(500_000):
                f()
        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        frugal.flush()
        seqs = np.frombuffer(LOG.take_rows(), dtype=[("seq", "<u4"), ("rest", f"V{{ROW.size - 4}}")])["seq"]
        print(len(seqs), len(np.unique(seqs)), len(frugal.results()), len(frugal.load({str(tmp_path / "million.db")!r})))
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1000000"] * 4
