"""The %llama line: a mistyped option is one line with the closest real flag, and nothing is sent."""

from __future__ import annotations

import pytest
from support.shell import run


def sent_prompts(server) -> list[str]:
    return [r["body"]["data"]["messages"][-1]["content"] for r in server.requests]


@pytest.mark.parametrize(
    "source, named, suggestion",
    [
        ("%llama --temprature 0.2 -n 20 What is AI?", "'--temprature'", "did you mean --temperature?"),
        ("%%llama --temprature 0.2\nWhat is AI?", "'--temprature'", "did you mean --temperature?"),
        ("%llama --max-token=20 Hi", "'--max-token'", "did you mean --max-tokens?"),
        ("%llama --temp 0.2 Hi", "'--temp'", "did you mean --temperature?"),
        ("%%llama -n 20 --sytem terse\nHi", "'--sytem'", "did you mean --system?"),
        ("%llama --top_k 5 Hi", "'--top_k'", "did you mean --top-k?"),
        ("%llama --top 5 Hi", "'--top'", "did you mean --top-p or --top-k?"),
        ("%llama -temperature 0.2 Hi", "'-temperature'", "did you mean --temperature?"),  # one dash
        ("%%llama -temperature 0.2\nHi", "'-temperature'", "did you mean --temperature?"),
        ("%%llama -temperature\nHi", "'-temperature'", "did you mean --temperature?"),  # not 'emperature'
        ("%llama -max-tokens=20 Hi", "'-max-tokens'", "did you mean --max-tokens?"),
        ("%%llama -temp 0.2\nHi", "'-temp'", "did you mean --temperature?"),
        ("%%llama -system terse\nHi", "'-system'", "did you mean --system?"),
        ("%llama -z Hi", "'-z'", "see %llama? for the options"),
        ("%%llama -z\nHi", "'-z'", "see %%llama? for the options"),
    ],
)
def test_an_unknown_option_is_one_line_naming_it_and_the_closest_flag(ip, online, source, named, suggestion):
    result, cap = run(ip, source)
    assert not result.success
    line = cap.stderr.strip()
    assert line.startswith("UsageError: Unknown option ") and "\n" not in line, line
    assert named in line and suggestion in line, line
    assert "Traceback" not in cap.stdout + cap.stderr
    assert online.count == 0


def test_the_line_message_says_how_to_send_a_prompt_that_starts_with_a_dash(ip, online):
    _, cap = run(ip, "%llama -z marks the spot")
    assert "put the prompt in the cell body" not in cap.stderr
    assert "goes after --" in cap.stderr
    result, cap = run(ip, "%llama -n 20 -- -x marks the spot")
    assert result.success, cap.stderr
    assert sent_prompts(online) == ["-x marks the spot"]


@pytest.mark.parametrize(
    "line, prompt",
    [
        ("-5 squared is?", "-5 squared is?"),  # a negative number starts the prompt
        ("-n 20 -0.5 times two?", "-0.5 times two?"),
        ("-t 0.2 -.5 rounded?", "-.5 rounded?"),
        ("-n 20 What is -x in --verbose mode?", "What is -x in --verbose mode?"),  # dashes later are prompt
        ("-n 20 - a lone dash", "- a lone dash"),
    ],
)
def test_numbers_and_later_dashes_are_part_of_the_prompt(ip, online, line, prompt):
    result, cap = run(ip, f"%llama {line}")
    assert result.success, cap.stderr
    assert sent_prompts(online) == [prompt]


def test_short_flags_with_their_value_attached_still_work(ip, online):
    result, cap = run(ip, "%llama -t0.2 -n20 -sterse Hi")
    assert result.success, cap.stderr
    data = online.requests[-1]["body"]["data"]
    assert data["temperature"] == 0.2 and data["max_tokens"] == 20 and data["messages"][0]["content"] == "terse"


def test_a_cell_line_with_a_stray_word_still_says_where_the_prompt_goes(ip, online):
    result, cap = run(ip, "%%llama -n 20 What\nHi")
    assert not result.success
    assert "put the prompt in the cell body" in cap.stderr
    assert online.count == 0
