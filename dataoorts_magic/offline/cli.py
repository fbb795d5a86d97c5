"""``dataoorts-magic serve``: the offline endpoint in the foreground, with its flags.

The flags (``--host --port --latency --fail-rate --fail-kinds --rate-limit --api-key``) are
checked here, so a bad value is refused before anything listens.
"""

from __future__ import annotations

import argparse
import math

from .server import DEFAULT_FAIL_KINDS, FAIL_KINDS, OfflineServer


def serve(host: str = "127.0.0.1", port: int = 8000, *, verbose: bool = True, **faults) -> None:
    """Run the offline endpoint in the foreground until Ctrl-C, printing how to point the client at it.

    ``faults`` are ``OfflineServer``'s keyword arguments (``api_key``, ``latency``, ``fail_rate``, ...).
    """
    server = OfflineServer(host, port, verbose=verbose, **faults)
    httpd = server._bind()
    key_hint = "<the key given with --api-key>" if faults.get("api_key") else "<anything>"
    print(f"dataoorts-magic offline endpoint at {server.url} (generated answers, not a model)")
    print(f"Point the client at it: DATAOORTS_API_URL={server.url} DATAOORTS_API_KEY={key_hint}")
    active = {k: v for k, v in faults.items() if k != "api_key" and v not in (None, 0, 0.0)}
    if not faults.get("fail_rate"):
        active.pop("fail_kinds", None)
    if active:
        print("Faults: " + ", ".join(f"{k}={v}" for k, v in active.items()))
    print("Press Ctrl-C to stop.", flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("Stopped.")
    finally:
        server.stop()


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0 to 65535)")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds >= 0")
    return value


def _probability(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a probability from 0 to 1")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number >= 1")
    return value


def _fail_kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip().lower() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in FAIL_KINDS]
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(f"{text!r}: use a comma-separated mix of {', '.join(sorted(FAIL_KINDS))}")
    return kinds


def add_serve_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``serve``'s flags: --host --port --latency --fail-rate --fail-kinds --rate-limit --api-key."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8000, help="port to listen on; 0 picks a free one (default 8000)")
    parser.add_argument(
        "--latency", type=_seconds, default=0.0, metavar="S", help="seconds to wait before each answer (default 0)"
    )
    parser.add_argument(
        "--fail-rate",
        type=_probability,
        default=0.0,
        metavar="P",
        help="share of requests, 0 to 1, that fail with one of --fail-kinds",
    )
    parser.add_argument(
        "--fail-kinds",
        type=_fail_kinds,
        default=DEFAULT_FAIL_KINDS,
        metavar="K1,K2",
        help="the failures to inject: a mix of 429 (with Retry-After), 503, 500, "
        "502 (a proxy's HTML page) and drop (connection closed mid-answer); "
        f"default {','.join(DEFAULT_FAIL_KINDS)}",
    )
    parser.add_argument(
        "--rate-limit",
        type=_positive_int,
        default=None,
        metavar="N",
        help="requests per rolling minute before answering 429 with Retry-After (default: no limit)",
    )
    parser.add_argument("--api-key", default=None, help="accept only this key (default: any non-empty Bearer token)")
    return parser


def serve_from_args(args: argparse.Namespace) -> None:
    """``serve()`` with the flags parsed by ``add_serve_arguments``."""
    serve(
        args.host,
        args.port,
        api_key=args.api_key,
        latency=args.latency,
        fail_rate=args.fail_rate,
        fail_kinds=args.fail_kinds,
        rate_limit=args.rate_limit,
    )


if __name__ == "__main__":
    _parser = add_serve_arguments(argparse.ArgumentParser(prog="python -m dataoorts_magic.offline.cli"))
    serve_from_args(_parser.parse_args())
