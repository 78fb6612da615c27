"""The store: every measurement, appended in columnar batches to one SQLite file, off the measured call.

The hot path never sees the store. A daemon thread (``frugal.store.writer``) reads the rows
that the hot path appended to ``frugal.core.rows.LOG`` past a byte cursor, derives them
(energy and carbon with the settings each call was measured under) and inserts them as one
chunk: every ``FLUSH_EVERY_S``, at exit, on ``frugal.flush()``, before ``frugal.clear()`` and
when the store is switched. What a hard kill (SIGKILL, OOM killer) can lose is therefore
bounded: the call rows measured since the last flush (about ``FLUSH_EVERY_S`` plus the time
of one write, even when the measured program is CPU-bound), and the ``record="summary"``
aggregates since the last summary flush (``SUMMARY_EVERY_S``). Committed rows survive a
crash of the process (WAL, ``synchronous=NORMAL``).

Summary-mode aggregates are stored as rows with ``calls`` > 1: at every summary flush
(every ``SUMMARY_EVERY_S``, at exit, on ``flush()`` and ``clear()``) one row per name for
the calls made since the previous one (counts, totals and units are the increments;
``wall_min_s``/``wall_max_s`` and ``peak_rss_bytes`` are the extremes since the process
began), so summing a name's rows gives its totals.

File format (schema 2): tables ``meta``, ``runs`` (one per process, or per ``frugal run``;
``runs.run_id`` is a UUID) and ``chunks``: one row per batch of measurements of one run,
with ``rows`` (how many), ``first_ns``/``last_ns`` (their ``started_at`` range, UTC ns),
``dropped`` (rows of the run that could not be stored before this chunk: see
``MAX_ROWS_IN_MEMORY``) and one BLOB column per ``Measurement`` field, derived ones included
(``frugal.store.chunks`` says how a column is encoded); ``chunk_names`` lists the names in each
chunk, so that ``load(name=...)`` and ``load(since=...)`` pick chunks in SQL. A new field is
a new column; an older store gains it when it is next written. Stores of schema 1 (one SQL
row per measurement, table ``measurements``) are read as they are and gain the chunk tables
when written. ``PRAGMA application_id`` marks the file as frugal's; ``PRAGMA user_version``
is the schema version. Triggers refuse UPDATE and DELETE: the store is append-only. Any file
that is not frugal's store (a foreign file, a FIFO, a device, a folder, ``:memory:``) is
refused at once with a ``FrugalError`` and never written.

This module is the database file: its schema, opening and checking it, appending a run's
chunks. The writer thread is ``frugal.store.writer``, the process's default store
``frugal.store.default``, a run's metadata ``frugal.store.run_info``, the column encoding
``frugal.store.chunks``, reading back ``frugal.store.read``.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import datetime, timezone

from frugal.files import RUN_FIELDS, SCHEMA_VERSION, APPLICATION_ID, as_path, check_file as _check_file
from frugal.errors import FrugalError
from frugal.measurement import FIELDS

TYPE_CHECKING = False   # typing is not imported at run time (start-up of ``frugal run``)
if TYPE_CHECKING:
    from typing import Any, Iterator

CHUNK_ROWS = 65_536              # measurements per chunk, at most
BUSY_TIMEOUT_S = 120.0           # how long a writer waits for another process's transaction

_CHUNK_COLUMNS = ("run", "rows", "first_ns", "last_ns", "dropped")


def _chunk_tables() -> list[str]:
    blobs = ",\n  ".join(f"{f} BLOB" for f in FIELDS)
    return [
        "CREATE TABLE chunks (\n  id INTEGER PRIMARY KEY,\n  run INTEGER NOT NULL REFERENCES runs(id),\n"
        f"  rows INTEGER NOT NULL,\n  first_ns INTEGER,\n  last_ns INTEGER,\n  dropped INTEGER NOT NULL DEFAULT 0,\n  {blobs})",
        "CREATE INDEX chunks_last ON chunks(last_ns)",
        "CREATE TABLE chunk_names (name TEXT NOT NULL, chunk INTEGER NOT NULL REFERENCES chunks(id), "
        "PRIMARY KEY (name, chunk)) WITHOUT ROWID",
    ] + _append_only("chunks", "chunk_names")


def _append_only(*tables: str) -> list[str]:
    return [f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'a frugal store is append-only'); END"
            for table in tables for op in ("UPDATE", "DELETE")]


def _schema() -> list[str]:
    return [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE, started_at INTEGER NOT NULL, host TEXT, "
        "pid INTEGER, program TEXT, platform TEXT, cpu TEXT, logical_cpus INTEGER, python TEXT, "
        "frugal_version TEXT, git_commit TEXT, git_branch TEXT, settings TEXT)",
    ] + _append_only("meta", "runs") + _chunk_tables()



@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` (the write lock now, not at the first write) ... ``COMMIT``, or
    ``ROLLBACK`` on any exception, Ctrl-C included, which is raised again."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:     # else the real error would hide behind "cannot rollback"
            conn.execute("ROLLBACK")
        raise


class Store:
    """One frugal store file, validated when opened, appended to, never rewritten.

    ``Store(path)`` creates the file (and its folder) when it does not exist; an existing
    file must be a frugal store: anything else raises ``FrugalError`` and is left untouched.
    Each write opens its own short-lived connection: no SQLite connection stays open
    between writes, so a forked child never inherits one (SQLite's locks do not survive fork).
    """

    unreachable: str | None = None      # a file is never unreachable (a server may be: PgStore)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = as_path(path, "store")
        _check_file(self.path, create=True)
        self._ready = False
        self._runs: dict[str, int] = {}      # run_id -> runs.id

    def _open(self, timeout: float | None = None) -> sqlite3.Connection:
        _check_file(self.path, create=True)
        if not self._ready:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise FrugalError(f"cannot create the folder of the frugal store {self.path}: "
                                  f"{exc.strerror or exc}") from None
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S if timeout is None else timeout,
                                   isolation_level=None)
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
        """Create the schema in a new file, or check (and bring up to date) an existing one,
        under a write lock."""
        try:
            with write_transaction(conn):
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if app_id == 0 and not tables:
                    for statement in _schema():
                        conn.execute(statement)
                    conn.execute("INSERT INTO meta VALUES ('application', 'frugal')")
                    conn.execute("INSERT INTO meta VALUES ('created_at', ?)",
                                 (datetime.now(timezone.utc).isoformat(),))
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                elif app_id != APPLICATION_ID:
                    raise FrugalError(f"{self.path} is not a frugal store; it was left untouched")
                elif version > SCHEMA_VERSION:
                    raise FrugalError(f"{self.path} was written by a newer frugal (store schema {version})")
                elif "chunks" not in tables:        # schema 1: its rows stay, new ones go to chunks
                    for statement in _chunk_tables():
                        conn.execute(statement)
                else:
                    self._add_missing_columns(conn)
                if version < SCHEMA_VERSION:
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            raise FrugalError(f"the frugal store {self.path} is unusable ({exc}); it was left untouched") from None

    @staticmethod
    def _add_missing_columns(conn: sqlite3.Connection) -> None:
        # A newer Measurement may have more fields: adding a column keeps old chunks intact.
        have = {row[1] for row in conn.execute("PRAGMA table_info(chunks)")}
        for field in FIELDS:
            if field not in have:
                conn.execute(f"ALTER TABLE chunks ADD COLUMN {field} BLOB")

    def append(self, run: dict[str, Any], cols: dict[str, Any], *, dropped: int = 0,
               timeout: float | None = None) -> int:
        """Insert derived columns (a ``frugal.frames.columns`` column dict) as measurements of ``run``.

        One transaction, one chunk per ``CHUNK_ROWS`` rows; ``dropped`` is recorded with the
        run (rows it measured that could not be stored). Returns how many rows were inserted.
        ``timeout``: how long to wait for another process's write lock, s (``BUSY_TIMEOUT_S``
        when None, read at each call).
        """
        n = len(cols["name"])
        if n == 0 and not dropped:
            return 0
        chunks = encode_chunks(cols, dropped=dropped)
        conn = self._open(timeout)
        try:
            with write_transaction(conn):
                insert_chunks(conn, self._run_key(conn, run), chunks)
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


# One chunk ready to insert: rows, (first_ns, last_ns), dropped, one blob per FIELDS entry, names.
Chunk = tuple[int, tuple[int | None, int | None], int, list[bytes], list[str]]


def encode_chunks(cols: dict[str, Any], *, dropped: int = 0) -> list[Chunk]:
    """Derived columns (a ``frugal.frames.columns`` column dict) as chunks of at most
    ``CHUNK_ROWS`` rows, encoded (``frugal.store.chunks``; columns of Python values, as
    ``frugal run`` gives them, by ``frugal.store.plain`` without numpy, to the same bytes);
    ``dropped`` goes with the first."""
    from frugal.store import plain as _plain

    is_plain = _plain.plain({f: cols[f] for f in FIELDS})
    if not is_plain:
        import numpy as np

        from frugal.store import chunks as _chunks
    n = len(cols["name"])
    chunks: list[Chunk] = []
    for start in range(0, max(n, 1), CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        part = {f: cols[f][start:stop] for f in FIELDS}
        span: tuple[int | None, int | None] = (None, None)
        if is_plain:
            when = [int(t) for t in part["started_at"]]
            if when:
                span = (min(when), max(when))
            encoded = _plain.encode_all(part)
            distinct = list(dict.fromkeys(part["name"]))
        else:
            times = np.asarray(part["started_at"], dtype="datetime64[ns]").astype("i8")
            if len(times):
                span = (int(times.min()), int(times.max()))
            encoded = _chunks.encode_all(part)
            distinct = _chunks.distinct(part["name"])
        blobs = [encoded[f] for f in FIELDS]
        names = sorted({_plain.valid_text(v) for v in distinct} - {None})
        chunks.append((stop - start, span, dropped if start == 0 else 0, blobs, names))
    return chunks


def insert_chunks(conn: sqlite3.Connection, run_key: int, chunks: list[Chunk]) -> list[int]:
    """Insert ``chunks`` (``encode_chunks``) as measurements of the run whose ``runs.id`` is
    ``run_key``, inside the caller's transaction; their ids."""
    sql = (f"INSERT INTO chunks ({', '.join(_CHUNK_COLUMNS + FIELDS)}) "
           f"VALUES ({', '.join('?' * (len(_CHUNK_COLUMNS) + len(FIELDS)))})")
    ids: list[int] = []
    for rows, (first, last), lost, blobs, names in chunks:
        chunk = conn.execute(sql, (run_key, rows, first, last, lost, *blobs)).lastrowid
        conn.executemany("INSERT OR IGNORE INTO chunk_names VALUES (?, ?)", [(name, chunk) for name in names])
        ids.append(chunk or 0)      # an INSERT's rowid: never None
    return ids


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
