"""``{name}`` interpolation: what resolves, what is left exactly as typed, and DataFrame tables."""

import subprocess
import sys
from types import SimpleNamespace

import pytest

from dataoorts_magic.prompting.frame_markdown import frame_to_markdown
from dataoorts_magic.prompting.interpolate import fields, interpolate, unresolved_fields

pd = pytest.importorskip("pandas")


class Boom:
    """Every way an object can fail while being interpolated."""

    def __str__(self):
        raise RuntimeError("no str for you")

    @property
    def prop(self):
        raise ValueError("broken property")

    ok = "fine"


@pytest.fixture
def ns():
    return {
        "name": "Ada",
        "n": 3,
        "user": SimpleNamespace(name="Grace", address=SimpleNamespace(city="Arlington")),
        "items": ["first", "second", "last"],
        "d": {"key": "value", "k2": {"inner": [10, 20]}, 0: "zero-key"},
        "rows": [SimpleNamespace(title="Dune"), {"title": "Emma"}],
        "boom": Boom(),
        "x": 42,
    }


# --- what resolves ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hello {name}!", "Hello Ada!"),
        ("{n} apples", "3 apples"),
        ("{user.name}", "Grace"),
        ("{user.address.city}", "Arlington"),
        ("{items[0]}", "first"),
        ("{items[-1]}", "last"),
        ("{d['key']}", "value"),
        ('{d["key"]}', "value"),
        ("{d[0]}", "zero-key"),
        ("{d['k2']['inner'][1]}", "20"),
        ("{rows[0].title} and {rows[1]['title']}", "Dune and Emma"),
        ("{boom.ok}", "fine"),
        ("{name}{name}", "AdaAda"),
    ],
)
def test_fields_resolve(ns, text, expected):
    assert interpolate(text, ns) == expected
    assert unresolved_fields(text, ns) == []


def test_value_is_str_of_object(ns):
    assert interpolate("{items}", ns) == "['first', 'second', 'last']"
    assert interpolate("{user.address}", ns) == str(ns["user"].address)


def test_text_without_braces_is_returned_as_is(ns):
    text = "no braces here " * 100
    assert interpolate(text, ns) is text


def test_any_mapping_works_as_namespace():
    from types import MappingProxyType

    assert interpolate("{a}", MappingProxyType({"a": 1})) == "1"


# --- what is left exactly as typed --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{unknown}",
        "{user.missing}",
        "{items[7]}",
        "{d['nope']}",
        "{n[0]}",  # int is not subscriptable
        '{ "a": 1 }',
        '{"a": 1, "b": [1,2]}',
        '{"a": {"b": {"c": [1, {"d": 2}]}}}',
        '[{"a": 1}, {"b": 2}]',
        "def f(): return {y: 1}",
        "{x:>10}",  # format specs are not supported
        "{x!r}",  # nor conversions
        "{ x }",
        "{x.}",
        "{items[0}",
        "{d['key]}",
        "{1abc}",
        "{}",
        "{",
        "}",
        "a { b",
        "x } y",
        "{x",
        "func({)",
        '{"a": "}", "b": {"c": 1}}',
        '{"a": {"b": "}"}}',
    ],
)
def test_left_as_typed(ns, text):
    assert interpolate(text, ns) == text


def test_json_prompt_unchanged_while_fields_around_it_resolve(ns):
    text = 'Answer {name} as JSON: {"a": 1, "b": [1,2]}'
    assert interpolate(text, ns) == 'Answer Ada as JSON: {"a": 1, "b": [1,2]}'


def test_field_inside_a_json_template_resolves(ns):
    text = '{"user": "{name}", "meta": {"n": {n}}}'
    assert interpolate(text, ns) == '{"user": "Ada", "meta": {"n": 3}}'


def test_code_with_braces(ns):
    # `{y: 1}` is not a field (the colon), so code dict literals pass whatever is defined.
    assert interpolate("def f(): return {x: 1}", ns) == "def f(): return {x: 1}"
    assert interpolate("def f(): return {y: 1}", ns) == "def f(): return {y: 1}"
    # The INTERFACE rule: a brace group that *does* resolve is replaced, even in code.
    # Write {{x}} (or use --raw) to keep it.
    assert interpolate("s = {x}", ns) == "s = 42"
    assert interpolate("s = {undefined_name}", ns) == "s = {undefined_name}"
    assert interpolate("s = {{x}}", ns) == "s = {x}"


