"""Forwarding with either HTTP client: libcurl's (keeps connections open) and tornado's own (the fallback)."""

from __future__ import annotations

import asyncio
import json

import pytest
from support.gateway_kit import ACCOUNT_KEY, body

from dataoorts_magic.gateway.upstream import Upstream
from dataoorts_magic.secret import Secret


@pytest.mark.parametrize("keep_alive", [True, False], ids=["curl", "tornado"])
def test_both_clients_forward_whole_answers_and_streams_and_scrub_the_key(upstream, keep_alive):
    upstream.enqueue({"body": f"echo {ACCOUNT_KEY}", "status": 500})

    async def run():
        client = Upstream(upstream.url, Secret(ACCOUNT_KEY), keep_alive=keep_alive)
        chunks, starts = [], []

        def started(*head):
            starts.append(head)

        try:
            echoed = await client.send(b"{}", starts.append, chunks.append)
            whole = await client.send(json.dumps(body()).encode(), starts.append, chunks.append)
            streamed = await client.send(
                json.dumps(body(stream=True)).encode(), lambda *a: starts.append(a), chunks.append
            )
        finally:
            client.close()
        return echoed, whole, streamed, chunks, starts

    echoed, whole, streamed, chunks, starts = asyncio.run(run())
    assert echoed.status == 500 and ACCOUNT_KEY not in echoed.body.decode() and b"[redacted]" in echoed.body
    assert whole.status == 200 and not whole.streamed and json.loads(whole.body)["success"] is True
    assert streamed.streamed and streamed.body == b"" and len(starts) == 1
    assert b"".join(chunks).rstrip().endswith(b"data: [DONE]")
