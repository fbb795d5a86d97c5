"""Soak the HTTP client against the offline endpoint with injected faults, and check its promises.

By default: 1,000 calls (``exchange_once`` in the pipeline's retry loop), 8 at a time, against
``OfflineServer(fail_rate=0.2, fail_kinds=429,503,drop)``, which answers a fifth of the requests
with 429 (Retry-After 1), 503/3040 or a dropped connection. A result is *lost* when a call did not return an answer;
``--max-retries 6`` (the soak's default, above the client's 2) makes a loss a 0.2**7 event, so
any loss points at a bug rather than at bad luck. ``--stream-share`` streams a part of the calls
(a stream that breaks after showing text is not retried, by design, and is counted apart). The client's
retry policy (2 retries, 0.5 s doubling, Retry-After honoured) should turn most of those into answers.
Checked, and a failure of any makes the exit status 1:

- every call ends in a Reply or a ``LlamaError`` (nothing else escapes);
- the key appears in no error's ``str``, ``repr`` or ``args``;
- the requests the server counted equal the client's own count (1 + retries per call);
- no more requests were in flight at once than the concurrency.

Printed: outcomes by kind, the observed rate of calls that failed after all their retries beside
the policy's expectation (fail_rate ** (retries + 1) when every fault kind is retryable; a stream
that breaks after showing text is not retried, by design, and is counted apart), retries, time spent waiting,
latency percentiles and throughput.

Run: python benchmarks/soak.py [--requests 400] [--concurrency 8] [--fail-rate 0.2] [--fault-seed 1]
"""

from __future__ import annotations

import argparse
import collections
import functools
import secrets
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from dataoorts_magic.client.chat_client import DataoortsClient
from dataoorts_magic.client.retry_policy import RetryPolicy
from dataoorts_magic.errors import LlamaError
from dataoorts_magic.offline.server import OfflineServer
from dataoorts_magic.pipeline.rate_limit import RateLimiter
from dataoorts_magic.pipeline.retries import send_with_retries

MODEL = "meta/llama-3.1-8b-instruct"


def one_call(client: DataoortsClient, key: str, i: int, max_retries: int, stream_every: int) -> dict:
    messages = [{"role": "user", "content": f"Soak request {i}: say something short."}]
    pieces: list[str] = []
    stream = stream_every and i % stream_every == 0
    started = time.monotonic()
    try:
        attempt = functools.partial(
            client.exchange_once,
            MODEL,
            messages,
            {"max_tokens": 64, "seed": i + 1},
            api_key=key,
            stream=stream,
            on_text=pieces.append if stream else None,
        )
        reply = send_with_retries(attempt, RateLimiter(), RetryPolicy(max_retries))  # the session's one loop
    except LlamaError as err:
        leaked = any(key in text for text in (str(err), repr(err), *map(str, err.args)))
        # a stream that broke after showing text is not retried, by design: its partial text is kept
        partial = " (stream broke after text)" if err.partial_text else ""
        return {
            "outcome": type(err).__name__ + partial,
            "retries": err.retries,
            "waited": None,
            "leak": leaked,
            "elapsed": time.monotonic() - started,
            "line": str(err),
        }
    except BaseException as exc:  # the promise is that nothing but LlamaError escapes
        return {
            "outcome": f"CRASH {type(exc).__name__}",
            "retries": 0,
            "waited": None,
            "leak": False,
            "elapsed": time.monotonic() - started,
            "line": repr(exc)[:200],
        }
    ok = bool(reply.text) and (not stream or "".join(pieces) == reply.text)
    return {
        "outcome": "ok" if ok else "ok-but-inconsistent",
        "retries": reply.retries,
        "waited": reply.waited,
        "leak": False,
        "elapsed": reply.elapsed,
        "line": "",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--fail-rate", type=float, default=0.2)
    parser.add_argument("--fault-seed", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the server waits before each answer")
    parser.add_argument("--max-retries", type=int, default=6)
    parser.add_argument("--fail-kinds", default="429,503,drop")
    parser.add_argument("--stream-share", type=float, default=0.0, help="share of calls streamed, 0 to 1")
    args = parser.parse_args(argv)

    key = "sk-soak-" + secrets.token_hex(12)
    stream_every = round(1 / args.stream_share) if args.stream_share > 0 else 0
    with (
        OfflineServer(
            api_key=key,
            fail_rate=args.fail_rate,
            fault_seed=args.fault_seed,
            latency=args.latency,
            fail_kinds=args.fail_kinds.split(","),
        ) as server,
        DataoortsClient(server.url, pool_maxsize=args.concurrency, timeout=30) as client,
    ):
        started = time.monotonic()
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(
                pool.map(lambda i: one_call(client, key, i, args.max_retries, stream_every), range(args.requests))
            )
        wall = time.monotonic() - started
        seen, in_flight = server.count, server.max_in_flight

    outcomes = collections.Counter(r["outcome"] for r in results)
    retries = collections.Counter(r["retries"] for r in results)
    sent = sum(1 + r["retries"] for r in results)
    elapsed = sorted(r["elapsed"] for r in results)
    failed = sum(n for name, n in outcomes.items() if name != "ok" and "after text" not in name)
    expected = args.fail_rate ** (args.max_retries + 1)
    waited = sum(r["waited"] or 0.0 for r in results)

    print(
        f"{args.requests} calls, {args.concurrency} at a time, fail_rate={args.fail_rate}, "
        f"fault_seed={args.fault_seed}, max_retries={args.max_retries}: {wall:.1f} s, "
        f"{args.requests / wall:.1f} calls/s"
    )
    print("outcomes: " + ", ".join(f"{name} {n}" for name, n in outcomes.most_common()))
    returned = outcomes["ok"]
    print(
        f"results returned {returned}, results lost {args.requests - returned}, "
        f"retries made {sent - args.requests}, wall time {wall:.1f} s, {sent / wall:.1f} requests/s"
    )
    print(
        f"failed after all retries {failed / args.requests:.2%} (the policy expects about {expected:.2%} "
        "when every fault kind is retryable)"
    )
    print("retries per call: " + ", ".join(f"{k}: {v}" for k, v in sorted(retries.items())))
    print(f"waiting before retries (successful calls): {waited:.1f} s in all")
    print(
        f"latency per call: p50 {statistics.median(elapsed):.3f} s, "
        f"p95 {elapsed[int(0.95 * (len(elapsed) - 1))]:.3f} s, max {elapsed[-1]:.3f} s"
    )
    for r in results:
        if r["outcome"] != "ok":
            print(f"  e.g. {r['line']}")
            break

    problems = []
    if any(name.startswith("CRASH") or name == "ok-but-inconsistent" for name in outcomes):
        problems.append("a call ended in something other than a Reply or a LlamaError, or a stream disagreed")
    if any(r["leak"] for r in results):
        problems.append("the key appeared in an error")
    if seen != sent:
        problems.append(f"the server saw {seen} requests, the client counted {sent}")
    if in_flight > args.concurrency:
        problems.append(f"{in_flight} requests were in flight at once, more than {args.concurrency}")
    print(f"server saw {seen} requests (client counted {sent}); at most {in_flight} in flight")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("OK" if not problems else "FAILED")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
