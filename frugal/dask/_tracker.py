"""On the client: install the task plugin, gather the records the workers push, read them.

Imports nothing of Dask at module level: ``track`` brings in ``distributed`` and the
worker-side module when it is called.
"""
from __future__ import annotations

import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from frugal.errors import FrugalError

if TYPE_CHECKING:
    import pandas as pd

_WAIT_S = 30.0  # longest wait for workers' last records
_POLL_S = 0.05


@dataclass(frozen=True)
class LostWorker:
    """A worker that left the cluster while tracked, before it could send its last records.

    ``unfinished`` are the task keys the scheduler had assigned to it when it left: their
    records are lost (those tasks ran again elsewhere, and that run is recorded).
    """

    address: str
    host: str | None
    pid: int | None
    recorded: int                 # tasks of this worker whose records arrived
    unfinished: tuple[str, ...]   # keys it was running or holding for running
    expected: bool                # the scheduler expected the departure (retire, scale down)


def track(client: Any, *, interval: float = 1.0) -> "Tracker":
    """Measure every task that the cluster of ``client`` runs inside the ``with`` block.

    Each worker measures its tasks in the thread that runs them: wall time (monotonic
    clock), CPU time of that thread (kernel, measured), the worker process's resident
    memory at start and end and its peak (kernel high-water mark, measured; shared by
    tasks running at the same time in one worker, see ``Tracker``), and energy and carbon
    *modelled or metered on the worker* with the worker's own settings (its country, its
    meters). A task's record reaches the scheduler with the task's result (a worker that
    dies loses only the records of tasks it had not finished); energy follows every
    ``interval`` seconds and at the end of the block. The client pulls the records from
    the scheduler when it reads them.
    """
    from distributed import Client

    if not isinstance(client, Client):
        raise TypeError(f"track(client=...) must be a distributed.Client, got {type(client).__name__}")
    if client.asynchronous:
        raise TypeError("track(client=...) needs a synchronous Client (asynchronous=False)")
    if isinstance(interval, bool) or not isinstance(interval, (int, float)):
        raise TypeError(f"track(interval=...) must be a number of seconds, got {type(interval).__name__}")
    if not 0 < interval < float("inf"):
        raise ValueError(f"track(interval=...) must be > 0 seconds, got {interval}")
    return Tracker(client, float(interval))


