"""Parse rule text into the syntax tree of :mod:`accord.engine.rules.ast`.

One LALR parser is built from ``grammar.lark`` on first use and cached. Every lark error is
mapped here to a :class:`~accord.errors.RuleSyntaxError` with a located ``RULE0xx``
Diagnostic; :data:`SYNTAX_MISTAKES` turns the mistakes people actually make into friendly
messages (the table doubles as a test: every example must produce its own message).

>>> rf = parse_text('ruleset demo\\nrule big when 2 > 1 then approve because "always"')
>>> rf.name, [r.name for r in rf.rules]
('demo', ['big'])
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from pathlib import Path

import lark
from lark import Lark, Token, Tree
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)

from accord.diagnostics import Diagnostic
from accord.engine.rules import ast as A
from accord.errors import RuleSyntaxError

__all__ = [
    "MAX_DEPTH",
    "MAX_SOURCE_CHARS",
    "SYNTAX_MISTAKES",
    "get_parser",
    "parse_expression",
    "parse_text",
]

#: Sandbox limits: a rule file larger than this, or an expression nested deeper, is refused.
MAX_SOURCE_CHARS = 1_000_000
MAX_DEPTH = 64

#: Known syntax mistakes -> the friendly message shown instead of lark's token list. Each
#: example is a complete rule text that fails at the spot the message describes.
SYNTAX_MISTAKES: dict[str, list[str]] = {
    "use '==' to compare; '=' only appears in 'set field = value', 'let name = value' and "
    "fact defaults": [
        'rule r when status = "paid" then approve because "x"',
        "rule r when a > 1 and b = 2 then approve",
    ],
    "a rule reads 'rule NAME when CONDITION then ACTIONS because \"REASON\"': 'then' is missing": [
        'rule r when a > 1 approve because "x"',
        "rule r when a > 1 reject",
    ],
    "a rule needs a 'when' condition before 'then'": [
        'rule r then approve because "x"',
    ],
    "comparisons do not chain: write 'a < b and b < c'": [
        "rule r when 1 < a < 3 then approve",
        "rule r when a == b == c then approve",
    ],
    "separate a rule's actions with commas: 'then approve, tag \"x\"'": [
        'rule r when a then approve tag "x"',
        "rule r when a then set x = 1 set y = 2",
    ],
    "'because' takes a double-quoted reason: because \"refund is small\"": [
        "rule r when a then approve because small",
        "rule r when a then approve because",
    ],
    "a money literal is an amount followed by a currency code: '200 USD'": [
        "rule r when amount > USD 200 then approve",
    ],
    "'set' needs a field and a value: 'set field = value'": [
        "rule r when a then set x 3",
        "rule r when a then set = 3",
    ],
    "'priority' takes a number: 'rule NAME priority 10 when ...'": [
        "rule r priority high when a then approve",
    ],
    "a fact needs a type: 'fact name: money'": [
        "fact captured",
        "fact captured = 3",
    ],
    "a table needs a hit policy after its name: 'hit first', 'hit unique', 'hit priority' or "
    "'hit collect'": [
        "table t | a || b | end",
    ],
    "'escalate' names a queue: 'escalate to finance'": [
        "rule r when a then escalate finance",
    ],
    "this block is not closed: calendars, tables and ownership blocks end with 'end'": [
        "calendar c weekdays mon",
        "ownership erp owns order.*",
        "table t hit first | a || b |",
    ],
    "a parenthesis or bracket is not closed": [
        "rule r when (a > 1 then approve",
        "rule r when a in [1, 2 then approve",
    ],
    "an expression is incomplete here: an operator needs a value on both sides": [
        "rule r when a > then approve",
        "rule r when a and then approve",
        "rule r when a + then approve",
    ],
}

_CHAR_HINTS = {
    "&": "use 'and' instead of '&&' or '&'",
    "|": "use 'or' instead of '||'; '|' only separates decision-table cells",
    "'": 'strings use double quotes: "text"',
    "!": "use 'not' (or '!=' to compare)",
    "=": "use '==' to compare",
    '"': "this string is not closed on its line",
    "$": "names are plain words: 'amount', not '$amount'",
    "@": "names are plain words: 'amount', not '@amount'",
}

_GRAMMAR_FILE = "grammar.lark"


@cache
def get_parser() -> Lark:
    """The one LALR parser, built once per process (``propagate_positions`` on).

    Building the LALR tables takes about 0.2 s; they are saved in the user's cache directory
    (``$ACCORD_CACHE_DIR``, else ``$XDG_CACHE_HOME/accord`` or ``~/.cache/accord``; set
    ``ACCORD_CACHE_DIR=`` to an empty value to turn this off), keyed by a hash of the grammar,
    the lark version and the Python version, so later processes load them in about 20 ms.
    The cache lives in a directory only the user can write (never a shared temporary one,
    since loading it unpickles); a missing, stale or unreadable cache is simply rebuilt.
    """
    text = resources.files("accord.engine.rules").joinpath(_GRAMMAR_FILE).read_text("utf-8")
    path = _cache_path(text)
    if path is not None and path.is_file():
        try:
            with path.open("rb") as fh:
                return Lark.load(fh)
        except Exception:
            pass
    parser = Lark(
        text,
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        start=["start", "expr", "cell"],
    )
    if path is not None:
        _save(parser, path)
    return parser


def _cache_path(grammar: str) -> Path | None:
    configured = os.environ.get("ACCORD_CACHE_DIR")
    if configured is not None:
        if not configured.strip():
            return None
        base = Path(configured)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
        try:
            base = (Path(xdg) if xdg else Path.home() / ".cache") / "accord"
        except (RuntimeError, KeyError):  # no home directory: run without the cache
            return None
    key = hashlib.sha256(
        "\0".join((grammar, lark.__version__, sys.version)).encode("utf-8")
    ).hexdigest()[:20]
    return base / f"rules-grammar-{key}.lark"


def _save(parser: Lark, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            parser.save(fh)
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the new one
    except OSError:
        return  # read-only home, full disk: run without the cache


# -- errors ------------------------------------------------------------------------------


def _friendly(exc: UnexpectedInput, start: str) -> str | None:
    """The label of the :data:`SYNTAX_MISTAKES` example failing in the same parser state.

    Same idea as lark's ``match_examples`` (an exact token match beats a token-type match,
    which beats a bare state match), written out because that helper's debug logging breaks
    on the contextual lexer's parser states.
    """
    if start != "start" or getattr(exc, "state", None) is None:
        return None
    parser = get_parser()
    token = getattr(exc, "token", None)
    by_state: str | None = None
    by_type: str | None = None
    for label, examples in SYNTAX_MISTAKES.items():
        for example in examples:
            try:
                parser.parse(example, start="start")
            except UnexpectedInput as other:
                # Same LALR state (the top of the stack), whatever came before it.
                if type(other) is not type(exc) or _position(other) != _position(exc):
                    continue
                other_token = getattr(other, "token", None)
                if token is not None and other_token is not None:
                    # The same state is not enough: '=' and '||' after a name both fail
                    # there, and deserve different advice.
                    if other_token == token and other_token.type == token.type:
                        return label
                    if other_token.type == token.type and by_type is None:
                        by_type = label
                elif by_state is None:
                    by_state = label
            except LarkError:  # pragma: no cover - the examples are fixed text
                continue
    return by_type or by_state


def _position(exc: UnexpectedInput) -> object:
    state = getattr(exc, "state", None)
    return getattr(state, "position", state)


def _expected(exc: UnexpectedInput) -> str:
    names: set[str] = set()
    if isinstance(exc, UnexpectedToken | UnexpectedEOF):
        names = set(exc.expected)
    elif isinstance(exc, UnexpectedCharacters):
        names = set(exc.allowed or ())
    parser = get_parser()
    shown = []
    for n in sorted(names):
        try:
            term = parser.get_terminal(n)
        except KeyError:
            continue
        pattern = term.pattern
        if pattern.type == "str":
            shown.append(repr(pattern.value))
        elif not n.startswith("_") and n != "$END":
            shown.append(n.lower())
    if not shown:
        return ""
    if len(shown) > 8:
        shown = [*shown[:8], "..."]
    return "expected one of " + ", ".join(shown)


def _syntax_error(
    exc: UnexpectedInput,
    *,
    filename: str,
    text: str,
    start: str,
    line_offset: int = 0,
    col_offset: int = 0,
) -> RuleSyntaxError:
    line = getattr(exc, "line", None)
    column = getattr(exc, "column", None)
    if not isinstance(line, int) or line < 1:
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    if not isinstance(column, int) or column < 1:
        column = 1
    if line == 1:
        column += col_offset
    line += line_offset
    friendly = _friendly(exc, start)
    hint = _expected(exc) or None
    if isinstance(exc, UnexpectedCharacters):
        char = exc.char
        code = "RULE002"
        message = friendly or f"unexpected character {char!r}"
        if friendly is None and char in _CHAR_HINTS:
            message = f"unexpected character {char!r}: {_CHAR_HINTS[char]}"
        at = exc.pos_in_stream or 0
        if char == "|" and text[at : at + 2] == "||":
            message = "unexpected '||': use 'or' instead"
        end_column = column + 1
    elif isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        code = "RULE003"
        message = friendly or "the rule text ends too early"
        end_column = column + 1
    else:
        assert isinstance(exc, UnexpectedToken)
        tok = exc.token
        code = "RULE001"
        message = friendly or f"unexpected {tok.value!r}"
        start_pos = tok.start_pos if isinstance(tok.start_pos, int) else 0
        if tok.type == "NAME" and start_pos > 0 and text[start_pos - 1].isdigit():
            message = (
                f"a number runs into {tok.value!r}: write numbers in full (100000, not 1e5); "
                "units are written 24h, 3d, 15% and 200 USD"
            )
        if tok.type == "TABLE_LINE" and friendly is None:
            # Outside a table, '|' can only be a mistyped operator.
            message = (
                "unexpected '||': use 'or' instead"
                if str(tok.value).startswith("||")
                else "unexpected '|': '|' only separates decision-table cells"
            )
            tok = Token(tok.type, str(tok.value)[:2], line=tok.line, column=tok.column)
        end_column = column + max(len(str(tok.value)), 1)
    diag = Diagnostic(
        code=code,
        message=message,
        file=filename,
        line=line,
        column=column,
        end_line=line,
        end_column=end_column,
        hint=hint,
    )
    return RuleSyntaxError(diagnostics=[diag])


def _error(code: str, message: str, filename: str, pos: A.Pos) -> RuleSyntaxError:
    return RuleSyntaxError(
        diagnostics=[
            Diagnostic(
                code=code,
                message=message,
                file=filename,
                line=pos.line,
                column=pos.column,
                end_line=pos.end_line,
                end_column=pos.end_column,
            )
        ]
    )


def _lark_parse(
    text: str, start: str, filename: str, line_offset: int = 0, col_offset: int = 0
) -> Tree[Token]:
    try:
        return get_parser().parse(text, start=start)
    except UnexpectedInput as exc:
        raise _syntax_error(
            exc,
            filename=filename,
            text=text,
            start=start,
            line_offset=line_offset,
            col_offset=col_offset,
        ) from None
    except LarkError as exc:  # pragma: no cover - lark raises UnexpectedInput for bad text
        diag = Diagnostic(code="RULE001", message=f"cannot parse: {exc}", file=filename)
        raise RuleSyntaxError(diagnostics=[diag]) from exc


# -- tree -> AST ----------------------------------------------------------------------------

_STRING_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "{": "{", "}": "}"}
_DURATION_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


class _Builder:
    """Turns lark trees into AST nodes, tracking nesting depth (a sandbox limit)."""

    def __init__(self, filename: str, line_offset: int = 0, col_offset: int = 0) -> None:
        self.filename = filename
        self.line_offset = line_offset
        self.col_offset = col_offset
        self.depth = 0

    # positions -------------------------------------------------------------------------
    def pos(self, node: Tree[Token] | Token) -> A.Pos:
        if isinstance(node, Token):
            line, col = node.line or 1, node.column or 1
            end_line, end_col = node.end_line or line, node.end_column or col + 1
        else:
            meta = node.meta
            if getattr(meta, "empty", True):
                return A.Pos(1 + self.line_offset, 1 + self.col_offset, 1, 1)
            line, col, end_line, end_col = (
                meta.line,
                meta.column,
                meta.end_line,
                meta.end_column,
            )
        if line == 1:
            col += self.col_offset
        if end_line == 1:
            end_col += self.col_offset
        return A.Pos(line + self.line_offset, col, end_line + self.line_offset, end_col)

    def fail(self, code: str, message: str, pos: A.Pos) -> RuleSyntaxError:
        return _error(code, message, self.filename, pos)

    # strings ---------------------------------------------------------------------------
    def string(self, tok: Token) -> str:
        raw = str(tok)[1:-1]
        return re.sub(r"\\(.)", lambda m: _STRING_ESCAPES.get(m.group(1), m.group(1)), raw)

    def template(self, tok: Token) -> A.Template:
        """Split a ``because`` string into text and ``{expression}`` parts."""
        pos = self.pos(tok)
        raw = str(tok)[1:-1]
        parts: list[str | A.Expr] = []
        buf: list[str] = []
        i = 0
        while i < len(raw):
            ch = raw[i]
            if ch == "\\" and i + 1 < len(raw):
                nxt = raw[i + 1]
                buf.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
                i += 2
                continue
            if ch == "{":
                close = raw.find("}", i)
                if close < 0:
                    raise self.fail(
                        "RULE004",
                        "'{' opens an interpolation that is never closed with '}' "
                        "(write '\\{' for a literal brace)",
                        A.Pos(pos.line, pos.column + 1 + i, pos.line, pos.column + 2 + i),
                    )
                if buf:
                    parts.append("".join(buf))
                    buf = []
                # Quotes inside an interpolation are escaped in the rule text (\"); unescape.
                inner = raw[i + 1 : close].replace('\\"', '"')
                sub_col = pos.column + 1 + i + 1
                tree = _lark_parse(
                    inner, "expr", self.filename, line_offset=pos.line - 1, col_offset=sub_col - 1
                )
                sub = _Builder(self.filename, pos.line - 1, sub_col - 1)
                parts.append(sub.expr(tree))
                i = close + 1
                continue
            buf.append(ch)
            i += 1
        if buf:
            parts.append("".join(buf))
        return A.Template(tuple(parts), raw, pos)

    # expressions -----------------------------------------------------------------------
    def expr(self, node: Tree[Token] | Token) -> A.Expr:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise self.fail(
                    "RULE010",
                    f"expression nested deeper than {MAX_DEPTH} levels; split it with 'let'",
                    self.pos(node),
                )
            return self._expr(node)
        finally:
            self.depth -= 1

    def _expr(self, node: Tree[Token] | Token) -> A.Expr:
        if isinstance(node, Token):  # pragma: no cover - every expression token is wrapped
            return A.Name(str(node), self.pos(node))
        kind = str(node.data)
        ch = node.children
        pos = self.pos(node)
        if kind == "number":
            return A.Lit("number", Decimal(str(ch[0])), pos, str(ch[0]))
        if kind == "money":
            amount, currency = str(ch[0]).split()
            return A.Lit("money", (Decimal(amount), currency), pos, str(ch[0]))
        if kind == "percent":
            return A.Lit("number", Decimal(str(ch[0])[:-1]) / 100, pos, str(ch[0]))
        if kind == "duration":
            text = str(ch[0])
            unit = text[-1]
            try:
                span = timedelta(**{_DURATION_UNITS[unit]: int(text[:-1])})
            except OverflowError:
                raise self.fail("RULE005", f"the duration {text!r} is too long", pos) from None
            return A.Lit("duration", span, pos, text)
        if kind == "date":
            return A.Lit("date", self.date(ch[0]), pos, str(ch[0]))
        if kind == "datetime":
            text = str(ch[0])
            try:
                value = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
            except ValueError:
                raise self.fail("RULE005", f"{text!r} is not a valid date-time", pos) from None
            return A.Lit("datetime", value, pos, text)
        if kind == "string":
            assert isinstance(ch[0], Token)
            return A.Lit("string", self.string(ch[0]), pos, str(ch[0]))
        if kind in ("true", "false"):
            return A.Lit("bool", kind == "true", pos, kind)
        if kind == "name":
            return A.Name(str(ch[0]), pos)
        if kind == "attr":
            return A.Attr(self.expr(ch[0]), str(ch[1]), pos)
        if kind == "index":
            return A.Index(self.expr(ch[0]), self.expr(ch[1]), pos)
        if kind == "neg":
            return A.Unary("neg", self.expr(ch[0]), pos)
        if kind == "not_":
            return A.Unary("not", self.expr(ch[0]), pos)
        if kind == "binop":
            return A.Bin(str(ch[1]), self.expr(ch[0]), self.expr(ch[2]), pos)
        if kind == "compare":
            return A.Bin(str(ch[1]), self.expr(ch[0]), self.expr(ch[2]), pos)
        if kind in ("and_", "or_"):
            return A.Bin(kind[:-1], self.expr(ch[0]), self.expr(ch[1]), pos)
        if kind == "in_":
            return A.Bin("in", self.expr(ch[0]), self.expr(ch[1]), pos)
        if kind == "not_in":
            return A.Bin("not in", self.expr(ch[0]), self.expr(ch[1]), pos)
        if kind == "default":
            return A.Bin("??", self.expr(ch[0]), self.expr(ch[1]), pos)
        if kind == "call":
            args = tuple(self.expr(c) for c in ch[1:] if c is not None)
            return A.Call(str(ch[0]), args, pos)
        if kind == "comprehension":
            return A.Comp(
                str(ch[0]),
                self.expr(ch[1]),
                str(ch[2]),
                self.expr(ch[3]),
                tuple(self.expr(c) for c in ch[4:]),
                pos,
            )
        if kind == "list_lit":
            return A.ListLit(tuple(self.expr(c) for c in ch if c is not None), pos)
        if kind == "cond":
            return A.Cond(self.expr(ch[0]), self.expr(ch[1]), self.expr(ch[2]), pos)
        raise AssertionError(f"unhandled expression node {kind}")  # pragma: no cover

    def date(self, tok: Tree[Token] | Token) -> date:
        try:
            return date.fromisoformat(str(tok))
        except ValueError:
            raise self.fail("RULE005", f"{str(tok)!r} is not a valid date", self.pos(tok)) from None

    # declarations ----------------------------------------------------------------------
    def type_expr(self, node: Tree[Token]) -> A.TypeExpr:
        pos = self.pos(node)
        kind = str(node.data)
        if kind == "type_name":
            return A.TypeExpr(str(node.children[0]), pos)
        if kind in ("type_list", "type_map"):
            sub = node.children[0]
            assert isinstance(sub, Tree)
            return A.TypeExpr(kind[5:], pos, item=self.type_expr(sub))
        fields = []
        for f in node.children:
            assert isinstance(f, Tree)
            name_tok, sub, opt = f.children[0], f.children[1], f.children[2]
            assert isinstance(sub, Tree)
            fields.append((str(name_tok), self.type_expr(sub), opt is not None))
        return A.TypeExpr("record", pos, fields=tuple(fields))

    def priority(self, node: Tree[Token] | Token | None) -> Decimal:
        if node is None:
            return Decimal(0)
        assert isinstance(node, Tree)
        sign = node.children[0]
        assert isinstance(sign, Tree)
        text = "".join(str(t) for t in sign.children)
        return Decimal(text)

    def action(self, node: Tree[Token]) -> A.Action:
        kind = str(node.data)[4:]
        pos = self.pos(node)
        ch = node.children
        if kind == "set":
            ref = ch[0]
            assert isinstance(ref, Tree)
            return A.Action(
                "set", pos, field=".".join(str(t) for t in ref.children), value=self.expr(ch[1])
            )
        if kind == "escalate":
            tok = ch[0]
            assert isinstance(tok, Token)
            queue = self.string(tok) if tok.type == "STRING" else str(tok)
            return A.Action("escalate", pos, queue=queue)
        if kind == "route":
            split = str(ch[1]) if len(ch) > 1 and ch[1] is not None else None
            return A.Action("route", pos, value=self.expr(ch[0]), split=split)
        if kind in ("tag", "alert"):
            return A.Action(kind, pos, value=self.expr(ch[0]))
        return A.Action(kind, pos)

    def build(self, tree: Tree[Token], rf: A.RuleFile) -> None:
        for item in tree.children:
            assert isinstance(item, Tree)
            self.item(item, rf)

    def item(self, node: Tree[Token], rf: A.RuleFile) -> None:
        kind = str(node.data)
        ch = node.children
        pos = self.pos(node)
        if kind == "ruleset_decl":
            if rf.name is not None:
                rf.duplicates.append(("ruleset", str(ch[0]), pos))
            rf.name, rf.name_pos = str(ch[0]), pos
        elif kind == "version_decl":
            tok = ch[0]
            assert isinstance(tok, Token)
            rf.version = self.string(tok) if tok.type == "STRING" else str(tok)
        elif kind == "over_entity":
            rf.entity, rf.entity_pos = str(ch[0]), pos
        elif kind == "over_inputs":
            for inp in ch:
                assert isinstance(inp, Tree)
                rf.inputs.append((str(inp.children[0]), str(inp.children[1]), self.pos(inp)))
        elif kind == "effective_range":
            rf.effective = (self.date(ch[0]), self.date(ch[1]))
            rf.effective_pos = pos
        elif kind == "effective_from":
            rf.effective = (self.date(ch[0]), None)
            rf.effective_pos = pos
        elif kind == "fact_decl":
            type_node = ch[1]
            assert isinstance(type_node, Tree)
            default = self.expr(ch[3]) if ch[3] is not None else None
            rf.facts.append(
                A.Fact(str(ch[0]), self.type_expr(type_node), ch[2] is not None, default, pos)
            )
        elif kind == "let_decl":
            rf.lets.append(A.Let(str(ch[0]), self.expr(ch[1]), pos))
        elif kind == "calendar_decl":
            rf.calendars.append(self.calendar(node))
        elif kind == "rule_decl":
            self.rule(node, rf)
        elif kind == "table_decl":
            self.table(node, rf)
        elif kind == "ownership_decl":
            for sub in ch:
                assert isinstance(sub, Tree)
                self.ownership_item(sub, rf)
        else:  # pragma: no cover
            raise AssertionError(kind)

    def calendar(self, node: Tree[Token]) -> A.Calendar:
        weekdays: tuple[tuple[str, A.Pos], ...] | None = None
        holidays: list[date] = []
        zone: tuple[str, A.Pos] | None = None
        cutoff: time | None = None
        for sub in node.children[1:]:
            assert isinstance(sub, Tree)
            kind = str(sub.data)
            if kind == "cal_weekdays":
                weekdays = tuple((str(t), self.pos(t)) for t in sub.children)
            elif kind == "cal_holidays":
                holidays.extend(self.date(t) for t in sub.children)
            elif kind == "cal_zone":
                tok = sub.children[0]
                assert isinstance(tok, Token)
                zone = (self.string(tok), self.pos(tok))
            elif kind == "cal_cutoff":
                text = str(sub.children[0])
                try:
                    cutoff = time.fromisoformat(text)
                except ValueError:
                    raise self.fail(
                        "RULE005", f"{text!r} is not a valid time of day", self.pos(sub)
                    ) from None
        return A.Calendar(
            str(node.children[0]), weekdays, tuple(holidays), zone, cutoff, self.pos(node)
        )

    def rule(self, node: Tree[Token], rf: A.RuleFile) -> None:
        ch = node.children
        name = str(ch[0])
        prio = self.priority(ch[1])
        when = self.expr(ch[2])
        actions: list[A.Action] = []
        reason: A.Template | None = None
        for sub in ch[3:]:
            if sub is None:
                continue
            assert isinstance(sub, Tree)
            if sub.data == "reason":
                tok = sub.children[0]
                assert isinstance(tok, Token)
                reason = self.template(tok)
            else:
                actions.append(self.action(sub))
        index = len(rf.rules) + len(rf.tables)
        rf.rules.append(
            A.Rule(name, prio, when, tuple(actions), reason, self.pos(node), index=index)
        )

    def table(self, node: Tree[Token], rf: A.RuleFile) -> None:
        ch = node.children
        name = str(ch[0])
        prio = self.priority(ch[1])
        hit_tok = ch[2]
        assert isinstance(hit_tok, Token)
        lines = [t for t in ch[3:] if isinstance(t, Token)]
        header_cells, header_split = _split_line(lines[0])
        if header_split is None:
            raise self.fail(
                "RULE006",
                "a table's first line names the inputs, then '||', then the outputs: "
                "'| amount | reason || approve |'",
                self.pos(lines[0]),
            )
        inputs: list[A.Expr] = []
        for text, line, col in header_cells[:header_split]:
            if not text.strip():
                raise self.fail(
                    "RULE006",
                    "a table input column needs an expression",
                    A.Pos(line, col, line, col + 1),
                )
            inputs.append(self.sub_expr(text, line, col))
        outputs: list[tuple[str, A.Pos]] = []
        for text, line, col in header_cells[header_split:]:
            word = text.strip()
            lead = len(text) - len(text.lstrip())
            opos = A.Pos(line, col + lead, line, col + lead + max(len(word), 1))
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", word):
                raise self.fail(
                    "RULE006", f"a table output column is a field name, not {word!r}", opos
                )
            outputs.append((word, opos))
        rows: list[A.Row] = []
        for number, tok in enumerate(lines[1:], start=1):
            cells, split = _split_line(tok)
            rpos = self.pos(tok)
            if split is None:
                raise self.fail(
                    "RULE006", f"row {number} has no '||' between its tests and its outputs", rpos
                )
            if split != len(inputs) or len(cells) - split != len(outputs):
                raise self.fail(
                    "RULE006",
                    f"row {number} has {split} input and {len(cells) - split} output cells; "
                    f"the header has {len(inputs)} and {len(outputs)}",
                    rpos,
                )
            in_cells = [self.cell(text, line, col) for text, line, col in cells[:split]]
            out_values: list[A.Expr | None] = []
            reason: A.Template | None = None
            for (oname, _), (text, line, col) in zip(outputs, cells[split:], strict=True):
                if oname == "because":
                    stripped = text.strip()
                    if stripped:
                        lead = len(text) - len(text.lstrip())
                        tok2 = Token("STRING", stripped, line=line, column=col + lead)
                        tok2.end_line, tok2.end_column = line, col + lead + len(stripped)
                        if not (stripped.startswith('"') and stripped.endswith('"')):
                            raise self.fail(
                                "RULE006",
                                "a 'because' cell holds a double-quoted reason",
                                A.Pos(line, col + lead, line, col + lead + len(stripped)),
                            )
                        reason = _Builder(self.filename).template(tok2)
                    out_values.append(None)
                elif text.strip():
                    out_values.append(self.sub_expr(text, line, col))
                else:
                    out_values.append(None)
            rows.append(A.Row(tuple(in_cells), tuple(out_values), reason, rpos, number))
        index = len(rf.rules) + len(rf.tables)
        rf.tables.append(
            A.Table(
                name,
                prio,
                str(hit_tok),
                self.pos(hit_tok),
                tuple(inputs),
                tuple(outputs),
                tuple(rows),
                self.pos(node),
                index=index,
            )
        )

    def sub_expr(self, text: str, line: int, col: int) -> A.Expr:
        tree = _lark_parse(text, "expr", self.filename, line_offset=line - 1, col_offset=col - 1)
        return _Builder(self.filename, line - 1, col - 1).expr(tree)

    def cell(self, text: str, line: int, col: int) -> A.Cell:
        pos = A.Pos(line, col, line, col + max(len(text), 1))
        tree = _lark_parse(text, "cell", self.filename, line_offset=line - 1, col_offset=col - 1)
        if tree.data == "cell_any" or not tree.children:
            return A.Cell(None, pos)
        sub = _Builder(self.filename, line - 1, col - 1)
        return A.Cell(tuple(sub.utest(t) for t in tree.children if isinstance(t, Tree)), pos)

    def utest(self, node: Tree[Token]) -> A.UTest:
        kind = str(node.data)
        pos = self.pos(node)
        ch = node.children
        if kind == "ut_compare":
            return A.UTest("cmp", pos, op=str(ch[0]), value=self.expr(ch[1]))
        if kind == "ut_value":
            value = self.expr(ch[0])
            if isinstance(value, A.Unary) and value.op == "not":
                # 'not("US")' with one value parses as the expression 'not "US"'; in a cell it
                # is the negated test, exactly like 'not("US", "CA")'.
                inner = value.operand
                tests = (
                    tuple(A.UTest("eq", i.pos, value=i) for i in inner.items)
                    if isinstance(inner, A.ListLit)
                    else (A.UTest("eq", inner.pos, value=inner),)
                )
                return A.UTest("not", pos, children=tests)
            return A.UTest("eq", pos, value=value)
        if kind == "ut_not":
            return A.UTest(
                "not", pos, children=tuple(self.utest(c) for c in ch if isinstance(c, Tree))
            )
        closed = {
            "ut_closed": (True, True),
            "ut_closed_open": (True, False),
            "ut_open_closed": (False, True),
            "ut_open": (False, False),
        }[kind]
        return A.UTest(
            "range",
            pos,
            value=self.expr(ch[0]),
            high=self.expr(ch[1]),
            low_closed=closed[0],
            high_closed=closed[1],
        )

    def ownership_item(self, node: Tree[Token], rf: A.RuleFile) -> None:
        ch = node.children
        if node.data == "consumers":
            rf.consumers.extend((str(t), self.pos(t)) for t in ch)
            return
        system = str(ch[0])
        patterns: list[tuple[str, A.Pos]] = []
        when: A.Expr | None = None
        reason: A.Template | None = None
        for sub in ch[1:]:
            if sub is None:
                continue
            assert isinstance(sub, Tree)
            if sub.data == "field_pattern":
                patterns.append((".".join(str(t) for t in sub.children), self.pos(sub)))
            elif sub.data == "owner_when":
                when = self.expr(sub.children[0])
            elif sub.data == "reason":
                tok = sub.children[0]
                assert isinstance(tok, Token)
                reason = self.template(tok)
        rf.owns.append(A.Owns(system, tuple(patterns), when, reason, self.pos(node)))


def _split_line(tok: Token) -> tuple[list[tuple[str, int, int]], int | None]:
    """Split one table line at ``|`` outside strings. Returns the cells as (text, line,
    column of the text's first character) and the index of the first output cell (where
    ``||`` was), or None when the line has no ``||``."""
    text = str(tok)
    line, col0 = tok.line or 1, tok.column or 1
    # A trailing comment is not part of the row.
    cells: list[tuple[str, int, int]] = []
    split: int | None = None
    i = 1  # skip the leading "|"
    start = 1
    in_string = False
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#":
            break
        elif ch == "|":
            cells.append((text[start:i], line, col0 + start))
            if i + 1 < len(text) and text[i + 1] == "|" and split is None:
                split = len(cells)
                i += 1
            start = i + 1
        i += 1
    tail = text[start:i]
    if tail.strip():
        cells.append((tail, line, col0 + start))
    return cells, split


def parse_text(text: str, *, filename: str = "<rules>") -> A.RuleFile:
    """Parse a whole rule file. Raises :class:`RuleSyntaxError` at the first syntax error."""
    if len(text) > MAX_SOURCE_CHARS:
        raise _error(
            "RULE011",
            f"rule file is larger than {MAX_SOURCE_CHARS} characters",
            filename,
            A.Pos(1, 1, 1, 2),
        )
    tree = _lark_parse(text, "start", filename)
    rf = A.RuleFile(filename=filename, source=text)
    try:
        _Builder(filename).build(tree, rf)
    except (InvalidOperation, ValueError, OverflowError) as exc:
        if isinstance(exc, RuleSyntaxError):
            raise
        raise _error("RULE005", f"invalid literal: {exc}", filename, A.Pos(1, 1, 1, 2)) from None
    return rf


def parse_expression(text: str, *, filename: str = "<expr>") -> A.Expr:
    """Parse one expression (used by tests and the REPL-style helpers).

    >>> parse_expression("amount > 200 USD").op
    '>'
    """
    tree = _lark_parse(text, "expr", filename)
    return _Builder(filename).expr(tree)
