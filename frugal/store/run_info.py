"""Metadata of a run for the store: host, CPU, Python, frugal version, git commit and branch,
and the methodology settings in force as JSON."""
from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
import uuid
from typing import Any

from frugal._version import __version__
from frugal.energy.environment import environment
from frugal.machine.hardware import brand_string


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=2,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    value = out.stdout.strip()
    return value if out.returncode == 0 and value else None


def git_info() -> tuple[str | None, str | None]:
    """(commit, branch) of the repository around the working directory, or (None, None).

    A detached checkout (as CI makes) takes its branch from the CI's variables when set.
    """
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    branch = _git("rev-parse", "--abbrev-ref", "HEAD")
    if branch in (None, "HEAD"):
        branch = (os.environ.get("GITHUB_HEAD_REF") or os.environ.get("GITHUB_REF_NAME")
                  or os.environ.get("CI_COMMIT_REF_NAME") or None)
    return commit, branch


def new_run(program: str | None = None, *, git: tuple[str | None, str | None] | None = None) -> dict[str, Any]:
    """Metadata of a new run of this process: host, CPU, Python, frugal, git, start time."""
    commit, branch = git_info() if git is None else git
    return {
        "run_id": uuid.uuid4().hex,
        "started_at": time.time_ns(),
        "host": socket.gethostname(),
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
