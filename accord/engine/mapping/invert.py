"""Derive an outbound spec from an inbound one, for the fields that can be inverted.

An inbound spec says how a channel payload becomes a canonical record. For many fields the
way back is mechanical: a direct path is written back to the same path, a value table is read
backwards, a reversible coercion (``int``, ``decimal``, ``bool``, ``datetime``, money with a
known currency source) is undone. :func:`invert_spec` builds that outbound spec and states, for
every other field, why it cannot be inverted::

    >>> from accord.engine.mapping.spec import MappingSpec
    >>> spec = MappingSpec.from_dict({
    ...     "mapping": "shop.order.inbound", "channel": "shop", "api_version": "1",
    ...     "direction": "inbound", "source": "shop.order", "target": "order", "version": 1,
    ...     "fields": {
    ...         "id": {"from": "id", "as": "string"},
    ...         "financial_status": {"from": "status", "map": {"PAID": "paid", "OPEN": "pending"}},
    ...         "note": {"from": "note", "transform": [{"truncate": 10}]},
    ...         "channel": {"value": "shop"}}})
    >>> inv = invert_spec(spec)
    >>> inv.spec["fields"]["status"]
    {'from': 'financial_status', 'map': {'paid': 'PAID', 'pending': 'OPEN'}}
    >>> inv.invertible
    ('id', 'financial_status')
    >>> for target, reason in inv.not_invertible:
    ...     print(f"{target}: {reason}")
    note: transform 'truncate' loses information
    channel: a constant (value: 'shop'): no payload field carries it

The promise, checked by a property test over every shipped inbound spec: for a record ``r``
that the inbound mapping produced, ``inbound(outbound(r))`` equals ``r`` on the invertible
fields. Decisions that follow from it:

* A fallback chain (``from: [a, b]``) is written back to its first path.
* Idempotent normalisers (``strip``, ``upper``, ``normalize_email``, ...) need no inverse: the
  record already holds the normalised value, and normalising it again changes nothing.
  ``split`` inverts to ``join`` with the same separator.
* A many-to-one ``map:`` or lookup table inverts to the first source value listed for each
  target value; a value only the inbound ``default`` produces is written as nothing, which the
  inbound mapping turns back into the default.
* Two fields reading the same source path: the first one writes it.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from accord.engine.mapping.spec import FieldRule, MappingSpec, SourcePath, load_spec, map_key

__all__ = ["IDEMPOTENT_TRANSFORMS", "Inversion", "invert_spec", "invert_spec_file"]

#: Transforms with f(f(x)) == f(x): a value they produced survives being normalised again.
IDEMPOTENT_TRANSFORMS: Final = frozenset(
    {
        "strip",
        "lower",
        "upper",
        "collapse_whitespace",
        "normalize_sku",
        "normalize_email",
        "digits",
        "compact",
        "unique",
    }
)
#: Coercions that an outbound rule can simply repeat (the inbound one accepts its output).
_REVERSIBLE_AS: Final = frozenset({"string", "int", "decimal", "bool", "datetime", "date"})


@dataclass(frozen=True)
class Inversion:
    """The derived outbound spec (plain data, ready for YAML) and what could not be derived."""

    #: The outbound spec as plain data; :meth:`build` turns it into a :class:`MappingSpec`.
    spec: dict[str, Any]
    #: Canonical target paths of the inbound spec that the outbound spec writes back
    #: (``lines[].sku`` for fields inside ``each``).
    invertible: tuple[str, ...]
    #: ``(target, reason)`` for every other field.
    not_invertible: tuple[tuple[str, str], ...]
    #: Required inbound fields that are not invertible: an outbound payload never carries
    #: them, so reading it back needs them from elsewhere (or fails with MAP201).
    blocking: tuple[str, ...] = ()

    def build(self) -> MappingSpec:
        """The outbound spec as a :class:`MappingSpec` (ready for the compiler)."""
        return MappingSpec.from_dict(self.spec, file=f"<inverse of {self.spec['source']}>")

    def to_yaml(self) -> str:
        """The outbound spec as YAML text, with the non-invertible fields as comments."""
        yaml = YAML(typ="rt")
        yaml.default_flow_style = None
        yaml.width = 100
        out = io.StringIO()
        data = _plain(self.spec)
        # quoted, so "2024-04" or "1" never reads back as anything but text
        data["api_version"] = DoubleQuotedScalarString(data["api_version"])
        yaml.dump(data, out)
        notes = "".join(f"# not inverted: {t}: {r}\n" for t, r in self.not_invertible)
        return notes + out.getvalue()


def invert_spec_file(path: str | os.PathLike[str]) -> Inversion:
    """Load an inbound spec file and invert it (raises SpecError if the file is invalid)."""
    return invert_spec(load_spec(path))


def invert_spec(spec: MappingSpec) -> Inversion:
    """Derive the outbound spec for the invertible fields of an inbound ``spec``."""
    if spec.direction != "inbound":
        raise ValueError(f"only inbound specs can be inverted; {spec.id} is {spec.direction}")
    inverter = _Inverter(spec)
    fields = inverter.fields(spec.fields, _Level(display="", canon="", top=True))
    mapping_id = spec.id.removesuffix(".inbound") + ".outbound"
    out: dict[str, Any] = {
        "mapping": mapping_id,
        "channel": spec.channel,
        "api_version": spec.api_version or "unknown",
        "direction": "outbound",
        "source": spec.target,
        "target": spec.source,
        "version": spec.version,
        "fields": fields,
    }
    if spec.inputs:
        out["description"] = "Writes one payload per input of the inbound spec: " + ", ".join(
            spec.inputs
        )
    skipped = {name for name, _ in inverter.skipped}
    blocking = tuple(t for t in _required(spec, spec.fields, "") if t in skipped)
    return Inversion(out, tuple(inverter.invertible), tuple(inverter.skipped), blocking)


def _required(spec: MappingSpec, rules: Sequence[FieldRule], prefix: str) -> list[str]:
    """Display names of the required rules, nested ones included (``lines[].quantity``)."""
    out: list[str] = []
    for rule in rules:
        name = prefix + rule.target
        if rule.required:
            out.append(name)
        nested = rule.fields
        if nested is None and rule.use is not None and rule.use in spec.definitions:
            nested = spec.definitions[rule.use].fields
        if nested:
            out.extend(_required(spec, nested, f"{name}[]." if rule.each else f"{name}."))
    return out


@dataclass
class _Level:
    """One fields map being inverted: where its targets sit and what it already writes."""

    display: str  # prefix for reported target names ("lines[].")
    canon: str  # prefix of canonical paths the outbound rules read ("customer.")
    top: bool
    written: dict[str, str] = field(default_factory=dict)  # payload path -> target writing it
    #: (currency path, canonical money path, money target) written once the level is done
    pending_currency: list[tuple[str, str, str]] = field(default_factory=list)
    #: (payload path, target) read by rules that are not inverted
    unwritten: list[tuple[str, str]] = field(default_factory=list)
    #: (money target, sibling target holding its currency)
    field_currency: list[tuple[str, str]] = field(default_factory=list)


class _Inverter:
    def __init__(self, spec: MappingSpec) -> None:
        self.spec = spec
        self.invertible: list[str] = []
        self.skipped: list[tuple[str, str]] = []

    def skip(self, target: str, reason: str) -> None:
        self.skipped.append((target, reason))

    def fields(self, rules: Sequence[FieldRule], level: _Level) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for rule in rules:
            before = len(self.skipped)
            self.rule(rule, level, out)
            if len(self.skipped) > before:
                name = level.display + rule.target
                level.unwritten.extend((path, name) for path in _plain_reads(rule, level))
        # Writing inside an object that a non-inverted rule reads would hand that rule a
        # partial object ({CurrencyCode} without Amount) it may refuse: leave such paths out.
        for path, writer in list(level.written.items()):
            inside = next(((r, n) for r, n in level.unwritten if path.startswith(r + ".")), None)
            if inside is not None:
                for key in [k for k in out if k == path or k.startswith(path + ".")]:
                    del out[key]
                del level.written[path]
                self.unmark(writer)
                self.skip(
                    writer,
                    f"writes `{path}` inside `{inside[0]}`, which '{inside[1]}' reads and "
                    "cannot write back",
                )
        # A money field's currency path is written only if no field writes it directly.
        for path, canonical, money in level.pending_currency:
            around = next((r for r, _ in level.unwritten if path.startswith(r + ".")), None)
            if around is not None and path not in level.written:
                self.unmark(money)
                self.skip(money, f"its currency `{path}` lies inside `{around}`, not written back")
                for key in [k for k in out if level.written.get(k) == money]:
                    del out[key]
            elif _clash(level, path) is None:
                out[path] = {"from": canonical}
                level.written[path] = money
        # Money whose currency is a sibling field needs that field written back too.
        for money, sibling in level.field_currency:
            if money in self.invertible and level.display + sibling not in self.invertible:
                self.unmark(money)
                self.skip(money, f"its currency field '{sibling}' is not written back")
                for key in [k for k in out if level.written.get(k) == money]:
                    del out[key]
                    del level.written[key]
        return out

    def unmark(self, name: str) -> None:
        """Take ``name`` (and everything below it) out of the invertible list."""
        self.invertible = [
            n for n in self.invertible if n != name and not n.startswith((name + ".", name + "[]"))
        ]

    def rule(self, rule: FieldRule, level: _Level, out: dict[str, Any]) -> None:
        name = level.display + rule.target
        canonical = level.canon + rule.target
        if rule.has_value:
            self.skip(name, f"a constant (value: {rule.value!r}): no payload field carries it")
            return
        if rule.when is not None:
            self.skip(name, f"produced only when `{rule.when.text}` holds on the payload")
            return
        if rule.each is not None:
            self.each(rule, level, out, name, canonical)
            return
        if rule.fields is not None or rule.use is not None:
            self.object(rule, level, out, name, canonical)
            return
        if not rule.from_:
            self.skip(name, "only a default: nothing is read from the payload")
            return
        path, why = self.payload_path(rule.from_[0], level)
        if path is None:
            self.skip(name, why)
            return
        clash = _clash(level, path)
        if clash is not None:
            self.skip(name, clash)
            return
        transforms, why = _invert_transforms(rule)
        if transforms is None:
            self.skip(name, why)
            return
        if rule.as_ == "money":
            self.money(rule, level, out, name, canonical, path, transforms)
            return
        written: dict[str, Any] = {"from": canonical}
        table = self.value_table(rule)
        if table is not None:
            reverse, has_default = table
            written["map"] = reverse
            if has_default:
                written["unknown"] = "warn"
                written["default"] = None
        elif rule.as_ in _REVERSIBLE_AS:
            written["as"] = rule.as_
        if transforms:
            written["transform"] = transforms
        out[path] = written
        level.written[path] = name
        self.invertible.append(name)

    def payload_path(self, source: SourcePath, level: _Level) -> tuple[str | None, str]:
        """The dotted payload path a rule reads, or ``None`` and why it cannot be written."""
        if source.steps is None:
            return None, f"reads a computed JMESPath expression `{source.text}`"
        if source.scope == "parent" or (source.scope == "root" and not level.top):
            return None, f"reads `{source.text}` outside the current element"
        if not source.steps:
            return None, "reads the whole element (`@`)"
        if any(isinstance(step, int) for step in source.steps):
            return None, f"reads one element of a list (`{source.text}`)"
        if any("." in str(step) for step in source.steps):
            return None, f"a key of `{source.text}` holds a dot, which a target path cannot"
        return ".".join(str(step) for step in source.steps), ""

    def value_table(self, rule: FieldRule) -> tuple[dict[str, Any], bool] | None:
        if rule.map is not None:
            table: Mapping[str, Any] = rule.map
            has_default = rule.has_default
        elif rule.lookup is not None and rule.lookup in self.spec.lookups:
            lookup = self.spec.lookups[rule.lookup]
            table = lookup.table
            has_default = lookup.has_default or rule.has_default
        else:
            return None
        reverse: dict[str, Any] = {}
        for key, value in table.items():
            back = map_key(value)
            if back is not None and back not in reverse:
                reverse[back] = key  # many-to-one: the first source value listed wins
        return reverse, has_default

    def money(
        self,
        rule: FieldRule,
        level: _Level,
        out: dict[str, Any],
        name: str,
        canonical: str,
        path: str,
        transforms: list[Any],
    ) -> None:
        if transforms:
            self.skip(name, "money computed by transforms")
            return
        currency = rule.currency
        if rule.money is not None:
            bag = f"{path}.{rule.money}_money"
            out[f"{bag}.amount"] = {"from": f"{canonical}.amount", "as": "string"}
            out[f"{bag}.currency_code"] = {"from": f"{canonical}.currency"}
        elif currency is not None and (currency.literal is not None or currency.field is not None):
            # the currency is a constant or another field's: only the amount is written
            out[path] = {"from": f"{canonical}.amount", "as": "string"}
            if currency.field is not None:
                level.field_currency.append((name, currency.field))
        elif currency is not None and currency.path is not None:
            currency_path, why = self.payload_path(currency.path, level)
            if currency_path is None and currency.path.scope == "here":
                self.skip(name, f"its currency {why}")
                return
            out[path] = {"from": f"{canonical}.amount", "as": "string"}
            if currency_path is not None:
                level.pending_currency.append((currency_path, f"{canonical}.currency", name))
        else:
            self.skip(
                name,
                "money whose currency comes inside the value: the shape of the amount object "
                "is not stated in the spec",
            )
            return
        level.written[path] = name
        self.invertible.append(name)

    def each(
        self, rule: FieldRule, level: _Level, out: dict[str, Any], name: str, canonical: str
    ) -> None:
        assert rule.each is not None
        path, why = self.payload_path(rule.each, level)
        if path is None:
            self.skip(name, f"'each' {why}")
            return
        clash = _clash(level, path)
        if clash is not None:
            self.skip(name, clash)
            return
        nested = self.nested_rules(rule, name)
        if nested is None:
            return
        before = len(self.invertible)
        inner = self.fields(nested, _Level(display=f"{name}[].", canon="", top=False))
        if len(self.invertible) == before:
            self.skip(name, "no field of the list element is invertible")
            return
        out[path] = {"each": canonical, "fields": inner}
        level.written[path] = name

    def object(
        self, rule: FieldRule, level: _Level, out: dict[str, Any], name: str, canonical: str
    ) -> None:
        nested = self.nested_rules(rule, name)
        if nested is None:
            return
        if not rule.from_:
            # The object is built from the current element: its fields write at this level.
            inner_level = _Level(
                display=f"{name}.", canon=f"{canonical}.", top=level.top, written=level.written
            )
            out.update(self.fields(nested, inner_level))
            return
        path, why = self.payload_path(rule.from_[0], level)
        if path is None:
            for sub in nested:
                self.skip(f"{name}.{sub.target}", f"its object {why}")
            return
        clash = _clash(level, path)
        if clash is not None:
            self.skip(name, clash)
            return
        before = len(self.invertible)
        inner = self.fields(nested, _Level(display=f"{name}.", canon="", top=False))
        if len(self.invertible) == before:
            return
        out[path] = {"from": canonical, "fields": inner}
        level.written[path] = name

    def nested_rules(self, rule: FieldRule, name: str) -> Sequence[FieldRule] | None:
        if rule.fields is not None:
            return rule.fields
        if rule.use is not None and rule.use in self.spec.definitions:
            return self.spec.definitions[rule.use].fields
        self.skip(name, f"uses the unknown definition {rule.use!r}")
        return None


def _plain_reads(rule: FieldRule, level: _Level) -> list[str]:
    """The payload paths (up to any list index) a rule reads directly."""
    out = []
    for source in (*rule.from_, *([rule.each] if rule.each is not None else [])):
        if source.steps is None or source.scope == "parent":
            continue
        if source.scope == "root" and not level.top:
            continue
        keys: list[str] = []
        for step in source.steps:
            if isinstance(step, int):
                break
            keys.append(step)
        if keys:
            out.append(".".join(keys))
    return out


def _clash(level: _Level, path: str) -> str | None:
    """Why ``path`` cannot be written at this level (already written, or nested in / around
    a path that is), or ``None``."""
    for other, writer in level.written.items():
        if other == path:
            return f"reads `{path}` like '{writer}', which writes it back"
        if other.startswith(path + ".") or path.startswith(other + "."):
            return f"`{path}` overlaps `{other}`, which '{writer}' writes"
    return None


def _invert_transforms(rule: FieldRule) -> tuple[list[Any] | None, str]:
    """The outbound transform chain undoing the inbound one, or ``None`` and why not."""
    out: list[Any] = []
    for call in rule.transforms:
        if call.name in IDEMPOTENT_TRANSFORMS:
            continue
        if call.name == "split" and not out:
            sep = call.args[0] if call.args else dict(call.kwargs).get("sep", ",")
            out.append({"join": sep})
            continue
        return None, f"transform '{call.name}' loses information"
    return out, ""


def _plain(value: Any) -> Any:
    """Data ruamel can dump: tuples as lists, mapping proxies as dicts."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
