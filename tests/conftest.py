"""Suite-wide fixtures: pytester for the plugin tests, and the no-network guard.

The guard is an audit hook (PEP 578, ``tests/_netguard/frugal_netguard.py``) installed before
any test runs: any attempt to connect, send to, or resolve an address that is not loopback
raises and is recorded, and the session fails if one happened, even where the code under
test swallowed the exception. Every Python process the tests start gets the same guard:
``tests/_netguard`` goes first on ``PYTHONPATH``, its ``sitecustomize`` installs the hook at
start-up and reports attempts to a file that the session reads at its end (subprocesses,
multiprocessing and Dask workers, Jupyter kernels, the ``frugal`` command). A child started
with ``-S``, ``-E`` or ``-I``, or with an environment built from nothing, escapes it; Chromium
is not Python: the browser test records every request of the page instead.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

_GUARD_DIR = Path(__file__).parent / "_netguard"
sys.path.insert(0, str(_GUARD_DIR))
import frugal_netguard  # noqa: E402

sys.path.remove(str(_GUARD_DIR))

_ATTEMPTS: list[str] = []
_CHILD_LOG_DIR = tempfile.mkdtemp(prefix="frugal-netguard-")
CHILD_LOG = os.path.join(_CHILD_LOG_DIR, "attempts.log")

frugal_netguard.install(_ATTEMPTS.append)
os.environ[frugal_netguard.LOG_VARIABLE] = CHILD_LOG

# A run's commit and branch come from these before git: the suite, run in CI, must see git's
# answer unless a test sets one of them itself.
from frugal.store.run_info import BRANCH_VARIABLES, COMMIT_VARIABLES  # noqa: E402

for _variable in COMMIT_VARIABLES + BRANCH_VARIABLES:
    os.environ.pop(_variable, None)

os.environ["PYTHONPATH"] = os.pathsep.join([str(_GUARD_DIR)] + [p for p in [os.environ.get("PYTHONPATH")] if p])


def child_attempts() -> list[str]:
    """The attempts reported by child processes so far."""
    try:
        with open(CHILD_LOG, encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def pytest_sessionfinish(session, exitstatus):
    attempts = sorted(set(_ATTEMPTS)) + [f"(child) {line}" for line in child_attempts()]
    shutil.rmtree(_CHILD_LOG_DIR, ignore_errors=True)
    if attempts:
        session.exitstatus = 1
        sys.stderr.write("\nNETWORK GUARD: non-loopback network use during the tests:\n  "
                         + "\n  ".join(attempts) + "\n")


@pytest.fixture
def fresh_log():
    """An empty log and no store before the test, and again after it (a store that fails to
    take the last rows at that point is not the test's subject: its warning is ignored)."""
    import warnings

    import frugal
    from frugal import store

    frugal.clear()
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store.set_default_store(None)
    frugal.clear()


@pytest.fixture
def network_attempts() -> list[str]:
    """The non-loopback attempts recorded so far in this process (for tests of the guard itself)."""
    return _ATTEMPTS


@pytest.fixture
def child_network_log() -> Path:
    """The file where child processes report non-loopback attempts (for tests of the guard itself)."""
    return Path(CHILD_LOG)
