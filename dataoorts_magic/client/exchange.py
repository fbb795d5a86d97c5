"""One HTTP exchange with the endpoint: send, then read the whole answer or its stream, bounded.

:func:`exchange` is what :meth:`.DataoortsClient.exchange_once` calls once per
attempt. It sends the body with the key put in by :class:`_Bearer` (the one place the key is
read), under a :class:`~.deadline.Deadline` of ``timeout`` from sending to the last byte, reads
at most ``max_answer_bytes`` after decoding (:mod:`.answer_body`), and turns what came back into
a :class:`~.envelope.Reply` or one :mod:`errors` kind. Every failure is raised outside the except
block that saw it, so no chained exception keeps the request (whose headers hold the key).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.auth import AuthBase

from ..errors import BadResponseError, ConnectionFailedError, LlamaError, RequestTimeoutError
from ..secret import Secret
from .answer_body import MAX_ANSWER_BYTES, decoded, raw_pieces, read_body
from .deadline import Deadline
from .endpoint_url import is_loopback
from .envelope import Reply, gateway_budget, reply_from, reply_from_stream, short_message, stream_error
from .sse import StreamFormatError, TextStream
from .transport_errors import deadline_error, transport_error, unreadable


class _Bearer(AuthBase):
    """Puts the key in the Authorization header (and keeps a ~/.netrc entry from replacing it).

    The one place the key is read: at the last moment, into the request's headers.
    """

    def __init__(self, key: Secret):
        self._key = key

    def __call__(self, request):
        request.headers["Authorization"] = "Bearer " + self._key.reveal()
        return request

    def __repr__(self):
        return "<Bearer ***>"


def exchange(session, url, body, headers, timeouts, key, on_text, max_answer_bytes=MAX_ANSWER_BYTES) -> Reply:
    """One exchange; a kernel interrupt inside it comes out as a fresh KeyboardInterrupt.

    The interrupt lands in requests' or urllib3's frames, whose locals hold the request's
    headers, key included; a traceback of the original (``%xmode Verbose``) would print them.
    """
    try:
        return _exchange_once(session, url, body, headers, timeouts, key, on_text, max_answer_bytes)
    except KeyboardInterrupt:
        pass
    raise KeyboardInterrupt("the request was interrupted")  # outside the except: no context kept


def _exchange_once(session, url, body, headers, timeouts, key, on_text, max_answer_bytes) -> Reply:
    """One HTTP request and its whole answer, within ``timeouts[1]`` from sending to the last byte.

    The response is closed whatever happens; failures are raised outside the except blocks,
    so no chained exception keeps the request (whose headers hold the key).
    """
    failure = None
    # requests reads the proxy and CA-bundle environment on every call (~0.3 ms). Not cached on
    # purpose: a proxy or REQUESTS_CA_BUNDLE set mid-session (the TLS error's own fix) must apply next call.
    proxies = {"http": None, "https": None, "all": None} if is_loopback(urlsplit(url).hostname) else None
    deadline = Deadline(timeouts[1])
    with deadline.active():
        try:
            response = session.post(
                url,
                data=body,
                headers=headers,
                auth=_Bearer(key),
                timeout=timeouts,
                stream=True,
                allow_redirects=False,
                proxies=proxies,
            )
        except requests.RequestException as exc:
            failure = transport_error(exc, url, key, timeouts[1])
        if failure is not None:
            raise deadline_error(url, deadline) if deadline.finish() else failure
        deadline.watch(response=response.raw)
        try:
            content_type = response.headers.get("Content-Type", "").lower()
            if 200 <= response.status_code < 300 and content_type.startswith("text/event-stream"):
                return _budget_left(_read_events(response, url, key, deadline, on_text, max_answer_bytes), response)
            try:
                content = read_body(response.raw, max_answer_bytes)
            except LlamaError as err:
                failure = err
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                failure = transport_error(exc, url, key, timeouts[1])
            if deadline.finish():
                failure = deadline_error(url, deadline)
        finally:
            deadline.finish()
            response.close()
    if failure is not None:
        raise failure
    try:
        reply = reply_from(response.status_code, response.headers, content, key)
    except LlamaError:
        raise
    except Exception as exc:  # recursion, encoding, huge numbers: any answer we cannot read is one line
        failure = unreadable(exc, response.status_code, key)
    if failure is not None:
        raise failure
    if on_text is not None and reply.text:
        on_text(reply.text)
    return _budget_left(reply, response)


def _budget_left(reply: Reply, response) -> Reply:
    """What a class gateway says is left of the student's budget, for the footer."""
    reply.budget = gateway_budget(response.headers)
    return reply


def _read_events(response, url, key, deadline, on_text, max_answer_bytes) -> Reply:
    """Read a text/event-stream answer, handing each piece to ``on_text`` as it arrives."""
    reader = TextStream()
    failure: LlamaError | None = None
    pieces = decoded(raw_pieces(response.raw), response.headers.get("Content-Encoding"), max_answer_bytes, True)
    try:
        for chunk in pieces:
            for piece in reader.feed(chunk):
                if on_text is not None:
                    on_text(piece)
            if reader.done:
                break
        else:
            for piece in reader.finish():
                if on_text is not None:
                    on_text(piece)
    except StreamFormatError as exc:
        failure = BadResponseError(status=response.status_code, provider_message=short_message(str(exc), key))
    except LlamaError as err:
        failure = err
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        got = len(reader.text)
        failure = transport_error(
            exc, url, key, deadline.seconds, after=f" ({got} characters of the answer had arrived)"
        )
    except Exception as exc:  # an event we cannot read (recursion, huge numbers): one line
        failure = unreadable(exc, response.status_code, key)
    if deadline.finish() and not reader.done:
        failure = deadline_error(url, deadline, after=f" ({len(reader.text)} characters of the answer had arrived)")
    if failure is None and reader.error is not None:
        failure = stream_error(reader.error, response.status_code, key)
    if failure is not None:
        if reader.text:
            failure.partial_text = reader.text
            failure.retryable = False  # text was already shown: retry only before the first piece
            if isinstance(failure, (ConnectionFailedError, RequestTimeoutError)):
                failure.fix = "Run the cell again for the whole answer."
                failure.refresh()
        raise failure
    return reply_from_stream(reader.text, reader.usage, reader.done, response.status_code)
