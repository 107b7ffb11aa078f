"""The guard every test runs under refuses non-loopback traffic before it leaves."""

from __future__ import annotations

import socket

import pytest

from tests.support.network_guard import NonLoopbackConnection


@pytest.mark.parametrize(
    "address",
    [("169.254.169.254", 80), ("10.0.0.1", 80), ("2852039166", 80), ("::ffff:1.1.1.1", 80)],
)
def test_a_connection_off_loopback_is_refused_and_recorded(network_guard, address):
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family) as sock, pytest.raises(NonLoopbackConnection):
        sock.connect(address)
    assert network_guard.attempts[-1] == f"a connection to {address[0]}"
    network_guard.attempts.clear()  # this test meant it; any other test fails on it


def test_a_lookup_of_a_name_is_refused_before_any_query(network_guard):
    with pytest.raises(NonLoopbackConnection):
        socket.getaddrinfo("metadata.google.internal", 80)
    with pytest.raises(NonLoopbackConnection):
        socket.create_connection(("example.com", 80), timeout=1)
    assert network_guard.attempts[-2:] == [
        "a lookup of metadata.google.internal",
        "a lookup of example.com",
    ]
    network_guard.attempts.clear()


def test_loopback_and_reserved_names_pass(network_guard):
    assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo("127.0.0.1", 80)
    with pytest.raises(socket.gaierror):  # never resolvable (RFC 6761): no query is sent
        socket.getaddrinfo("no-such-host.invalid", 80)
    assert network_guard.attempts == []
