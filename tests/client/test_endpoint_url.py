"""Endpoint URLs: which ones are this machine, and which would send the key in clear text."""

from __future__ import annotations

from dataoorts_magic.client.endpoint_url import insecure_endpoint_warning, url_problem


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


def test_url_problem_names_what_makes_an_endpoint_unusable():
    for url in ("https://cloud.dataoorts.com/api/v1", "http://127.0.0.1:8000/api/v1", "http://[::1]:80/x"):
        assert url_problem(url) is None, url
    for url, words in (
        ("http://[::1", "not a URL"),
        ("ftp://example.com/", "https://"),
        ("cloud.dataoorts.com/api/v1", "https://"),
        ("https:///api/v1", "no host"),
        ("https://host:99999/", "not a URL"),
        ("https://host:0/", "port 0"),
        ("https://host/a b", "spaces"),
        ("", "empty"),
    ):
        assert words in url_problem(url), url
