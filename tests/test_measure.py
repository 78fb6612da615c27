"""The measurement core: decorator, context manager, every kind of callable, threads."""
from __future__ import annotations

import asyncio
import dataclasses
import inspect
import subprocess
import sys
import threading
import time

import pytest

import frugal
from frugal import FrugalError, Measurement


@pytest.fixture(autouse=True)
def _fresh():
    frugal.clear()
    yield
    frugal.clear()


def rows(name=None):
    df = frugal.results()
    return df if name is None else df[df["name"] == name]


def test_bare_decorator_measures_each_call_and_returns_the_result():
    """A bare @measure returns the function's result and records one row per call."""
    @frugal.measure
    def add(a, b=1):
        return a + b

    assert add(1) == 2 and add(2, b=5) == 7
    df = rows()
    assert list(df["name"]) == [add.__frugal_name__] * 2
    assert add.__frugal_name__.endswith("add")
    assert (df["wall_s"] > 0).all() and (df["status"] == "ok").all()


def test_wraps_keeps_name_doc_and_signature():
    """functools.wraps keeps the decorated function's name, docstring and signature."""
    def parse(rows: list, strict: bool = False) -> int:
        """Parse rows."""
        return len(rows)

    wrapped = frugal.measure(name="parse", units=lambda rows, strict=False: len(rows))(parse)
    assert wrapped.__name__ == "parse" and wrapped.__doc__ == "Parse rows."
    assert inspect.signature(wrapped) == inspect.signature(parse)


def test_options_name_and_units_callable():
    """name= names the rows and a units callable receives the call's arguments."""
    @frugal.measure(name="parse", units=lambda rows: len(rows))
    def parse(rows):
        return [r.upper() for r in rows]

    assert parse(["a", "b", "c"]) == ["A", "B", "C"]
    df = rows("parse")
    assert len(df) == 1 and df["units"].iloc[0] == 3.0


def test_exception_is_recorded_and_reraised_unchanged():
    """An exception is recorded as status='error' with its type, and re-raised as is."""
    class Boom(ValueError):
        pass

    err = Boom("no")

    @frugal.measure(name="fails")
    def fails():
        raise err

    with pytest.raises(Boom) as caught:
        fails()
    assert caught.value is err
    df = rows("fails")
    assert df["status"].iloc[0] == "error" and df["error"].iloc[0].endswith("Boom")


def test_keyboard_interrupt_is_recorded_as_interrupted():
    """KeyboardInterrupt inside a region propagates and is recorded as 'interrupted'."""
    with pytest.raises(KeyboardInterrupt):
        with frugal.measure("ctrl-c"):
            raise KeyboardInterrupt
    df = rows("ctrl-c")
    assert df["status"].iloc[0] == "interrupted" and df["error"].iloc[0] == "KeyboardInterrupt"


def test_context_manager_result_only_after_the_block():
    """m.result raises a clear error inside the block and is a Measurement after it."""
    with frugal.measure("load", units=10) as m:
        with pytest.raises(FrugalError, match="inside its own block"):
            m.result
        sum(range(10_000))
    r = m.result
    assert isinstance(r, Measurement) and r.name == "load" and r.units == 10.0
    assert r.wall_s > 0 and r.cpu_s >= 0 and r.status == "ok"


def test_context_manager_units_set_inside_the_block():
    """m.units may be set inside the block once the amount of work is known."""
    with frugal.measure("batch") as m:
        m.units = 42
    assert m.result.units == 42.0


def test_context_manager_without_a_name_is_a_clear_error():
    """Using measure() as a context manager without a name names the fix."""
    with pytest.raises(TypeError, match="needs a name"):
        with frugal.measure():
            pass


def test_methods_staticmethods_and_classmethods():
    """Methods, static methods and class methods are measured and behave as before."""
    class Parser:
        factor = 3

        @frugal.measure
        def scale(self, x):
            return x * self.factor

        @frugal.measure
        @staticmethod
        def double(x):
            return 2 * x

        @frugal.measure
        @classmethod
        def triple(cls, x):
            return cls.factor * x

    p = Parser()
    assert p.scale(2) == 6 and Parser.double(4) == 8 and p.double(1) == 2 and Parser.triple(2) == 6
    names = list(rows()["name"])
    assert len(names) == 4
    assert any(n.endswith("Parser.scale") for n in names)
    assert any(n.endswith("Parser.triple") for n in names)


