"""Inside the cluster: measure each task in the thread that runs it and push the records out.

This module runs on Dask workers and on the scheduler (it imports ``distributed``); the
client side lives in ``frugal.dask._tracker``. A finished task's record travels inside its
"task-finished" message; other records and energy travel as events on the tracker's topic,
over the same stream. A scheduler plugin keeps them until the client pulls them.
"""
from __future__ import annotations

import collections
import concurrent.futures
import contextvars
import logging
import os
import socket
import uuid
from typing import TYPE_CHECKING, Any, Callable, Sequence

from dask.utils import key_split
from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin
from tornado.ioloop import PeriodicCallback

from frugal.core import span
from frugal.core.rows import EPOCH_NS, LOG, ROW
from frugal.store.run_info import settings_json
from frugal.frames.columns import ENERGY_FIELDS, add_energy, own_names, raw_columns, unpack
from frugal.dask._wire import RowsPack, packed, wire_row

if TYPE_CHECKING:
    from frugal.core.rows import MeterReading

logger = logging.getLogger("frugal.dask")

# (key, key prefix) of the task whose Worker.execute is submitting to an executor (set in the
# execute task; the prefix is the worker's own, so the task's thread does not split the key).
_running_key: contextvars.ContextVar[Any] = contextvars.ContextVar("frugal_dask_key", default=None)

# a measured task's record: (row, key, prefix, error, meters), then (seq, row, meters) once sent
_Pending = tuple[bytes, Any, str, "str | None", "MeterReading | None"]
_Underived = tuple[int, bytes, "MeterReading | None"]


