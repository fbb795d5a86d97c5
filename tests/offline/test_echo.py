"""The offline echo lets a teacher check what was sent: the system prompt's wording, and a table as a table."""

from __future__ import annotations

from dataoorts_magic.display.render import to_html
from dataoorts_magic.offline.answers import answer_text

TABLE = "| plant | water |\n|---|---|\n| fern | weekly |\n| cactus | monthly |"


def test_the_system_prompt_is_echoed_word_for_word():
    messages = [{"role": "system", "content": "You are a patient tutor."}, {"role": "user", "content": "Hi"}]
    text = answer_text("meta/llama-3.1-8b-instruct", messages, {"seed": 1})
    assert "- **messages**: 2 (system, user)" in text
    assert "**System prompt:** You are a patient tutor." in text
    assert "**You asked:** Hi" in text  # one line stays one line
    alone = answer_text("meta/llama-3.1-8b-instruct", messages[1:], {"seed": 1})
    assert "System prompt" not in alone


def test_a_table_in_the_prompt_is_echoed_as_a_table_not_one_pipe_paragraph():
    prompt = f"Which plant needs the most water?\n\n{TABLE}"
    text = answer_text("meta/llama-3.1-8b-instruct", [{"role": "user", "content": prompt}], {"seed": 1})
    assert "> | fern | weekly |\n> | cactus | monthly |" in text
    html = to_html(text)
    quote = html[html.index("<blockquote>") : html.index("</blockquote>")]
    assert "<table>" in quote and "<td>cactus</td>" in quote and "Which plant needs the most water?" in quote
