"""Recognising a frugal store file, without ever blocking or writing: what the store's writer,
its readers and the command line check before they touch a path."""
from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

from frugal.errors import FrugalError
from frugal.units import check_path

APPLICATION_ID = 0x46525547      # "FRUG", in the SQLite header of every frugal store
SCHEMA_VERSION = 2               # 1: one SQL row per measurement; 2: columnar chunks
_SQLITE_MAGIC = b"SQLite format 3\x00"

RUN_FIELDS = ("run_id", "started_at", "host", "pid", "program", "platform", "cpu", "logical_cpus",
              "python", "frugal_version", "git_commit", "git_branch", "settings")
# Run columns that load() adds to each measurement row (renamed where they would clash).
RUN_COLUMNS = {"run_id": "run_id", "started_at": "run_started_at", "host": "host",
               "program": "program", "platform": "platform", "cpu": "cpu", "python": "python",
               "frugal_version": "frugal_version", "git_commit": "git_commit", "git_branch": "git_branch"}


def _kind_of(mode: int) -> str | None:
    """What a file that is not a regular file is, in words (None for a regular file)."""
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return None if stat.S_ISREG(mode) else "not a regular file"


def _read_header(path: Path, *, create: bool) -> bytes | None:
    """The first 100 bytes of ``path`` (None when it does not exist and ``create``), without ever
    blocking: opened non-blocking and checked to be a regular file before it is read."""
    if str(path) == ":memory:":
        raise FrugalError("':memory:' is not accepted as a store: an in-memory SQLite database would "
                          "keep nothing after the process ends; give a file path")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        if create:
            return None
        raise FrugalError(f"no frugal store at {path}: the file does not exist") from None
    except IsADirectoryError:
        raise FrugalError(f"{path} is a directory, not a frugal store") from None
    except OSError as exc:
        raise FrugalError(f"cannot read the frugal store {path}: {exc.strerror or exc}") from None
    try:
        what = _kind_of(os.fstat(fd).st_mode)
        if what is not None:
            raise FrugalError(f"{path} is {what}, not a frugal store; it was left untouched")
        return os.read(fd, 100)
    except OSError as exc:
        raise FrugalError(f"cannot read the frugal store {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def check_file(path: Path, *, create: bool) -> None:
    """Raise FrugalError unless ``path`` is frugal's store (or, with ``create``, absent or empty).

    Reads the 100-byte SQLite header directly, so a foreign file is never opened by SQLite.
    """
    header = _read_header(path, create=create)
    if header is None:
        return
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


def is_store(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a frugal store (of any schema); never blocks, never raises."""
    try:
        header = _read_header(Path(path), create=True)
    except FrugalError:
        return False
    return header is not None and header.startswith(_SQLITE_MAGIC) and int.from_bytes(header[68:72], "big") == APPLICATION_ID


def as_path(value: Any, argument: str) -> Path:
    return Path(check_path(argument, value)).expanduser()
