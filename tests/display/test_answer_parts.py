"""answer_parts.py: the first code block and the JSON of an answer, for ``--format code|json``."""

from __future__ import annotations

import pytest

from dataoorts_magic.display.answer_parts import first_code_block, parse_json_answer


def test_first_code_block():
    assert first_code_block("Here:\n```python\nprint(1)\n```\n```js\nx\n```") == ("python", "print(1)")
    assert first_code_block("~~~\nplain\n  text\n~~~") == (None, "plain\n  text")
    assert first_code_block("no code, only `inline` and ```one line```") is None
    assert first_code_block("cut off:\n```sql\nSELECT 1\nFROM t") == ("sql", "SELECT 1\nFROM t")
    assert first_code_block("1. Step\n   ```{.bash}\n   ls -l\n     indented\n   ```") == ("bash", "ls -l\n  indented")
    assert first_code_block("````md\n```\ninner\n```\n````") == ("md", "```\ninner\n```")


def test_parse_json_answer_plain_fenced_and_in_prose():
    assert parse_json_answer('{"a": 1}') == {"a": 1}
    assert parse_json_answer("  [1, 2]\n") == [1, 2]
    assert parse_json_answer('Sure! Here it is:\n```json\n{"name": "x", "tags": ["a"]}\n```\nAnything else?') == {
        "name": "x",
        "tags": ["a"],
    }
    assert parse_json_answer("```\n[true, null]\n```") == [True, None]
    assert parse_json_answer('The result is:\n{"ok": true}\nHope this helps.') == {"ok": True}


@pytest.mark.parametrize(
    "text", ["Sorry, I cannot do that.", "", "See [1] Smith et al.", 'Here:\n```json\n{"a": 1,}\n```']
)
def test_parse_json_answer_failure_is_a_clear_value_error(text):
    with pytest.raises(ValueError) as info:
        parse_json_answer(text)
    message = str(info.value)
    assert "JSON" in message and "\n" not in message


def test_parse_json_answer_reports_the_fenced_blocks_error():
    with pytest.raises(ValueError, match=r"line 1, column 9"):
        parse_json_answer('Here:\n```json\n{"a": 1,}\n```')
