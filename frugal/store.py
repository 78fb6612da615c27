"""The store: every measurement, appended in batches to one SQLite file, off the measured call.

The hot path never sees the store. A daemon thread reads the rows that the hot path
appended to ``frugal._records.LOG`` past a byte cursor, derives them (energy and carbon
with the settings each call was measured under) and inserts them in one transaction:
every second, sooner once ``FLUSH_ROWS`` rows wait, at exit, on ``frugal.flush()`` and
before ``frugal.clear()``. What a hard kill (SIGKILL, OOM killer) can lose is therefore
bounded: the call rows measured since the last flush, about one second's worth
(``FLUSH_EVERY_S``) and at most ``FLUSH_ROWS`` plus what arrives in one poll, and the
``record="summary"`` aggregates since the last summary flush (``SUMMARY_EVERY_S``).
Committed rows survive a crash of the process (WAL, ``synchronous=NORMAL``).

Summary-mode aggregates are stored as rows with ``calls`` > 1: at every summary flush
(every ``SUMMARY_EVERY_S``, at exit, on ``flush()`` and ``clear()``) one row per name for
the calls made since the previous one (counts, totals and units are the increments;
``wall_min_s``/``wall_max_s`` and ``peak_rss_bytes`` are the extremes since the process
began), so summing a name's rows gives its totals.

File format: tables ``meta``, ``runs`` (one per process, or per ``frugal run``) and
``measurements`` (``Measurement``'s fields, ``started_at`` as UTC ns since the epoch, plus
``run``, the integer key of its row in ``runs``; ``runs.run_id`` is a UUID). ``PRAGMA application_id`` marks the file as frugal's; ``PRAGMA user_version``
is the schema version. Triggers refuse UPDATE and DELETE: the store is append-only.
Any file that is not frugal's store is refused with a ``FrugalError`` and never written.

This module is the store's face (opening, checking, appending, reading back, the default
store); the writer thread is ``frugal._store_writer`` and a run's metadata ``frugal._run_info``.
"""
from __future__ import annotations

import atexit
import os
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from frugal import _hot
from frugal._records import LOG, ROW_SIZE
# Re-exported (``name as name``): the run metadata and the writer's timing are part of this module's face.
from frugal._run_info import git_info as git_info, new_run as new_run, settings_json as settings_json
from frugal._store_writer import (
    FLUSH_EVERY_S as FLUSH_EVERY_S, FLUSH_ROWS as FLUSH_ROWS, POLL_S as POLL_S,
    SUMMARY_EVERY_S as SUMMARY_EVERY_S, Writer as Writer,
)
from frugal.errors import FrugalError
from frugal.measurement import FIELDS
from frugal.units import check_path

if TYPE_CHECKING:
    import pandas as pd

APPLICATION_ID = 0x46525547      # "FRUG", in the SQLite header of every frugal store
SCHEMA_VERSION = 1
BATCH_ROWS = 50_000              # rows per transaction, at most
BUSY_TIMEOUT_S = 120.0           # how long a writer waits for another process's transaction

_SQLITE_MAGIC = b"SQLite format 3\x00"
_INTEGER = {"started_at", "peak_rss_bytes", "rss_delta_bytes", "depth", "children", "calls", "pid"}
_TEXT = {"name", "status", "error", "parent", "energy_method", "intensity_source", "cpu_power_source", "scope"}

RUN_FIELDS = ("run_id", "started_at", "host", "pid", "program", "platform", "cpu", "logical_cpus",
              "python", "frugal_version", "git_commit", "git_branch", "settings")
# Run columns that load() adds to each measurement row (renamed where they would clash).
RUN_COLUMNS = {"run_id": "run_id", "started_at": "run_started_at", "host": "host",
               "program": "program", "platform": "platform", "cpu": "cpu", "python": "python",
               "frugal_version": "frugal_version", "git_commit": "git_commit", "git_branch": "git_branch"}


def _sql_type(field: str) -> str:
    return "INTEGER" if field in _INTEGER else "TEXT" if field in _TEXT else "REAL"