def test_async_coroutine_measured_across_awaits():
    """An async def is measured until it returns, across its awaits, not until the coroutine is made."""
    @frugal.measure(name="fetch")
    async def fetch():
        await asyncio.sleep(0.05)
        return "done"

    coro = fetch()
    assert len(rows()) == 0  # nothing measured by creating the coroutine
    assert asyncio.run(coro) == "done"
    df = rows("fetch")
    assert len(df) == 1 and df["wall_s"].iloc[0] >= 0.05
    assert df["cpu_s"].iloc[0] < df["wall_s"].iloc[0]


def test_async_tasks_nest_under_their_own_parents():
    """Concurrent tasks each see their own enclosing region as parent."""
    @frugal.measure(name="inner")
    async def inner():
        await asyncio.sleep(0.01)

    async def outer(name):
        async with frugal.measure(name):
            await inner()

    async def main():
        await asyncio.gather(outer("a"), outer("b"))

    asyncio.run(main())
    df = rows("inner")
    assert sorted(df["parent"]) == ["a", "b"] and (df["depth"] == 1).all()


def test_generator_measured_until_exhausted():
    """A generator is measured from first next() until it is exhausted, and its return value passes."""
    @frugal.measure(name="gen")
    def gen(n):
        for i in range(n):
            time.sleep(0.01)
            yield i
        return "end"

    g = gen(3)
    assert list(g) == [0, 1, 2]
    df = rows("gen")
    assert len(df) == 1 and df["wall_s"].iloc[0] >= 0.03 and df["status"].iloc[0] == "ok"

    def delegate():
        return (yield from gen(1))

    d = delegate()
    next(d)
    with pytest.raises(StopIteration) as stop:
        next(d)
    assert stop.value.value == "end"


def test_generator_closed_early_is_recorded():
    """A generator closed before exhaustion is recorded when it is closed."""
    @frugal.measure(name="gen")
    def gen():
        yield from range(100)

    g = gen()
    assert next(g) == 0
    g.close()
    assert len(rows("gen")) == 1


def test_generator_send_and_throw_pass_through():
    """send() and throw() reach the wrapped generator unchanged."""
    @frugal.measure(name="acc")
    def acc():
        total = 0
        while True:
            try:
                total += yield total
            except ValueError:
                total = -1

    g = acc()
    next(g)
    assert g.send(5) == 5 and g.send(2) == 7 and g.throw(ValueError) == -1
    g.close()
    assert len(rows("acc")) == 1


def test_async_generator_measured_until_exhausted():
    """An async generator is measured across its awaits until it is exhausted."""
    @frugal.measure(name="agen")
    async def agen(n):
        for i in range(n):
            await asyncio.sleep(0.01)
            yield i

    async def main():
        return [i async for i in agen(3)]

    assert asyncio.run(main()) == [0, 1, 2]
    df = rows("agen")
    assert len(df) == 1 and df["wall_s"].iloc[0] >= 0.03


def test_async_generator_error_recorded_and_reraised():
    """An exception raised inside an async generator is recorded and propagates."""
    @frugal.measure(name="agen")
    async def agen():
        yield 1
        raise RuntimeError("bad")

    async def main():
        return [i async for i in agen()]

    with pytest.raises(RuntimeError, match="bad"):
        asyncio.run(main())
    assert rows("agen")["status"].iloc[0] == "error"


def test_nested_regions_record_parent_and_depth():
    """Nested regions record their enclosing region's name and their depth."""
    @frugal.measure(name="leaf")
    def leaf():
        return 1

    with frugal.measure("outer"):
        with frugal.measure("middle"):
            leaf()
        leaf()
    df = rows().set_index("name")
    assert df.loc["outer", "depth"] == 0 and df.loc["outer", "parent"] is pd_na()
    assert df.loc["middle", "parent"] == "outer" and df.loc["middle", "depth"] == 1
    leaves = rows("leaf")
    assert sorted(zip(leaves["parent"], leaves["depth"])) == [("middle", 2), ("outer", 1)]