def test_doubled_braces_are_literal(ns):
    assert interpolate("{{x}}", ns) == "{x}"  # even though x is defined
    assert interpolate("{{unknown}}", ns) == "{unknown}"
    assert interpolate("{{", ns) == "{"
    assert interpolate("}}", ns) == "}"
    assert interpolate("a }} b", ns) == "a } b"
    assert interpolate("{{{x}}}", ns) == "{42}"  # like str.format
    assert interpolate('{{"t": "{{x}}"}}', ns) == '{"t": "{x}"}'


def test_nested_json_closing_braces_are_not_escapes(ns):
    # "}}" that closes groups kept as typed stays "}}" (otherwise nested JSON would break).
    assert interpolate('{"a": {"b": 1}}', ns) == '{"a": {"b": 1}}'
    assert interpolate("{a: {unknown}}", ns) == "{a: {unknown}}"
    assert interpolate("{a: {x}}", ns) == "{a: 42}"


def test_private_attributes_are_refused(ns):
    for text in ["{x.__class__}", "{user._secret}", "{x.__class__.__mro__}", "{d.__len__}"]:
        assert interpolate(text, ns) == text
    assert unresolved_fields("{x.__class__}", ns) == ["x.__class__"]


def test_str_that_raises_is_left_as_typed(ns):
    assert interpolate("a {boom} b", ns) == "a {boom} b"
    assert unresolved_fields("a {boom} b", ns) == ["boom"]


def test_property_that_raises_is_left_as_typed(ns):
    assert interpolate("{boom.prop} {name}", ns) == "{boom.prop} Ada"


def test_getitem_that_raises_is_left_as_typed():
    class Picky:
        def __getitem__(self, key):
            raise TypeError("no")

    assert interpolate("{p[0]} {p['a']}", {"p": Picky()}) == "{p[0]} {p['a']}"


def test_no_eval(tmp_path):
    marker = tmp_path / "ran"
    namespace = {"__builtins__": __builtins__, "open": open, "marker": str(marker)}
    for text in [
        "{__import__('os')}",
        "{__import__('os').system('touch " + str(marker) + "')}",
        "{open(marker, 'w')}",
        "{1+1}",
        "{len(marker)}",
    ]:
        assert interpolate(text, namespace) == text
    assert not marker.exists()


def test_no_eval_of_keys():
    # The key inside [...] is a literal string, never an expression.
    d = {"__import__('os')": "just a key"}
    assert interpolate("{d['__import__(\\'os\\')']}", {"d": d}) == "{d['__import__(\\'os\\')']}"
    assert interpolate("{d[\"__import__('os')\"]}", {"d": d}) == "just a key"


def test_keyboard_interrupt_is_not_swallowed():
    class Slow:
        def __str__(self):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interpolate("{s}", {"s": Slow()})


# --- fields() and unresolved_fields() -----------------------------------------------------


def test_fields_lists_identifier_led_fields(ns):
    text = 'Use {item} and {item.title}, {rows[0]["t"]}, {item} again; {{esc}} {"json": 1} {x:>3}'
    assert fields(text) == ["item", "item.title", 'rows[0]["t"]']
    assert fields("nothing here") == []


def test_unresolved_fields(ns):
    text = "{name} {nope} {user.nope} {items[9]} {nope} {{escaped}} {'json': 1}"
    assert unresolved_fields(text, ns) == ["nope", "user.nope", "items[9]"]
    assert unresolved_fields("{name} {user.name}", ns) == []


# --- pandas --------------------------------------------------------------------------------


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "name": [f"person {i}" for i in range(50)],
            "score": list(range(50)),
            "ratio": [i / 4 for i in range(50)],
        }
    )


