"""Endpoint URLs: which ones are this machine, and which would send the key in clear text."""

from __future__ import annotations

from dataoorts_magic.api.endpoint_url import insecure_endpoint_warning


def test_insecure_endpoint_warning():
    for url in (
        "https://cloud.dataoorts.com/api/v1",
        "http://127.0.0.1:8000/api/v1",
        "http://127.5.0.1/",
        "http://localhost:9/x",
        "http://[::1]:8000/",
    ):
        assert insecure_endpoint_warning(url) is None, url
    line = insecure_endpoint_warning("http://example.com/api/v1")
    assert line and "https" in line and "\n" not in line
    assert insecure_endpoint_warning("http://10.0.0.5:8000/")
