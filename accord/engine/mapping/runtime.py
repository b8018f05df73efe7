"""What a compiled mapping runs: :class:`CompiledMapping` and the helpers its code calls.

The compiler (:mod:`accord.engine.mapping.compiler`) turns a spec into one Python function;
everything that function needs besides its inlined fast paths lives here: the strict path
walker for the slow path, the error builder that turns a failure into a located
:class:`~accord.errors.MappingError`, PII redaction and the unwrap step.

Run-time codes: ``MAP200`` the payload is not an object, ``MAP201`` a required value is
missing, ``MAP202`` unexpected structure (a list or text where an object was expected, a
non-list for ``each:``), ``MAP203`` a value cannot be read as the ``as:`` type, ``MAP204`` a
money value without a valid currency, ``MAP205`` a value missing from a ``map:`` or lookup
table, ``MAP206`` a transform failed, ``MAP207`` a float amount whose digits are in doubt,
``MAP208`` a JMESPath expression failed, ``MAP209`` an unexpected failure (a bug: please
report it). Warnings: ``MAP250`` unknown value replaced by the default, ``MAP251`` a float
amount converted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

import jmespath
import jmespath.functions
from jmespath.exceptions import JMESPathError

from accord.diagnostics import Diagnostic, Severity
from accord.engine.mapping.coerce import FieldFailure, type_name
from accord.engine.mapping.spec import FieldRule, MappingSpec, map_key
from accord.errors import MappingError

if TYPE_CHECKING:
    from accord.engine.mapping.explain import Explanation

__all__ = ["CompiledMapping", "FieldMeta", "holds_pii", "is_pii", "redact", "render"]


# -- PII ----------------------------------------------------------------------------------

_PII_EXACT: Final = frozenset(
    {
        "address1",
        "address2",
        "address3",
        "addressline1",
        "addressline2",
        "addressline3",
        "line1",
        "line2",
        "line3",
        "street",
        "street1",
        "street2",
        "firstname",
        "lastname",
        "fullname",
        "buyername",
        "zip",
        "postalcode",
        "postcode",
        "latitude",
        "longitude",
        "ip",
        "browserip",
        "taxid",
        "vatnumber",
    }
)
_PII_PART: Final = ("email", "phone", "address", "mobile")
_PERSON_CONTEXT: Final = ("address", "customer", "buyer", "billing", "shipping", "recipient",
                          "contact", "ship_to", "shipto")  # fmt: skip


# A trailing index, wildcard or slice names an element, not a key: `emails[0]` is an email.
_ELEMENT: Final = re.compile(r"-?\d+|\*|-?\d*:-?\d*(:-?\d*)?")
_SPLIT: Final = re.compile(r"[.\[\]]")
#: How many keys :func:`holds_pii` looks at before it assumes the worst.
_SCAN_BUDGET: Final = 2000


def is_pii(path: str) -> bool:
    """Whether the last key of a (source or target) path names personal data.

    >>> is_pii("customer.email"), is_pii("shipping_address.address1"), is_pii("total_price")
    (True, True, False)
    >>> is_pii("name"), is_pii("line_items[].name"), is_pii("billing_address.name")
    (False, False, True)
    >>> is_pii("emails[0]"), is_pii("ShippingAddress.AddressLines[-1]"), is_pii("tags[0]")
    (True, True, False)
    """
    parts = [p for p in _SPLIT.split(path) if p] if path else []
    while parts and _ELEMENT.fullmatch(parts[-1]):
        parts.pop()
    key = parts[-1].replace("_", "").replace("-", "").lower() if parts else ""
    if key in _PII_EXACT or any(part in key for part in _PII_PART):
        return True
    # `name` alone is an order or product name; under a person or an address it is personal.
    return key == "name" and any(word in p.lower() for p in parts[:-1] for word in _PERSON_CONTEXT)


def holds_pii(value: Any, path: str = "") -> bool:
    """Whether an object or list (read at ``path``) has a personal field anywhere inside.

    >>> holds_pii({"BuyerEmail": "a@b.co", "AmazonOrderId": "1"}), holds_pii({"sku": "A"})
    (True, False)
    >>> holds_pii([{"qty": 1}, {"ship_to": {"name": "Jane"}}]), holds_pii({"name": "Jane"})
    (True, False)
    >>> holds_pii({"name": "Jane"}, "customer")
    True

    A value too large to scan completely counts as personal.
    """
    stack: list[tuple[Any, str]] = [(value, path)]
    budget = _SCAN_BUDGET
    while stack:
        node, at = stack.pop()
        if isinstance(node, Mapping):
            for key, child in node.items():
                budget -= 1
                if budget < 0:
                    return True
                inner = f"{at}.{key}" if at else str(key)
                if is_pii(inner):
                    return True
                if isinstance(child, Mapping | list | tuple):
                    stack.append((child, inner))
        elif isinstance(node, list | tuple):
            budget -= len(node)
            if budget < 0:
                return True
            stack.extend(
                (child, f"{at}[]") for child in node if isinstance(child, Mapping | list | tuple)
            )
    return False


def redact(value: Any) -> str:
    """What a diagnostic shows instead of a personal value: its type and size, never content.

    >>> redact("bob@example.com"), redact({"email": "bob@example.com"}), redact(["a", "b"])
    ('<redacted string, 15 chars>', '<redacted object, 1 key>', '<redacted list, 2 items>')
    """
    if isinstance(value, str):
        return f"<redacted string, {len(value)} chars>"
    if isinstance(value, Mapping):
        return f"<redacted object, {len(value)} key{'' if len(value) == 1 else 's'}>"
    if isinstance(value, list | tuple):
        return f"<redacted list, {len(value)} item{'' if len(value) == 1 else 's'}>"
    return f"<redacted {type_name(value)}>"


def render(value: Any, personal: bool, path: str | None = None) -> tuple[str, bool]:
    """How a diagnostic shows ``value`` read at ``path``, and whether it was redacted: a value
    of a personal field, or an object or list with a personal field inside, is redacted."""
    if personal or (isinstance(value, Mapping | list | tuple) and holds_pii(value, path or "")):
        return redact(value), True
    return show_value(value), False


def show_value(value: Any, limit: int = 80) -> str:
    """A short, JSON-ish rendering of an offending value for diagnostics."""
    if isinstance(value, Decimal):
        text = str(value)
    elif isinstance(value, str):
        text = repr(value)
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- reading paths ------------------------------------------------------------------------


def walk(ctx: Any, steps: Sequence[str | int], text: str) -> Any:
    """Follow a plain path strictly: a missing key or a null on the way gives ``None``; a
    list or scalar where an object (or a non-list where an index) is needed is ``MAP202``."""
    value = ctx
    for i, step in enumerate(steps):
        if value is None:
            return None
        if isinstance(step, int):
            if not isinstance(value, list):
                raise _structure(value, "a list", steps[:i], text)
            try:
                value = value[step]
            except IndexError:
                return None
        else:
            if not isinstance(value, Mapping):
                raise _structure(value, "an object", steps[:i], text)
            value = value.get(step)
    return value


def _structure(value: Any, wanted: str, at: Sequence[str | int], text: str) -> FieldFailure:
    where = _join_steps(at) or "the element"
    return FieldFailure(
        "MAP202",
        f"expected {wanted} at {where} while reading {text!r}, got {type_name(value)}",
        value=value,
        classification="structure",
        data_path=_join_steps(at) or None,
    )


def _join_steps(steps: Sequence[str | int]) -> str:
    out = ""
    for step in steps:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += ("." if out else "") + step
    return out


class _ScopeFunctions(jmespath.functions.Functions):
    """``_rt()`` and ``_prnt()``: what ``$root`` and ``$parent`` inside an expression read."""

    def __init__(self, root: Any, parent: Any) -> None:
        super().__init__()
        self.root, self.parent = root, parent

    @jmespath.functions.signature()
    def _func__rt(self) -> Any:
        return self.root

    @jmespath.functions.signature()
    def _func__prnt(self) -> Any:
        return self.parent


def scope_options(root: Any, parent: Any) -> jmespath.Options:
    """JMESPath options under which ``$root``/``$parent`` (rewritten by the spec parser)
    read ``root`` and ``parent``."""
    return jmespath.Options(custom_functions=_ScopeFunctions(root, parent))


def search_scoped(expression: Any, ctx: Any, root: Any, parent: Any) -> Any:
    """:func:`search` for an expression that reads ``$root`` or ``$parent`` inside itself."""
    return search(expression, ctx, scope_options(root, parent))


def search(expression: Any, ctx: Any, options: jmespath.Options | None = None) -> Any:
    """Evaluate a compiled JMESPath expression; its errors become ``MAP208``."""
    try:
        return expression.search(ctx, options)
    except (JMESPathError, TypeError, ValueError, ArithmeticError) as exc:
        raise FieldFailure(
            "MAP208",
            f"the JMESPath expression failed: {exc}".splitlines()[0],
            classification="expression",
        ) from exc


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, ``""``, ``[]`` and ``{}`` are false; ``0`` is true.

    >>> [truthy(v) for v in (0, "", [], None, "x", False)]
    [True, False, False, False, True, False]
    """
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict | tuple):
        return len(value) > 0
    return True


