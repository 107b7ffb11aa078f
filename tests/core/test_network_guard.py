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


def test_a_reverse_lookup_off_loopback_is_refused(network_guard):
    """socket.getfqdn (smtplib's EHLO, email's Message-ID) asks for the machine's name
    by address: only loopback is answered, from /etc/hosts."""
    with pytest.raises(NonLoopbackConnection):
        socket.gethostbyaddr("192.0.2.7")
    with pytest.raises(NonLoopbackConnection):
        socket.getnameinfo(("198.51.100.3", 25), 0)
    with pytest.raises(NonLoopbackConnection):
        socket.gethostbyname_ex("example.com")
    assert network_guard.attempts[-3:] == [
        "a reverse lookup of 192.0.2.7",
        "a reverse lookup of 198.51.100.3",
        "a lookup of example.com",
    ]
    network_guard.attempts.clear()
    assert socket.getnameinfo(("192.0.2.7", 25), socket.NI_NUMERICHOST)[0] == "192.0.2.7"


def test_a_test_that_reaches_off_loopback_fails(tmp_path):
    """The guard's fixture fails a test that swallowed the refusal: run one in a pytest
    of its own, with this suite's conftest as a plugin."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import contextlib, socket\n"
        "def test_swallows_the_refusal():\n"
        "    with contextlib.suppress(OSError):\n"
        "        socket.create_connection(('192.0.2.1', 80), timeout=1)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(probe)],
        cwd=root, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "non-loopback network access attempted: a connection to 192.0.2.1" in result.stdout
