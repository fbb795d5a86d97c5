"""``--schema`` in the one send: the answer parsed and validated, asked again once when it does not match.

Both exchanges are ordinary ones of the session (budget, rate limit, cache, log); the answer
returned carries the usage, cost and time of both. Still wrong: an
:class:`~dataoorts_magic.errors.InvalidAnswerError` naming the field, with the last answer
attached, so nothing paid for is lost. The pure parts (instructions, check, the re-ask message)
are :mod:`dataoorts_magic.structured.answers`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import InvalidAnswerError
from ..structured.answers import Mismatch, check, reask_messages

if TYPE_CHECKING:
    from ..display.response import LlamaResponse
    from .request import Request


def structured_answer(exchange: Callable[[Request], LlamaResponse], req: Request) -> LlamaResponse:
    """``exchange(req)``, its answer's object in ``.data``; asked again once with the problem quoted."""
    response = exchange(req)
    try:
        response.data = check(response.text, req.schema)
    except Mismatch as first_problem:
        problem = str(first_problem)
        second = exchange(req._replace(messages=reask_messages(req.messages, response.text, problem)))
        response = _both(response, second, problem)
        try:
            response.data = check(second.text, req.schema)
        except Mismatch as again:
            cut = " (it used all max_tokens: raise -n/--max-tokens)" if second.truncated else ""
            err = InvalidAnswerError(
                f"The answer does not match the schema, also when asked again: {again}{cut}. "
                "Make the prompt or the schema simpler, or try another model."
            )
            err.response = response
            raise err from None
    return response


def valid_resumed(answer: LlamaResponse, req) -> bool:
    """Whether a logged answer may stand for ``req`` in a resumed batch: always without a schema;
    with one, only if it still matches (then ``answer.data`` holds the dict), else it is asked again."""
    schema = getattr(req, "schema", None)
    if schema is None:
        return True
    try:
        answer.data = check(answer.text, schema)
    except Mismatch:
        return False
    return True


def _both(first: LlamaResponse, second: LlamaResponse, problem: str) -> LlamaResponse:
    """The second answer, carrying the usage, cost and time of both exchanges."""
    usage = None if first.usage is None or second.usage is None else first.usage + second.usage
    cost = None if first.cost is None or second.cost is None else first.cost + second.cost
    return dataclasses.replace(
        second,
        usage=usage,
        cost=cost,
        elapsed=first.elapsed + second.elapsed,
        cached=first.cached and second.cached,
        notes=[*second.notes, f"re-asked once: {problem}"],
    )
