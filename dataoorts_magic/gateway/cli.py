"""``dataoorts-magic gateway ...``: serve, and the teacher's commands on the same ledger (``--db``).

Thin: each command is a few calls on :class:`~dataoorts_magic.gateway.ledger.Ledger` or
:class:`~dataoorts_magic.gateway.app.GatewayServer`. Bad input is one line naming the problem and
the fix, and exit status 2. A token is printed once, when made; only its hash is stored.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from urllib.parse import urlsplit

from ..errors import ConfigError

DEFAULT_PORT = 8787
DEFAULT_RATE = 300
DEFAULT_BUDGET_USD = 0.50
NAME_LIMIT = 64
EXTRA_MODULES = {"tornado", "sqlalchemy", "psycopg"}


def usd_amount(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or value > 1_000_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount of dollars: give a number such as 0.50")
    return value


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def student_name(text: str) -> str:
    if not text or len(text) > NAME_LIMIT or any(c.isspace() or not c.isprintable() for c in text):
        raise argparse.ArgumentTypeError(f"{text[:80]!r} is not a name: use 1 to {NAME_LIMIT} characters, no spaces")
    return text


def build_parser() -> argparse.ArgumentParser:
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", help="the ledger's URL: sqlite:///path or postgresql://... (default: the data folder)")
    about = "The classroom gateway: one account key, a token per student."
    parser = argparse.ArgumentParser(prog="dataoorts-magic gateway", description=about)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", parents=[db], help="run the gateway")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help=f"port (default {DEFAULT_PORT})")
    serve.add_argument("--offline", action="store_true", help="forward to the bundled offline endpoint (no key)")
    serve.add_argument("--hub", action="store_true", help="run as a JupyterHub service: students use their hub token")
    serve.add_argument("--rate", type=positive_int, default=DEFAULT_RATE, help="the class's requests per minute")
    serve.add_argument("--max-tokens", type=positive_int, help="cap on every request's max_tokens")
    serve.add_argument("--log-prompts", action="store_true", help="keep prompts and answers in the ledger")
    serve.add_argument(
        "--budget", type=usd_amount, default=DEFAULT_BUDGET_USD, help="USD for a hub user's first request"
    )
    student = commands.add_parser("student", help="add, remove, budget or re-token a student").add_subparsers(
        dest="action", required=True
    )
    add = student.add_parser("add", parents=[db], help="add a student and print their token")
    add.add_argument("name", type=student_name)
    add.add_argument("--budget", type=usd_amount, default=DEFAULT_BUDGET_USD, help="USD (default 0.50)")
    add.add_argument("--rate", type=positive_int, help="their own requests per minute")
    student.add_parser("remove", parents=[db], help="remove a student").add_argument("name")
    budget = student.add_parser("budget", parents=[db], help="set a student's budget in USD")
    budget.add_argument("name")
    budget.add_argument("usd", type=usd_amount)
    student.add_parser("token", parents=[db], help="a new token (the old one stops)").add_argument("name")
    usage = commands.add_parser("usage", parents=[db], help="per-student usage and the class total")
    usage.add_argument("--csv", action="store_true", help="as CSV")
    pause = commands.add_parser("pause", parents=[db], help="refuse every student request (an exam)")
    pause.add_argument("--message", default="", help="what students see")
    commands.add_parser("resume", parents=[db], help="let requests through again")
    commands.add_parser("admin-token", parents=[db], help="print a new token for the dashboard")
    return parser


def _ledger(args):
    from .ledger import Ledger
    from .ledger_schema import default_db_url

    return Ledger(args.db or default_db_url())


def _serve(args) -> int:
    from sqlalchemy.engine import make_url

    from ..pipeline.settings import DEFAULT_API_URL
    from .app import GatewayServer
    from .ledger import nano
    from .ledger_schema import default_db_url, normalize_url

    host, port, prefix = args.host or "127.0.0.1", args.port or DEFAULT_PORT, "/"
    if args.hub:
        if not os.environ.get("JUPYTERHUB_API_URL"):
            raise ConfigError(
                "--hub needs JUPYTERHUB_API_URL: let JupyterHub start the gateway as a service "
                "(the README's jupyterhub_config.py block), which sets it."
            )
        service = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", ""))
        host, port = args.host or service.hostname or host, args.port or service.port or port
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/").rstrip("/") + "/"
    if args.offline:
        import secrets

        from ..offline.server import OfflineServer

        key = secrets.token_urlsafe(24)
        upstream = OfflineServer(api_key=key).start().url
    else:
        key = os.environ.get("DATAOORTS_API_KEY", "").strip()
        if not key:
            raise ConfigError("No account key: set DATAOORTS_API_KEY, or try the gateway with --offline.")
        upstream = os.environ.get("DATAOORTS_API_URL") or DEFAULT_API_URL
    db_url = normalize_url(args.db or default_db_url())
    server = GatewayServer(
        db_url,
        upstream,
        key,
        host=host,
        port=port,
        prefix=prefix,
        hub=args.hub,
        rate=args.rate,
        max_tokens=args.max_tokens,
        log_prompts=args.log_prompts,
        default_budget=nano(args.budget),
        log=lambda line: print(line, flush=True),
    )
    shown_db = make_url(db_url).render_as_string(hide_password=True)
    where = "the offline endpoint" if args.offline else upstream
    print(f"Gateway on http://{host}:{port}{prefix}api/v1 -> {where}; ledger {shown_db}", flush=True)
    print(f"Dashboard: http://{host}:{port}{prefix}dashboard", flush=True)
    server.serve_forever()
    return 0


def _student(args) -> int:
    from .ledger import money, nano
    from .tokens import new_token, token_hash

    ledger = _ledger(args)
    if args.action == "add":
        token = new_token()
        ledger.add_student(args.name, nano(args.budget), args.rate, token_hash(token))
        print(f"Added {args.name} with a budget of {money(args.budget)}. Their token (shown once):")
        print(token)
    elif args.action == "remove":
        ledger.remove_student(args.name)
        print(f"Removed {args.name}; their token no longer works.")
    elif args.action == "budget":
        ledger.set_budget(args.name, nano(args.usd))
        print(f"{args.name}'s budget is now {money(args.usd)}.")
    else:
        token = new_token()
        ledger.set_token_hash(args.name, token_hash(token))
        print(f"New token for {args.name} (the old one stops working; shown once):")
        print(token)
    return 0


def _usage(args) -> int:
    from .report import as_csv, as_table, usage

    data = usage(_ledger(args))
    sys.stdout.write(as_csv(data) if args.csv else as_table(data) + "\n")
    return 0


def _switch(args) -> int:
    ledger = _ledger(args)
    if args.command == "pause":
        ledger.set_state(paused="1", pause_message=" ".join(args.message.split())[:200])
        print("Paused: every student request is refused" + (f" with: {args.message}" if args.message else "") + ".")
    else:
        ledger.set_state(paused="0")
        print("Resumed: students' requests go through.")
    return 0


def _admin_token(args) -> int:
    from .tokens import new_token, token_hash

    token = new_token()
    _ledger(args).add_admin_hash(token_hash(token))
    print("Admin token for the dashboard (shown once; the last 5 made work):")
    print(token)
    return 0


COMMANDS = {"serve": _serve, "student": _student, "usage": _usage, "pause": _switch, "resume": _switch}
COMMANDS["admin-token"] = _admin_token


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if exc.name not in EXTRA_MODULES:
            raise
        print(f"error: the gateway needs {exc.name}: pip install 'dataoorts-magic[gateway]'", file=sys.stderr)
        return 2
