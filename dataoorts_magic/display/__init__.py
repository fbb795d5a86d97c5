"""Untrusted model text made safe to show, and every rich display of the package.

``render`` (sanitized HTML: markdown-it-py, with ``tex_html`` for math and ``highlight`` for code)
and ``safe_markdown`` (safe text/markdown, with ``tex_spans`` for math) are the two doors model
text goes through; ``response.LlamaResponse`` and the tables, transcripts, progress bars and the
live stream display build on them; ``styles`` holds the one set of colours and CSS they share.
"""
