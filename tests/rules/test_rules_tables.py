"""Decision tables: hit policies and the overlap / unreachable-row analysis."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.engine.rules import check_rules_text, parse_ruleset
from accord.errors import RuleError

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def _table(hit: str, rows: list[str], header: str = "| n || out | because |") -> str:
    body = "\n".join(f"  {r}" for r in rows)
    return f"fact n: number\nfact c: string\ntable t hit {hit}\n  {header}\n{body}\nend\n"


def _codes(text: str) -> list[tuple[str, int | None]]:
    return [(d.code, d.line) for d in check_rules_text(text) if d.severity == "error"]


@pytest.mark.parametrize(
    ("rows", "finding"),
    [
        (['| [1..10] || 1 | "a" |', '| > 5 || 2 | "b" |'], [("RULE130", 6)]),
        (['| [1..5] || 1 | "a" |', '| (5..9] || 2 | "b" |'], []),
        (['| [1..5] || 1 | "a" |', '| [5..9] || 2 | "b" |'], [("RULE130", 6)]),
        (['| < 5 || 1 | "a" |', '| >= 5 || 2 | "b" |'], []),
        (['| 1, 2 || 1 | "a" |', '| 3 || 2 | "b" |'], []),
        (['| 1, 2 || 1 | "a" |', '| 2 || 2 | "b" |'], [("RULE130", 6)]),
        (['| || 1 | "a" |', '| 2 || 2 | "b" |'], [("RULE130", 6)]),
        # a cell that reads a value is taken at its word: no finding
        (['| n || 1 | "a" |', '| 2 || 2 | "b" |'], []),
    ],
)
def test_unique_overlap(rows: list[str], finding: list[tuple[str, int]]) -> None:
    assert _codes(_table("unique", rows)) == finding


@pytest.mark.parametrize(
    ("rows", "finding"),
    [
        (['| > 0 || 1 | "a" |', '| > 10 || 2 | "b" |'], [("RULE131", 6)]),
        (['| > 10 || 1 | "a" |', '| > 0 || 2 | "b" |'], []),
        (['| || 1 | "a" |', '| 5 || 2 | "b" |'], [("RULE131", 6)]),
        (['| [0..10] || 1 | "a" |', '| [2..3), 7 || 2 | "b" |'], [("RULE131", 6)]),
        (['| [0..10) || 1 | "a" |', '| [2..10] || 2 | "b" |'], []),
    ],
)
def test_first_unreachable(rows: list[str], finding: list[tuple[str, int]]) -> None:
    assert _codes(_table("first", rows)) == finding


def test_two_column_rows_overlap_only_when_every_column_meets() -> None:
    header = "| n | c || out | because |"
    rows = ['| > 5 | "US" || 1 | "a" |', '| > 7 | "CA" || 2 | "b" |']
    assert _codes(_table("unique", rows, header)) == []
    rows = ['| > 5 | "US" || 1 | "a" |', '| > 7 | "US", "CA" || 2 | "b" |']
    assert _codes(_table("unique", rows, header)) == [("RULE130", 6)]


@pytest.mark.parametrize(
    ("hit", "n", "out"),
    [("first", 20, "2"), ("first", 3, "1"), ("priority", 20, "2"), ("priority", 3, "1")],
)
def test_first_and_priority_pick_one_row(hit: str, n: int, out: str) -> None:
    # the priority column wins over row order for 'priority'
    rows = ['| > 10 || 2 | 5 | "big" |', '| > 0 || 1 | 1 | "positive" |']
    rs = parse_ruleset(_table(hit, rows, "| n || out | priority | because |"))
    d = rs.evaluate({}, facts={"n": n, "c": "US"}, now=NOW)
    assert d.to_dict()["fields"] == {"out": out}
    assert len(d.outcomes) == 1


def test_priority_beats_row_order() -> None:
    rows = ['| > 0 || 1 | 1 | "positive" |', '| > 10 || 2 | 5 | "big" |']
    rs = parse_ruleset(_table("priority", rows, "| n || out | priority | because |"))
    assert rs.evaluate({}, facts={"n": 20, "c": "US"}, now=NOW).fields_set == {"out": 2}


def test_collect_rows_setting_one_field_differently_conflict() -> None:
    rows = ['| > 0 || 1 | "positive" |', '| > 10 || 2 | "big" |']
    rs = parse_ruleset(_table("collect", rows))
    with pytest.raises(RuleError) as info:
        rs.evaluate({}, facts={"n": 20, "c": "US"}, now=NOW)
    assert info.value.code == "RULE207"


def test_collect_gathers_every_row() -> None:
    rows = ['| > 0 || "positive" |', '| > 10 || "big" |']
    text = _table("collect", rows, "| n || because |")
    assert _codes(text) == []
    d = parse_ruleset(text).evaluate({}, facts={"n": 20, "c": "x"}, now=NOW)
    assert d.kinds() == ["match", "match"]
    assert d.reasons == ["positive", "big"]
    assert d.trace[0]["matched_rows"] == [1, 2]


def test_priority_table_needs_priority_column() -> None:
    assert ("RULE134", 3) in _codes(_table("priority", ['| > 0 || 1 | "a" |']))


def test_table_without_because_column() -> None:
    assert ("RULE120", 3) in _codes(_table("first", ["| > 0 || 1 |"], "| n || out |"))


def test_trace_lists_rows() -> None:
    rs = parse_ruleset(_table("first", ['| > 10 || 1 | "big" |', '| || 2 | "other" |']))
    trace = rs.evaluate({}, facts={"n": 3, "c": "x"}, now=NOW).trace
    assert trace == [
        {
            "table": "t",
            "line": 3,
            "hit": "first",
            "considered_rows": 2,
            "matched_rows": [2],
            "values": {"n": "3"},
        }
    ]


@pytest.mark.parametrize(
    ("rows", "header", "finding"),
    [
        # rows 1 and 2 together cover every number, so row 3 can never be reached
        (['| < 5 || 1 | "a" |', '| >= 5 || 2 | "b" |', '| 7 || 3 | "c" |'], None, 7),
        (['| < 5 || 1 | "a" |', '| > 5 || 2 | "b" |', '| || 3 | "c" |'], None, None),
        (['| [0..5) || 1 | "a" |', '| [5..10] || 2 | "b" |', '| [1..9] || 3 | "c" |'], None, 7),
        (['| != 3 || 1 | "a" |', '| 3 || 2 | "b" |', '| -2 || 3 | "c" |'], None, 7),
        # strings: one value, then everything but it
        (
            ['| "US" || 1 | "a" |', '| not("US") || 2 | "b" |', '| "CA" || 3 | "c" |'],
            "| c || out | because |",
            7,
        ),
        (
            ['| "US" || 1 | "a" |', '| "MX" || 2 | "b" |', '| || 3 | "c" |'],
            "| c || out | because |",
            None,
        ),
        # two columns: the union of two boxes covers the third
        (
            ['| > 5 | "US" || 1 | "a" |', '| <= 5 | "US" || 2 | "b" |', '| | "US" || 3 | "c" |'],
            "| n | c || out | because |",
            7,
        ),
        (
            ['| > 5 | "US" || 1 | "a" |', '| < 3 | "US" || 2 | "b" |', '| | "US" || 3 | "c" |'],
            "| n | c || out | because |",
            None,
        ),
    ],
)
def test_first_unreachable_by_several_rows(
    rows: list[str], header: str | None, finding: int | None
) -> None:
    text = _table("first", rows, header or "| n || out | because |")
    expected = [("RULE131", finding)] if finding else []
    assert _codes(text) == expected


def test_booleans_have_two_values() -> None:
    text = (
        "fact b: bool\ntable t hit first\n  | b || out | because |\n"
        '  | true || 1 | "yes" |\n  | false || 2 | "no" |\n  | || 3 | "other" |\nend\n'
    )
    assert _codes(text) == [("RULE131", 6)]


_cells = st.one_of(
    st.just(""),
    st.integers(0, 6).map(str),
    st.tuples(st.sampled_from(["<", "<=", ">", ">=", "!="]), st.integers(0, 6)).map(
        lambda t: f"{t[0]} {t[1]}"
    ),
    st.tuples(
        st.integers(0, 6), st.integers(0, 6), st.sampled_from("[("), st.sampled_from("])")
    ).map(lambda t: f"{t[2]}{min(t[0], t[1])}..{max(t[0], t[1])}{t[3]}"),
    st.lists(st.integers(0, 6), min_size=2, max_size=3, unique=True).map(
        lambda xs: ", ".join(map(str, xs))
    ),
)


@given(st.lists(st.tuples(_cells, _cells), min_size=2, max_size=4))
def test_unreachable_rows_really_are_unreachable(cells: list[tuple[str, str]]) -> None:
    """Soundness: a row reported unreachable is never the first match, on any input."""

    def table(hit: str, with_output: bool) -> str:
        header = "| n | m || out | because |" if with_output else "| n | m || because |"
        rows = [
            f'| {a} | {b} || {i + 1} | "r" |' if with_output else f'| {a} | {b} || "r" |'
            for i, (a, b) in enumerate(cells)
        ]
        body = "\n".join(f"  {r}" for r in rows)
        return f"fact n: number\nfact m: number\ntable t hit {hit}\n  {header}\n{body}\nend\n"

    flagged = {
        line - 4 for code, line in _codes(table("first", True)) if code == "RULE131" and line
    }
    if not flagged:
        return
    # The same rows as a collect table say which rows match each input; probe a grid that
    # includes every boundary and the points between them.
    rs = parse_ruleset(table("collect", False))
    grid = [Decimal(v) / 2 for v in range(-2, 16)]
    for n in grid:
        for m in grid:
            matched = rs.evaluate({}, facts={"n": n, "m": m}, now=NOW).trace[0]["matched_rows"]
            assert not matched or matched[0] not in flagged, (cells, n, m, matched)