def pd_na():
    import pandas as pd

    return pd.NA


def test_threads_each_call_counted():
    """Calls from several threads at once are all recorded, each exactly once."""
    @frugal.measure(name="work")
    def work(i):
        return i * i

    def run():
        for i in range(2000):
            work(i)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(rows("work")) == 8000


def test_measurement_is_frozen_and_slotted():
    """Measurement is an immutable value without a __dict__."""
    with frugal.measure("x") as m:
        pass
    r = m.result
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.wall_s = 0
    assert not hasattr(r, "__dict__")
    assert [f.name for f in dataclasses.fields(Measurement)][:9] == [
        "name", "started_at", "wall_s", "cpu_user_s", "cpu_system_s", "cpu_s", "cpu_util",
        "peak_rss_bytes", "rss_delta_bytes"]


def test_results_frame_is_typed_and_clear_empties_it():
    """results() has one typed row per measurement and the Measurement fields as columns."""
    with frugal.measure("a"):
        pass
    df = frugal.results()
    assert list(df.columns) == list(frugal.measurement.FIELDS)
    assert str(df["started_at"].dtype) == "datetime64[ns, UTC]"
    assert df["wall_s"].dtype == "float64" and str(df["peak_rss_bytes"].dtype) == "Int64"
    assert str(df["name"].dtype) == "string"
    frugal.clear()
    assert len(frugal.results()) == 0


def test_summary_mode_keeps_count_sum_min_max():
    """record='summary' keeps one row per name with the call count, total, min and max."""
    @frugal.measure(name="hot", record="summary", units=2)
    def hot(x):
        if x == 13:
            raise KeyError(x)
        return x

    for i in range(1000):
        try:
            hot(i)
        except KeyError:
            pass
    df = rows("hot")
    assert len(df) == 1
    row = df.iloc[0]
    assert row["calls"] == 1000 and row["units"] == 2000.0
    assert row["status"] == "error" and "1 of 1000" in row["error"]
    assert row["wall_min_s"] <= row["wall_s"] / 1000 <= row["wall_max_s"]
    assert row["cpu_s"] > 0


def test_summary_mode_counts_exactly_across_threads():
    """Summary aggregates from several threads add up to every call."""
    hot = frugal.measure(name="hot", record="summary")(lambda: None)

    def run():
        for _ in range(5000):
            hot()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert rows("hot")["calls"].iloc[0] == 20000


@pytest.mark.parametrize("call, error, match", [
    (lambda: frugal.measure(42), TypeError, "callable"),
    (lambda: frugal.measure(name=3), TypeError, "name"),
    (lambda: frugal.measure(scope="machine"), ValueError, "scope"),
    (lambda: frugal.measure(record="all"), ValueError, "record"),
    (lambda: frugal.measure(children="yes"), TypeError, "children"),
    (lambda: frugal.measure(units=-1), ValueError, "units"),
    (lambda: frugal.measure(units="many"), TypeError, "units"),
    (lambda: frugal.measure(colour="red"), TypeError, "colour"),
    (lambda: frugal.measure(int), TypeError, "class"),
])
def test_bad_arguments_name_the_argument(call, error, match):
    """Bad options raise TypeError/ValueError naming the argument."""
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("units", [
    lambda x: 1 / 0,         # raises
    lambda x: -5,            # negative
    lambda x: "three",       # not a number
    lambda x: float("nan"),  # not finite
])
def test_bad_units_warn_and_never_break_the_call(units):
    """A units callable that raises or returns a bad value gives units=None and a warning."""
    @frugal.measure(name="f", units=units)
    def f(x):
        return x + 1

    with pytest.warns(RuntimeWarning, match="units"):
        assert f(1) == 2
    assert rows("f")["units"].isna().all()


def test_import_loads_no_heavy_library():
    """import frugal leaves pandas, numpy, matplotlib, scipy, codecarbon, dask and the exporters' libraries unimported."""
    code = ("import sys, frugal; heavy = ['pandas', 'numpy', 'matplotlib', 'scipy', 'codecarbon', 'dask', "
            "'distributed', 'mlflow', 'prometheus_client', 'opentelemetry', 'psycopg']; "
            "print([m for m in heavy if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
