"""The no-network guard of frugal's tests, shared by the test process and every Python it starts.

An audit hook (PEP 578) refuses, and reports, any attempt to connect, send to, or resolve an
address that is not loopback. Standard library only, imported at the start of each child
Python (see ``sitecustomize.py`` beside this file), so it must stay small and import nothing
heavy: ``socket`` and ``ipaddress`` are loaded only when a socket event is seen.
"""
from __future__ import annotations

import os
import sys
from typing import Callable

LOG_VARIABLE = "TESTS_NETWORK_GUARD_LOG"   # where child processes report attempts (not FRUGAL_*:
                                            # several tests drop those from a child's environment)
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "", None}
_ADDRESS_EVENTS = ("socket.connect", "socket.sendto", "socket.sendmsg")
_NAME_EVENTS = ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr")


def is_loopback(host: object) -> bool:
    """True for loopback addresses, local names and this machine's own name."""
    import ipaddress
    import socket

    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if host in _LOCAL_NAMES or host == socket.gethostname():
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def install(record: Callable[[str], None]) -> None:
    """Add the audit hook to this process; ``record`` receives one line per refused attempt."""
    def guard(event: str, args: tuple) -> None:
        if event in _ADDRESS_EVENTS:
            import socket

            sock, address = args[0], args[-1]
            if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
                return
            host = address[0] if isinstance(address, tuple) else address
        elif event in _NAME_EVENTS:
            host = args[0]
        else:
            return
        if not is_loopback(host):
            record(f"{event} {host!r}")
            raise ConnectionRefusedError(f"frugal test guard: {event} to non-loopback {host!r}")

    sys.addaudithook(guard)


def file_recorder(path: str) -> Callable[[str], None]:
    """A ``record`` that appends ``pid=N argv=[...] attempt`` lines to ``path`` (one write each)."""
    def record(line: str) -> None:
        text = f"pid={os.getpid()} argv={sys.argv[:3]!r} {line}\n".encode(errors="replace")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, text)
        finally:
            os.close(fd)

    return record
