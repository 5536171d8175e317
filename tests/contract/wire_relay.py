"""A byte-for-byte TCP relay in front of the gateway that logs each HTTP request clawsched sends.

Run as ``python wire_relay.py LISTEN_PORT UPSTREAM_PORT LOG``. Bytes pass unchanged both ways, so a
gateway that dies mid-answer looks to clawsched exactly like a direct connection that broke (the relay
closes its side when the gateway's closes). A gateway that is down is answered ``502 Bad Gateway``, as a
reverse proxy in front of one answers: a closed connection instead would say "the request may have
reached the gateway", which is not what happened, and the request is logged with ``"upstream": "down"``. Each request
on the client side is one JSON line in LOG: ``method``, ``path`` and the ``body`` as text. Only what
clawsched sends goes through here; a turn the gateway resumes by itself after a restart does not.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time

LOCK = threading.Lock()


class RequestLog:
    """Splits a client's byte stream into HTTP requests (Content-Length bodies) and logs each."""

    def __init__(self, path: str, peer: str, upstream: str = "up") -> None:
        self.path, self.peer, self.upstream, self.buffer, self.count = path, peer, upstream, b"", 0

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
            size = int(headers.get("content-length") or 0)
            if len(self.buffer) < end + 4 + size:
                return
            body = self.buffer[end + 4:end + 4 + size]
            self.buffer = self.buffer[end + 4 + size:]
            method, _, rest = head[0].partition(" ")
            self.count += 1
            with LOCK, open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"ts": time.time(), "peer": self.peer, "method": method,
                                    "path": rest.rpartition(" ")[0], "upstream": self.upstream,
                                    "headers": {k: v for k, v in headers.items() if k != "authorization"},
                                    "body": body.decode("utf-8", "replace")}) + "\n")


def pump(src: socket.socket, dst: socket.socket, log: RequestLog | None) -> None:
    try:
        while data := src.recv(65536):
            if log is not None:
                log.feed(data)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


BAD_GATEWAY = (b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n"
               b"Connection: close\r\n\r\ngateway unreachable")


def refuse(client: socket.socket, log: RequestLog) -> None:
    """Read the client's request, log it, answer 502 and close."""
    client.settimeout(10)
    try:
        while not log.count and (data := client.recv(65536)):
            log.feed(data)
        client.sendall(BAD_GATEWAY)
    except OSError:
        pass
    finally:
        client.close()


def serve(client: socket.socket, upstream_port: int, log_path: str) -> None:
    host, port = client.getpeername()[:2]
    try:
        upstream = socket.create_connection(("127.0.0.1", upstream_port), timeout=5)
    except OSError:
        refuse(client, RequestLog(log_path, f"{host}:{port}", upstream="down"))
        return
    upstream.settimeout(None)
    log = RequestLog(log_path, f"{host}:{port}")
    threading.Thread(target=pump, args=(upstream, client, None), daemon=True).start()
    pump(client, upstream, log)


def main() -> None:
    listen_port, upstream_port, log_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    server = socket.create_server(("127.0.0.1", listen_port), reuse_port=False)
    while True:
        client, _ = server.accept()
        threading.Thread(target=serve, args=(client, upstream_port, log_path), daemon=True).start()


if __name__ == "__main__":
    main()