def test_frame_to_markdown_shape_dtypes_and_table(frame):
    md = frame_to_markdown(frame)
    lines = md.splitlines()
    assert lines[0] == "DataFrame: 50 rows × 3 columns"
    assert lines[1].startswith("columns: name (")
    assert "score (int64), ratio (float64)" in lines[1]
    assert lines[3] == "|  | name | score | ratio |"
    assert lines[4] == "|---|---|---|---|"
    assert lines[5] == "| 0 | person 0 | 0 | 0.0 |"
    assert lines[14] == "| 9 | person 9 | 9 | 2.25 |"
    assert lines[-1] == "… 40 more rows"
    assert "person 10" not in md


def test_frame_fits_without_more_line():
    md = frame_to_markdown(pd.DataFrame({"a": [1, 2]}))
    assert md.splitlines()[0] == "DataFrame: 2 rows × 1 column"
    assert "more" not in md
    assert md.splitlines()[-1] == "| 1 | 2 |"


def test_frame_cells_truncated_and_escaped():
    df = pd.DataFrame({"text": ["x" * 200, "a|b", "line1\nline2", "short"]})
    lines = frame_to_markdown(df, max_cell=20).splitlines()
    assert lines[5] == "| 0 | " + "x" * 19 + "… |"
    assert lines[6] == "| 1 | a\\|b |"
    assert lines[7] == "| 2 | line1\\nline2 |"
    assert all(line.count("\n") == 0 for line in lines)


def test_frame_columns_cut(frame):
    wide = pd.DataFrame({f"c{i}": [i] for i in range(30)})
    md = frame_to_markdown(wide, max_cols=5)
    lines = md.splitlines()
    assert lines[0] == "DataFrame: 1 row × 30 columns"
    assert lines[1].endswith("c4 (int64), … 25 more")
    assert lines[3] == "|  | c0 | c1 | c2 | c3 | c4 |"
    assert lines[-1] == "… 25 more columns"
    assert frame_to_markdown(frame, max_rows=2, max_cols=1).splitlines()[-1] == ("… 48 more rows, 2 more columns")


def test_frame_named_index():
    df = pd.DataFrame({"v": [1, 2]}, index=pd.Index(["a", "b"], name="key"))
    lines = frame_to_markdown(df).splitlines()
    assert lines[3] == "| key | v |"
    assert lines[5] == "| a | 1 |"


def test_thousand_row_frame_stays_short():
    big = pd.DataFrame({"a": range(1000), "b": ["text " * 30] * 1000})
    md = frame_to_markdown(big)
    assert len(md.splitlines()) <= 18
    assert len(md) < 1500
    assert md.splitlines()[-1] == "… 990 more rows"


def test_empty_frame():
    md = frame_to_markdown(pd.DataFrame({"a": []}))
    assert md.splitlines()[0] == "DataFrame: 0 rows × 1 column"
    assert "more" not in md


def test_series_to_markdown():
    s = pd.Series(range(25), name="score")
    lines = frame_to_markdown(s).splitlines()
    assert lines[0] == "Series score: 25 rows, dtype int64"
    assert lines[2] == "|  | score |"
    assert lines[4] == "| 0 | 0 |"
    assert lines[-1] == "… 15 more rows"
    unnamed = frame_to_markdown(pd.Series([1.5]))
    assert unnamed.splitlines()[0] == "Series: 1 row, dtype float64"
    assert "| 0 | 1.5 |" in unnamed


def test_dataframe_and_series_interpolate_as_tables(frame):
    ns = {"df": frame}
    out = interpolate("Summarise:\n{df}\nThanks", ns)
    assert out == "Summarise:\n" + frame_to_markdown(frame) + "\nThanks"
    assert "DataFrame: 50 rows × 3 columns" in out
    assert repr(frame) not in out
    col = interpolate("{df['score']}", ns)
    assert col.startswith("Series score: 50 rows, dtype int64")
    assert interpolate("{df.shape}", ns) == "(50, 3)"


def test_module_does_not_import_pandas_or_ipython():
    code = (
        "import sys, dataoorts_magic.prompting.interpolate as m\n"
        "m.interpolate('{a.b} {c[0]}', {'a': 1, 'c': [2]})\n"
        "assert 'pandas' not in sys.modules, 'pandas'\n"
        "assert 'IPython' not in sys.modules, 'IPython'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
