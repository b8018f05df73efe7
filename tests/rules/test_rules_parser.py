"""Parsing rule text: the friendly syntax-mistake table, located errors, limits, literals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.engine.rules import ast as A
from accord.engine.rules.parser import (
    MAX_DEPTH,
    MAX_SOURCE_CHARS,
    SYNTAX_MISTAKES,
    get_parser,
    parse_expression,
    parse_text,
)
from accord.errors import RuleSyntaxError


@pytest.mark.parametrize(
    ("message", "example"),
    [(m, ex) for m, exs in SYNTAX_MISTAKES.items() for ex in exs],
)
def test_known_syntax_mistakes_get_their_friendly_message(message: str, example: str) -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_text(example)
    assert info.value.diagnostics[0].message == message


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("rule r when a && b then approve", "RULE002", "use 'and' instead of '&&' or '&'"),
        ("rule r when a || b then approve", "RULE001", "use 'or' instead"),
        ("rule r when a == 'x' then approve", "RULE002", 'strings use double quotes: "text"'),
        ('rule r when a == "x then approve', "RULE002", "this string is not closed on its line"),
        ("rule r when $a then approve", "RULE002", "names are plain words"),
        ("rule r when 1e5 > 1 then approve", "RULE001", "write numbers in full"),
        ('rule r when 99999999999999999999w > 1h then approve because "x"', "RULE005", "too long"),
    ],
)
def test_character_mistakes_are_explained(text: str, code: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_text(text)
    d = info.value.diagnostics[0]
    assert d.code == code
    assert message in d.message


def test_syntax_error_renders_with_caret_golden() -> None:
    text = 'ruleset x\nrule r when status = "paid" then approve because "x"\n'
    with pytest.raises(RuleSyntaxError) as info:
        parse_text(text, filename="orders.rules")
    assert info.value.diagnostics[0].render(source=text) == (
        "orders.rules:2:20: error RULE001: use '==' to compare; '=' only appears in "
        "'set field = value', 'let name = value' and fact defaults\n"
        'rule r when status = "paid" then approve because "x"\n'
        "                   ^\n"
        "    hint: expected one of add_op, 'and', 'as', 'because', ',', comp_op, '.', 'else', ..."
    )


def test_reserved_word_is_not_read_as_a_name() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_text("rule r when then > 1 then approve")
    assert info.value.diagnostics[0].column == 13


def test_unexpected_end_is_rule003() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_text("rule r when a >")
    assert info.value.code == "RULE003"


def test_literals() -> None:
    e = parse_expression("[200 USD, 15%, 24h, 3d, 2026-03-02, 2026-03-02T10:00:00Z, 0.25]")
    assert isinstance(e, A.ListLit)
    values = [i.value for i in e.items if isinstance(i, A.Lit)]
    assert values == [
        (Decimal("200"), "USD"),
        Decimal("0.15"),
        timedelta(hours=24),
        timedelta(days=3),
        datetime(2026, 3, 2).date(),
        datetime(2026, 3, 2, 10, tzinfo=UTC),
        Decimal("0.25"),
    ]


def test_invalid_date_literal_is_located() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_text('rule r when today == 2026-02-30 then approve because "x"')
    d = info.value.diagnostics[0]
    assert (d.code, d.line, d.column) == ("RULE005", 1, 22)


def test_nesting_limit() -> None:
    deep = "-" * (MAX_DEPTH + 5) + "1"
    with pytest.raises(RuleSyntaxError) as info:
        parse_text(f'rule r when {deep} > 0 then approve because "x"')
    assert info.value.code == "RULE010"


def test_size_limit() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_text("#" * (MAX_SOURCE_CHARS + 1))
    assert info.value.code == "RULE011"


def test_template_parts_and_positions() -> None:
    rf = parse_text('fact a: money\nrule r when true then approve because "x {a} \\{y\\}"')
    reason = rf.rules[0].reason
    assert reason is not None
    assert reason.parts[0] == "x "
    name = reason.parts[1]
    assert isinstance(name, A.Name)
    assert (name.pos.line, name.pos.column) == (2, 43)
    assert reason.parts[2] == " {y}"


def test_unclosed_interpolation_is_rule004() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_text('rule r when true then approve because "x {a"')
    assert info.value.code == "RULE004"


def test_table_cells_are_located() -> None:
    text = 'table t hit first\n  | a      || b | because |\n  | > 5    || 1 | "big" |\nend\n'
    rf = parse_text(text)
    row = rf.tables[0].rows[0]
    cell = row.cells[0]
    assert cell.tests is not None
    assert (cell.tests[0].pos.line, cell.tests[0].pos.column) == (3, 5)


def test_table_row_with_wrong_cell_count() -> None:
    text = 'table t hit first\n| a || b | because |\n| 1 | 2 || 3 | "x" |\nend\n'
    with pytest.raises(RuleSyntaxError) as info:
        parse_text(text)
    d = info.value.diagnostics[0]
    assert (d.code, d.line) == ("RULE006", 3)


@given(st.text(max_size=120))
def test_arbitrary_text_parses_or_raises_located_syntax_error(text: str) -> None:
    try:
        parse_text(text)
    except RuleSyntaxError as exc:
        d = exc.diagnostics[0]
        assert d.code.startswith("RULE0")
        assert d.line is not None
        assert d.line >= 1
        assert d.column is not None
        assert d.column >= 1


_WORDS = [
    "rule", "r", "when", "then", "approve", "because", '"x {a}"', "a", "fact", ":", "money",
    "(", ")", "[", "]", ",", ".", "+", "*", "==", "<", "and", "or", "not", "in", "5", "5 USD",
    "15%", "24h", "2026-01-01", "true", "??", "exists", "as", "set", "=", "let", "table", "t",
    "hit", "first", "end", "\n| a || b | because |\n", '\n| 1 || 2 | "r" |\n', "calendar",
    "ownership", "owns", "order.*", "escalate", "to", "stop", "if", "else",
]  # fmt: skip


@given(st.lists(st.sampled_from(_WORDS), max_size=30))
def test_token_soup_parses_or_raises_located_syntax_error(words: list[str]) -> None:
    lines: list[int | None] = []
    try:
        parse_text(" ".join(words))
    except RuleSyntaxError as exc:
        lines.append(exc.diagnostics[0].line)
    assert None not in lines


def test_parser_tables_are_cached_per_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCORD_CACHE_DIR", str(tmp_path))
    build = get_parser.__wrapped__
    first = build()
    saved = list(tmp_path.glob("rules-grammar-*.lark"))
    assert len(saved) == 1
    loaded = build()  # now from the cache file
    assert loaded is not first
    tree = loaded.parse('rule r when a > 1 then approve because "x"', start="start")
    assert tree.children[0].meta.line == 1
    saved[0].write_bytes(b"not a pickle")  # a broken cache is rebuilt and replaced
    assert build().parse("1 + 2", start="expr") is not None
    assert saved[0].read_bytes() != b"not a pickle"


def test_parser_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCORD_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    get_parser.__wrapped__()
    assert list(tmp_path.rglob("*")) == []
