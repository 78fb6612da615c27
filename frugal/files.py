"""Writing an output file (a dashboard, an export): atomically, with the permissions the umask
gives a new file, and never over a frugal store, nor over a file of another kind, unless asked.

A file is "of the kind" when frugal could have written it: an HTML dashboard or flame graph
carries frugal's generator mark; a JSON export parses as JSON; a speedscope profile is JSON
that names speedscope; a collapsed-stacks file is lines of "stack count"; a CSV or Markdown
export starts with the same line as the text about to be written. An empty file holds
nothing to lose and may be replaced. Anything else (a store, notes, a FIFO, a device) is
refused with a ``ValueError`` naming the argument; ``overwrite=True`` (``--force``) replaces
a regular file of any kind, never something that is not a regular file.

Recognising a frugal store (``is_store``, ``check_file``) is done here, without ever blocking
or writing: the store's writer, its readers and the command line check a path with it before
they touch it.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
from pathlib import Path

from frugal.errors import FrugalError
from frugal.validate import URL_SCHEMES, check_path, is_url, redact

TYPE_CHECKING = False   # typing is not imported at run time (start-up of ``frugal run``)
if TYPE_CHECKING:
    from typing import Any

# --- recognising a frugal store ------------------------------------------------------------

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


# --- a store given as a URL (a PostgreSQL server) -------------------------------------------

def store_location(value: Any, argument: str) -> Path | str:
    """A store as given: a ``postgresql://`` (or ``postgres://``) URL as a str, else a file path.

    A URL is never taken for a file path: another scheme is a ``ValueError`` naming ``argument``.
    """
    if is_url(value):
        url = os.fspath(value)
        scheme = url.split(":", 1)[0].lower()
        if scheme not in URL_SCHEMES:
            raise ValueError(f"{argument}={redact(url)!r}: the scheme {scheme}:// is not a store frugal can use; "
                             "give a file path (a SQLite store) or a postgresql:// URL")
        check_path(argument, url)
        return str(url)
    return as_path(value, argument)


# --- writing an output file ----------------------------------------------------------------

_LABELS = {"html": "an HTML page", "json": "a JSON file", "csv": "a CSV export", "markdown": "a Markdown export",
           "speedscope": "a speedscope profile", "collapsed": "a collapsed-stacks file"}
KINDS = tuple(_LABELS)          # what frugal writes, each as the refusal names it
_HTML_MARK = b'<meta name="generator" content="frugal">'
_SNIFF = 1 << 16                 # bytes read from an existing file to tell its kind
_JSON_LIMIT = 1 << 28            # a JSON file larger than this is not taken for an export


def _same_kind(path: Path, text: str | None, kind: str) -> bool:
    with open(path, "rb") as f:
        head = f.read(_SNIFF)
    if not head:
        return True
    if kind == "html":
        return head.lstrip().lower().startswith(b"<!doctype html") and _HTML_MARK in head
    if kind == "speedscope":
        return head.lstrip().startswith(b"{") and b"speedscope" in head
    if kind == "collapsed":
        return b"\x00" not in head and re.match(rb"[^\n]* \d+\n", head) is not None
    if kind == "json":
        if os.path.getsize(path) > _JSON_LIMIT:
            return False
        try:
            json.loads(path.read_bytes())
        except (ValueError, UnicodeDecodeError):
            return False
        return True
    if text is None:        # not written yet: told when it is
        return True
    first = text.split("\n", 1)[0].encode("utf-8", "backslashreplace")
    return bool(first) and head.split(b"\n", 1)[0].rstrip(b"\r") == first


def _refusal(path: Path, text: str | None, kind: str, argument: str) -> str | None:
    """Why ``path`` must not be replaced by ``text``, an output of ``kind`` (None: it may be)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(mode):
        return f"{argument}: {path} is a directory; give a file name"
    if not stat.S_ISREG(mode):
        return f"{argument}: {path} is not a regular file (a FIFO, device, socket or link); give another path"
    what = "a frugal store" if is_store(path) else None
    if what is None and not _same_kind(path, text, kind):
        what = f"not {_LABELS[kind]} written by frugal"
    if what is None:
        return None
    return f"{argument}: {path} is {what}; it was left untouched (--force or overwrite=True replaces it)"


def check_output(path: str | os.PathLike[str], kind: str, *, overwrite: bool = False,
                 argument: str = "path", text: str | None = None) -> Path:
    """The path to write, or the ``ValueError`` that ``write_output`` would raise (called first,
    before the work of making the text)."""
    out = Path(check_path(argument, path)).expanduser()
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    why = _refusal(out, text, kind, argument)
    if why is not None and not (overwrite and out.is_file() and not out.is_symlink()):
        raise ValueError(why)
    return out


def write_output(path: str | os.PathLike[str], text: str, kind: str, *, overwrite: bool = False,
                 argument: str = "path") -> Path:
    """Write ``text`` to ``path`` atomically (a temporary file in the same folder, then a rename).

    ``kind``: one of KINDS, what the file is. Raises ``ValueError`` naming ``argument`` when
    ``path`` is a store, a file of another kind (unless ``overwrite``), or not a regular file.
    """
    out = check_output(path, kind, overwrite=overwrite, argument=argument, text=text)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{argument}: cannot create the folder {out.parent}: {exc.strerror or exc}") from None
    tmp = out.parent / f".{out.name}.{os.urandom(6).hex()}.tmp"
    try:
        # O_EXCL and mode 0o666: the kernel applies the umask, as it does for any new file
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            # a name that is not valid Unicode (lone surrogates) is written as its \udcxx escape
            f.write(text.encode("utf-8", "backslashreplace"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ValueError(f"{argument}: cannot write {out}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
