"""frugal.dask on a real LocalCluster: two worker processes, one thread each, on loopback."""
from __future__ import annotations

import contextlib
import copy
import functools
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from datetime import datetime, timezone

import pytest

distributed = pytest.importorskip("distributed")

import frugal  # noqa: E402
import frugal.dask  # noqa: E402

pytestmark = pytest.mark.slow   # Dask clusters: not in the quick tier


def inc(x):
    return x + 1


def double(x):
    return 2 * x


def burn(cpu_s):
    """Spin until this thread has used ``cpu_s`` of CPU, however loaded the machine is."""
    end = time.thread_time() + cpu_s
    while time.thread_time() < end:
        pass
    return cpu_s


def nap(wall_s):
    time.sleep(wall_s)
    return wall_s


def fail(x):
    raise ValueError(x)


def die_once(marker):
    """Kill this worker process the first time only: the rerun elsewhere succeeds."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return "survived"


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, host="127.0.0.1") as cluster:
        with distributed.Client(cluster) as c:
            c.wait_for_workers(2, timeout=120)
            yield c


def workers(client):
    return sorted(client.scheduler_info()["workers"])


def test_import_loads_no_dask():
    """`import frugal` and `import frugal.dask` load none of dask, distributed or pandas."""
    code = ("import sys, frugal, frugal.dask; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed', 'pandas'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bad_arguments_name_the_argument(client):
    """A non-Client, or an interval that is not a positive number, is refused by name."""
    with pytest.raises(TypeError, match="client"):
        frugal.dask.track(object())
    with pytest.raises(ValueError, match="interval"):
        frugal.dask.track(client, interval=0)
    with pytest.raises(TypeError, match="interval"):
        frugal.dask.track(client, interval="1")


def test_one_row_per_task_with_worker_key_and_prefix(client):
    """Every task run in the block has one row, with its key, prefix, worker and host."""
    before = datetime.now(timezone.utc)
    with frugal.dask.track(client) as tracker:
        a = client.map(inc, range(40))
        b = client.map(double, range(10))
        client.gather(a + b)
    after = datetime.now(timezone.utc)
    df = tracker.results()
    assert len(df) == 50
    assert set(df["key"]) == {f.key for f in a + b}
    assert df["key_prefix"].value_counts().to_dict() == {"inc": 40, "double": 10}
    assert (df["name"] == df["key_prefix"]).all()
    assert set(df["worker"]) <= set(workers(client))
    assert df["host"].notna().all() and (df["scope"] == "thread").all()
    assert (df["status"] == "ok").all()
    # started_at is the worker's clock anchored on the worker, not the client's
    assert df["started_at"].min() >= before and df["started_at"].max() <= after
    assert df["rss_start_bytes"].notna().all() and (df["rss_start_bytes"] > 0).all()
    assert (df["rss_end_bytes"] - df["rss_start_bytes"] == df["rss_delta_bytes"]).all()
    assert (df["peak_rss_bytes"] >= df["rss_start_bytes"]).all()
    assert list(df.columns[:4]) == ["worker", "host", "key", "key_prefix"]


def test_with_a_store_every_task_reaches_it_one_run_per_worker(client, tmp_path):
    """With a default store set on the client, leaving the block stores every task's record,
    exactly as the tracker's frame shows it, under one run per worker process."""
    from frugal import store

    path = tmp_path / "dask.db"
    store.set_default_store(path)
    try:
        with frugal.dask.track(client) as tracker:
            client.gather(client.map(inc, range(300)))
    finally:
        store.set_default_store(None)
    frame = tracker.results()
    stored = frugal.load(path)
    assert len(stored) == len(frame) == 300
    runs = store.load_runs(path).set_index("run_id")
    assert set(runs["program"]) <= {f"dask worker {w}" for w in workers(client)}
    assert set(stored["pid"]) == set(frame["pid"].astype("int64"))
    assert stored.groupby("run_id").size().sum() == 300
    assert set(stored.groupby("run_id")["pid"].nunique()) == {1}
    assert (runs["settings"].str.contains("intensity_g_per_kwh")).all()
    columns = ["name", "wall_s", "cpu_s", "peak_rss_bytes", "rss_start_bytes", "energy_j", "carbon_g"]
    key = ["started_at", "wall_s"]
    left = stored.sort_values(key).reset_index(drop=True)
    right = frame.sort_values(key).reset_index(drop=True)
    pd = pytest.importorskip("pandas")
    pd.testing.assert_frame_equal(left[columns], right[columns], check_exact=True)


