"""The suite's no-network guard really refuses and records non-loopback use."""
from __future__ import annotations

import socket

import pytest


def test_guard_refuses_a_non_loopback_connection(network_attempts):
    """Connecting to a public address is refused by the guard, and loopback is allowed."""
    before = len(network_attempts)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(ConnectionRefusedError, match="frugal test guard"):
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed
    finally:
        s.close()
    assert len(network_attempts) == before + 1
    network_attempts.pop()  # the attempt was this test's own: not a failure of the suite
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())
    client.close()
    server.close()
