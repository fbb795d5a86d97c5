"""The offline endpoint's HTTP layer: bytes in and out, keep-alive, a thread per connection.

``Handler`` passes every request to its server's ``owner`` (``server.OfflineServer``), which
decides the ``Reply``; ``send_reply`` writes it as JSON with a Content-Length (so HTTP/1.1
keep-alive works) or as a chunked event stream, or cuts it short to simulate a dropped
connection. Standard library only.
"""

from __future__ import annotations

import socket
import socketserver
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .protocol import Reply

MAX_BODY_BYTES = 32 * 1024 * 1024


def send_reply(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    """Write ``reply``; a dropped reply sends headers and part of the body, then closes the socket."""
    handler.send_response(reply.status)
    for name, value in reply.headers.items():
        handler.send_header(name, str(value))
    if reply.events is not None:
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        events = reply.events[: max(1, len(reply.events) // 2)] if reply.drop else reply.events
        for event in events:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        if not reply.drop:
            handler.wfile.write(b"0\r\n\r\n")
    else:
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(reply.body[: len(reply.body) // 2] if reply.drop else reply.body)
    if reply.drop:
        handler.close_connection = True


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body (Content-Length or chunked); ``ValueError`` when it cannot be read."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        body = bytearray()
        while size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16):
            body += handler.rfile.read(size)
            handler.rfile.readline()
            if len(body) > MAX_BODY_BYTES:
                raise OverflowError
        while handler.rfile.readline().strip():
            pass
        return bytes(body)
    length = int(handler.headers.get("Content-Length") or 0)
    if length < 0:
        raise ValueError("negative Content-Length")
    if length > MAX_BODY_BYTES:
        raise OverflowError
    return handler.rfile.read(length)


class Handler(BaseHTTPRequestHandler):
    """Hands every request, whatever its method, to the server's ``owner`` (an ``OfflineServer``)."""

    protocol_version = "HTTP/1.1"  # keep-alive, so a client's pool reuses connections
    server_version = "dataoorts-magic-offline"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    timeout = 120  # idle keep-alive connections are closed after this

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # quiet by default; serve() prints its own line per request

    def _dispatch(self):
        self.server.owner._handle(self)

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class HTTPServer(ThreadingHTTPServer):
    """A thread per connection; ``owner`` is set by whoever creates it."""

    daemon_threads = True
    request_queue_size = 128  # room for many concurrent clients connecting at once

    def server_bind(self):
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on a machine without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):  # a client that hangs up is not news
            super().handle_error(request, client_address)


class HTTPServer6(HTTPServer):
    address_family = socket.AF_INET6
