"""Reading a store back: ``frugal.load()`` and ``frugal.store.load_runs()``.

Chunks are picked in SQL (``name`` through ``chunk_names``, ``since`` through each chunk's
time range, and the run), their column blobs decoded with numpy and joined, and rows
filtered with numpy masks: no Python object per value. Rows of a schema-1 store (one SQL row
per measurement) are read with SQL, as they were written.
"""
from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from frugal.store import chunks as _chunks
from frugal.frames.columns import concat, text_of
from frugal.files import RUN_COLUMNS, RUN_FIELDS, check_file, store_location
from frugal.errors import FrugalError
from frugal.measurement import FIELDS

if TYPE_CHECKING:
    import pandas as pd

# Schema 1 stored one SQL row per measurement: the type of its text and integer columns.
_TEXT = {"name", "status", "error", "parent", "energy_method", "intensity_source", "cpu_power_source", "scope"}
_INTEGER = {"depth", "calls", "pid"}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NS_RANGE = (-(1 << 63) + 1, (1 << 63) - 1)


def _since_ns(since: Any) -> int | None:
    if since is None:
        return None
    if isinstance(since, timedelta):
        try:
            since = datetime.now(timezone.utc) - since
        except OverflowError:
            raise ValueError(f"since={since!r} reaches before the year 1: give a shorter timedelta") from None
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
    try:
        delta: timedelta = since - _EPOCH
    except OverflowError:
        raise ValueError(f"since={since.isoformat()} is out of range") from None
    ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    # Times are stored as int64 ns (years 1677 to 2262): a date beyond keeps everything or nothing.
    return min(max(ns, _NS_RANGE[0]), _NS_RANGE[1])