def expect_list(value: Any, wrap: bool, text: str) -> list[Any]:
    """The list ``each:`` iterates: a non-list is wrapped when the spec says ``wrap: true``."""
    if isinstance(value, list):
        return value
    if wrap:
        return [value]
    raise FieldFailure(
        "MAP202",
        f"`each: {text}` expects a list, got {type_name(value)} (set `wrap: true` to accept "
        "a single item)",
        value=value,
        classification="structure",
    )


def expect_object(value: Any, what: str) -> dict[str, Any]:
    """An element or sub-object that nested ``fields:`` read from must be an object."""
    if isinstance(value, dict):
        return value
    raise FieldFailure(
        "MAP202",
        f"expected an object {what}, got {type_name(value)}",
        value=value,
        classification="structure",
    )


def put(out: dict[str, Any], parents: tuple[str, ...], key: str, value: Any) -> None:
    """Store ``value`` at a dotted target path, creating the objects on the way."""
    node = out
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[key] = value


def get_target(out: dict[str, Any], parts: tuple[str, ...]) -> Any:
    """Read an already produced target field (for ``currency: {field: ...}``)."""
    node: Any = out
    for part in parts:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


# -- compile-time facts about each field --------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldMeta:
    """What the error builder and explain need to know about one compiled field."""

    index: int
    rule: FieldRule
    target: str  # full target path, `lines[].sku` inside an `each`
    pii: bool
    sources: tuple[str, ...] = ()  # the `from` expressions as written
    location: str = ""  # file:line of the rule
    #: explain's branch descriptions, filled on first use
    branch_texts: dict[int, str] = field(default_factory=dict, compare=False, repr=False)


