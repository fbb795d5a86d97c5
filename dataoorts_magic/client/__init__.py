"""The HTTP client for the Dataoorts endpoint: transport, envelope, server-sent events, retry policy.

``requests`` is imported only here, and nothing here imports IPython: the client works in any
Python process. ``client.DataoortsClient`` is the entry point.
"""
