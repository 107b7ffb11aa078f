"""Readiness checks of the local stack's parts."""

from __future__ import annotations

import socket
import threading

from tally.local.supervisor import http_answers


def test_a_server_answering_garbage_is_not_ready_and_does_not_stop_the_stack():
    """An emulator still starting may accept a connection and echo the request line."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def echo_once() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(1024)
            connection.sendall(b"GET / HTTP/1.1\r\n\r\n")

    thread = threading.Thread(target=echo_once, daemon=True)
    thread.start()
    try:
        assert http_answers(f"http://127.0.0.1:{port}/")() is False
    finally:
        thread.join(5)
        listener.close()
    assert http_answers(f"http://127.0.0.1:{port}/")() is False  # nothing listening now
