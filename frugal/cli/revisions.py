"""Revisions of ``frugal compare --rev``: each resolved to its full commit and checked out in a
temporary ``git worktree``, set up once, and removed afterwards whatever happens (Ctrl-C too)."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from frugal.cli.common import UserError
from frugal.store.run_info import BRANCH_VARIABLES


@dataclass(frozen=True)
class Revision:
    """A revision as given (``ref``), its full commit and, while checked out, its worktree."""

    ref: str
    commit: str
    path: Path


def _git(cwd: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    # not frugal.history.commits._git: the caller needs git's own message, and a checkout
    # of a large repository takes longer than that helper's 2 s timeout
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def top_level(cwd: Path | None = None) -> Path:
    """The root of the git repository around ``cwd`` (default: the working directory);
    ``UserError`` outside any repository or without git."""
    try:
        out = _git(cwd, "rev-parse", "--show-toplevel")
    except OSError as exc:
        raise UserError(f"--rev needs git, which cannot be run: {exc}") from None
    if out.returncode != 0:
        raise UserError(f"--rev needs a git repository, and {Path(cwd or os.getcwd())} is not in one")
    return Path(out.stdout.strip())


def resolve_revisions(refs: Sequence[str], repo: Path) -> list[str]:
    """The full commit of each of ``refs`` (``git rev-parse REF^{commit}``), in order.
    ``UserError`` for fewer than two, an unknown revision, or two naming the same commit."""
    if len(refs) < 2:
        raise UserError(f"--rev must be given at least twice (a base and a head), got {len(refs)}")
    commits: list[str] = []
    for ref in refs:
        if not ref or ref.startswith("-"):
            raise UserError(f"--rev {ref!r} is not a revision")
        out = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        if out.returncode != 0 or not out.stdout.strip():
            raise UserError(f"--rev {ref!r} is not a commit of the repository {repo}")
        commit = out.stdout.strip()
        if commit in commits:
            other = refs[commits.index(commit)]
            raise UserError(f"--rev {other!r} and --rev {ref!r} are the same commit {commit[:12]}: nothing to compare")
        commits.append(commit)
    return commits


def _setup(command: str, where: Path) -> None:
    """Run ``command`` by the shell in ``where``; ``UserError`` with its stderr's end when it fails."""
    out = subprocess.run(command, shell=True, cwd=where, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, errors="replace")
    if out.returncode != 0:
        tail = " | ".join(out.stderr.strip().splitlines()[-3:])
        raise UserError(f"--setup {command!r} failed in {where} with exit status {out.returncode}"
                        + (f": {tail}" if tail else ""))


@contextlib.contextmanager
def checked_out(refs: Sequence[str], setup: str | None = None) -> Iterator[list[Revision]]:
    """Check each of ``refs`` out, detached, in a temporary worktree of the repository around
    the working directory, run ``setup`` (a shell command) once in each, and yield them.
    Every worktree is removed (``git worktree remove --force``) when the block ends, by an
    error or Ctrl-C too; revisions are resolved before anything is checked out."""
    repo = top_level()
    commits = resolve_revisions(refs, repo)
    root = Path(tempfile.mkdtemp(prefix="frugal-rev-"))
    made: list[Path] = []
    try:
        revisions = []
        for i, (ref, commit) in enumerate(zip(refs, commits)):
            path = root / str(i)
            made.append(path)
            out = _git(repo, "worktree", "add", "--detach", str(path), commit)
            if out.returncode != 0:
                raise UserError(f"cannot check --rev {ref!r} out: {out.stderr.strip()}")
            revisions.append(Revision(ref, commit, path))
        if setup:
            for rev in revisions:
                _setup(setup, rev.path)
        yield revisions
    finally:
        for path in made:
            out = _git(repo, "worktree", "remove", "--force", str(path))
            if out.returncode != 0 and path.exists():
                print(f"frugal compare: could not remove the worktree {path}: {out.stderr.strip()}", file=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)   # what git left (a checkout that failed half-way)
        _git(repo, "worktree", "prune")


@contextlib.contextmanager
def inside(rev: Revision | None, warmup: bool = False) -> Iterator[None]:
    """Within the block, a command of ``frugal compare`` runs as measured: for a revision
    ``rev``, as if at that commit: the working directory is its worktree, ``FRUGAL_GIT_COMMIT``
    is its commit and the branch variables (``FRUGAL_GIT_BRANCH``, ``GITHUB_HEAD_REF``...) are
    unset, as for any detached checkout, so that a frugal inside the command (``pytest
    --frugal``, a script with ``FRUGAL_STORE``) files its rows under the revision, not under
    the CI's ``GITHUB_SHA``. For a ``warmup`` run, ``FRUGAL_STORE`` is unset too: a warm-up's
    own measurements are not kept, as compare keeps none of it."""
    names = ("FRUGAL_GIT_COMMIT", *BRANCH_VARIABLES) if rev is not None else ()
    saved = {k: os.environ.get(k) for k in (*names, *(("FRUGAL_STORE",) if warmup else ()))}
    before = os.getcwd()
    for k in saved:
        os.environ.pop(k, None)
    if rev is not None:
        os.environ["FRUGAL_GIT_COMMIT"] = rev.commit
        os.chdir(rev.path)
    try:
        yield
    finally:
        os.chdir(before)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
