"""The store on a PostgreSQL server (``store="postgresql://user@host:5432/db"``): a team's one
history, written by many processes on many machines at once, through psycopg 3 (the extra
``frugal[postgres]``).

The same store as the SQLite file (``frugal.store.sqlite``), behind the same methods: tables
``meta`` (``schema_version`` is checked on open), ``runs`` and ``chunks`` (one ``bytea`` per
``Measurement`` field, encoded by ``frugal.store.chunks``) and ``chunk_names``; triggers refuse
UPDATE, DELETE and TRUNCATE, so the database itself keeps the store append-only. The tables
are created under a transaction-scoped advisory lock, so two first writers starting together
create them once; once they exist a role that may only INSERT and SELECT is enough.

The store's SQL is written once, in SQLite's dialect: ``PgConn`` runs it here (``?`` becomes
``%s``, ``INSERT OR IGNORE`` becomes ``ON CONFLICT DO NOTHING``, an INSERT into ``runs`` or
``chunks`` returns its id), so that the writer, ``load``, ``load_runs`` and ``merge`` share it.

The URL goes to libpq as it is (``PGPASSWORD``, ``~/.pgpass``, ``sslmode=...`` work), but for
``schema=NAME``, frugal's own parameter: the tables live in that schema (created if missing),
so that several projects share one database (``options=-csearch_path=NAME`` works too). The
password is never shown: ``frugal.files.redact`` writes it ``***`` in every message.
A write waits at most ``CONNECT_TIMEOUT_S`` to connect and ``STATEMENT_TIMEOUT_S`` per
statement; a write given a ``timeout`` (the last flush at exit) returns within it whatever
the server does.
"""
from __future__ import annotations

import os
import queue
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, TypeVar

from frugal.core import own
from frugal.errors import FrugalError
from frugal.files import RUN_FIELDS, SCHEMA_VERSION
from frugal.validate import redact
from frugal.measurement import FIELDS
from frugal.store.sqlite import encode_chunks, insert_chunks, storable_text

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_S = 10           # libpq's connect_timeout, unless the URL sets one
STATEMENT_TIMEOUT_S = 60.0       # the longest one statement may run (a hung server)
OPEN_TIMEOUT_S = 5.0             # configure(store=...) waits this long at most; then the writer tries again
_T = TypeVar("_T")


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise FrugalError("a postgresql:// store needs the extra: pip install 'frugal[postgres]'") from None
    return psycopg


def split_url(url: str) -> tuple[str, str | None]:
    """(the URL for libpq, the ``schema=`` parameter or None): libpq refuses parameters it does not know."""
    from urllib.parse import unquote

    base, sep, query = url.partition("?")
    if not sep:
        return url, None
    keep, schema = [], None
    for part in query.split("&"):
        if part.lower().startswith("schema="):
            schema = unquote(part.split("=", 1)[1])
        elif part:
            keep.append(part)
    if schema == "":
        raise ValueError(f"store={redact(url)!r}: schema= names no schema")
    return base + ("?" + "&".join(keep) if keep else ""), schema


def _sql(statement: str) -> tuple[str, bool]:
    """SQLite's dialect, as the store writes it, in PostgreSQL's: (statement, returns the new id)."""
    if statement == "BEGIN IMMEDIATE":
        return "BEGIN", False
    statement = statement.replace("?", "%s").replace(" BLOB", " BYTEA")
    if statement.startswith("INSERT OR IGNORE INTO"):
        return "INSERT INTO" + statement[len("INSERT OR IGNORE INTO"):] + " ON CONFLICT DO NOTHING", False
    if statement.startswith(("INSERT INTO chunks (", "INSERT INTO runs (")):
        return statement + " RETURNING id", True
    return statement, False


class _Inserted:
    """What an INSERT into ``runs`` or ``chunks`` gives back: its id, as SQLite's cursor does."""

    def __init__(self, lastrowid: int) -> None:
        self.lastrowid = lastrowid


