"""A name per call (issue 30, defect 6): a flush costs what its rows do, not what every name
interned so far does; names stay exact through the store after many flushes; past 100,000
distinct names, one warning says what it costs and what to do instead."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import pytest

import frugal
from frugal import store
from frugal.store.sqlite import Store


@pytest.fixture(autouse=True)
def _fresh(fresh_log):
    """Each test starts with an empty log and no store, and leaves them so."""


def test_more_than_100000_names_warn_once_and_not_before():
    """The 100,000th distinct name is silent, the next one warns once, at the caller's line, and
    thousands more do not warn again (a fresh interpreter: names live as long as the process)."""
    code = f"""
        import warnings
        import frugal
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for i in range(100_000):
                frugal.measure(f"req-{{i}}")
            before = len(caught)
            frugal.measure("req-0")                    # already interned: not a new name
            frugal.measure("one more")                 # line 10 of this script
            for i in range(5000):
                frugal.measure(f"more-{{i}}")
        print(before, len(caught), caught[-1].category.__name__, caught[-1].filename, caught[-1].lineno)
        print(caught[-1].message)
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    counts, message = done.stdout.splitlines()[:2]
    assert counts == "0 1 RuntimeWarning <string> 10"
    assert "units=" in message and 'record="summary"' in message and "100,000" in message


def test_names_round_trip_through_the_store_after_many_flushes(tmp_path):
    """Thousands of names over many flushes, nested, new ones beside ones interned long before:
    every stored row has exactly its own name and parent."""
    frugal.configure(store=tmp_path / "names.db")
    expected = []
    for batch in range(40):
        for i in range(250):
            outer = f"old-{i % 97}" if i % 3 == 0 else f"b{batch}-outer-{i}"
            inner = f"b{batch}-inner-{i}-ü🌱"
            with frugal.measure(outer):
                with frugal.measure(inner):
                    pass
            expected += [(inner, outer), (outer, None)]
        frugal.flush()
    store.set_default_store(None)
    frame = frugal.load(tmp_path / "names.db")
    parents = frame["parent"].astype(object).where(frame["parent"].notna(), None)
    stored = list(zip(frame["name"], parents))
    assert sorted(stored, key=repr) == sorted(expected, key=repr)


def test_a_flush_passes_only_the_names_of_its_rows(tmp_path, monkeypatch):
    """With 20,000 names interned before, a flush of rows under 2 names hands the store a name
    table of those names, not of every name ever interned."""
    for i in range(20_000):
        frugal.measure(f"earlier-{i}")               # interns the name, measures nothing
    tables = []
    append = Store.append

    def spy(self, run, cols, **kwargs):
        tables.append((len(cols["name"].labels), len(cols["parent"].labels)))
        return append(self, run, cols, **kwargs)

    monkeypatch.setattr(Store, "append", spy)
    frugal.configure(store=tmp_path / "few.db")
    for _ in range(5):
        with frugal.measure("earlier-12345"):
            with frugal.measure("a new one"):
                pass
    frugal.flush()
    assert tables and max(max(t) for t in tables) <= 3      # two names, and one slot for none
