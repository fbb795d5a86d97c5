"""``POST /api/v1``: a student's request, checked in the contract's order, then forwarded in turn.

Order (INTERFACE.md section 14): the body's size (413 before it is read whole), who is asking
(401, code 10000), the pause (403 with the teacher's message), the student's own rate (429 with
Retry-After), the budget (the worst case reserved; 429 code 3036, which the extension never
retries), then the class's turn at the provider. A 429 from the provider (not a used-up quota)
slows the whole class once and the request waits for another turn, up to UPSTREAM_TRIES times.
The gateway's own refusals (and the provider's refusals of the account: its key, its daily quota)
are :func:`~.wire.refusal`: a message that names the student's fix ("ask your teacher") and the
header that tells the extension to show it as the whole advice.
"""

from __future__ import annotations

import time

from tornado.web import RequestHandler, stream_request_body

from ..client.retry_policy import retry_after_seconds
from ..errors import clip
from ..offline.protocol import Reply, failure
from .ledger import money, usd
from .tokens import bearer
from .wire import StreamReader, error_code, json_answer, price, read_ask, refusal, worst_case

MAX_BODY_BYTES = 1024 * 1024
HARD_BODY_BYTES = 64 * 1024 * 1024  # past this the connection is simply closed
UPSTREAM_TRIES = 6
PAUSED_CODE = 9403  # the gateway's own codes (not the provider's): paused, a student's own rate
STUDENT_RATE_CODE = 9429
QUOTA_CODES = (3036, 4006)
BUDGET_HEADER = "X-Dataoorts-Budget-Remaining"
BUDGET_TOTAL_HEADER = "X-Dataoorts-Budget"
PAUSE_MESSAGE_LIMIT = 180  # the extension shows 200 characters of a server's message: the fix must fit


def left(money) -> tuple[float, float]:
    """(USD left, USD budget) from a ledger row or a (budget, spent, reserved) tuple."""
    return usd(money.budget - money.spent - money.reserved), usd(money.budget)