class _Runtime:
    """Per-mapping helpers bound into the generated code (error building, unknown values)."""

    def __init__(self, spec: MappingSpec, metas: list[FieldMeta]) -> None:
        self.spec = spec
        self.metas = metas

    def record_id(self, rid: str | None, root: Any) -> str | None:
        if rid is not None:
            return rid
        if isinstance(root, dict):
            found = root.get("id")
            if isinstance(found, str | int) and not isinstance(found, bool):
                return str(found)
        return None

    def located(
        self,
        meta: FieldMeta,
        code: str,
        message: str,
        *,
        rid: str | None,
        data_path: str | None,
        value: Any = None,
        has_value: bool = False,
        classification: str,
        severity: Severity = Severity.ERROR,
    ) -> Diagnostic:
        rule = meta.rule
        details = [("classification", classification), ("target", meta.target)]
        if has_value:
            details.append(("value", render(value, meta.pii, data_path)[0]))
        return Diagnostic(
            code=code,
            message=f"{meta.target}: {message}",
            severity=severity,
            file=rule.file or self.spec.file,
            line=rule.line,
            column=rule.column,
            data_path=data_path or None,
            record_id=rid,
            details=tuple(details),
        )

    def fail(
        self,
        index: int,
        exc: BaseException,
        rid: str | None,
        prefix: str,
        ctx: Any,
        root: Any,
        parent: Any,
    ) -> MappingError:
        """Turn any exception raised inside field ``index`` into a located MappingError."""
        if not 0 <= index < len(self.metas):  # not inside a field's code (a compiler bug)
            return MappingError(
                diagnostics=[
                    Diagnostic(
                        code="MAP209",
                        message=f"unexpected {type(exc).__name__}: {exc}",
                        file=self.spec.file,
                        record_id=self.record_id(rid, root),
                        details=(("classification", "internal"),),
                    )
                ]
            )
        meta = self.metas[index]
        rid = self.record_id(rid, root)
        branch = self._branch(meta, ctx, root, parent)
        if isinstance(exc, FieldFailure):
            code, message, classification = exc.code, exc.message, exc.classification
            has_value = exc.has_value
            value = exc.value if has_value else None
            rel = exc.data_path if exc.data_path is not None else branch[0]
            if not has_value and branch[0] is not None:
                value, has_value = branch[1], True
        elif isinstance(exc, InvalidOperation):  # the inlined Decimal() of as: decimal/money
            rel, value = branch
            has_value = rel is not None
            code, classification = "MAP203", "type"
            as_ = meta.rule.as_ or "a number"
            message = f"cannot read {type_name(value)} as {as_}: not a number"
        else:
            code = "MAP209"
            message = f"unexpected {type(exc).__name__}: {exc}"
            classification = "internal"
            rel, value = branch
            has_value = rel is not None
        data_path = _join(prefix, rel)
        if has_value:
            shown, redacted = render(value, meta.pii, data_path)
            if redacted:  # library messages (JMESPath, a bug) may quote the value itself
                for form in {str(value), repr(value)}:
                    if len(form) > 2:
                        message = message.replace(form, shown)
            message = f"{message} (got {shown})"
        diag = self.located(
            meta,
            code,
            message,
            rid=rid,
            data_path=data_path,
            value=value,
            has_value=has_value,
            classification=classification,
        )
        return MappingError(diagnostics=[diag])

    def _branch(self, meta: FieldMeta, ctx: Any, root: Any, parent: Any) -> tuple[str | None, Any]:
        """Re-read the field's sources to find which one supplied the failing value."""
        for sp in meta.rule.from_:
            base = {"here": ctx, "root": root, "parent": parent}[sp.scope]
            try:
                if sp.steps is not None:
                    value = walk(base, sp.steps, sp.text)
                elif sp.scoped:
                    options = scope_options(root, parent)
                    value = jmespath.search(sp.expression, base, options)
                else:
                    value = jmespath.search(sp.expression, base)
            except Exception:
                return sp.dotted(), None
            if value is not None:
                return sp.dotted(), value
        if meta.rule.each is not None:
            return meta.rule.each.dotted(), None
        return None, None

    def required(self, index: int, rid: str | None, prefix: str, root: Any) -> MappingError:
        meta = self.metas[index]
        rule = meta.rule
        tried = ", ".join(sp.text for sp in rule.from_) or (
            rule.each.text if rule.each else "the rule"
        )
        diag = self.located(
            meta,
            "MAP201",
            f"required value is missing (read {tried})",
            rid=self.record_id(rid, root),
            data_path=_join(prefix, rule.from_[0].dotted() if rule.from_ else None),
            classification="missing_required",
        )
        return MappingError(diagnostics=[diag])

    def unknown(
        self,
        index: int,
        value: Any,
        warnings: list[Diagnostic] | None,
        rid: str | None,
        prefix: str,
        root: Any,
        table_name: str,
        table_default: tuple[bool, Any],
    ) -> Any:
        """A value missing from a map or lookup: the table's default, else the rule's policy."""
        meta = self.metas[index]
        rule = meta.rule
        if table_default[0]:
            return table_default[1]
        data_path = _join(prefix, rule.from_[0].dotted() if rule.from_ else None)
        shown = render(value, meta.pii, data_path)[0]
        if rule.unknown == "warn":
            if warnings is not None:
                warnings.append(
                    self.located(
                        meta,
                        "MAP250",
                        f"{shown} is not in {table_name}; using the default {rule.default!r}",
                        rid=self.record_id(rid, root),
                        data_path=data_path,
                        value=value,
                        has_value=True,
                        classification="unknown_value",
                        severity=Severity.WARNING,
                    )
                )
            return rule.default
        raise FieldFailure(
            "MAP205",
            f"{shown} is not in {table_name} (add it, or set `unknown: warn` and a default)",
            value=value,
            classification="unknown_value",
        )