class Tracker:
    """The records of one ``track`` block: ``results()``, ``summary()``, ``lost_workers``.

    With several threads per worker, CPU time is still each task's own (thread clock), but
    ``peak_rss_bytes`` is the worker process's peak while the task ran, which includes the
    memory of tasks running beside it: an upper bound of the task's own peak. With one
    thread per worker it is the task's own. Tasks that are coroutines run on the worker's
    event loop, not in its threads, and are not measured.
    """

    def __init__(self, client: Any, interval: float) -> None:
        self._client = client
        self._interval = interval
        self._name = f"frugal-{uuid.uuid4().hex[:12]}"
        self._lock = threading.Lock()
        self._incs: dict[str, dict[str, Any]] = {}      # worker incarnation -> what it sent
        self._state = "new"

    # --- the block --------------------------------------------------------------------
    def __enter__(self) -> "Tracker":
        if self._state != "new":
            raise RuntimeError("a Tracker is used for one with block; call frugal.dask.track() again")
        from frugal.dask import _worker

        client = self._client
        self._state = "active"
        _register(client, _worker.Inbox(self._name), self._name)
        try:
            _register(client, _worker.TaskPlugin(self._name, self._interval), self._name)
        except BaseException:
            # The scheduler keeps a worker plugin even when a worker refused it: take it back.
            self._state = "closed"
            try:
                self._client.unregister_worker_plugin(self._name)
            finally:
                self._pull(detach=True)
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        torn_down: list[str] = []  # workers whose plugin ended: each sends "bye" after its last records
        try:
            responses = self._client.unregister_worker_plugin(self._name)
            torn_down = [a for a, r in responses.items() if r.get("status") == "OK"]
            self._pull_until(lambda: not self._without_bye(torn_down))
        finally:
            self._state = "closed"
            self._pull(detach=True)
        late = self._without_bye(torn_down)
        if late:
            warnings.warn(f"frugal.dask: no last records from {late} within {_WAIT_S:g} s; "
                          "their latest tasks may be missing", RuntimeWarning, stacklevel=2)
        with self._lock:
            short = [(inc["worker"], inc["bye"] - _received(inc, "rows"), inc["bye"])
                     for inc in self._incs.values() if inc["bye"] is not None]
        for worker, missing, sent in short:
            if missing > 0:  # "bye" counts what the worker sent: the rest was lost on the way
                warnings.warn(f"frugal.dask: {missing:,} of the {sent:,} task records that {worker} "
                              "sent did not arrive", RuntimeWarning, stacklevel=2)
        self._store()

    def _store(self) -> None:
        """With a default store set in this process, store every task's record: one run per
        worker process (its host, pid and settings), energy as that worker derived it."""
        from frugal import store
        from frugal.dask._frame import incarnation_columns

        from frugal.store.default import current_store

        target = current_store()        # the store itself: a server's URL keeps its password only there
        if target is None:
            return
        path = target.path
        with self._lock:
            incs = [inc for inc in self._incs.values() if inc["rows"]]
        git = store.git_info()
        for inc in incs:
            cols = incarnation_columns(inc)
            run = store.new_run(program=f"dask worker {inc['worker']}", git=git)
            run.update(host=inc["host"], pid=inc["pid"], settings=inc.get("settings"))
            try:
                target.append(run, cols)
            except FrugalError as exc:
                warnings.warn(f"frugal.dask: could not store {len(cols['name']):,} task records of "
                              f"{inc['worker']} in {path} ({exc}); they stay in tracker.results()",
                              RuntimeWarning, stacklevel=3)

    def _without_bye(self, addresses: list[str]) -> list[str]:
        """Those of ``addresses`` whose newest worker process has neither said "bye" nor left."""
        with self._lock:
            latest = {}  # a restarted worker may reuse its address
            for inc in self._incs.values():
                latest[inc["worker"]] = inc
        return [a for a in addresses
                if a not in latest or (latest[a]["bye"] is None and latest[a]["removed"] is None)]

    def _pull_until(self, done: Callable[[], bool]) -> None:
        """Pull until ``done()``, or ``_WAIT_S`` after the first answer: that one may carry
        every record of the block, and its size is no sign of a late worker."""
        self._pull()
        deadline = time.monotonic() + _WAIT_S
        while not done() and time.monotonic() < deadline:
            time.sleep(_POLL_S)
            self._pull()

    # --- messages from the cluster ----------------------------------------------------
    def _pull(self, detach: bool = False) -> None:
        """Take the messages the scheduler kept for this tracker."""
        from frugal.dask import _worker

        messages = self._client.run_on_scheduler(_worker.pull, name=self._name, detach=detach)
        with self._lock:
            for msg in messages:
                self._take(msg)

    def _take(self, msg: dict[str, Any]) -> None:
        kind = msg.get("kind")
        if kind == "removed":  # comes after everything the departed worker sent
            for known in self._incs.values():
                if known["worker"] == msg["worker"] and known["removed"] is None:
                    known["removed"] = msg
            return
        inc = self._incs.get(msg["inc"])
        if inc is None:
            inc = self._incs[msg["inc"]] = {"worker": None, "host": None, "pid": None, "rows": {},
                                            "energy": {}, "bye": None, "removed": None}
        if kind == "hello":
            inc.update(worker=msg["worker"], host=msg["host"], pid=msg["pid"], settings=msg.get("settings"))
        elif inc["worker"] is None:  # the scheduler stamps each worker's events with its address
            inc["worker"] = msg.get("worker")
        if kind == "rows":
            inc["rows"][msg["seq"]] = msg
        elif kind == "energy":
            inc["energy"][msg["seq"]] = msg["values"]
        elif kind == "bye":
            inc["bye"] = msg["count"]

    def _sync(self) -> None:
        """Inside the block: have every worker send what it holds, and wait for it."""
        from frugal.dask import _worker

        sent = self._client.run(_worker.flush, name=self._name)
        wanted = {v[0]: v[1] for v in sent.values() if v is not None}

        def arrived() -> bool:
            with self._lock:
                for inc_id, count in wanted.items():
                    inc = self._incs.get(inc_id)
                    if inc is None or _received(inc, "rows") < count or _received(inc, "energy") < count:
                        return False
            return True

        self._pull_until(arrived)

    # --- reading ----------------------------------------------------------------------
    @property
    def lost_workers(self) -> tuple[LostWorker, ...]:
        """Workers that left while tracked without sending their last records."""
        if self._state == "active":
            self._pull()
        with self._lock:
            return tuple(
                LostWorker(inc["worker"], inc["host"], inc["pid"], _received(inc, "rows"),
                           tuple(inc["removed"]["processing"]), inc["removed"]["expected"])
                for inc in self._incs.values() if inc["removed"] is not None and inc["bye"] is None
            )

    def results(self) -> pd.DataFrame:
        """One row per measured task (pandas DataFrame), oldest first.

        Columns: ``worker`` (address), ``host``, ``key``, ``key_prefix`` (the task's
        function, also in ``name``), then every ``frugal.Measurement`` field, then
        ``rss_start_bytes`` / ``rss_end_bytes`` (the worker's resident memory, B). Time,
        CPU and memory are measured; energy and carbon are derived on each worker
        (``energy_method`` says measured or modelled), NaN when that worker was lost
        before it sent them. Inside the block, first gathers what workers hold.
        """
        if self._state == "active":
            self._sync()
        from frugal.dask._frame import tracker_frame

        with self._lock:
            incs = [dict(inc, rows=dict(inc["rows"]), energy=dict(inc["energy"]))
                    for inc in self._incs.values()]
        return tracker_frame(incs)

    def summary(self) -> pd.DataFrame:
        """Totals per key prefix, per worker and for the whole cluster (pandas DataFrame).

        Indexed by (``level``, ``group``) with level ``"key_prefix"``, ``"worker"`` or
        ``"cluster"``: tasks, errors, summed wall/CPU time (s), energy (J), carbon and
        embodied carbon (gCO2e), the largest peak resident memory (B).
        """
        from frugal.dask._frame import summary_frame

        return summary_frame(self.results())

    def __repr__(self) -> str:
        with self._lock:
            n = sum(_received(inc, "rows") for inc in self._incs.values())
        return f"<frugal.dask.Tracker {self._state}: {n} tasks from {len(self._incs)} workers>"


def _received(inc: dict[str, Any], what: str) -> int:
    if what == "rows":
        return sum(b["count"] for b in inc["rows"].values())
    return sum(v["count"] for v in inc["energy"].values())


def _register(client: Any, plugin: Any, name: str) -> Any:
    """``register_plugin`` (distributed >= 2023.9.2), else the older per-kind methods."""
    if hasattr(client, "register_plugin"):
        return client.register_plugin(plugin, name=name)
    from distributed.diagnostics.plugin import SchedulerPlugin

    if isinstance(plugin, SchedulerPlugin):
        return client.register_scheduler_plugin(plugin, name=name)
    return client.register_worker_plugin(plugin, name=name)
