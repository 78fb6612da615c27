"""Writing an output file (a dashboard, an export): atomically, with the permissions the umask
gives a new file, and never over a frugal store, nor over a file of another kind, unless asked.

A file is "of the kind" when frugal could have written it: an HTML dashboard or flame graph
carries frugal's generator mark; a JSON export parses as JSON; a speedscope profile is JSON
that names speedscope; a collapsed-stacks file is lines of "stack count"; a CSV or Markdown
export starts with the same line as the text about to be written. An empty file holds
nothing to lose and may be replaced. Anything else (a store, notes, a FIFO, a device) is
refused with a ``ValueError`` naming the argument; ``overwrite=True`` (``--force``) replaces
a regular file of any kind, never something that is not a regular file.
"""
from __future__ import annotations

import json
import os
import re
import stat
import uuid
from pathlib import Path

from frugal._store_file import is_store
from frugal.units import check_path

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
    tmp = out.parent / f".{out.name}.{uuid.uuid4().hex[:12]}.tmp"
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