class PgConn:
    """A psycopg connection (autocommit: transactions are explicit, as the store's SQL writes
    them) that runs the store's SQLite-dialect SQL; a failure is a ``FrugalError`` with the
    password redacted."""

    def __init__(self, raw: psycopg.Connection[Any], where: str) -> None:
        self.raw = raw
        self.where = where

    def execute(self, statement: str, params: Iterable[Any] = ()) -> Any:
        text, returning = _sql(statement)
        with _errors(self.where):
            cur = self.raw.cursor(binary=True)
            cur.execute(text.encode(), list(params) or None)    # bytes: SQL built from frugal's own text
            if returning:
                row = cur.fetchone()
                assert row is not None      # RETURNING id of a row just inserted
                return _Inserted(row[0])
            return cur

    def executemany(self, statement: str, rows: Iterable[Iterable[Any]]) -> None:
        values = [list(r) for r in rows]
        if values:
            with _errors(self.where):
                self.raw.cursor().executemany(_sql(statement)[0].encode(), values)

    @property
    def in_transaction(self) -> bool:
        return bool(self.raw.info.transaction_status != _psycopg().pq.TransactionStatus.IDLE)

    def columns(self, table: str) -> set[str]:
        """The columns of ``table`` in the store's schema (empty when it does not exist)."""
        rows = self.execute("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 "
                            "AND NOT attisdropped", (table,)).fetchall()
        return {r[0] for r in rows}

    def close(self) -> None:
        self.raw.close()


class StoreUnreachable(FrugalError):
    """The server could not be reached or went away: the writer keeps the rows and tries again."""


class CommitUnknown(StoreUnreachable):
    """The connection broke while the server committed: the rows may be stored or not.
    ``settle()``, once the server answers again, says which (True: stored), so that the writer
    neither writes them twice nor drops them; it raises while the server is still away."""

    def __init__(self, message: str, settle: Callable[[], bool]) -> None:
        super().__init__(message)
        self.settle = settle


class _errors:
    """psycopg's errors as ``FrugalError``, saying where, password redacted."""

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        if exc is not None and isinstance(exc, _psycopg().Error):
            message = redact(str(exc).strip().replace("\n", " "))
            kind = StoreUnreachable if isinstance(exc, _psycopg().OperationalError) else FrugalError
            raise kind(f"the frugal store {self.where}: {message}") from None
        return False


def connect(url: str, *, read_only: bool = False) -> PgConn:
    """A connection to the store at ``url`` (its ``schema=`` in the search path)."""
    psycopg = _psycopg()
    where = redact(url)
    dsn, schema = split_url(url)
    with _errors(where):
        given = psycopg.conninfo.conninfo_to_dict(dsn)
        extra: dict[str, Any] = {} if "connect_timeout" in given else {"connect_timeout": CONNECT_TIMEOUT_S}
        raw = psycopg.connect(dsn, autocommit=True, **extra)
    conn = PgConn(raw, where)
    try:
        conn.execute(f"SET statement_timeout = {int(STATEMENT_TIMEOUT_S * 1000)}")
        if schema is not None:
            quoted = psycopg.sql.Identifier(schema).as_string(raw)
            conn.execute("SELECT set_config('search_path', ?, false)", (quoted,))
        if read_only:
            conn.execute("SET default_transaction_read_only = on")
    except BaseException:
        raw.close()
        raise
    return conn


def _schema_sql() -> list[str]:
    blobs = ",\n  ".join(f"{f} BYTEA" for f in FIELDS)
    identity = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    tables = ("meta", "runs", "chunks", "chunk_names")
    return [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"CREATE TABLE runs (id {identity}, run_id TEXT NOT NULL UNIQUE, started_at BIGINT NOT NULL, host TEXT, "
        "pid BIGINT, program TEXT, platform TEXT, cpu TEXT, logical_cpus BIGINT, python TEXT, "
        "frugal_version TEXT, git_commit TEXT, git_branch TEXT, settings TEXT)",
        f"CREATE TABLE chunks (\n  id {identity},\n  run BIGINT NOT NULL REFERENCES runs(id),\n"
        f"  rows BIGINT NOT NULL,\n  first_ns BIGINT,\n  last_ns BIGINT,\n  dropped BIGINT NOT NULL DEFAULT 0,\n  {blobs})",
        "CREATE INDEX chunks_last ON chunks(last_ns)",
        "CREATE INDEX chunks_run ON chunks(run)",
        "CREATE TABLE chunk_names (name TEXT NOT NULL, chunk BIGINT NOT NULL REFERENCES chunks(id), "
        "PRIMARY KEY (name, chunk))",
        "CREATE FUNCTION frugal_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'a frugal store is append-only'; END $$",
    ] + [f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} FOR EACH ROW "
         "EXECUTE FUNCTION frugal_append_only()" for t in tables] \
      + [f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} FOR EACH STATEMENT "
         "EXECUTE FUNCTION frugal_append_only()" for t in tables]


