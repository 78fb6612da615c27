"""Writing an output file: whole or not at all, and never over a file of another kind unasked.

A leaf (standard library and ``frugal.units``): the dashboard and the profiler's outputs
write through it.
"""
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from frugal.units import check_bool, check_path

# what the first bytes of a file frugal wrote look like, per kind
SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "html": lambda head: head.lstrip().lower().startswith(b"<!doctype html"),
    "speedscope": lambda head: head.lstrip().startswith(b"{") and b"speedscope" in head,
    "collapsed": lambda head: b"\x00" not in head and re.match(rb"[^\n]* \d+\n", head) is not None,
}


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8; lone surrogates as their ``\\udcxx`` escape) through a temporary
    file in the same folder, renamed over ``path``: a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def check_output(path: Any, kind: str, force: bool, what: str) -> Path:
    """The path to write an output of ``kind`` to: not a folder, and not an existing file of
    another kind (a store, a script...) unless ``force``; ``what`` names the argument."""
    out = Path(check_path(what, path))
    check_bool("force", force)
    if out.is_dir():
        raise ValueError(f"{what}: {out} is a directory; give a file name")
    if out.exists() and not force and out.stat().st_size > 0:
        with open(out, "rb") as f:
            head = f.read(512)
        if not SIGNATURES[kind](head):
            raise ValueError(f"{what}: {out} exists and is not a {kind} file written by frugal; "
                             "remove it or pass force=True (--force) to overwrite it")
    return out


def write_output(path: Any, text: str, kind: str, force: bool, what: str) -> Path:
    """``check_output``, then ``write_atomic``."""
    return write_atomic(check_output(path, kind, force, what), text)
