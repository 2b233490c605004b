"""A TCP relay on loopback in front of a real server, for tests of what the network does to
a client: it counts connections and requests, and can cut an answer short (the server got the
request and answered, the client gets part of the answer and a closed connection), or close
a connection once so many bytes of answers have passed (a stream cut in the middle)."""

from __future__ import annotations

import socket
import threading

from ports import free_port


class Relay:
    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.port = free_port()
        self.connections = 0
        self.requests: list[bytes] = []  # each request's first line
        self.answers_to_cut = 0
        self.bytes_until_cut: int | None = None  # once: close after this many answer bytes
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._answers, args=(upstream, client), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        with client, upstream:
            while data := _recv(client):
                self.requests.extend(
                    line for line in data.split(b"\r\n") if line.endswith(b" HTTP/1.1")
                )
                upstream.sendall(data)

    def _answers(self, upstream: socket.socket, client: socket.socket) -> None:
        try:
            self._relay_answers(upstream, client)
        except OSError:
            pass  # the client hung up, and the requests' thread closed both sockets

    def _relay_answers(self, upstream: socket.socket, client: socket.socket) -> None:
        with upstream, client:
            while data := _recv(upstream):
                if self.bytes_until_cut is not None:
                    if len(data) >= self.bytes_until_cut:
                        client.sendall(data[: self.bytes_until_cut])
                        self.bytes_until_cut = None
                        client.shutdown(socket.SHUT_RDWR)
                        return
                    self.bytes_until_cut -= len(data)
                if self.answers_to_cut:
                    self.answers_to_cut -= 1
                    client.sendall(_cut(data, upstream))
                    client.shutdown(socket.SHUT_RDWR)
                    return
                client.sendall(data)


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _cut(data: bytes, upstream: socket.socket) -> bytes:
    """The whole head of the answer and all of its body but the last byte."""
    while b"\r\n\r\n" not in data:
        data += upstream.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += upstream.recv(65536)
    return head + b"\r\n\r\n" + body[: length - 1]
