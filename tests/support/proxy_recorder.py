"""A real HTTP proxy on loopback that refuses everyone (407) and keeps what it was sent."""

from __future__ import annotations

import base64
import socket
import threading


class ProxyRecorder:
    """A real HTTP proxy that refuses everyone (407) and keeps each request it was sent."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.lock = threading.Lock()

    def __call__(self, conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                break
            head += chunk
        with self.lock:
            self.requests.append(head)
        conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")

    def signed_in_as(self, user: str, password: str) -> bool:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        with self.lock:
            return bool(self.requests) and all(
                f"Proxy-Authorization: Basic {token}".encode() in r for r in self.requests
            )
