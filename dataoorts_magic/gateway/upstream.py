"""Forwarding one request to the provider (or the offline endpoint) with the account key.

The key is a :class:`~dataoorts_magic.secret.Secret`: it is revealed only into the upstream
request's ``Authorization`` header, and removed from whatever text comes back before a student
could see it. A stream (``text/event-stream`` with status 200) is handed on chunk by chunk as it
arrives; any other answer is read whole (up to ``MAX_ANSWER_BYTES``) so the gateway can read its
usage and decide on a retry. Failing to reach the provider is a 502 in the provider's envelope.
"""

from __future__ import annotations

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httputil import HTTPHeaders

from ..offline.protocol import Reply
from ..secret import Secret
from .wire import refusal

MAX_ANSWER_BYTES = 16 * 1024 * 1024  # far past an 8,000-token answer; a bigger one is not relayed
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 300.0
REDACTED = b"[redacted]"


def keep_alive_client(max_clients: int, keep_alive: bool = True) -> AsyncHTTPClient:
    """libcurl's client when pycurl is installed (it keeps connections, and TLS sessions, open between
    requests: a new TLS handshake to the provider per request would cost more than the gateway itself);
    else tornado's own, which opens a connection per request."""
    try:
        if not keep_alive:
            raise ImportError("tornado's own client asked for")
        import pycurl  # noqa: F401
        from tornado.curl_httpclient import CurlAsyncHTTPClient
    except ImportError:
        return AsyncHTTPClient(force_instance=True, max_clients=max_clients)
    return CurlAsyncHTTPClient(force_instance=True, max_clients=max_clients)


class Answer:
    """What the provider sent: status, headers, and the whole body unless it was streamed on."""

    def __init__(self, status: int, headers: HTTPHeaders, body: bytes, streamed: bool):
        self.status, self.headers, self.body, self.streamed = status, headers, body, streamed


class Upstream:
    """The provider at ``url``, called with ``key``; ``max_clients`` requests in flight at most."""

    def __init__(self, url: str, key: Secret, max_clients: int = 256, keep_alive: bool = True):
        self.url, self._key = url, key
        self._client = keep_alive_client(max_clients, keep_alive)

    def scrub(self, data: bytes) -> bytes:
        """``data`` with the account key removed (a provider that echoes headers must not leak it)."""
        secret = self._key.reveal().encode()
        return data.replace(secret, REDACTED) if secret and secret in data else data

    async def send(self, raw: bytes, on_stream_start, on_chunk) -> Answer | Reply:
        """POST ``raw``; a stream calls ``on_stream_start(status, headers)`` then ``on_chunk(bytes)``.

        Returns the :class:`Answer`, or a failure :class:`Reply` when the provider was not reached.
        """
        head: dict = {"status": 0, "headers": HTTPHeaders(), "stream": False, "done": False}
        kept: list[bytes] = []
        size = [0]

        def end_of_head(status: int, headers) -> None:
            """Headers complete: a stream starts now, with any body that arrived before we knew."""
            if head["done"]:
                return
            head["done"] = True
            kind = headers.get("Content-Type", "").lower()
            head["stream"] = status == 200 and kind.startswith("text/event-stream")
            if head["stream"]:
                on_stream_start(status, headers)
                early, kept[:] = b"".join(kept), []
                if early:
                    on_chunk(self.scrub(early))

        def header_line(line: str) -> None:
            if line.startswith("HTTP/"):
                head["status"], head["headers"] = int(line.split(" ", 2)[1]), HTTPHeaders()
            elif line.strip():
                head["headers"].parse_line(line)
            elif head["status"] != 100:  # the end of the real headers
                end_of_head(head["status"], head["headers"])

        def body_chunk(chunk: bytes) -> None:
            # libcurl's client may hand over the body before the header lines (both are queued on
            # the loop, and a finished transfer flushes its body at once): keep it until the head is read.
            if head["stream"]:
                on_chunk(self.scrub(chunk))
            elif size[0] + len(chunk) <= MAX_ANSWER_BYTES:
                kept.append(chunk)
                size[0] += len(chunk)

        request = HTTPRequest(
            self.url,
            method="POST",
            body=raw,
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
                "Authorization": "Bearer " + self._key.reveal(),
            },
            connect_timeout=CONNECT_TIMEOUT_S,
            request_timeout=READ_TIMEOUT_S,
            header_callback=header_line,
            streaming_callback=body_chunk,
            decompress_response=True,
        )
        try:
            response = await self._client.fetch(request, raise_error=False)
        except Exception as exc:  # noqa: BLE001 - any failure to reach it is the same to a student
            what = type(exc).__name__
            return refusal(502, 3043, f"The gateway could not reach the provider ({what}): tell your teacher")
        if response.code == 599 and not head["status"]:
            return refusal(502, 3043, "The gateway could not reach the provider: tell your teacher")
        end_of_head(response.code, response.headers)  # when the header lines are still queued
        body = self.scrub(b"".join(kept))
        return Answer(response.code, response.headers, body, head["stream"])

    def close(self) -> None:
        self._client.close()
