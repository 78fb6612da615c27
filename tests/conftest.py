"""Suite-wide fixtures: pytester for the plugin tests, and the no-network guard.

The guard is an audit hook (PEP 578) installed before any test runs: any attempt of this
test process to connect, send to, or resolve an address that is not loopback raises and
is recorded, and the session fails if one happened, even where the code under test
swallowed the exception. Subprocesses (Dask workers, Chromium) are checked by their own
tests: Dask binds to 127.0.0.1, and the browser test records every request of the page.
"""
from __future__ import annotations

import ipaddress
import socket
import sys

import pytest

pytest_plugins = ["pytester"]

_ATTEMPTS: list[str] = []
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "", None}


def _is_loopback(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if host in _LOCAL_NAMES or host == socket.gethostname():
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _guard(event: str, args: tuple) -> None:
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[-1]
        if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
            return
        host = address[0] if isinstance(address, tuple) else address
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
        host = args[0]
    else:
        return
    if not _is_loopback(host):
        _ATTEMPTS.append(f"{event} {host!r}")
        raise ConnectionRefusedError(f"frugal test guard: {event} to non-loopback {host!r}")


sys.addaudithook(_guard)


def pytest_sessionfinish(session, exitstatus):
    if _ATTEMPTS:
        session.exitstatus = 1
        sys.stderr.write("\nNETWORK GUARD: non-loopback network use during the tests:\n  "
                         + "\n  ".join(sorted(set(_ATTEMPTS))) + "\n")


@pytest.fixture
def network_attempts() -> list[str]:
    """The non-loopback attempts recorded so far (for tests of the guard itself)."""
    return _ATTEMPTS