class PgStore:
    """A frugal store on a PostgreSQL server, with the methods of ``frugal.store.sqlite.Store``.

    ``path`` is the URL with its password redacted: what every message shows. One connection
    per process, kept between writes and opened again after a failure; a forked child opens
    its own (the parent's is never used, nor closed, by the child).
    """

    def __init__(self, url: str) -> None:
        _psycopg()                          # the extra is missing: say so now, in the caller
        split_url(url)                      # a bad schema= now, too
        self._url = url
        self.path = redact(url)
        self._ready = False
        self._conn: PgConn | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._runs: dict[str, int] = {}      # run_id -> runs.id
        self.unreachable: str | None = None  # why the last open() could not reach the server
        _runner.ensure()                     # now, while threads may start (not at exit)

    def __repr__(self) -> str:
        return f"PgStore({self.path!r})"

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("a PgStore is not pickled: it would carry the store's password")

    def _open(self, timeout: float | None = None) -> PgConn:
        """A connection of this process, the schema created or checked."""
        if self._pid != os.getpid():        # a forked child: the parent's connection is the parent's
            _inherited.append(self._conn)
            self._conn, self._pid, self._runs = None, os.getpid(), {}
        if self._conn is None or self._conn.raw.closed:
            _runner.ensure()                # a forked child's own, started at its first write
            self._conn = connect(self._url)
        if not self._ready:
            self._initialise(self._conn)
            self._ready = True
        return self._conn

    def open(self) -> PgStore:
        """Connect and create or check the tables now: raises ``FrugalError`` if they are not a
        frugal store's; a server that cannot be reached is said in ``unreachable`` (the writer
        keeps the rows and tries again)."""
        def work() -> None:
            with self._lock:
                try:
                    self._open()
                except FrugalError:
                    self._drop()
                    raise

        try:
            _bounded(work, OPEN_TIMEOUT_S, self.path)
            self.unreachable = None
        except StoreUnreachable as exc:
            self.unreachable = str(exc)
        return self

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._runs.clear()                  # a rolled-back run row must be inserted again
        if conn is not None and self._pid == os.getpid():
            conn.close()        # psycopg's close() of a broken connection does not raise

    def _state(self, conn: PgConn) -> int | None:
        """The schema version of the tables, None when there are none; FrugalError when they are not frugal's."""
        tables = conn.execute("SELECT to_regclass('meta') IS NOT NULL, to_regclass('runs') IS NOT NULL, "
                              "to_regclass('chunks') IS NOT NULL").fetchone()
        if not any(tables):
            return None
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall()) if tables[0] else {}
        if meta.get("application") != "frugal" or not all(tables):
            raise FrugalError(f"{self.path} holds tables that are not a frugal store's; they were left untouched "
                              "(give another database or schema=...)")
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise FrugalError(f"{self.path} was written by a newer frugal (store schema {version}, this frugal "
                              f"reads up to {SCHEMA_VERSION}): upgrade frugal to use it")
        return version

    def _initialise(self, conn: PgConn) -> None:
        version = self._state(conn)
        if version == SCHEMA_VERSION and set(FIELDS) <= conn.columns("chunks"):
            return          # the usual case: nothing to write, no lock taken (an INSERT/SELECT role is enough)
        _, schema = split_url(self._url)
        conn.execute("BEGIN")
        try:
            # the first two writers starting together: one creates (the schema too: CREATE SCHEMA IF
            # NOT EXISTS is not safe against another at once), the other waits and finds them
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('frugal store ' || coalesce(?, current_schema(), '')))",
                         (schema,))
            if schema is not None:
                psycopg = _psycopg()
                conn.execute(psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                    psycopg.sql.Identifier(schema)).as_string(conn.raw))
            version = self._state(conn)
            if version is None:
                for statement in _schema_sql():
                    conn.raw.execute(statement.encode())    # bytes: psycopg must not read %s in it
                conn.execute("INSERT INTO meta VALUES ('application', 'frugal'), ('schema_version', ?), "
                             "('created_at', ?)", (str(SCHEMA_VERSION), datetime.now(timezone.utc).isoformat()))
            have = conn.columns("chunks")
            for field in FIELDS:        # a newer Measurement may have more fields
                if field not in have:
                    conn.execute(f"ALTER TABLE chunks ADD COLUMN {field} BYTEA")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def append(self, run: dict[str, Any], cols: dict[str, Any], *, dropped: int = 0,
               timeout: float | None = None) -> int:
        """Insert derived columns as measurements of ``run`` (as ``Store.append``): one
        transaction, one chunk per ``CHUNK_ROWS`` rows. ``timeout``: return within it (s),
        raising ``FrugalError`` when the server has not answered (the last flush at exit)."""
        n = len(cols["name"])
        if n == 0 and not dropped:
            return 0
        chunks = encode_chunks(cols, dropped=dropped)
        _bounded(lambda: self._append(run, chunks), timeout, self.path)
        return n

    def _append(self, run: dict[str, Any], chunks: list[Any]) -> None:
        with self._lock:
            try:
                conn = self._open()
                conn.execute("BEGIN")
                try:
                    ids = insert_chunks(conn, self._run_key(conn, run), chunks)   # type: ignore[arg-type]
                except BaseException:
                    if not conn.raw.closed and conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                try:
                    conn.execute("COMMIT")
                except StoreUnreachable as exc:     # sent, but no answer: committed or not, the server knows
                    raise CommitUnknown(str(exc), lambda: self._committed(ids)) from None
            except FrugalError:
                self._drop()
                raise

    def _committed(self, ids: list[int]) -> bool:
        """Whether the chunks given these ids in a transaction whose COMMIT got no answer are
        stored (ids are never given twice, a rolled-back transaction's included)."""
        with self._lock:
            try:
                conn = self._open()
                found = conn.execute("SELECT count(*) FROM chunks WHERE id = ANY(?)", (ids,)).fetchone()[0]
            except FrugalError:
                self._drop()
                raise
        return bool(found)

    def _run_key(self, conn: PgConn, run: dict[str, Any]) -> int:
        key = self._runs.get(run["run_id"])
        if key is None:
            conn.execute(f"INSERT OR IGNORE INTO runs ({', '.join(RUN_FIELDS)}) "
                         f"VALUES ({', '.join('?' * len(RUN_FIELDS))})",
                         _no_nul(storable_text([run.get(f) for f in RUN_FIELDS])))
            key = conn.execute("SELECT id FROM runs WHERE run_id = ?", (run["run_id"],)).fetchone()[0]
            self._runs[run["run_id"]] = key
        return int(key) if key is not None else 0