def test_summary_totals_per_prefix_worker_and_cluster(client):
    """summary() sums the tasks per key prefix, per worker and for the whole cluster."""
    with frugal.dask.track(client) as tracker:
        client.gather(client.map(inc, range(12)) + client.map(double, range(8)))
    df = tracker.results()
    table = tracker.summary()
    assert table.loc[("cluster", "all"), "tasks"] == 20
    assert table.loc[("key_prefix", "inc"), "tasks"] == 12
    assert table.loc[("key_prefix", "double"), "tasks"] == 8
    assert table.xs("worker")["tasks"].sum() == 20
    assert table.loc[("cluster", "all"), "cpu_s"] == pytest.approx(df["cpu_s"].sum())


def test_results_feed_indicators_and_charts(client):
    """The results frame groups by key prefix or by worker in indicators and charts."""
    from frugal import plot

    with frugal.dask.track(client) as tracker:
        client.gather(client.map(burn, [0.01] * 6, pure=False) + client.map(inc, range(6)))
    df = tracker.results()
    assert sorted(frugal.indicators(df, by="key_prefix").index) == ["burn", "inc"]
    assert sorted(frugal.indicators(df, by="worker").index) == sorted(set(df["worker"]))
    for by in ("key_prefix", "worker"):
        fig = plot.compare(df, metric="cpu_s", by=by)
        assert len(fig.axes[0].patches) == df[by].nunique()


def test_busy_task_cpu_is_its_own(client):
    """A CPU-bound task gets its thread's CPU; a sleeping task beside it or after it does not."""
    a, b = workers(client)
    with frugal.dask.track(client) as tracker:
        busy = client.submit(burn, 0.3, workers=[a], pure=False)
        beside = client.submit(nap, 0.3, workers=[b], pure=False)
        after = client.submit(nap, 0.1, workers=[a], pure=False)
        client.gather([busy, beside, after])
    df = tracker.results().set_index("key")
    assert df.loc[busy.key, "cpu_s"] >= 0.29  # the kernel reports thread CPU in microseconds
    assert df.loc[beside.key, "cpu_s"] < 0.05
    assert df.loc[after.key, "cpu_s"] < 0.05
    assert df.loc[beside.key, "wall_s"] >= 0.3


def test_energy_is_derived_with_each_workers_settings(client):
    """Each worker derives energy and carbon with its own settings (here its grid intensity)."""
    a, b = workers(client)
    client.run(frugal.configure, intensity_g_per_kwh=50.0, workers=[a])
    client.run(frugal.configure, intensity_g_per_kwh=700.0, workers=[b])
    with frugal.dask.track(client, interval=0.2) as tracker:
        client.gather([client.submit(burn, 0.05, workers=[w], pure=False) for w in (a, b) for _ in range(3)])
    df = tracker.results()
    assert df.groupby("worker")["intensity_g_per_kwh"].unique().map(list).to_dict() == {a: [50.0], b: [700.0]}
    assert df["energy_method"].notna().all()
    assert (df["energy_j"] > 0).all()


def _break_energy(broken):
    from frugal.frames import columns

    if broken:
        def derive_coded(cols, meters):
            raise RuntimeError("no model here")
        columns._real_derive, columns.derive_coded = columns.derive_coded, derive_coded
    else:
        columns.derive_coded = columns._real_derive


def test_a_failing_energy_model_keeps_the_records(client):
    """When a worker cannot derive energy, its tasks keep their rows with energy unknown (NaN)."""
    client.run(_break_energy, True)
    try:
        with frugal.dask.track(client) as tracker:
            client.gather(client.map(inc, range(6)))
        df = tracker.results()
    finally:
        client.run(_break_energy, False)
    assert len(df) == 6 and (df["status"] == "ok").all()
    assert df["energy_j"].isna().all() and df["energy_method"].isna().all()
    assert (df["cpu_s"] >= 0).all()


