"""A checked, compiled rule file and the entry points that make one.

>>> rs = parse_ruleset('''
... ruleset demo
... fact limit: money
... rule small when limit <= 50 USD then approve because "limit {limit} is small"
... ''')
>>> d = rs.evaluate({}, facts={"limit": "20.00 USD"})
>>> d.kinds(), d.reasons
(['approve'], ['limit 20.00 USD is small'])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, DivisionByZero, DivisionUndefined, InvalidOperation, Overflow
from pathlib import Path
from typing import Any, NoReturn

from accord.diagnostics import Diagnostic, Severity, sort_diagnostics
from accord.engine.rules import ast as A
from accord.engine.rules.calendars import BusinessDayRangeError
from accord.engine.rules.compiler import Compiled, compile_rule_file
from accord.engine.rules.decision import Decision, Outcome
from accord.engine.rules.parser import parse_text
from accord.engine.rules.runtime import Conflict, CurrencyMix, Missing, namespace
from accord.engine.rules.types import T
from accord.errors import RuleError, RuleSyntaxError, SpecError

__all__ = ["FactSpec", "RuleSet", "check_rules_file", "load_ruleset", "parse_ruleset"]


class FactSpec:
    """A declared fact: name, type, whether it may be absent, whether it has a default."""

    __slots__ = ("has_default", "name", "optional", "type")

    def __init__(self, name: str, type: T, optional: bool, has_default: bool) -> None:
        self.name = name
        self.type = type
        self.optional = optional
        self.has_default = has_default

    def __repr__(self) -> str:
        return f"FactSpec({self.name!r}, {self.type})"


def _fact_error(name: str, message: str) -> RuleError:
    return RuleError(
        diagnostics=[
            Diagnostic(code="RULE205", message=f"fact {name!r}: {message}", data_path=name)
        ]
    )


def _convert(value: Any, t: T, path: str) -> Any:
    """Bring a host-supplied fact value into the evaluation's value conventions."""
    if value is None:
        return None
    kind = t.kind
    if kind == "any":
        return _convert_any(value)
    if kind == "number":
        if isinstance(value, bool | float):
            raise _fact_error(
                path,
                f"expected an exact number (Decimal, int or string), got {type(value).__name__}",
            )
        if isinstance(value, Decimal | int):
            return value
        if isinstance(value, str):
            try:
                return Decimal(value.strip())
            except InvalidOperation:
                raise _fact_error(path, f"{value!r} is not a number") from None
        raise _fact_error(path, f"expected a number, got {type(value).__name__}")
    if kind == "money":
        return _money(value, path)
    if kind == "string":
        if not isinstance(value, str):
            raise _fact_error(path, f"expected a string, got {type(value).__name__}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _fact_error(path, f"expected true or false, got {type(value).__name__}")
        return value
    if kind == "datetime":
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise _fact_error(path, f"{value!r} is not an ISO-8601 date-time") from None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise _fact_error(path, "expected a timezone-aware date-time")
        return value
    if kind == "date":
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise _fact_error(path, f"{value!r} is not an ISO-8601 date") from None
        if isinstance(value, datetime) or not isinstance(value, date):
            raise _fact_error(path, "expected a date")
        return value
    if kind == "duration":
        if not isinstance(value, timedelta):
            raise _fact_error(path, "expected a duration (timedelta)")
        return value
    if kind == "list":
        if not isinstance(value, list | tuple):
            raise _fact_error(path, f"expected a list, got {type(value).__name__}")
        item = t.item or T("any")
        return [_convert(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    if kind == "map":
        if not isinstance(value, Mapping):
            raise _fact_error(path, f"expected a map, got {type(value).__name__}")
        item = t.item or T("any")
        return {str(k): _convert(v, item, f"{path}.{k}") for k, v in value.items()}
    if kind == "record":
        value = _dump(value)
        if not isinstance(value, Mapping):
            raise _fact_error(path, f"expected a record, got {type(value).__name__}")
        out = dict(value)
        for fname, ftype in t.fields:
            if fname in out:
                out[fname] = _convert(out[fname], ftype, f"{path}.{fname}")
        return out
    return value  # pragma: no cover - calendars are never facts


def _convert_any(value: Any) -> Any:
    if isinstance(value, float):
        raise _fact_error("value", "floats are not exact; pass Decimal or str")
    return value


def _money(value: Any, path: str) -> dict[str, Any]:
    value = _dump(value)
    if isinstance(value, str):
        parts = value.split()
        if len(parts) == 2:
            amount, currency = parts
            try:
                return {"amount": Decimal(amount), "currency": currency.upper()}
            except InvalidOperation:
                pass
        raise _fact_error(path, f"{value!r} is not money; write '100.00 USD'")
    if isinstance(value, Mapping) and "amount" in value and "currency" in value:
        amount = value["amount"]
        if isinstance(amount, float | bool):
            raise _fact_error(path, "a money amount must be exact (Decimal or string), not float")
        try:
            exact = amount if isinstance(amount, Decimal) else Decimal(str(amount))
        except InvalidOperation:
            raise _fact_error(path, f"{amount!r} is not an amount") from None
        return {"amount": exact, "currency": str(value["currency"])}
    raise _fact_error(
        path, "expected money: {'amount': Decimal, 'currency': 'USD'} or '100.00 USD'"
    )


def converter(t: T) -> Callable[[Any, str], Any]:
    """A fast checker/converter for one declared type: values already in the engine's form
    pass through after an exact type test; anything else goes through :func:`_convert`."""
    kind = t.kind

    def slow(v: Any, path: str) -> Any:
        return _convert(v, t, path)

    if kind == "number":
        return lambda v, p: v if (type(v) is Decimal or type(v) is int) else slow(v, p)
    if kind == "string":
        return lambda v, p: v if type(v) is str else slow(v, p)
    if kind == "bool":
        return lambda v, p: v if (v is True or v is False) else slow(v, p)
    if kind == "money":

        def money(v: Any, p: str) -> Any:
            if (
                type(v) is dict
                and len(v) == 2
                and type(v.get("amount")) is Decimal
                and type(v.get("currency")) is str
            ):
                return v
            return slow(v, p)

        return money
    if kind == "datetime":
        return lambda v, p: v if (type(v) is datetime and v.tzinfo is not None) else slow(v, p)
    if kind == "list":
        item = converter(t.item or T("any"))

        def seq(v: Any, p: str) -> Any:
            if type(v) is list or type(v) is tuple:
                return [None if x is None else item(x, p) for x in v]
            return slow(v, p)

        return seq
    if kind == "record" and t.fields:
        parts = [(name, converter(ft)) for name, ft in t.fields]

        def record(v: Any, p: str) -> Any:
            if type(v) is not dict:
                return slow(v, p)
            out: dict[str, Any] | None = None
            for name, conv in parts:
                x = v.get(name)
                if x is not None:
                    y = conv(x, p)
                    if y is not x:  # copy only when a field needed converting
                        if out is None:
                            out = dict(v)
                        out[name] = y
            return v if out is None else out

        return record
    return slow


def _dump(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, Mapping | str):
        return dump()
    return value


_NO_FACTS: Mapping[str, Any] = {}


class RuleSet:
    """A checked, compiled rule file. Evaluate records with :meth:`evaluate`."""

    def __init__(self, rf: A.RuleFile, compiled: Compiled, warnings: list[Diagnostic]) -> None:
        self.name = rf.name or Path(rf.filename).stem
        self.version = rf.version
        self.entity = rf.entity
        self.inputs = {n: e for n, e, _ in rf.inputs}
        self.effective = rf.effective
        self.filename = rf.filename
        self.source = rf.source
        self.warnings = warnings
        self.facts = {
            n: FactSpec(n, t, opt, has_def) for n, (t, opt, has_def) in compiled.facts.items()
        }
        self.calendars = dict(compiled.calendars)
        self.units = compiled.units
        #: Rule and table names (unique in a ruleset) -> their position in ``units``.
        self.unit_index = {u.name: i for i, u in enumerate(self.units)}
        self.let_names = compiled.let_names
        self.syntax = rf
        self.compiled = compiled
        ns = namespace()
        ns.update(compiled.namespace)
        # The generated code builds each Outcome as tuple.__new__(Outcome, (...)): a named
        # tuple without the Python-level __new__ call.
        ns["OC"], ns["TN"] = Outcome, tuple.__new__
        self._code_name = f"<rules {self.name}>"
        code = compile(compiled.source, self._code_name, "exec")
        exec(code, ns)
        self._fn: Callable[..., int] = ns["evaluate"]
        self._ns = ns
        for i, spec in enumerate(self.facts.values()):
            ns[f"C{i}"] = converter(spec.type)
        ns["absent"] = self._absent
        pcode = compile(compiled.prepare_source, f"<rules {self.name} facts>", "exec")
        exec(pcode, ns)
        self._prepare: Callable[[Mapping[str, Any]], dict[str, Any]] = ns["prepare"]

    def __repr__(self) -> str:
        return f"RuleSet({self.name!r}, version={self.version!r}, units={len(self.units)})"

    # -- evaluation -------------------------------------------------------------------------
    def prepare_facts(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """Check and convert host facts; fill defaults. Raises RuleError (RULE204/205)."""
        try:
            return self._prepare(facts)
        except TypeError as exc:  # a float, or a value of a type nothing converts
            raise RuleError(
                diagnostics=[
                    Diagnostic(
                        code="RULE205",
                        message=f"a fact has a value of the wrong type ({exc})",
                        file=self.filename,
                        hint="numbers and amounts are Decimal, int or str, never float",
                    )
                ]
            ) from None

    def _absent(self, name: str) -> None:
        spec = self.facts[name]
        raise RuleError(
            diagnostics=[
                Diagnostic(
                    code="RULE204",
                    message=f"fact {name!r} ({spec.type}) was not supplied",
                    file=self.filename,
                    data_path=name,
                    hint=f"pass facts={{{name!r}: ...}} to evaluate()",
                )
            ]
        )

    def is_effective(self, now: datetime) -> bool:
        if self.effective is None:
            return True
        start, end = self.effective
        day = now.astimezone(UTC).date()
        return (start is None or day >= start) and (end is None or day <= end)

    def evaluate(
        self,
        record: Mapping[str, Any] | Any,
        *,
        facts: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> Decision:
        """Apply the rules to one canonical record (a dict, or a pydantic model, dumped).

        ``facts`` are the host's context values declared with ``fact``; money facts may be
        ``{"amount": Decimal, "currency": "USD"}`` dicts, ``Money`` objects or ``"100.00
        USD"`` strings. ``now`` defaults to the system clock (pass a frozen one in tests).
        Raises :class:`~accord.errors.RuleError` (``RULE2xx``) when the record lacks a value
        the rules need, rather than reading it as false.
        """
        if (
            type(record) is dict
            and type(facts) is dict
            and type(now) is datetime
            and now.tzinfo is not None
            and self.effective is None
        ):  # the common case, checked in one go
            raw: list[Outcome] = []
            lets: list[Any] = []
            fields: dict[str, Any] = {}
            try:
                stopped = self._fn(record, facts, now, fields, raw, lets)
            except Exception as exc:
                self._raise(exc, record, facts)
            return Decision(self, raw, fields, (True, stopped, record, facts, lets))
        rec: Mapping[str, Any] = record if type(record) is dict else self._record_of(record)
        if facts is None:
            facts = _NO_FACTS
        elif type(facts) is not dict and not isinstance(facts, Mapping):
            raise RuleError(
                diagnostics=[
                    Diagnostic(
                        code="RULE205",
                        message=f"facts must be a mapping, not {type(facts).__name__}",
                        file=self.filename,
                    )
                ]
            )
        if now is None:
            now = datetime.now(UTC)
        elif (type(now) is not datetime and not isinstance(now, datetime)) or now.tzinfo is None:
            raise RuleError(
                diagnostics=[
                    Diagnostic(
                        code="RULE202",
                        message="'now' must be a timezone-aware datetime",
                        file=self.filename,
                    )
                ]
            )
        if self.effective is not None and not self.is_effective(now):
            self.prepare_facts(facts)  # bad facts are still reported
            return Decision(self, [], {}, (False, -2, None, None, []))
        raw = []
        lets = []
        fields = {}
        try:
            stopped = self._fn(rec, facts, now, fields, raw, lets)
        except Exception as exc:
            self._raise(exc, rec, facts)
        return Decision(self, raw, fields, (True, stopped, rec, facts, lets))

    def _raise(self, exc: Exception, rec: Mapping[str, Any], facts: Mapping[str, Any]) -> NoReturn:
        """Classify a failure inside the generated code as a RuleError and raise it."""
        if isinstance(exc, RuleError):
            raise exc  # a fact was missing or malformed
        if isinstance(exc, Conflict):
            raise RuleError(
                diagnostics=[Diagnostic(code="RULE207", message=str(exc), file=self.filename)]
            ) from None
        raise self._fail(exc, rec, self.prepare_facts(facts)) from exc

    def _record_of(self, record: Any) -> Mapping[str, Any]:
        """A record as a mapping: pydantic models are dumped; anything else is refused."""
        rec = _dump(record)
        if not isinstance(rec, Mapping):
            raise RuleError(
                diagnostics=[
                    Diagnostic(
                        code="RULE202",
                        message=f"a record must be a mapping, not {type(record).__name__}",
                        file=self.filename,
                    )
                ]
            )
        return rec

    def _unit_of(self, exc: BaseException) -> int:
        """The unit whose generated code raised ``exc`` (deepest frame of our source)."""
        unit = -1
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self._code_name:
                lineno = tb.tb_lineno
                if 0 < lineno < len(self.compiled.line_units):
                    unit = self.compiled.line_units[lineno]
            tb = tb.tb_next
        return unit

    def _fail(
        self, exc: BaseException, rec: Mapping[str, Any], facts: Mapping[str, Any]
    ) -> RuleError:
        unit = self._unit_of(exc)
        line: int | None = None
        where = "the rules"
        missing: str | None = None
        if isinstance(unit, int) and unit >= 0 and unit < len(self.units):
            info = self.units[unit]
            line, where = info.line, f"{info.kind} {info.name!r}"
            for label, path in info.reads:
                root = rec if path[0] == "rec" else facts
                cur: Any = root
                for k in path[1:]:
                    if not isinstance(cur, Mapping) or cur.get(k) is None:
                        missing = label
                        break
                    cur = cur[k]
                if missing:
                    break
        elif isinstance(unit, int) and unit <= -2:
            let = self.syntax.lets[-2 - unit]
            line, where = let.pos.line, f"let {let.name!r}"
        if isinstance(exc, CurrencyMix):
            code, message, hint = "RULE206", f"{where}: {exc}", None
        elif isinstance(exc, BusinessDayRangeError):
            code, message = "RULE208", f"{where}: {exc}"
            hint = "check the number of days and the calendar's working days and holidays"
        elif isinstance(exc, ArithmeticError):
            if isinstance(exc, ZeroDivisionError | DivisionByZero | DivisionUndefined):
                what = "division by zero"
            elif isinstance(exc, Overflow):
                what = "a number is too large"
            else:
                what = "an invalid arithmetic operation"
            code, message, hint = "RULE203", f"{where}: {what}", None
        elif isinstance(exc, Missing | KeyError | IndexError) or missing:
            code = "RULE201"
            if missing:
                message = f"{where} needs '{missing}', which is missing"
            elif isinstance(exc, KeyError):
                message = f"{where} needs '{exc.args[0]}', which is missing"
            else:
                message = f"{where} reads a missing value ({exc})"
            hint = "handle it in the rule with exists(...) or '?? default'"
        else:
            code = "RULE202"
            message = f"{where}: a value has the wrong type ({exc})"
            hint = "the record does not have the canonical form the rules were checked against"
        return RuleError(
            diagnostics=[
                Diagnostic(
                    code=code,
                    message=message,
                    file=self.filename,
                    line=line,
                    column=1 if line else None,
                    data_path=missing,
                    hint=hint,
                )
            ]
        )


def _build(rf: A.RuleFile) -> tuple[RuleSet | None, list[Diagnostic]]:
    compiled, diags = compile_rule_file(rf)
    diags = sort_diagnostics(diags)
    if compiled is None:
        return None, diags
    return RuleSet(rf, compiled, diags), diags


def parse_ruleset(text: str, *, filename: str = "<rules>") -> RuleSet:
    """Parse, check and compile rule text. Raises :class:`RuleSyntaxError` or
    :class:`SpecError` carrying every Diagnostic found."""
    rf = parse_text(text, filename=filename)
    rs, diags = _build(rf)
    if rs is None:
        raise SpecError(
            diagnostics=[d for d in diags if Severity(d.severity) is Severity.ERROR]
            + [d for d in diags if Severity(d.severity) is not Severity.ERROR]
        )
    return rs


def _read(path: str | Path) -> tuple[str, str]:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(
            diagnostics=[
                Diagnostic(code="RULE000", message=f"cannot read rule file: {exc}", file=str(path))
            ]
        ) from exc


def load_ruleset(path: str | Path) -> RuleSet:
    """Load, check and compile a ``.rules`` file."""
    text, name = _read(path)
    return parse_ruleset(text, filename=name)


def check_rules_file(path: str | Path) -> list[Diagnostic]:
    """Every problem in a rule file, sorted; never raises for bad content."""
    try:
        text, name = _read(path)
    except SpecError as exc:
        return list(exc.diagnostics)
    return check_rules_text(text, filename=name)


def check_rules_text(text: str, *, filename: str = "<rules>") -> list[Diagnostic]:
    try:
        rf = parse_text(text, filename=filename)
    except RuleSyntaxError as exc:
        return list(exc.diagnostics)
    _, diags = compile_rule_file(rf)
    return sort_diagnostics(diags)