_inherited: list[Any] = []      # connections a forked child inherited: kept, never closed by it


def _no_nul(values: list[Any]) -> list[Any]:
    # PostgreSQL's text cannot hold NUL (SQLite's can): written as the escape \x00
    return [v.replace("\x00", "\\x00") if isinstance(v, str) else v for v in values]


class _Runner:
    """One daemon thread of this process, started while the program runs, that runs the writes
    given a time limit: the caller waits that long at most. At exit, Python 3.12 and later start
    no new thread ("can't create new thread at interpreter shutdown"), so the last flush must
    find this one already running."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[Callable[[], None]] | None = None
        self.pid = 0

    def ensure(self) -> bool:
        """Start the thread in this process if it is not running; False when it cannot be."""
        if self.jobs is not None and self.pid == os.getpid():
            return True
        jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        try:
            own.start_thread(threading.Thread(target=self._loop, args=(jobs,), name="frugal-store-pg", daemon=True).start)
        except RuntimeError:        # at interpreter shutdown
            return False
        self.jobs, self.pid = jobs, os.getpid()
        return True

    @staticmethod
    def _loop(jobs: queue.SimpleQueue[Callable[[], None]]) -> None:
        while True:
            jobs.get()()


_runner = _Runner()


def _bounded(work: Callable[[], _T], timeout: float | None, where: str) -> _T:
    """``work()``, or with ``timeout`` on the runner thread, waited for that long: a dead or hung
    server then costs the caller ``timeout`` s at most (the thread ends the work with its
    timeouts). Without a runner (a forked child whose first write is its last, at shutdown),
    the work runs here, bounded by the connection's timeouts alone."""
    if timeout is None or not _runner.ensure():
        return work()
    out: list[Any] = []
    done = threading.Event()

    def job() -> None:
        try:
            out.append((True, work()))
        except BaseException as exc:    # handed to the caller
            out.append((False, exc))
        finally:
            done.set()

    assert _runner.jobs is not None
    _runner.jobs.put(job)
    if not done.wait(timeout):
        raise StoreUnreachable(f"the frugal store {where}: the server did not answer within {timeout:g} s")
    ok, value = out[0]
    if not ok:
        raise value
    return value    # type: ignore[no-any-return]


def read(url: str, reader: Callable[[Any], _T]) -> _T:
    """``reader(conn)`` on a read-only connection, in one snapshot (REPEATABLE READ)."""
    conn = connect(url, read_only=True)
    try:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            return reader(conn)
        finally:
            if not conn.raw.closed and conn.in_transaction:
                conn.execute("ROLLBACK")
    finally:
        conn.close()


__all__ = ["CONNECT_TIMEOUT_S", "CommitUnknown", "OPEN_TIMEOUT_S", "StoreUnreachable", "PgConn", "PgStore", "STATEMENT_TIMEOUT_S", "connect", "read",
           "split_url"]
