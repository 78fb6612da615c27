"""Metadata of a run for the store: host, CPU, Python, frugal version, git commit and branch,
and the methodology settings in force as JSON."""
from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
import warnings

from frugal._version import __version__
from frugal.energy.environment import environment
from frugal.machine.hardware import brand_string

TYPE_CHECKING = False   # typing is not imported at run time (start-up of ``frugal run``)
if TYPE_CHECKING:
    from typing import Any


def new_run_id() -> str:
    """A random UUID (version 4) as 32 hex digits: ``uuid.uuid4().hex``, without importing uuid
    (1 ms of every ``frugal run``)."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40     # version 4
    b[8] = (b[8] & 0x3F) | 0x80     # the RFC 4122 variant
    return b.hex()


def _hostname() -> str:
    """``socket.gethostname()`` (the node name uname gives, on POSIX) without importing socket (4 ms)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=2,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    value = out.stdout.strip()
    return value if out.returncode == 0 and value else None


# Where a run's commit and branch are given, in order of precedence (git itself comes last):
# frugal's own variables, then GitHub Actions' (the branch of a pull request is GITHUB_HEAD_REF,
# empty on other events, hence before GITHUB_REF_NAME), then GitLab CI's.
COMMIT_VARIABLES = ("FRUGAL_GIT_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA")
BRANCH_VARIABLES = ("FRUGAL_GIT_BRANCH", "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME")
_COMMIT = re.compile(r"[0-9a-fA-F]{4,64}")     # an abbreviated or full SHA-1 or SHA-256 object name


def _given_commit() -> str | None:
    """The first plausible commit among ``COMMIT_VARIABLES`` (lower case), else None; a value
    that is not 4 to 64 hex digits is refused with a warning naming its variable."""
    for variable in COMMIT_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if not value:
            continue
        if _COMMIT.fullmatch(value):
            return value.lower()
        warnings.warn(f"frugal: {variable}={value[:80]!r} is not a git commit (4 to 64 hex digits); "
                      "it was ignored", stacklevel=3)
    return None


def git_info() -> tuple[str | None, str | None]:
    """(commit, branch) of this run, each None when unknown.

    The commit is taken, first found first: from ``FRUGAL_GIT_COMMIT``; from the CI's own
    variables, ``GITHUB_SHA`` (GitHub Actions; for a pull request, the commit GitHub made by
    merging it, the one ``actions/checkout`` checks out) then ``CI_COMMIT_SHA`` (GitLab CI);
    else from ``git rev-parse HEAD`` in the working directory. A variable's value that is not
    a plausible commit (4 to 64 hex digits) is refused with a warning naming the variable,
    and the next source is used. The branch likewise: ``FRUGAL_GIT_BRANCH``, then
    ``GITHUB_HEAD_REF`` (a pull request's branch), ``GITHUB_REF_NAME``, ``CI_COMMIT_REF_NAME``,
    else git's current branch (none on a detached checkout). So a run measured from an
    installed wheel, outside any repository, or in a shallow CI checkout still has its commit.
    """
    commit = _given_commit()
    branch = next((v for v in (os.environ.get(b, "").strip() for b in BRANCH_VARIABLES) if v), None)
    if commit is None and branch is None:
        # both from one git (each launch of git is a few ms of ``frugal run``'s start-up): the
        # commit, then the branch, on two lines; it fails for both at once (no repository, no commit yet)
        both = (_git("rev-parse", "HEAD", "--abbrev-ref", "HEAD") or "").splitlines()
        commit, branch = (both[0], _branch(both[1])) if len(both) == 2 else (None, None)
    elif commit is None:
        commit = _git("rev-parse", "HEAD")
    elif branch is None:
        branch = _branch(_git("rev-parse", "--abbrev-ref", "HEAD"))     # None outside a repository
    return commit, branch


def _branch(abbrev_ref: str | None) -> str | None:
    return None if abbrev_ref == "HEAD" else abbrev_ref         # a detached checkout has none


def new_run(program: str | None = None, *, git: tuple[str | None, str | None] | None = None) -> dict[str, Any]:
    """Metadata of a new run of this process: host, CPU, Python, frugal, git, start time."""
    commit, branch = git_info() if git is None else git
    return {
        "run_id": new_run_id(),
        "started_at": time.time_ns(),
        "host": _hostname(),
        "pid": os.getpid(),
        "program": program if program is not None else os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else None,
        "platform": platform.platform(),
        "cpu": brand_string() or None,
        "logical_cpus": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "frugal_version": __version__,
        "git_commit": commit,
        "git_branch": branch,
        "settings": None,
    }


def settings_json() -> str:
    """The methodology in force (``frugal.environment()``) as JSON."""
    try:
        env = environment().to_dict()
    except Exception as exc:  # the run is still worth storing without its settings
        return json.dumps({"error": f"environment() failed: {type(exc).__name__}: {exc}"})
    return json.dumps(env, default=str, sort_keys=True)
