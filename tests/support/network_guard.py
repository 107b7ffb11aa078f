"""The suite's promise to the world: nothing in the test process reaches a non-loopback
address. Every connection and name lookup of Python's `socket` module goes through
the guard, which refuses (before anything leaves the machine) a connection to an
address that is not loopback, a lookup of any name but a loopback one and a reverse
lookup of anything but a loopback address, and records it so that the test fails.

Names under the reserved `.invalid` and `.test` domains never resolve anywhere
(RFC 6761): they fail at once as a resolver would say, without asking one, so
"host not found" is tested without a DNS query leaving the machine. Numeric hosts
(`127.0.0.1`, `2852039166`) are parsed locally and the connection decides.

The emulators, fake-gcs-server and Chromium are processes of their own (and gRPC
has its own sockets): they are started on loopback by the tests and not guarded here.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Any

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
NEVER_RESOLVED = (".invalid", ".test")


class NonLoopbackConnection(OSError):
    """What the guard raises instead of letting a packet out."""


def _is_local_address(host: str) -> bool | None:
    """True/False for a numeric host (loopback or unspecified, which Linux routes to
    this machine); None when `host` is a name."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        try:
            address = ipaddress.ip_address(socket.inet_aton(host))  # 2852039166, 0x7f.1
        except OSError:
            return None
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    return address.is_loopback or address.is_unspecified


class NetworkGuard:
    """Patches `socket`; `attempts` lists what was refused."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._lock = threading.Lock()
        self._originals: dict[str, Any] = {}

    def _refuse(self, what: str) -> NonLoopbackConnection:
        with self._lock:
            self.attempts.append(what)
        return NonLoopbackConnection(f"network guard: refused {what} (tests stay on loopback)")

    def _check_address(self, address: Any) -> None:
        if not isinstance(address, tuple):
            return  # AF_UNIX paths and the like
        host = str(address[0])
        if _is_local_address(host) is not True:
            raise self._refuse(f"a connection to {host}")

    def install(self) -> None:
        guard = self
        original_connect = socket.socket.connect
        original_connect_ex = socket.socket.connect_ex
        original_getaddrinfo = socket.getaddrinfo
        original_gethostbyname = socket.gethostbyname
        original_gethostbyname_ex = socket.gethostbyname_ex
        original_gethostbyaddr = socket.gethostbyaddr
        original_getnameinfo = socket.getnameinfo
        self._originals = {
            "connect": original_connect,
            "connect_ex": original_connect_ex,
            "getaddrinfo": original_getaddrinfo,
            "gethostbyname": original_gethostbyname,
            "gethostbyname_ex": original_gethostbyname_ex,
            "gethostbyaddr": original_gethostbyaddr,
            "getnameinfo": original_getnameinfo,
        }

        def connect(sock: socket.socket, address: Any) -> None:
            guard._check_address(address)
            return original_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            guard._check_address(address)
            return original_connect_ex(sock, address)

        def check_name(host: Any) -> None:
            if host is None:
                return
            name = host.decode() if isinstance(host, bytes) else str(host)
            if not name or name.lower().rstrip(".") in LOOPBACK_NAMES:
                return
            if _is_local_address(name) is not None:
                return  # a number: resolved locally; the connection is checked
            if name.lower().rstrip(".").endswith(NEVER_RESOLVED):
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            raise guard._refuse(f"a lookup of {name}")

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            check_name(host)
            return original_getaddrinfo(host, *args, **kwargs)

        def gethostbyname(host: str) -> str:
            check_name(host)
            return original_gethostbyname(host)

        def gethostbyname_ex(host: str) -> Any:
            check_name(host)
            return original_gethostbyname_ex(host)

        def check_reverse(host: str) -> None:
            # a reverse lookup (socket.getfqdn, smtplib's EHLO) may ask DNS: only a
            # loopback address or name, which /etc/hosts answers, is let through
            name = str(host)
            if name.lower().rstrip(".") in LOOPBACK_NAMES or _is_local_address(name) is True:
                return
            raise guard._refuse(f"a reverse lookup of {name}")

        def gethostbyaddr(host: str) -> Any:
            check_reverse(host)
            return original_gethostbyaddr(host)

        def getnameinfo(address: Any, flags: int) -> Any:
            if isinstance(address, tuple) and not flags & socket.NI_NUMERICHOST:
                check_reverse(str(address[0]))
            return original_getnameinfo(address, flags)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo
        socket.gethostbyname = gethostbyname
        socket.gethostbyname_ex = gethostbyname_ex
        socket.gethostbyaddr = gethostbyaddr
        socket.getnameinfo = getnameinfo

    def uninstall(self) -> None:
        if not self._originals:
            return
        socket.socket.connect = self._originals["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = self._originals["connect_ex"]  # type: ignore[method-assign]
        socket.getaddrinfo = self._originals["getaddrinfo"]
        socket.gethostbyname = self._originals["gethostbyname"]
        socket.gethostbyname_ex = self._originals["gethostbyname_ex"]
        socket.gethostbyaddr = self._originals["gethostbyaddr"]
        socket.getnameinfo = self._originals["getnameinfo"]
        self._originals = {}