def test_failed_tasks_are_recorded_with_their_error(client):
    """A task that raises has a row with status "error" and the exception type."""
    with frugal.dask.track(client) as tracker:
        bad = client.map(fail, range(3))
        good = client.map(inc, range(3))
        distributed.wait(bad + good)
    df = tracker.results().set_index("key")
    assert (df.loc[[f.key for f in bad], "status"] == "error").all()
    assert (df.loc[[f.key for f in bad], "error"] == "ValueError").all()
    assert (df.loc[[f.key for f in good], "status"] == "ok").all()
    assert tracker.summary().loc[("key_prefix", "fail"), "errors"] == 3


def test_leaving_the_block_removes_the_plugins(client):
    """After the block no worker or scheduler plugin, wrapper or hook is left, and nothing is recorded."""
    with frugal.dask.track(client) as tracker:
        client.gather(client.map(inc, range(4)))
    name = tracker._name

    def leftovers(dask_worker, name):
        return (name in dask_worker.plugins, "execute" in vars(dask_worker),
                sorted(type(e).__name__ for e in dask_worker.executors.values()))

    for plugged, patched, kinds in client.run(leftovers, name=name).values():
        assert not plugged and not patched
        assert "_MeteredThreadPoolExecutor" not in kinds
    assert client.run_on_scheduler(lambda dask_scheduler: name in dask_scheduler.plugins) is False
    client.gather(client.map(inc, range(10, 14)))
    assert len(tracker.results()) == 4
    assert tracker.lost_workers == ()


def _patch_worker_method(cls_name, method, make):
    """On a worker: ``method`` of ``frugal.dask._worker.<cls_name>`` becomes ``make(original)``;
    ``make`` None puts the original back."""
    from frugal.dask import _worker

    cls = getattr(_worker, cls_name)
    saved = f"_original_{method}"
    original = cls.__dict__.get(saved, cls.__dict__[method])
    setattr(cls, saved, original)
    setattr(cls, method, original if make is None else make(original))


@contextlib.contextmanager
def patched_on_workers(client, cls_name, method, make):
    """Inside the block, every worker runs ``make(original)`` as that method."""
    client.run(_patch_worker_method, cls_name, method, make)
    try:
        yield
    finally:
        client.run(_patch_worker_method, cls_name, method, None)


def _refusing_setup(original):
    def setup(self, worker):
        raise RuntimeError("this worker refuses frugal")
    return setup


def test_a_refused_plugin_raises_and_leaves_nothing(client):
    """When a worker cannot install the plugin, track raises and no plugin stays registered."""
    before = client.run_on_scheduler(lambda dask_scheduler: (sorted(dask_scheduler.plugins),
                                                             sorted(dask_scheduler.worker_plugins)))
    with patched_on_workers(client, "TaskPlugin", "setup", _refusing_setup):
        with pytest.raises(RuntimeError, match="refuses"):
            with frugal.dask.track(client):
                pass
    after = client.run_on_scheduler(lambda dask_scheduler: (sorted(dask_scheduler.plugins),
                                                            sorted(dask_scheduler.worker_plugins)))
    assert after == before
    assert not any(name.startswith("frugal-") for names in client.run(lambda dask_worker: list(dask_worker.plugins)).values()
                   for name in names)


def _late_bye(seconds, on_time):
    """The "bye" that follows a worker's last records, sent ``seconds`` late."""
    def late(self):
        self.worker.loop.call_later(seconds, on_time, self)
    return late