class _MeteredThreadPoolExecutor(concurrent.futures.Executor):
    """Wraps a worker's thread pool: a task's callable runs inside a measured region.

    The class name keeps "ThreadPoolExecutor": ``Worker.execute`` checks it to run tasks
    through its thread path (thread state, context variables).
    """

    def __init__(self, inner: concurrent.futures.Executor, collector: "_Collector") -> None:
        self._inner = inner
        self._collector = collector

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        task = _running_key.get()
        if task is None:  # not a task: something else of the worker's
            return self._inner.submit(fn, *args, **kwargs)
        return self._inner.submit(self._collector.run, task[0], task[1], fn, args, kwargs)

    def shutdown(self, wait: bool = True, **kwargs: Any) -> None:
        self._inner.shutdown(wait=wait, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Collector:
    """One worker's measured tasks: filled by executor threads, shipped by the event loop.

    A task's raw record (time, CPU, memory, status) reaches the scheduler with the task's
    own end: inside its "task-finished" message (the task's metadata), or for a task that
    failed or was cancelled, as an event just ahead of it. A task the scheduler knows as
    finished has its record there too. Energy and carbon are derived here, with this
    worker's settings, every ``interval`` seconds and when the plugin is removed.
    """

    def __init__(self, worker: Any, topic: str, interval: float) -> None:
        self.worker = worker
        self.topic = topic
        self.interval = interval
        self.incarnation = uuid.uuid4().hex[:16]   # in every task's message: short
        self.pending: collections.deque[_Pending] = collections.deque()   # thread -> loop
        self.seq = 0                      # records sent so far
        self.underived: list[_Underived] = []  # (seq, row, meters) awaiting energy, loop only
        self.specs: dict[str, span.Spec] = {}
        self.closed = False
        self.periodic: PeriodicCallback | None = None
        self.executors: dict[str, Any] = {}   # the worker's own, to put back
        self.execute: Any = None              # the worker's own instance attribute, if any
        self.patched = False

    # --- in the executor thread ---------------------------------------------------
    def run(self, key: Any, prefix: str, fn: Callable[..., Any], args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> Any:
        """Run one task's callable in a thread-scope region; queue its record."""
        spec = self.specs.get(prefix)
        if spec is None:
            spec = self.specs[prefix] = span.Spec(prefix, None, "thread", False, "calls")
        state = span.start(spec)
        try:
            msg = fn(*args, **kwargs)
        except BaseException as exc:  # SystemExit and friends pass through Worker.execute
            self._record(key, prefix, spec, state, exc)
            raise
        failure: BaseException | None = None
        if type(msg) is dict and msg.get("op") == "task-erred":  # the task raised
            failure = msg.get("actual_exception")
        self._record(key, prefix, spec, state, failure)
        return msg

    def _record(self, key: Any, prefix: str, spec: span.Spec, state: Any,
                exc: BaseException | None) -> None:
        # The record travels with the task instead of growing the worker's own log.
        record = span.stop(spec, state, exc, None, append=None)
        if record is None:  # the measurement failed and said so; the task went on
            return
        row, _, meters = record
        if self.closed:  # finished after the block ended: not this tracker's
            return
        error = None if exc is None else type(exc).__qualname__
        # Shipped by the plugin's transition hook, in the same write as the task's result.
        self.pending.append((row, key, prefix, error, meters))

    # --- on the event loop ---------------------------------------------------------
    def _taken(self) -> list[_Pending]:
        recs = []
        pending = self.pending
        while pending:
            recs.append(pending.popleft())
        return recs

    def finished(self, key: Any) -> None:
        """Task ``key`` is in memory and its "task-finished" message is made, not yet written:
        its record rides in that message; any other record waiting leaves first, as an event.

        One message per task instead of two: the record costs the scheduler a look into a
        message it handles anyway, not an event of its own.
        """
        ts = self.worker.state.tasks.get(key)
        pending = self.pending
        if ts is not None and len(pending) == 1 and pending[0][1] == key and pending[0][3] is None:
            self._ride(ts, pending.popleft())   # the usual case, one task per thread: nothing to sort
            return
        recs = self._taken()
        mine = None
        if ts is not None:
            for i, rec in enumerate(recs):
                if rec[1] == key and rec[3] is None:
                    mine = recs.pop(i)
                    break
        self._send(recs)
        if mine is not None and ts is not None:
            self._ride(ts, mine)

    def _ride(self, ts: Any, mine: _Pending) -> None:
        """Put the record of task ``ts`` into its "task-finished" message."""
        seq = self.seq
        self.seq += 1
        self.underived.append((seq, mine[0], mine[4]))
        # The message holds the task's metadata dict: the record goes into that one, and the
        # task keeps a copy without it, so that a message sent again for this task (Dask
        # re-sends "task-finished" for a task asked for twice) does not carry it twice.
        sent = ts.metadata
        ts.metadata = dict(sent)
        sent[self.topic] = [self.incarnation, seq, EPOCH_NS, wire_row(mine[0])]

    def send(self) -> None:
        """Ship the queued raw records as one event."""
        self._send(self._taken())

    def _send(self, recs: list[_Pending]) -> None:
        if not recs:
            return
        first = self.seq
        self.seq += len(recs)
        self.underived.extend((first + i, r[0], r[4]) for i, r in enumerate(recs))
        self.worker.log_event(self.topic, {
            "kind": "rows", "inc": self.incarnation, "seq": first, "epoch_ns": EPOCH_NS,
            "rows": b"".join([wire_row(r[0]) for r in recs]), "keys": [str(r[1]) for r in recs],
            "prefixes": [r[2] for r in recs], "errors": [r[3] for r in recs],
        })

    def tick(self) -> None:
        """Every ``interval`` seconds: stragglers out, then energy for what was sent."""
        self.send()
        self.send_energy()

    def send_energy(self) -> None:
        """Derive energy and carbon for the records sent so far, with this worker's model."""
        batch, self.underived = self.underived, []
        if not batch:
            return
        first = batch[0][0]
        try:
            values = _derive(batch)
        except Exception:
            # The records stay, with energy unknown; the reason goes to the worker's log.
            logger.exception("frugal: could not derive energy for %d Dask tasks", len(batch))
            values = packed({f: [None] * len(batch) for f in ENERGY_FIELDS}, len(batch))
        self.worker.log_event(self.topic, {"kind": "energy", "inc": self.incarnation,
                                           "seq": first, "values": values})

    def hello(self) -> None:
        worker = self.worker
        self.worker.log_event(self.topic, {
            "kind": "hello", "inc": self.incarnation, "worker": worker.address,
            "host": socket.gethostname(), "pid": os.getpid(),  # the kernel's name: no network
            "nthreads": getattr(getattr(worker, "state", None), "nthreads", None),
            "settings": settings_json(),   # the methodology this worker derives energy with
        })

    def bye(self) -> None:
        self.worker.log_event(self.topic, {"kind": "bye", "inc": self.incarnation, "count": self.seq})


def _derive(batch: list[_Underived]) -> dict[str, Any]:
    meters: dict[int, MeterReading] = {}
    for _, row, m in batch:
        if m is not None:
            meters[ROW.unpack(row)[0]] = m        # keyed by the row's seq
    fields = unpack(b"".join(r for _, r, _ in batch))
    # only this batch's names, as the store's writer does: a batch costs what its rows do
    cols = raw_columns(fields, {}, own_names(fields, LOG.names_of), LOG.errors, os.getpid())
    return packed(add_energy(cols, meters), len(batch))


class TaskPlugin(WorkerPlugin):
    """Measures every task a worker runs and pushes the records to a tracker's topic."""

    def __init__(self, topic: str, interval: float) -> None:
        self.topic = topic
        self.interval = interval
        self.collector: _Collector | None = None

    def setup(self, worker: Any) -> None:
        c = self.collector = _Collector(worker, self.topic, self.interval)
        wrapped: dict[int, _MeteredThreadPoolExecutor] = {}
        for name, executor in worker.executors.items():
            # Worker.execute sends tasks through its thread path for executors so named;
            # actors and process pools run elsewhere.
            if name == "actor" or "ThreadPoolExecutor" not in str(type(executor)):
                continue
            if id(executor) not in wrapped:
                wrapped[id(executor)] = _MeteredThreadPoolExecutor(executor, c)
            c.executors[name] = executor
            worker.executors[name] = wrapped[id(executor)]
        original = worker.execute

        state = worker.state

        async def execute(key: Any, **kwargs: Any) -> Any:
            ts = state.tasks.get(key)
            token = _running_key.set((key, key_split(key) if ts is None else ts.prefix))
            try:
                return await original(key, **kwargs)
            finally:
                _running_key.reset(token)

        c.execute = worker.__dict__.get("execute")
        worker.execute = execute
        c.patched = True
        c.periodic = PeriodicCallback(c.tick, self.interval * 1000)
        c.periodic.start()
        c.hello()

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        # Called while the worker's state machine handles the task's end, after it made the
        # "task-finished" (or "task-erred") message and before it writes it to the scheduler.
        c = self.collector
        if c is not None and c.pending:
            if finish == "memory":
                c.finished(key)
            else:
                c.send()

    def teardown(self, worker: Any) -> None:
        c = self.collector
        if c is None:
            return
        if c.periodic is not None:
            c.periodic.stop()
        worker.executors.update(c.executors)
        if c.patched:
            if c.execute is None:
                worker.__dict__.pop("execute", None)
            else:
                worker.execute = c.execute
        c.closed = True  # tasks still running are not recorded: they end after the block
        c.tick()
        c.bye()


class Inbox(SchedulerPlugin):
    """On the scheduler: keeps the records workers send, and notes workers that leave.

    The records come in finished tasks' messages (``transition``) and as events on the
    tracker's topic (the plugin sees every event); each worker process's records wait in
    one ``RowsPack`` (about 100 bytes a task, no object per task) until the client pulls
    them. Nothing is forwarded per task, so the client costs nothing while the cluster runs.
    """

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.scheduler: Any = None
        self.messages: list[dict[str, Any] | RowsPack] = []
        self.growing: dict[str, RowsPack] = {}  # incarnation -> its rows pack in messages

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler

    def log_event(self, topic: str, msg: Any) -> None:
        if topic == self.topic:
            if msg.get("kind") == "rows":
                self._join_rows(msg["inc"], msg["seq"], msg["epoch_ns"], msg.get("worker"), msg["rows"],
                                msg["keys"], msg["prefixes"], msg["errors"])
            else:
                self.messages.append(msg)
        elif topic == "all" and isinstance(msg, dict) and msg.get("action") == "remove-worker":
            self.messages.append({
                "kind": "removed", "worker": msg.get("worker"),
                "processing": sorted(str(k) for k in msg.get("processing-tasks", ())),
                "expected": bool(msg.get("expected", False)),
            })

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        """A finished task's record comes in its "task-finished" message (see ``_Collector``)."""
        if finish != "memory":
            return
        metadata = kwargs.get("metadata")
        if not metadata or self.topic not in metadata:
            return
        inc, seq, epoch_ns, row = metadata[self.topic]
        ts = self.scheduler.tasks.get(key)
        if ts is not None and ts.metadata:
            ts.metadata.pop(self.topic, None)   # kept here, not for the task's lifetime
        prefix = ts.prefix.name if ts is not None else key_split(key)
        pack = self.growing.get(inc)
        if pack is None or pack.seq + pack.count != seq or pack.epoch_ns != epoch_ns:
            pack = self._pack(inc, seq, epoch_ns, kwargs.get("worker"))
        pack.add(row, str(key), prefix, None)

    def _pack(self, inc: str, seq: int, epoch_ns: int, worker: str | None) -> RowsPack:
        """The client takes one rows message per worker process, not one per task.

        The next records of a worker process join that process's pack not yet pulled, where
        they stay in order: nothing between the two concerns that process (its "bye" and its
        removal come after its last records).
        """
        pack = self.growing.get(inc)
        if pack is None or not pack.follows(seq, epoch_ns):
            pack = self.growing[inc] = RowsPack(inc, seq, epoch_ns, worker)
            self.messages.append(pack)
        return pack

    def _join_rows(self, inc: str, seq: int, epoch_ns: int, worker: str | None, rows: bytes,
                   keys: Sequence[str], prefixes: Sequence[str], errors: Sequence[str | None]) -> None:
        """Records that came as an event (failed tasks, stragglers): into their process's pack."""
        pack = self._pack(inc, seq, epoch_ns, worker)
        size = len(rows) // len(keys) if keys else 0
        for i, key in enumerate(keys):
            pack.add(rows[i * size:(i + 1) * size], key, prefixes[i], errors[i])

    def unread(self) -> int:
        """Task records kept, not yet pulled."""
        return sum(m.count for m in self.messages if isinstance(m, RowsPack))

    def take(self) -> list[dict[str, Any]]:
        """Everything kept so far, each worker process's rows joined; the inbox starts empty."""
        messages, self.messages, self.growing = self.messages, [], {}
        return [m.message() if isinstance(m, RowsPack) else m for m in messages]


def pull(dask_scheduler: Any, name: str, detach: bool = False) -> list[dict[str, Any]]:
    """Run on the scheduler by ``client.run_on_scheduler``: hand over the kept messages.

    The topic's own event log is emptied too (the plugin holds the messages). With
    ``detach``, the plugin is removed as well, after its last messages are taken.
    """
    plugin: Inbox | None = dask_scheduler.plugins.get(name)
    if plugin is None:
        return []
    messages = plugin.take()
    broker = getattr(dask_scheduler, "_broker", None)  # private; without it the log is bounded
    if broker is not None:
        broker.truncate(plugin.topic)
    if detach:
        dask_scheduler.remove_plugin(name)
        if broker is not None:
            getattr(broker, "_topics", {}).pop(plugin.topic, None)
    return messages


def flush(dask_worker: Any, name: str) -> tuple[str, int] | None:
    """Run on a worker by ``client.run``: send everything now; returns (incarnation, count)."""
    plugin = dask_worker.plugins.get(name)
    if plugin is None or plugin.collector is None:
        return None
    c = plugin.collector
    c.tick()
    return c.incarnation, c.seq
