"""Cells run as a notebook runs them: stored in the history, so they have a number, ``In`` and ``Out``."""

from __future__ import annotations


def cell(ip, source: str):
    """Run ``source`` as the next numbered cell (``store_history=True``, as Jupyter does); (result, captured)."""
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = ip.run_cell(source, store_history=True)
    return result, captured


def sent_messages(server) -> list[dict]:
    """The messages of the last request the loopback endpoint received."""
    return server.requests[-1]["body"]["data"]["messages"]


def sent_user(server) -> str:
    return sent_messages(server)[-1]["content"]