def test_a_slow_first_answer_is_not_a_late_worker(client, monkeypatch):
    """At the end of a block the first pull carries every record, which takes long at 10^6
    tasks: that time is no sign that a worker's last records are late, and gives no warning."""
    from frugal.dask import _tracker

    pull = _tracker.Tracker._pull

    def slow_pull(self, detach=False):
        pull(self, detach)
        time.sleep(0.6)  # as long as moving a million records from the scheduler

    monkeypatch.setattr(_tracker, "_WAIT_S", 0.5)
    monkeypatch.setattr(_tracker.Tracker, "_pull", slow_pull)
    with patched_on_workers(client, "_Collector", "bye", functools.partial(_late_bye, 0.2)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with frugal.dask.track(client) as tracker:
                client.gather(client.map(inc, range(20, 30)))
    assert len(tracker.results()) == 10


def test_a_worker_whose_last_records_come_too_late_is_named(client, monkeypatch):
    """A worker still silent after the wait and the last pull is named in a warning."""
    from frugal.dask import _tracker

    monkeypatch.setattr(_tracker, "_WAIT_S", 0.3)
    try:
        with patched_on_workers(client, "_Collector", "bye", functools.partial(_late_bye, 3.0)):
            with pytest.warns(RuntimeWarning, match="no last records from") as caught:
                with frugal.dask.track(client):
                    client.gather(client.map(inc, range(30, 40)))
    finally:
        time.sleep(3.0)  # let the late messages pass before the next test's block
    assert all(w in str(caught[0].message) for w in workers(client))


def test_a_finished_tasks_record_rides_in_its_own_message(client):
    """A finished task's record is on the scheduler with its result, inside the task's own
    "task-finished" message: no event of its own (one message per task, not two)."""
    with frugal.dask.track(client) as tracker:
        client.gather(client.map(inc, range(100, 150)))

        def kept(dask_scheduler, name):
            plugin = dask_scheduler.plugins[name]
            rows = plugin.unread()
            return rows, len(dask_scheduler.get_events(name))

        rows, events = client.run_on_scheduler(kept, name=tracker._name)
    assert rows == 50
    assert events <= 10  # each worker's "hello", and energy once a second
    assert len(tracker.results()) == 50


def _losing_finished(usual):
    """A finished task's record put where no message takes it."""
    def finished(self, key):
        ts = self.worker.state.tasks.get(key)
        if ts is not None:
            ts.metadata = {}   # the message already made keeps the dict it was given
        usual(self, key)
    return finished


def test_records_lost_on_the_way_are_counted_and_said(client):
    """If a record the worker sent does not arrive, leaving the block says how many, per worker."""
    with patched_on_workers(client, "_Collector", "finished", _losing_finished):
        with pytest.warns(RuntimeWarning, match="task records that") as caught:
            with frugal.dask.track(client) as tracker:
                client.gather(client.map(inc, range(200, 210)))
    said = [str(w.message) for w in caught if "did not arrive" in str(w.message)]
    counts = [re.search(r"([\d,]+) of the ([\d,]+) task records", m).groups() for m in said]
    # A record made after its task's message (a busy machine) leaves as an event and arrives: what
    # is held is that every record either arrived or is counted as lost, never both, never neither.
    lost = sum(int(n) for n, _ in counts)
    assert lost >= 1 and lost + len(tracker.results()) == 10
    assert all(int(n) <= int(sent) for n, sent in counts)


def test_energy_columns_cross_the_wire_unchanged():
    """Packed for the wire and unpacked on the client, each energy column is what the worker
    derived: numbers bit for bit (NaN stays NaN), text with its missing values, over mixed rows."""
    import msgpack
    import numpy as np

    from frugal.frames.columns import ENERGY_FIELDS, Text
    from frugal.dask._wire import packed, unpacked
    from frugal.energy.model import TEXT_OUTPUTS

    rng = np.random.default_rng(7)
    n = 500
    cols = {}
    for field in ENERGY_FIELDS:
        if field in TEXT_OUTPUTS:
            labels = ["measured", "model", None, float("nan")]
            codes = rng.integers(0, len(labels), n)
            cols[field] = Text(codes, labels) if field == "energy_method" else np.array(labels, dtype=object)[codes]
        else:
            values = rng.lognormal(size=n)
            values[rng.random(n) < 0.2] = np.nan
            cols[field] = values
    # a batch where each column has one value (sent once): NaN, a number, a label, None
    same = {field: (np.full(n, np.nan if i % 2 else 0.1 * i) if field not in TEXT_OUTPUTS
                    else np.array(["model" if i % 2 else None] * n, dtype=object))
            for i, field in enumerate(ENERGY_FIELDS)}
    for sent_cols, count in ((cols, n), (same, n), ({f: v[:0] for f, v in same.items()}, 0)):
        wire = msgpack.unpackb(msgpack.packb(packed(sent_cols, count), use_bin_type=True), raw=False,
                               use_list=False)   # as Dask reads it
        assert wire["count"] == count
        for field in ENERGY_FIELDS:
            got = unpacked(wire, field)
            if field in TEXT_OUTPUTS:
                sent = np.asarray(sent_cols[field], dtype=object)
                want = [None if v is None or v != v else v for v in sent.tolist()]
                assert got.tolist() == want, field
            else:
                assert got.tobytes() == np.asarray(sent_cols[field], dtype="f8").tobytes(), field


def _row(seq, name_id=3, parent_id=0, error_id=0, t0=12345):
    from frugal.core.rows import ROW

    return ROW.pack(seq, name_id, t0 + seq, 1000 + seq, 0.25 * seq, 1e-6, 4096 + seq, 2048, -seq,
                    parent_id, 1, 2, error_id, 1)


def test_a_row_travels_without_the_ids_the_client_does_not_read():
    """A row as the worker sends it comes back on the client with every field it had, but the
    worker's interning ids (names, parents and errors travel as text), which are 0."""
    import numpy as np

    from frugal.frames.columns import ROW_DTYPE
    from frugal.dask._wire import WIRE_ROW_SIZE, rows_from_wire, wire_row

    rows = [_row(i, name_id=7, parent_id=9, error_id=5) for i in range(3)]
    got = rows_from_wire(b"".join(wire_row(r) for r in rows))
    want = np.frombuffer(b"".join(rows), dtype=ROW_DTYPE).copy()
    for name in ("name_id", "parent_id", "error_id"):
        want[name] = 0
    assert len(wire_row(rows[0])) == WIRE_ROW_SIZE < len(rows[0])
    assert got.tobytes() == want.tobytes()


def test_the_inbox_joins_each_worker_process_rows_into_one_message():
    """One rows message per task arrives; the client pulls one per worker process (when its
    sequence numbers follow on), in order, and the events the scheduler keeps are untouched."""
    from frugal.dask._wire import rows_from_wire, unpacked_rows, wire_row
    from frugal.dask._worker import Inbox

    def wire(seqs):
        return b"".join(wire_row(_row(s)) for s in seqs)

    def rows(inc, seq, n, error=None):
        return {"kind": "rows", "inc": inc, "seq": seq, "epoch_ns": 7, "worker": f"w-{inc}",
                "rows": wire(range(seq, seq + n)),
                "keys": [f"k{inc}{seq + i}" for i in range(n)], "prefixes": ["k"] * n,
                "errors": [error] * n}

    def records(msg):
        got, keys, codes, errors = unpacked_rows(msg)
        return got.tobytes(), keys, [msg["prefixes"][c] for c in codes], errors

    def want(seqs):
        return rows_from_wire(wire(seqs)).tobytes()

    inbox = Inbox("t")
    events = [rows("a", 0, 2), rows("b", 0, 1), rows("a", 2, 1, "ValueError"),
              {"kind": "energy", "inc": "a", "seq": 0, "values": {}}, rows("b", 1, 2),
              rows("a", 5, 1)]  # a gap in a's numbers: a new message
    sent = copy.deepcopy(events)
    for event in events:
        inbox.log_event("t", event)
    inbox.log_event("other", rows("c", 0, 1))
    assert inbox.unread() == 7
    got = inbox.take()
    assert events == sent
    assert [(m["kind"], m["inc"], m.get("seq"), m.get("count")) for m in got] == [
        ("rows", "a", 0, 3), ("rows", "b", 0, 3), ("energy", "a", 0, None), ("rows", "a", 5, 1)]
    assert records(got[0]) == (want(range(3)), ["ka0", "ka1", "ka2"], ["k"] * 3, [None, None, "ValueError"])
    assert records(got[1]) == (want(range(3)), ["kb0", "kb1", "kb2"], ["k"] * 3, [None] * 3)
    assert got[0]["worker"] == "w-a" and got[0]["epoch_ns"] == 7
    assert inbox.take() == [] and inbox.unread() == 0
    inbox.log_event("t", rows("a", 6, 1))  # after a pull, a message of its own
    assert [(m["seq"], records(m)[0]) for m in inbox.take()] == [(6, want([6]))]


def test_the_inbox_holds_a_record_in_under_100_bytes_and_gives_it_back_whole():
    """Many records of one worker process (keys of any text and length, many prefixes, a few
    failures) come back from the scheduler's pack exactly as they went in; with keys as Dask
    makes them and a few prefixes, the pack holds under 100 bytes a task."""
    import random
    import sys
    import uuid

    from frugal.dask._wire import RowsPack, rows_from_wire, unpacked_rows, wire_row

    def fill(n, wide):
        rnd = random.Random(3)
        pack = RowsPack("a", 10, 7, "w")
        want = [], [], [], []
        for i in range(n):
            prefix = f"p{rnd.randrange(300)}" if wide else rnd.choice(["inc", "double", "løad"])
            key = f"{prefix}-{rnd.getrandbits(128):032x}"   # as Dask names a task
            if i % 2:   # submit and map with pure=False
                key = f"{prefix}-{uuid.UUID(int=rnd.getrandbits(128))}"
            if wide and i % 100 == 0:
                key = str((prefix, i, "é\u2603" * rnd.choice([1, 200])))
            elif wide and i % 100 == 1:   # like a token, but not one that hex() gives back
                key = rnd.choice([key.upper(), key[:-2] + " 1", f"x{key[1:]}", key[:-1],
                                  key.replace("-", "0", 2) + "-", key[:-3] + "-" + key[-3:]])
            row = wire_row(_row(i, t0=rnd.getrandbits(40)))
            error = "ValueError" if i % 997 == 0 else None
            pack.add(row, key, prefix, error)
            for column, value in zip(want, (row, key, prefix, error)):
                column.append(value)
        return pack, want

    for wide in (False, True):
        pack, (rows, keys, prefixes, errors) = fill(5000, wide)
        held = sum(sys.getsizeof(getattr(pack, part))
                   for part in ("rows", "tokens", "keys", "sizes", "forms", "codes"))
        held += sum(sys.getsizeof(part) for parts in pack.sealed for part in parts)
        if not wide:
            assert held / 5000 < 100
        msg = pack.message()
        assert msg["count"] == 5000 and msg["seq"] == 10
        got_rows, got_keys, codes, got_errors = unpacked_rows(msg)
        assert got_rows.tobytes() == rows_from_wire(b"".join(rows)).tobytes()
        assert got_keys == keys and got_errors == errors
        assert [msg["prefixes"][c] for c in codes] == prefixes


def test_a_killed_worker_is_reported_and_loses_only_unfinished_tasks(client, tmp_path):
    """A worker killed mid-run is named lost; its finished tasks keep their rows; a new worker is tracked."""
    victim, other = workers(client)
    with frugal.dask.track(client) as tracker:
        done = client.map(inc, range(20), workers=[victim])
        client.gather(done)
        killer = client.submit(die_once, str(tmp_path / "marker"), workers=[victim],
                               allow_other_workers=True, pure=False)
        assert killer.result(timeout=120) == "survived"
        client.wait_for_workers(2, timeout=120)
        newcomer = (set(workers(client)) - {other}).pop()
        late = client.map(double, range(5), workers=[newcomer])
        client.gather(late)
    df = tracker.results()
    lost = tracker.lost_workers
    assert [w.address for w in lost] == [victim]
    assert killer.key in lost[0].unfinished
    assert lost[0].recorded == 20 and lost[0].pid is not None
    assert set(df.loc[df["worker"] == victim, "key"]) == {f.key for f in done}
    rerun = df[df["key"] == killer.key]
    assert len(rerun) == 1 and rerun["worker"].iloc[0] != victim and rerun["status"].iloc[0] == "ok"
    assert set(df.loc[df["worker"] == newcomer, "key"]) == {f.key for f in late}
