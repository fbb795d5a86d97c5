"""The answer envelope read without a network: bytes in, a Reply or an error kind out."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dataoorts_magic import errors
from dataoorts_magic.client.envelope import normalize_usage, reply_from

KEY = "sk-test-SECRET-envelope-0123456789"


def test_normalize_usage():
    assert normalize_usage({"prompt_tokens": 3, "completion_tokens": 4}) == {
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "total_tokens": 7,
    }
    assert normalize_usage({"prompt_tokens": 3.0, "completion_tokens": 4, "total_tokens": 7}) == {
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "total_tokens": 7,
    }
    for bad in (
        None,
        [],
        {},
        {"prompt_tokens": "3", "completion_tokens": 1},
        {"prompt_tokens": True, "completion_tokens": 1},
        {"prompt_tokens": float("inf"), "completion_tokens": 1},
        {"prompt_tokens": float("nan"), "completion_tokens": 1},
        {"prompt_tokens": -1, "completion_tokens": 1},
        {"prompt_tokens": 2.5, "completion_tokens": 1},
        {"prompt_tokens": 10**400, "completion_tokens": 1},
    ):
        assert normalize_usage(bad) is None


def test_reply_from_reads_an_answer_with_no_server():
    reply = reply_from(200, {}, b'{"success": true, "result": {"response": "hi", "usage": null}}')
    assert (reply.text, reply.usage, reply.status) == ("hi", None, 200)
    body = b'{"success": false, "errors": [{"code": 3040, "message": "busy, key ' + KEY.encode() + b'"}]}'
    with pytest.raises(errors.CapacityError) as info:
        reply_from(503, {"Retry-After": "2"}, body, KEY)
    err = info.value
    assert err.retryable and err.retry_after == 2 and err.code == 3040
    assert KEY not in str(err) and "busy" in str(err)


def test_a_few_invalid_utf8_bytes_are_replaced_and_a_bom_is_fine():
    reply = reply_from(200, {}, b'{"success": true, "result": {"response": "ok \xff\xfe done"}}')
    assert reply.text == "ok \ufffd\ufffd done"
    reply = reply_from(200, {}, b'\xef\xbb\xbf{"success": true, "result": {"response": "bom"}}')
    assert reply.text == "bom"


def test_the_pure_modules_import_neither_requests_nor_ipython():
    code = (
        "import sys, dataoorts_magic.client.envelope, dataoorts_magic.client.retry_policy\n"
        "import dataoorts_magic.client.endpoint_url\n"
        "assert 'requests' not in sys.modules, 'requests'\n"
        "import dataoorts_magic.client.chat_client\n"
        "assert 'IPython' not in sys.modules, 'IPython'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