@stream_request_body
class ApiHandler(RequestHandler):
    def initialize(self, gateway):
        self.gw = gateway
        self.parts: list[bytes] = []
        self.size = 0

    def check_xsrf_cookie(self):  # a bearer API: a browser never adds the Authorization header by itself
        pass

    def prepare(self):
        self.clock = [time.perf_counter(), 0.0, 0.0]  # headers read; seconds in the queue, at the provider
        self.request.connection.set_max_body_size(HARD_BODY_BYTES)
        length = self.request.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            self.size = int(length)

    def data_received(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size <= MAX_BODY_BYTES:
            self.parts.append(chunk)
        else:
            self.parts.clear()  # refused: the rest is read and dropped, never kept

    def reply(self, reply: Reply, remaining: tuple[float, float] | None = None) -> None:
        self.set_status(reply.status)
        self.set_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.set_header(name, str(value))
        if remaining is not None:
            self.set_header(BUDGET_HEADER, f"{max(0.0, remaining[0]):.6f}")
            self.set_header(BUDGET_TOTAL_HEADER, f"{remaining[1]:.6f}")
        self.set_header("Server-Timing", self.timing())
        self.finish(reply.body)

    def timing(self) -> str:
        """``Server-Timing`` (W3C): the gateway's own milliseconds, apart from its queue and the provider's."""
        start, queued, upstream = self.clock
        own = time.perf_counter() - start - queued - upstream
        return f"gateway;dur={own * 1000:.2f}, queue;dur={queued * 1000:.2f}, upstream;dur={upstream * 1000:.2f}"

    def note(self, name: str, status: int, started: float, extra: str = "") -> None:
        self.gw.log(f"{status} {name} {time.monotonic() - started:.3f} s{extra}")

    async def post(self):
        started, now = time.monotonic(), time.time()
        if self.size > MAX_BODY_BYTES:
            return self.reply(failure(413, 3006, f"Request is too large (more than {MAX_BODY_BYTES} bytes)"))
        who = await self.gw.identify(bearer(self.request.headers.get("Authorization")))
        if who is None or who.name is None:
            self.note("-", 401, started)
            return self.reply(refusal(401, 10000, "Unknown gateway token: ask your teacher for yours"))
        self.name = name = who.name
        state = self.gw.state()
        student = who.row
        if student is None and who.hub:  # a hub user's first request: a row with the default budget
            self.gw.ledger.ensure_hub_student(name, self.gw.default_budget)
            student = self.gw.ledger.student(name)
        if student is None:  # removed a moment ago
            return self.reply(refusal(401, 10000, "Unknown gateway token: ask your teacher for yours"))
        refused = {"time": now, "model": "", "elapsed": 0.0}
        if state["paused"] == "1":
            message = state["pause_message"] or "The class is paused by your teacher"
            self.gw.ledger.record_refusal(name, {**refused, "status": 403})
            self.note(name, 403, started, " paused")
            return self.reply(refusal(403, PAUSED_CODE, f"{clip(message, PAUSE_MESSAGE_LIMIT)} (ask your teacher)"))
        wait = self.gw.window.admit(name, student.rate)
        if wait:
            self.gw.ledger.record_refusal(name, {**refused, "status": 429})
            per = f"{student.rate} request{'' if student.rate == 1 else 's'} a minute"
            text = f"Your limit of {per} is reached; wait {wait:.0f} s or ask your teacher"
            return self.reply(refusal(429, STUDENT_RATE_CODE, text, {"Retry-After": f"{wait:.0f}"}))
        ask = read_ask(b"".join(self.parts), self.gw.max_tokens)
        if isinstance(ask, Reply):
            return self.reply(ask)
        worst = worst_case(ask)
        self.held = self.gw.ledger.reserve(name, worst)
        if self.held is None:
            row = self.gw.ledger.student(name)
            self.gw.ledger.record_refusal(name, {**refused, "model": ask.model, "status": 429})
            self.note(name, 429, started, " budget")
            text = f"budget used up: {money(usd(row.spent))} of {money(usd(row.budget))}"
            if row.spent + row.reserved < row.budget:  # what is left is less than this request could cost
                text += f", and this request could cost {money(usd(worst))} (ask for fewer tokens with -n)"
            text += "; ask your teacher"
            return self.reply(refusal(429, 3036, text), left(row))
        await self.forward(name, ask, worst, started, now)

    async def forward(self, name: str, ask, worst: int, started: float, now: float) -> None:
        reader, answer = StreamReader(), None
        try:
            for _ in range(UPSTREAM_TRIES):
                waiting = time.perf_counter()
                await self.gw.queue.turn(name)
                sending = time.perf_counter()
                answer = await self.gw.upstream.send(ask.raw(), self.stream_start, self.stream_chunk(reader))
                self.clock[1] += sending - waiting
                self.clock[2] += time.perf_counter() - sending
                if isinstance(answer, Reply) or not self.slowed_by(answer):
                    break
        except BaseException:  # cancelled or failed while waiting or sending: release the hold, charge nothing
            self.gw.ledger.settle(name, worst, 0, self.row(now, started, ask, None, 499, None))
            raise
        if isinstance(answer, Reply):
            self.gw.ledger.settle(name, worst, 0, self.row(now, started, ask, None, answer.status, None))
            return self.reply(answer)
        if answer.streamed:
            usage, text = reader.usage, reader.text
        else:
            usage, text = json_answer(answer.body)
        status = answer.status
        charged = 0 if status != 200 else (price(ask.model, *usage) if usage else worst)
        row = self.gw.ledger.settle(name, worst, charged, self.row(now, started, ask, usage, status, text))
        self.note(name, status, started, f" ${usd(charged):.6f}")
        if answer.streamed:
            self.finish()
            return
        headers = {k: v for k, v in (("Retry-After", answer.headers.get("Retry-After")),) if v}
        if status in (401, 403):  # the account key was refused: not the student's to fix
            reply = refusal(502, 3043, "The provider refused the gateway's account key: tell your teacher")
        elif status != 200 and (code := error_code(answer.body)) in QUOTA_CODES:  # the account's, not the student's
            reply = refusal(status, code, "The class's daily quota at the provider is used up: tell your teacher")
        else:
            reply = Reply(status, answer.body, answer.headers.get("Content-Type", "application/json"), headers)
        self.reply(reply, left(row))

    def slowed_by(self, answer) -> bool:
        """Whether this is the provider's rate limit (then the class slows down and the request waits again)."""
        code = error_code(answer.body)
        if (answer.status != 429 and code != 3040) or code in QUOTA_CODES:
            return False
        wait = retry_after_seconds(answer.headers)
        self.gw.ledger.record_upstream_limit(answer.status, wait)
        self.gw.queue.slow_down(wait)
        return True

    def stream_start(self, status: int, headers) -> None:
        self.set_status(status)
        self.set_header("Content-Type", headers.get("Content-Type", "text/event-stream"))
        self.set_header("Cache-Control", "no-cache")
        remaining, budget = left(self.held)  # streamed: what is left with this request's worst case held
        self.set_header(BUDGET_HEADER, f"{max(0.0, remaining):.6f}")
        self.set_header(BUDGET_TOTAL_HEADER, f"{budget:.6f}")
        self.flush()

    def stream_chunk(self, reader: StreamReader):
        def on_chunk(chunk: bytes) -> None:
            reader.feed(chunk)
            self.write(chunk)
            self.flush()

        return on_chunk

    def row(self, now, started, ask, usage, status, text) -> dict:
        logged = self.gw.log_prompts
        return {
            "time": now,
            "model": ask.model,
            "prompt_tokens": usage[0] if usage else None,
            "completion_tokens": usage[1] if usage else None,
            "status": status,
            "elapsed": time.monotonic() - started,
            "prompt": "\n\n".join(m.get("content", "") for m in ask.messages) if logged else None,
            "answer": text if logged else None,
        }