def _schema() -> list[str]:
    columns = ",\n  ".join(f"{f} {_sql_type(f)}" for f in FIELDS)
    statements = [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE, started_at INTEGER NOT NULL, host TEXT, "
        "pid INTEGER, program TEXT, platform TEXT, cpu TEXT, logical_cpus INTEGER, python TEXT, "
        "frugal_version TEXT, git_commit TEXT, git_branch TEXT, settings TEXT)",
        f"CREATE TABLE measurements (\n  id INTEGER PRIMARY KEY,\n  run INTEGER NOT NULL REFERENCES runs(id),\n  {columns})",
        # One index: each one costs about a microsecond of the writer's time per stored call.
        "CREATE INDEX measurements_name ON measurements(name, started_at)",
    ]
    for table in ("meta", "runs", "measurements"):
        for op in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'a frugal store is append-only'); END")
    return statements


# --- recognising a store ----------------------------------------------------------------

def _check_file(path: Path, *, create: bool) -> None:
    """Raise FrugalError unless ``path`` is frugal's store (or, with ``create``, absent or empty).

    Reads the 100-byte SQLite header directly, so a foreign file is never opened by SQLite.
    """
    try:
        with open(path, "rb") as f:
            header = f.read(100)
    except FileNotFoundError:
        if create:
            return
        raise FrugalError(f"no frugal store at {path}: the file does not exist") from None
    except IsADirectoryError:
        raise FrugalError(f"{path} is a directory, not a frugal store") from None
    except OSError as exc:
        raise FrugalError(f"cannot read the frugal store {path}: {exc.strerror or exc}") from None
    if not header:
        if create:
            return
        raise FrugalError(f"{path} is an empty file, not a frugal store")
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise FrugalError(f"{path} is not a SQLite database, so not a frugal store; it was left untouched")
    app_id = int.from_bytes(header[68:72], "big")
    version = int.from_bytes(header[60:64], "big")
    if app_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise FrugalError(f"{path} was written by a newer frugal (store schema {version}, this frugal "
                              f"reads up to {SCHEMA_VERSION}): upgrade frugal to read it")
        return
    if app_id != 0:
        raise FrugalError(f"{path} is a SQLite database of another application (application_id "
                          f"{app_id:#x}), not a frugal store; it was left untouched")
    # application_id 0: a SQLite file that is either brand new (no tables) or not ours.
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise FrugalError(f"{path} is corrupt or unreadable ({exc}); it was left untouched") from None
    if tables:
        raise FrugalError(f"{path} is a SQLite database of another application (it has tables but "
                          "no frugal mark), not a frugal store; it was left untouched")
    if not create:
        raise FrugalError(f"{path} is an empty SQLite database, not a frugal store")


def _as_path(value: Any, argument: str) -> Path:
    return Path(check_path(argument, value)).expanduser()