def _texts(value: Any, argument: str) -> list[str] | None:
    """``name=`` or ``run=``: None, one str, or an iterable of str, as a list."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        texts = list(value)
        if all(isinstance(t, str) for t in texts):
            return texts
    raise TypeError(f"{argument} must be a str or a list of str, got {type(value).__name__}")


def _connect_read(path: Path, immutable: bool = False) -> sqlite3.Connection:
    check_file(path, create=False)
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


def _read(path: Path | str, reader: Any) -> Any:
    """``reader(conn)`` on a read-only connection, in one read transaction (a str is a
    ``postgresql://`` URL: ``frugal.store.postgres``)."""
    if isinstance(path, str):
        from frugal.store import postgres

        return postgres.read(path, reader)
    immutable = False
    while True:
        conn = _connect_read(path, immutable)
        try:
            conn.execute("BEGIN")
            return reader(conn)
        except sqlite3.DatabaseError as exc:
            if not immutable and "unable to open" in str(exc) and _on_read_only_medium(path):
                immutable = True    # a store on read-only media (an archive, a read-only mount)
                continue
            raise FrugalError(f"the frugal store {path} is corrupt or unreadable: {exc}") from None
        finally:
            conn.close()


def _columns(conn: Any, table: str) -> set[str]:
    if not isinstance(conn, sqlite3.Connection):
        return conn.columns(table)      # type: ignore[no-any-return]  # frugal.store.postgres.PgConn
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _where(names: list[str] | None, since_ns: int | None, runs: list[str] | None, by_name: str,
           by_time: str) -> tuple[str, list[Any]]:
    """The WHERE clause (with its parameters) of the filters given; ``?s`` in ``by_name`` is the
    list of names. Runs are chosen by their ``run_id``."""
    where: list[str] = []
    params: list[Any] = []
    if names is not None:
        where.append(by_name.replace("?s", ", ".join("?" * len(names))))
        params += names
    if since_ns is not None:
        where.append(by_time)
        params.append(since_ns)
    if runs is not None:
        where.append(f"run IN (SELECT id FROM runs WHERE run_id IN ({', '.join('?' * len(runs))}))")
        params += runs
    return (" WHERE " + " AND ".join(where) if where else ""), params


def _chunk_rows(conn: sqlite3.Connection, names: list[str] | None, since_ns: int | None,
                runs: list[str] | None) -> dict[str, Any]:
    """Columns of the chosen chunks' measurements (Text for text), plus ``_run``."""
    have = _columns(conn, "chunks")
    if not have:
        return {}
    where, params = _where(names, since_ns, runs, "id IN (SELECT chunk FROM chunk_names WHERE name IN (?s))",
                           "last_ns >= ?")
    blobs = ", ".join(f if f in have else f"NULL AS {f}" for f in FIELDS)
    chunks = conn.execute(f"SELECT run, rows, {blobs} FROM chunks{where} ORDER BY id", params).fetchall()
    sizes = [c[1] for c in chunks]
    cols: dict[str, Any] = {"_run": np.repeat(np.array([c[0] for c in chunks], dtype="i8"), sizes)}
    decoded = [_chunks.decode_all(dict(zip(FIELDS, c[2:])), n) for c, n in zip(chunks, sizes)]
    for field in FIELDS:
        cols[field] = _chunks.concat_decoded([d[field] for d in decoded], sizes)
    return cols


def _legacy_rows(conn: sqlite3.Connection, names: list[str] | None, since_ns: int | None,
                 runs: list[str] | None) -> dict[str, Any]:
    """Columns of a schema-1 store's ``measurements`` table (as SQL wrote them)."""
    have = _columns(conn, "measurements")
    if not have:
        return {}
    where, params = _where(names, since_ns, runs, "name IN (?s)", "started_at >= ?")
    select = ", ".join(f if f in have else f"NULL AS {f}" for f in FIELDS)
    rows = conn.execute(f"SELECT run, {select} FROM measurements{where} ORDER BY id", params).fetchall()
    data = list(zip(*rows)) if rows else [()] * (len(FIELDS) + 1)
    cols: dict[str, Any] = {"_run": np.array(data[0], dtype="i8")}
    for field, values in zip(FIELDS, data[1:]):
        if field == "started_at":
            cols[field] = np.array(values, dtype="i8").astype("datetime64[ns]")
        elif field in _TEXT:
            cols[field] = np.array(values, dtype=object)
        elif field == "children":
            cols[field] = np.array([bool(v) for v in values], dtype=bool)
        elif field in _INTEGER:
            cols[field] = np.array([-1 if v is None else v for v in values], dtype="i8")
        else:
            cols[field] = np.array([np.nan if v is None else v for v in values], dtype="f8")
    return cols


def _runs(conn: sqlite3.Connection) -> dict[int, tuple[Any, ...]]:
    fields = ", ".join(RUN_COLUMNS)
    return {row[0]: row[1:] for row in conn.execute(f"SELECT id, {fields} FROM runs")}


def load(path: str | os.PathLike[str], name: str | Iterable[str] | None = None, since: Any = None,
         run: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Every stored measurement as a pandas DataFrame, oldest first. ``path``: a store file,
    or a ``postgresql://`` URL (``frugal.store.postgres``).

    Columns: ``Measurement``'s fields (as in ``frugal.results()``), then the run's
    metadata: ``run_id``, ``run_started_at``, ``host``, ``program``, ``platform``, ``cpu``,
    ``python``, ``frugal_version``, ``git_commit``, ``git_branch``. ``name`` keeps one name
    or a list of names; ``since`` keeps measurements started at or after a datetime (naive
    means UTC), an ISO 8601 string, or a timedelta before now; ``run`` keeps one run or a
    list of runs, by ``run_id`` (``load_runs()`` lists them). The filters are applied in
    SQL, to whole chunks, before anything is decoded. Energy and carbon are as
    derived when the measurement was stored (``energy_method`` says measured or modelled).
    Raises ``FrugalError`` if ``path`` is missing, unreadable, corrupt or not a frugal store.
    """
    import pandas as pd

    from frugal.frames.frame import frame_from_columns

    file = store_location(path, "path")
    names, since_ns, runs = _texts(name, "name"), _since_ns(since), _texts(run, "run")

    def read(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], dict[int, tuple[Any, ...]]]:
        parts = [p for p in (_legacy_rows(conn, names, since_ns, runs), _chunk_rows(conn, names, since_ns, runs)) if p]
        return parts, _runs(conn)

    parts, runs = _read(file, read)
    if not parts:
        parts = [{"_run": np.array([], dtype="i8"),
                  **{f: np.array([], dtype="datetime64[ns]" if f == "started_at" else "f8") for f in FIELDS}}]
    cols = concat(parts)
    keep = np.ones(len(cols["_run"]), dtype=bool)
    if names is not None:
        text = text_of(cols["name"])
        wanted = [i for i, label in enumerate(text.labels) if label in set(names)]
        keep &= np.isin(text.codes, np.array(wanted, dtype="i8"))
    if since_ns is not None:
        keep &= cols["started_at"].astype("i8") >= since_ns
    order = np.argsort(cols["started_at"].astype("i8"), kind="stable")
    order = order[keep[order]]
    cols = {k: v[order] for k, v in cols.items()}
    frame = frame_from_columns(cols)
    keys = sorted(runs)
    # each row's run, as a position in ``keys``: run columns are their tables indexed by it
    position = np.searchsorted(np.array(keys, dtype="i8"), cols["_run"]).astype("i8")
    for j, dst in enumerate(RUN_COLUMNS.values()):
        labels = [runs[k][j] for k in keys]
        if dst == "run_started_at":
            frame[dst] = pd.to_datetime(np.array(labels, dtype="i8")[position], unit="ns", utc=True)
        else:
            frame[dst] = pd.array([None if v is None else str(v) for v in labels], dtype="string").take(position)
    return frame


def load_runs(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The runs of a store as a DataFrame (one row per process or ``frugal run``), oldest first,
    with their metadata and methodology settings (JSON), how many measurements each holds, and
    ``rows_dropped``: measurements of the run that could not be stored (a bounded memory
    overflowed while the store was failing), never silently."""
    import pandas as pd

    file = store_location(path, "path")

    def read(conn: sqlite3.Connection) -> tuple[list[str], list[tuple[Any, ...]]]:
        counts = []
        if _columns(conn, "measurements"):
            counts.append("SELECT run, count(*) AS n, 0 AS d FROM measurements GROUP BY run")
        if _columns(conn, "chunks"):
            counts.append("SELECT run, sum(rows) AS n, sum(dropped) AS d FROM chunks GROUP BY run")
        union = " UNION ALL ".join(counts) or "SELECT NULL AS run, 0 AS n, 0 AS d WHERE 1 = 0"
        cur = conn.execute(
            f"SELECT {', '.join('r.' + f for f in RUN_FIELDS)}, CAST(coalesce(c.n, 0) AS BIGINT) AS measurements, "
            f"CAST(coalesce(c.d, 0) AS BIGINT) AS rows_dropped FROM runs r LEFT JOIN (SELECT run, sum(n) AS n, "
            f"sum(d) AS d FROM ({union}) AS u GROUP BY run) c ON c.run = r.id ORDER BY r.started_at, r.id")
        return [d[0] for d in cur.description], cur.fetchall()

    columns, rows = _read(file, read)
    frame = pd.DataFrame.from_records(rows, columns=columns)
    frame["started_at"] = pd.to_datetime(frame["started_at"].astype("int64"), unit="ns", utc=True)
    return frame
