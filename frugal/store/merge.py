"""Merging stores: the union of several frugal stores by run id, so that parallel CI jobs or
yesterday's artifact combine into one history (``frugal merge OUT SRC...``).

Only inserts: a run of a source whose ``run_id`` OUT already holds is skipped whole, so
merging twice adds nothing. Sources are read through read-only connections and never written.
"""
from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from frugal.errors import FrugalError
from frugal.files import RUN_FIELDS, check_file, store_location
from frugal.store.location import open_store
from frugal.store.read import _columns, _legacy_rows, _read
from frugal.store.sqlite import encode_chunks, insert_chunks, write_transaction
from frugal.validate import redact

if TYPE_CHECKING:
    from frugal.store.location import AnyStore

# Columns of ``chunks`` that describe the chunk; every other one holds a field's blob.
_CHUNK_META = ("id", "run", "rows", "first_ns", "last_ns", "dropped")


@dataclass(frozen=True)
class SourceMerge:
    """What merging one source into OUT did.

    ``runs_added``: runs copied; ``runs_present``: runs OUT already held (by ``run_id``), not
    copied again; ``measurements_added``: measurements of the runs copied; ``skipped``: why the
    source was not read at all (it is OUT itself), else None.
    """

    source: Path | str          # a postgresql:// URL is shown with its password redacted
    runs_added: int
    runs_present: int
    measurements_added: int
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values (the path as a str)."""
        return {"source": redact(str(self.source)), "runs_added": self.runs_added, "runs_present": self.runs_present,
                "measurements_added": self.measurements_added, "skipped": self.skipped}


@dataclass(frozen=True)
class MergeResult:
    """What ``merge`` did: one ``SourceMerge`` per source, in the order given, and the totals."""

    out: Path | str
    sources: tuple[SourceMerge, ...]

    @property
    def runs_added(self) -> int:
        """Runs copied into OUT, over all sources."""
        return sum(s.runs_added for s in self.sources)

    @property
    def runs_present(self) -> int:
        """Runs of the sources that OUT already held (or that an earlier source brought)."""
        return sum(s.runs_present for s in self.sources)

    @property
    def measurements_added(self) -> int:
        """Measurements copied into OUT, over all sources."""
        return sum(s.measurements_added for s in self.sources)

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values: ``out``, the totals and ``sources``."""
        return {"out": redact(str(self.out)), "runs_added": self.runs_added, "runs_present": self.runs_present,
                "measurements_added": self.measurements_added, "sources": [s.as_dict() for s in self.sources]}


def _same_file(a: Path | str, b: Path | str) -> bool:
    if isinstance(a, str) or isinstance(b, str):       # a server: the same URL
        return a == b
    try:
        return os.path.samefile(a, b)
    except OSError:         # OUT does not exist yet: it cannot be a source
        return False


def check_merge(out: str | os.PathLike[str], sources: Sequence[str | os.PathLike[str]]
                ) -> tuple[Path | str, list[Path | str]]:
    """``out`` and ``sources`` as paths (a ``postgresql://`` URL as a str), or the ``ValueError`` (naming the argument) that
    ``merge`` raises before it writes anything: a ``sources`` that is not a non-empty list of
    paths, an OUT that exists and is not a frugal store, a source that is missing or not a store."""
    if isinstance(sources, (str, bytes, os.PathLike)) or not isinstance(sources, Sequence):
        raise TypeError(f"sources must be a list of store paths, got {type(sources).__name__}")
    if not sources:
        raise ValueError("sources: give at least one store to merge")
    out_path = store_location(out, "out")
    paths = [store_location(s, "sources") for s in sources]
    try:
        if isinstance(out_path, Path):
            check_file(out_path, create=True)
    except FrugalError as exc:
        raise ValueError(f"out: {exc}") from None
    for path in paths:
        if isinstance(path, str):
            continue        # a server: checked when read
        try:
            check_file(path, create=False)
        except FrugalError as exc:
            raise ValueError(f"sources: {exc}") from None
    return out_path, paths