class Store:
    """One frugal store file, validated when opened, appended to, never rewritten.

    ``Store(path)`` creates the file (and its folder) when it does not exist; an existing
    file must be a frugal store: anything else raises ``FrugalError`` and is left untouched.
    Each write opens its own short-lived connection: no SQLite connection stays open
    between writes, so a forked child never inherits one (SQLite's locks do not survive fork).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = _as_path(path, "store")
        _check_file(self.path, create=True)
        self._ready = False
        self._runs: dict[str, int] = {}      # run_id -> runs.id

    def _open(self) -> sqlite3.Connection:
        _check_file(self.path, create=True)
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise FrugalError(f"cannot open the frugal store {self.path}: {exc}") from None
        try:
            if not self._ready:
                self._initialise(conn)
                self._ready = True
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def open(self) -> "Store":
        """Create or check the file now (raises ``FrugalError`` if it is not a frugal store)."""
        self._open().close()
        return self

    def _initialise(self, conn: sqlite3.Connection) -> None:
        """Create the schema in a new file, or check an existing one, under a write lock."""
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if app_id == 0 and tables == 0:
                    for statement in _schema():
                        conn.execute(statement)
                    conn.execute("INSERT INTO meta VALUES ('application', 'frugal')")
                    conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                    conn.execute("INSERT INTO meta VALUES ('created_at', ?)",
                                 (datetime.now(timezone.utc).isoformat(),))
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                elif app_id != APPLICATION_ID:
                    raise FrugalError(f"{self.path} is not a frugal store; it was left untouched")
                elif version > SCHEMA_VERSION:
                    raise FrugalError(f"{self.path} was written by a newer frugal (store schema {version})")
                else:
                    self._add_missing_columns(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:     # else the real error would hide behind "cannot rollback"
                    conn.execute("ROLLBACK")
                raise
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            raise FrugalError(f"the frugal store {self.path} is unusable ({exc}); it was left untouched") from None

    @staticmethod
    def _add_missing_columns(conn: sqlite3.Connection) -> None:
        # A newer Measurement may have more fields: adding a column keeps old rows intact.
        have = {row[1] for row in conn.execute("PRAGMA table_info(measurements)")}
        for field in FIELDS:
            if field not in have:
                conn.execute(f"ALTER TABLE measurements ADD COLUMN {field} {_sql_type(field)}")

    def append(self, run: dict[str, Any], cols: dict[str, Any]) -> int:
        """Insert derived columns (a ``frugal._derive`` column dict) as measurements of ``run``.

        One transaction per ``BATCH_ROWS`` rows; returns how many rows were inserted.
        """
        n = len(cols["name"])
        if n == 0:
            return 0
        values = _column_values(cols)
        sql = (f"INSERT INTO measurements (run, {', '.join(FIELDS)}) "
               f"VALUES ({', '.join('?' * (len(FIELDS) + 1))})")
        conn = self._open()
        try:
            for start in range(0, n, BATCH_ROWS):
                stop = min(n, start + BATCH_ROWS)
                conn.execute("BEGIN IMMEDIATE")
                try:
                    key = self._run_key(conn, run)
                    conn.executemany(sql, zip([key] * (stop - start), *(v[start:stop] for v in values)))
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        except sqlite3.DatabaseError as exc:
            self._runs.clear()      # a rolled-back run row must be inserted again
            raise FrugalError(f"could not write to the frugal store {self.path}: {exc}") from None
        finally:
            conn.close()
        return n

    def _run_key(self, conn: sqlite3.Connection, run: dict[str, Any]) -> int:
        key = self._runs.get(run["run_id"])
        if key is None:
            conn.execute(f"INSERT OR IGNORE INTO runs ({', '.join(RUN_FIELDS)}) "
                         f"VALUES ({', '.join('?' * len(RUN_FIELDS))})",
                         storable_text([run.get(f) for f in RUN_FIELDS]))
            key = conn.execute("SELECT id FROM runs WHERE run_id = ?", (run["run_id"],)).fetchone()[0]
            self._runs[run["run_id"]] = key
        return key


def _column_values(cols: dict[str, Any]) -> list[list[Any]]:
    """The FIELDS columns as lists of Python values ready for SQLite (NaN becomes NULL)."""
    import numpy as np

    values = []
    for field in FIELDS:
        col = cols[field]
        if field == "started_at":
            col = np.asarray(col, dtype="datetime64[ns]").astype("i8")
        elif field == "children":
            col = np.asarray(col).astype("i8")
        # SQLite stores a float NaN as NULL by itself: no per-value Python work here.
        items = col.tolist() if hasattr(col, "tolist") else list(col)
        values.append(storable_text(items) if field in _TEXT else items)
    return values


def storable_text(values: list[Any]) -> list[Any]:
    """``values`` with every str made valid UTF-8, as SQLite's text must be.

    A str holding lone surrogates (what ``os.fsdecode`` makes of bytes that are not UTF-8,
    e.g. a file name in a command line) is stored with them written as ``\\udcff`` escapes;
    without this one such name would make every later flush fail. Checks each distinct value once.
    """
    fixed = {}
    for value in set(values):
        if isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                fixed[value] = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return [fixed.get(v, v) for v in values] if fixed else values


# --- the default store: one writer per process, and its hooks ----------------------------

_writer: Writer | None = None
_ever = False      # a default store was set in this process at some point


def set_default_store(path: str | os.PathLike[str] | None) -> None:
    """Store every measurement of this process in ``path`` (a SQLite file), or stop (None).

    The first store set in a process receives every measurement still in the log (since
    the last ``frugal.clear()``); a store set later, in place of another, receives the
    measurements made from then on. Raises ``FrugalError`` at once when ``path`` exists and
    is not a frugal store (it is left untouched). Writing happens on a background thread.
    """
    global _writer, _ever
    if path is not None:
        store = Store(path).open()    # fail now, in the caller, rather than later in a thread
    old, _writer = _writer, None
    if old is not None:
        old.stop()
        old.flush(last="they are not stored (the store was changed) but stay in frugal.results()")
    if path is None:
        return
    if _ever:
        end = len(LOG.rows)
        cursor, base = end - end % ROW_SIZE, {k: list(v) for k, v in list(LOG.summary.items())}
    else:
        cursor, base = 0, {}
    writer = Writer(store, new_run(), cursor, base)
    _writer, _ever = writer, True
    writer.start()


def default_store() -> Path | None:
    """The path measurements are being stored in, or None."""
    return None if _writer is None else _writer.store.path


def flush() -> int:
    """Write every measurement not yet stored to the default store now; returns how many.

    Includes ``record="summary"`` aggregates (the calls since their last flush). Returns 0
    when no store is set. A store that fails warns and returns 0; results stay in memory.
    """
    writer = _writer
    return 0 if writer is None else writer.flush(summary=True)


def _on_clear() -> None:
    writer = _writer
    if writer is not None:
        writer.flush(summary=True, last="clear() drops them now")


def _before_fork() -> None:
    # No flush may be half-way through at fork: the child would inherit SQLite's state mid-write.
    # A fork therefore waits for a flush in progress (milliseconds; longer only while another
    # process holds the store's write lock).
    writer = _writer
    if writer is not None:
        writer.lock.acquire()
        _held.append(writer)


def _after_fork_in_parent() -> None:
    while _held:
        _held.pop().lock.release()


_held: list[Writer] = []


def _on_fork() -> None:
    global _writer
    _held.clear()                       # the child's copies of those locks are dropped with them
    if _writer is not None:
        _writer = _writer.forked()
        _writer.start()


def _at_exit() -> None:
    writer = _writer
    if writer is not None:
        writer.stop()
        writer.flush(summary=True, last="they are lost with this process")


def _after_multiprocessing_fork(_: Any) -> None:
    # multiprocessing's children leave through os._exit, which skips atexit: flush in its finaliser.
    import multiprocessing.util as mp_util

    mp_util.Finalize(None, _at_exit, exitpriority=100)


def _register_hooks() -> None:
    LOG.on_clear(_on_clear)
    _hot.on_fork(_on_fork)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent)
    atexit.register(_at_exit)
    try:
        import multiprocessing.util as mp_util
    except ImportError:
        return
    mp_util.register_after_fork(_at_exit, _after_multiprocessing_fork)


_register_hooks()


# --- reading a store back --------------------------------------------------------------

def _since_ns(since: Any) -> int | None:
    if since is None:
        return None
    if isinstance(since, timedelta):
        since = datetime.now(timezone.utc) - since
    elif isinstance(since, str):
        try:
            since = datetime.fromisoformat(since)
        except ValueError:
            raise ValueError(f"since must be an ISO 8601 date or time, got {since!r}") from None
    if isinstance(since, datetime) and hasattr(since, "value") and hasattr(since, "tz_localize"):
        return int(since.value)       # a pandas Timestamp: exact to the nanosecond, UTC-based
    if not isinstance(since, datetime):
        raise TypeError(f"since must be a datetime, an ISO 8601 string or a timedelta, got {type(since).__name__}")
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)     # naive times are read as UTC
    delta: timedelta = since - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _names(name: Any) -> list[str] | None:
    if name is None:
        return None
    if isinstance(name, str):
        return [name]
    if isinstance(name, Iterable):
        names = list(name)
        if all(isinstance(n, str) for n in names):
            return names
    raise TypeError(f"name must be a str or a list of str, got {type(name).__name__}")


def _connect_read(path: Path, immutable: bool = False) -> sqlite3.Connection:
    _check_file(path, create=False)
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro{'&immutable=1' if immutable else ''}", uri=True)
    except sqlite3.Error as exc:
        raise FrugalError(f"cannot open the frugal store {path}: {exc}") from None


def _on_read_only_medium(path: Path) -> bool:
    """True when the store's folder cannot be written and no write-ahead log waits beside it.

    SQLite then cannot create the ``-shm`` index that reading a WAL store needs; the file
    alone holds every committed row, and nobody can be writing it through this folder.
    """
    wal = Path(f"{path}-wal")
    return not os.access(path.parent, os.W_OK) and not (wal.exists() and wal.stat().st_size > 0)


def _query(path: Path, sql: str, params: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``sql``; ``{m}`` in it becomes the measurement columns (NULL for fields that a store
    written by an older frugal lacks)."""
    immutable = False
    while True:
        conn = _connect_read(path, immutable)
        try:
            if "{m}" in sql:
                have = {row[1] for row in conn.execute("PRAGMA table_info(measurements)")}
                sql = sql.replace("{m}", ", ".join(f"m.{f}" if f in have else f"NULL AS {f}" for f in FIELDS))
            cur = conn.execute(sql, params)
            return [d[0] for d in cur.description], cur.fetchall()
        except sqlite3.DatabaseError as exc:
            if not immutable and "unable to open" in str(exc) and _on_read_only_medium(path):
                immutable = True    # a store on read-only media (an archive, a read-only mount)
                continue
            raise FrugalError(f"the frugal store {path} is corrupt or unreadable: {exc}") from None
        finally:
            conn.close()


