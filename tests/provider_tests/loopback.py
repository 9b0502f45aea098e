"""A real HTTP server on 127.0.0.1 (free port) that speaks provider APIs and misbehaves on cue.

`server.script` is a list of behaviours consumed one per request; when it is empty the
server answers normally through `server.answer(path, body) -> (status, headers, bytes)`.
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Behaviour:
    """One scripted misbehaviour."""

    kind: str
    """`status`, `drip`, `truncate`, `gzip_bomb`, `html`, `raw` or `huge_length`."""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    every: float = 0.5
    """For `drip`: seconds between bytes."""


def _bomb(size: int = 200 * 1024 * 1024) -> bytes:
    """Gzip bytes that expand to `size` zeros (about 200 KB on the wire)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + compressor.flush()


class LoopbackServer:
    """Start with `with LoopbackServer(answer) as server:`; `server.url` is its base URL."""

    def __init__(self, answer: Callable[[str, dict[str, Any]], Answer]) -> None:
        self.answer = answer
        self.script: list[Behaviour] = []
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                self._handle()

            def do_GET(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                with server._lock:
                    server.requests.append((self.path, dict(self.headers), body))
                    behaviour = server.script.pop(0) if server.script else None
                if behaviour is None:
                    status, headers, data = server.answer(self.path, body)
                    self._send(status, headers, data)
                else:
                    self._misbehave(behaviour)

            def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                headers = {"content-type": "application/json", **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _misbehave(self, b: Behaviour) -> None:
                if b.kind in ("status", "html", "raw"):
                    kind = "text/html" if b.kind == "html" else "application/json"
                    self._send(b.status, {"content-type": kind, **b.headers}, b.body)
                elif b.kind == "drip":
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", "1000")
                    self.end_headers()
                    try:
                        for _ in range(1000):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(b.every)
                    except (BrokenPipeError, ConnectionResetError):
                        return
                elif b.kind == "truncate":
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(b.body) + 500))
                    self.end_headers()
                    self.wfile.write(b.body)
                    self.wfile.flush()
                    self.close_connection = True
                elif b.kind == "gzip_bomb":
                    data = _bomb()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-encoding", "gzip")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                elif b.kind == "huge_length":
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(10**10))
                    self.end_headers()
                    self.close_connection = True

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # clients hang up on purpose in these tests (deadlines, caps)

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def json_answer(payload: Any, status: int = 200) -> Answer:
    """A JSON body with a status."""
    return status, {}, json.dumps(payload).encode()