def merge(out: str | os.PathLike[str], sources: Sequence[str | os.PathLike[str]]) -> MergeResult:
    """Copy into the store ``out`` every run of each store in ``sources`` that ``out`` lacks.

    Runs are matched by ``run_id``: a run not in ``out`` is copied with its metadata (commit,
    branch, host, settings...) and all its chunks as stored (``rows_dropped`` counts
    included), and a schema-1 source's rows (one SQL row per measurement) as chunks; a run
    already in ``out`` is left as it is, even if the source holds more of it (a run still
    being written when it was merged keeps only what it had then). One transaction per
    source, waiting up to ``BUSY_TIMEOUT_S`` for other writers of ``out``; merging again adds
    nothing. A source that is ``out`` itself is skipped (a no-op, said in its ``skipped``).
    ``out`` is created when missing. Sources are opened read-only and never written.
    Raises ``ValueError`` naming the argument, before anything is written, when ``out``
    exists and is not a frugal store or a source is missing or not one (``check_merge``).
    """
    out_path, paths = check_merge(out, sources)
    target = open_store(out_path, "out").open()
    if target.unreachable is not None:
        raise FrugalError(target.unreachable)
    results = []
    for path in paths:
        if _same_file(path, out_path):
            results.append(SourceMerge(redact(path) if isinstance(path, str) else path, 0, 0, 0,
                                       skipped="it is OUT itself"))
            continue
        results.append(_read(path, partial(_merge_one, target, path=path)))
    return MergeResult(target.path, tuple(results))


def _merge_one(target: AnyStore, src: Any, *, path: Path | str) -> SourceMerge:
    """Copy the runs of ``src`` (a read transaction on ``path``) that ``target`` lacks, in one
    write transaction on ``target``."""
    have_runs = _columns(src, "runs")
    fields = [f for f in RUN_FIELDS if f in have_runs]
    chunk_columns = _columns(src, "chunks")
    src_blobs = sorted(chunk_columns - set(_CHUNK_META))
    legacy = bool(_columns(src, "measurements"))
    runs = src.execute(f"SELECT id, {', '.join(fields)} FROM runs ORDER BY id")   # read as copied
    conn: Any = target._open()      # the store's own opening: schema checked, busy timeout set
    where = redact(str(path))
    try:
        with write_transaction(conn):
            added = present = measurements = 0
            for src_key, *values in runs:
                run_id = values[fields.index("run_id")]
                if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                    present += 1
                    continue
                key = conn.execute(f"INSERT INTO runs ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
                                   values).lastrowid
                assert key is not None      # an INSERT that succeeded has a row id
                if chunk_columns:
                    if not added:
                        _add_columns(conn, src_blobs)
                    measurements += _copy_chunks(src, conn, src_key, key, src_blobs)
                if legacy:
                    measurements += _copy_legacy(src, conn, run_id, key)
                added += 1
    except (sqlite3.DatabaseError, FrugalError) as exc:
        # raised as FrugalError here, so that _read does not take it for the source's fault
        raise FrugalError(f"could not merge {where} into the frugal store {target.path}: {exc}") from None
    finally:
        if isinstance(conn, sqlite3.Connection):
            conn.close()        # a server's connection stays the store's, for its next write
    return SourceMerge(path if isinstance(path, Path) else where, added, present, measurements)


def _add_columns(conn: Any, blobs: list[str]) -> None:
    # A source written by a newer frugal may have fields this one lacks: keep them, as a column.
    have = _columns(conn, "chunks")
    for column in blobs:
        if column not in have:
            conn.execute(f'ALTER TABLE chunks ADD COLUMN "{column}" BLOB')


def _copy_chunks(src: Any, conn: Any, src_key: int, key: int,
                 blobs: list[str]) -> int:
    """Copy the chunks of run ``src_key`` of ``src`` as they are (blobs untouched) to run ``key``;
    returns how many measurements they hold."""
    columns = ", ".join(f'"{c}"' for c in ("rows", "first_ns", "last_ns", "dropped", *blobs))
    insert = (f"INSERT INTO chunks (run, {columns}) VALUES (?, {', '.join('?' * (4 + len(blobs)))})")
    total = 0
    for chunk, *values in src.execute(f"SELECT id, {columns} FROM chunks WHERE run = ? ORDER BY id", (src_key,)):
        new = conn.execute(insert, (key, *values)).lastrowid
        names = src.execute("SELECT name FROM chunk_names WHERE chunk = ?", (chunk,)).fetchall()
        conn.executemany("INSERT OR IGNORE INTO chunk_names VALUES (?, ?)", [(name, new) for (name,) in names])
        total += values[0]
    return total


def _copy_legacy(src: Any, conn: Any, run_id: str, key: int) -> int:
    """Copy run ``run_id``'s schema-1 rows of ``src`` to run ``key`` as chunks (the columns
    ``frugal.load`` reads from them); returns how many."""
    cols = _legacy_rows(src, None, None, [run_id])
    n = len(cols.get("_run", ()))
    if n:
        insert_chunks(conn, key, encode_chunks(cols))
    return n