def load(path: str | os.PathLike[str], name: str | Iterable[str] | None = None, since: Any = None) -> pd.DataFrame:
    """Every stored measurement as a pandas DataFrame, oldest first.

    Columns: ``Measurement``'s fields (as in ``frugal.results()``), then the run's
    metadata: ``run_id``, ``run_started_at``, ``host``, ``program``, ``platform``, ``cpu``,
    ``python``, ``frugal_version``, ``git_commit``, ``git_branch``. ``name`` keeps one name
    or a list of names; ``since`` keeps measurements started at or after a datetime (naive
    means UTC), an ISO 8601 string, or a timedelta before now. Energy and carbon are as
    derived when the measurement was stored (``energy_method`` says measured or modelled).
    Raises ``FrugalError`` if ``path`` is missing, unreadable, corrupt or not a frugal store.
    """
    import numpy as np
    import pandas as pd

    from frugal.frame import frame_from_columns

    file = _as_path(path, "path")
    names, since_ns = _names(name), _since_ns(since)
    run_cols = ", ".join(f"r.{src} AS {dst}" for src, dst in RUN_COLUMNS.items() if src != "run_id")
    sql = f"SELECT r.run_id AS run_id, {{m}}, {run_cols} FROM measurements m JOIN runs r ON r.id = m.run"
    where: list[str] = []
    params: list[Any] = []
    if names is not None:
        where.append(f"m.name IN ({', '.join('?' * len(names))})")
        params += names
    if since_ns is not None:
        where.append("m.started_at >= ?")
        params.append(since_ns)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY m.started_at, m.id"
    columns, rows = _query(file, sql, params)
    data = dict(zip(columns, zip(*rows))) if rows else {c: () for c in columns}
    cols: dict[str, Any] = {}
    for field in FIELDS:
        values = data[field]
        if field == "started_at":
            cols[field] = np.array(values, dtype="i8").astype("datetime64[ns]")
        elif field in _TEXT:
            cols[field] = np.array(values, dtype=object)
        elif field == "children":
            cols[field] = np.array([bool(v) for v in values], dtype=bool)
        elif field in ("depth", "calls", "pid"):
            cols[field] = np.array([-1 if v is None else v for v in values], dtype="i8")
        else:
            cols[field] = np.array([np.nan if v is None else v for v in values], dtype="f8")
    frame = frame_from_columns(cols)
    for dst in RUN_COLUMNS.values():
        values = data[dst]
        if dst == "run_started_at":
            frame[dst] = pd.to_datetime(np.array(values, dtype="i8"), unit="ns", utc=True)
        else:
            frame[dst] = pd.array([None if v is None else str(v) for v in values], dtype="string")
    return frame


def load_runs(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The runs of a store as a DataFrame (one row per process or ``frugal run``), oldest first,
    with their metadata and methodology settings (JSON) and how many measurements each holds."""
    import pandas as pd

    file = _as_path(path, "path")
    columns, rows = _query(file, f"SELECT {', '.join('r.' + f for f in RUN_FIELDS)}, coalesce(c.n, 0) AS measurements "
                                 "FROM runs r LEFT JOIN (SELECT run, count(*) AS n FROM measurements GROUP BY run) c "
                                 "ON c.run = r.id ORDER BY r.started_at", [])
    frame = pd.DataFrame.from_records(rows, columns=columns)
    frame["started_at"] = pd.to_datetime(frame["started_at"].astype("int64"), unit="ns", utc=True)
    return frame