def _join(prefix: str, rel: str | None) -> str:
    if not rel or rel == "@":
        return prefix
    if not prefix:
        return rel
    return f"{prefix}.{rel}"


def unwrapper(keys: tuple[str, ...]) -> Callable[[Any], Any]:
    """``unwrap: [order]``: a payload whose only key is listed is replaced by its value."""
    wanted = frozenset(keys)

    def unwrap(payload: Any) -> Any:
        while isinstance(payload, dict) and len(payload) == 1:
            ((key, inner),) = payload.items()
            if key not in wanted or not isinstance(inner, dict):
                break
            payload = inner
        return payload

    return unwrap


def not_an_object(spec: MappingSpec, payload: Any, rid: str | None, what: str) -> MappingError:
    return MappingError(
        diagnostics=[
            Diagnostic(
                code="MAP200",
                message=f"{spec.id}: {what} must be a JSON object, got {type_name(payload)}",
                file=spec.file,
                line=1,
                record_id=rid,
                details=(("classification", "structure"),),
            )
        ]
    )


# -- the compiled mapping -----------------------------------------------------------------


class CompiledMapping:
    """A spec compiled to Python. Build it with :func:`~accord.engine.mapping.compile_mapping`.

    :meth:`apply` maps one payload (a dict, or a dict of named inputs) to a record; it raises
    :class:`~accord.errors.MappingError` with one located Diagnostic when the record cannot be
    mapped, and appends warnings (``MAP250``, ``MAP251``) to ``warnings`` when given.
    :meth:`explain` runs the explain build of the same spec.
    """

    def __init__(
        self,
        spec: MappingSpec,
        fn: Callable[..., dict[str, Any]],
        source: str,
        consumed_paths: frozenset[str],
        *,
        explain_fn: Callable[..., dict[str, Any]] | None = None,
        explain_source: str | None = None,
        metas: Sequence[FieldMeta] = (),
        unwrap: Callable[[Any], Any] | None = None,
    ) -> None:
        self.spec = spec
        self._fn = fn
        self.source = source
        self.consumed_paths = consumed_paths
        self._explain_fn = explain_fn
        self.explain_source = explain_source
        self.metas = tuple(metas)
        self._unwrap = unwrap

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def version(self) -> int:
        return self.spec.version

    @property
    def entity(self) -> str:
        """The canonical entity: what an inbound mapping produces, an outbound one reads."""
        return self.spec.entity

    def __repr__(self) -> str:
        return f"<CompiledMapping {self.spec.id} v{self.spec.version}>"

    def apply(
        self,
        payload: Any,
        *,
        record_id: str | None = None,
        warnings: list[Diagnostic] | None = None,
    ) -> dict[str, Any]:
        """Map one payload; raise MappingError naming the field, spec line and data path."""
        try:
            return self._fn(payload, record_id, warnings)
        except MappingError:
            raise
        except RecursionError as exc:
            raise self._internal(exc, record_id) from exc
        except Exception as exc:  # a bug in the generated code must still be classified
            raise self._internal(exc, record_id) from exc

    __call__ = apply

    def explain(
        self,
        payload: Any,
        *,
        record_id: str | None = None,
        warnings: list[Diagnostic] | None = None,
    ) -> tuple[dict[str, Any], Explanation]:
        """Map one payload with the explain build: the record and why each field is what it is.

        The explain build is compiled on first use unless ``compile_mapping(explain=True)``
        built it up front; the plain :meth:`apply` never pays for it. A failing record still
        raises MappingError; the partial trace is on the exception as ``.explanation``.
        """
        from accord.engine.mapping.explain import Explanation, Tracer

        if self._explain_fn is None:
            from accord.engine.mapping.compiler import build_explain

            self._explain_fn, self.explain_source = build_explain(self)
        tracer = Tracer(self.metas)
        own: list[Diagnostic] = [] if warnings is None else warnings
        try:
            record = self._explain_fn(payload, record_id, own, tracer)
        except MappingError as exc:
            exc.explanation = Explanation.build(self, tracer, record_id, own)  # type: ignore[attr-defined]
            raise
        except Exception as exc:
            raise self._internal(exc, record_id) from exc
        return record, Explanation.build(self, tracer, record_id, own)

    def unwrap(self, payload: Any) -> Any:
        """The payload as the mapping's paths see it (after ``unwrap:``)."""
        if self._unwrap is None:
            return payload
        if self.spec.inputs and isinstance(payload, dict):
            return {k: self._unwrap(v) for k, v in payload.items()}
        return self._unwrap(payload)

    def _internal(self, exc: BaseException, record_id: str | None) -> MappingError:
        return MappingError(
            diagnostics=[
                Diagnostic(
                    code="MAP209",
                    message=f"{self.spec.id}: unexpected {type(exc).__name__}: {exc}",
                    file=self.spec.file,
                    record_id=record_id,
                    details=(("classification", "internal"),),
                )
            ]
        )


#: What a generated module may see; resolved once per compile.
RUNTIME_NAMES: Final[dict[str, Any]] = {
    "_walk": walk,
    "_search": search,
    "_search_scoped": search_scoped,
    "_truthy": truthy,
    "_list": expect_list,
    "_obj": expect_object,
    "_put": put,
    "_get_target": get_target,
    "_mk": map_key,
    "_FF": FieldFailure,
    "_ME": MappingError,
}
