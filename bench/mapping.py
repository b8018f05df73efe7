"""Mapping section: the Shopify order fixture to a canonical order, several ways.

The baseline is ``hand_written`` from ``bench/mapping_quick.py``: a natural, competent Python
function producing exactly what the bench spec (``SPEC`` there) describes. Peer query
languages extract the raw values with one compiled expression per field (and one per line
list); ``finish`` then applies the same coercions as the baseline (Decimal money, UTC
datetimes, blank handling), so every peer is judged on what its language returns.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.harness import Row, Tool, compare_section
from bench.mapping_quick import _FINANCIAL, _FULFILMENT, SPEC, _blank, _dt, hand_written

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = ROOT.parent / "shared" / "bench" / "shopify_order.json"

#: Raw values every peer extracts: output key -> dotted path under ``order``.
TOP = {
    "id": "id",
    "name": "name",
    "order_number": "order_number",
    "currency": "currency",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "financial_status": "financial_status",
    "fulfillment_status": "fulfillment_status",
    "taxes_included": "taxes_included",
    "note": "note",
    "subtotal_price": "subtotal_price",
    "total_price": "total_price",
    "total_tax": "total_tax",
    "total_discounts": "total_discounts",
    "email": "email",
    "tags": "tags",
    "customer": "customer",
    "customer_id": "customer.id",
    "customer_email": "customer.email",
    "customer_first_name": "customer.first_name",
    "customer_last_name": "customer.last_name",
    "ship": "shipping_address",
    "ship_address1": "shipping_address.address1",
    "ship_address2": "shipping_address.address2",
    "ship_city": "shipping_address.city",
    "ship_zip": "shipping_address.zip",
    "ship_country_code": "shipping_address.country_code",
}
LINE = ("id", "sku", "title", "quantity", "price", "requires_shipping")
TAX = ("title", "rate", "price")


def load_payload() -> dict[str, Any]:
    """The fixture, floats parsed as Decimal; a clear error when the file is absent."""
    if not PAYLOAD.is_file():
        raise SystemExit(
            f"benchmark payload not found: {PAYLOAD} (expected ../shared/bench/shopify_order.json "
            "next to the repository)"
        )
    data: dict[str, Any] = json.loads(PAYLOAD.read_text(), parse_float=Decimal)
    return data


def variants(base: dict[str, Any]) -> dict[str, Any]:
    """The inputs every tool must map exactly as the baseline does."""
    out: dict[str, Any] = {"fixture": base}
    nulls = copy.deepcopy(base)
    for key in ("customer", "shipping_address", "note", "tags", "line_items", "tax_lines"):
        nulls["order"][key] = None
    nulls["order"]["financial_status"] = None
    out["null sections"] = nulls
    missing = copy.deepcopy(base)
    for key in ("customer", "shipping_address", "note", "tags", "tax_lines", "email", "name"):
        missing["order"].pop(key, None)
    out["missing sections"] = missing
    money = copy.deepcopy(base)
    o = money["order"]
    o.update(subtotal_price="0.30", total_discounts="0.10", total_price="0.20", total_tax="0.00")
    for line, price in zip(o["line_items"], ("0.10", "0.20", "0.30"), strict=False):
        line["price"] = price
    for tax in o["tax_lines"]:
        tax.update(rate=Decimal("0.1"), price="0.01")
    out["boundary money"] = money
    ids = copy.deepcopy(base)
    ids["order"]["id"] = 123456789012345678
    ids["order"]["customer"]["id"] = 987654321098765432
    for i, line in enumerate(ids["order"]["line_items"]):
        line["id"] = 100000000000000001 + i
    out["18-digit ids"] = ids
    blanks = copy.deepcopy(base)
    blanks["order"]["note"] = "  "
    blanks["order"]["customer"]["email"] = ""
    blanks["order"]["line_items"][0]["sku"] = " "
    out["blank strings"] = blanks
    return out


def finish(raw: dict[str, Any], lines: Any, taxes: Any) -> dict[str, Any]:
    """Turn extracted raw values into the canonical record, with the baseline's semantics."""
    cur = raw["currency"]
    out: dict[str, Any] = {"id": str(raw["id"]), "external_ids": {"shopify": str(raw["id"])}}
    number = raw["name"] if raw["name"] is not None else raw["order_number"]
    if number is not None:
        out["number"] = str(number)
    out["currency"] = cur
    if raw["created_at"]:
        out["placed_at"] = _dt(raw["created_at"])
    if raw["updated_at"]:
        out["updated_at"] = _dt(raw["updated_at"])
    status = raw["financial_status"]
    out["financial_status"] = _FINANCIAL.get(status, "pending") if status else "pending"
    out["fulfillment_status"] = _FULFILMENT.get(raw["fulfillment_status"], "unfulfilled")
    if raw["taxes_included"] is not None:
        out["taxes_included"] = bool(raw["taxes_included"])
    if not _blank(raw["note"]):
        out["note"] = raw["note"]
    for target, key in (
        ("subtotal", "subtotal_price"),
        ("total", "total_price"),
        ("tax_total", "total_tax"),
        ("discount_total", "total_discounts"),
    ):
        if raw[key] is not None:
            out[target] = {"amount": Decimal(raw[key]), "currency": cur}
    c: dict[str, Any] = {}
    if raw["customer_id"] is not None:
        c["id"] = str(raw["customer_id"])
    if raw["customer_first_name"] is not None:
        c["first_name"] = raw["customer_first_name"]
    if raw["customer_last_name"] is not None:
        c["last_name"] = raw["customer_last_name"]
    email = raw["customer_email"]
    if _blank(email):
        email = raw["email"]
    if not _blank(email):
        c["email"] = email.strip().lower()
    if c:
        out["customer"] = c
    if raw["ship"]:
        a: dict[str, Any] = {}
        if not _blank(raw["ship_address1"]):
            a["line1"] = raw["ship_address1"]
        if not _blank(raw["ship_address2"]):
            a["line2"] = raw["ship_address2"]
        if raw["ship_city"] is not None:
            a["city"] = raw["ship_city"]
        if raw["ship_zip"] is not None:
            a["postal_code"] = raw["ship_zip"]
        if raw["ship_country_code"] is not None:
            a["country_code"] = raw["ship_country_code"].upper()
        out["shipping_address"] = a
    if not _blank(raw["tags"]):
        out["tags"] = [t.strip() for t in raw["tags"].split(",")]
    out_lines = []
    for li in lines or ():
        line: dict[str, Any] = {"external_ids": {"shopify": str(li["id"])}}
        if not _blank(li.get("sku")):
            line["sku"] = "".join(li["sku"].split()).upper()
        line["title"] = li.get("title")
        line["quantity"] = int(li["quantity"])
        line["unit_price"] = {"amount": Decimal(li["price"]), "currency": cur}
        line["requires_shipping"] = bool(li.get("requires_shipping"))
        out_lines.append(line)
    if lines is not None:
        out["lines"] = out_lines
    if taxes is not None:
        out["tax_lines"] = [
            {
                "title": tl.get("title"),
                "rate": _dec(tl["rate"]),
                "amount": {"amount": Decimal(tl["price"]), "currency": cur},
            }
            for tl in taxes
        ]
    return out


def _dec(value: Any) -> Decimal:
    # A tool that hands back floats gets its shortest repr read as a decimal (0.06 -> 0.06),
    # the best a float-returning tool can do.
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _floats(value: Any) -> Any:
    """Decimals as floats, for tools that accept only JSON types."""
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return float(value) if isinstance(value, Decimal) else value


def build_accord() -> Callable[[Any], Any]:
    """accord's compiled mapping of the bench spec (the plain build)."""
    from accord.engine.mapping import MappingSpec, compile_mapping
    from accord.engine.yamlsource import load_yaml

    return compile_mapping(MappingSpec.from_dict(load_yaml(SPEC).data)).apply


def build_jmespath() -> Callable[[Any], Any]:
    """One compiled jmespath expression per field, one per item list."""
    import jmespath

    top = [(k, jmespath.compile(f"order.{p}").search) for k, p in TOP.items()]
    lines = jmespath.compile(
        "order.line_items[*].{" + ", ".join(f"{k}: {k}" for k in LINE) + "}"
    ).search
    taxes = jmespath.compile("order.tax_lines[*].{" + ", ".join(f"{k}: {k}" for k in TAX) + "}")

    def run(payload: Any) -> Any:
        raw = {k: search(payload) for k, search in top}
        return finish(raw, lines(payload), taxes.search(payload))

    return run


def build_glom() -> Callable[[Any], Any]:
    """One glom spec: a Coalesce per field (missing -> None), item lists as sub-specs."""
    from glom import Coalesce, glom

    def item(keys: tuple[str, ...]) -> Any:
        return {k: Coalesce(k, default=None) for k in keys}

    spec = {k: Coalesce(f"order.{p}", default=None) for k, p in TOP.items()}
    spec["__lines"] = Coalesce(("order.line_items", [item(LINE)]), default=None)
    spec["__taxes"] = Coalesce(("order.tax_lines", [item(TAX)]), default=None)

    def run(payload: Any) -> Any:
        raw = glom(payload, spec)
        return finish(raw, raw["__lines"], raw["__taxes"])

    return run


def build_jsonata() -> Callable[[Any], Any]:
    """One compiled JSONata expression per field; item lists forced to arrays."""
    import jsonata

    top = [(k, jsonata.Jsonata(f"order.{p}")) for k, p in TOP.items()]

    def obj(keys: tuple[str, ...]) -> str:
        return "{" + ", ".join(f'"{k}": {k}' for k in keys) + "}"

    def items(path: str, keys: tuple[str, ...]) -> Any:
        # A null list would otherwise come back as [{}]: only an array maps to items.
        return jsonata.Jsonata(f'$type({path}) = "array" ? [{path}.{obj(keys)}] : null')

    lines, taxes = items("order.line_items", LINE), items("order.tax_lines", TAX)

    def run(payload: Any) -> Any:
        # jsonata-python refuses Decimal input: its numbers are floats.
        payload = _floats(payload)
        raw = {k: expr.evaluate(payload) for k, expr in top}
        return finish(raw, lines.evaluate(payload), taxes.evaluate(payload))

    return run


def mapping_tools() -> list[Tool]:
    return [
        Tool("accord compiled", (), build_accord, held_to_target=True),
        Tool("jmespath (per field)", ("jmespath",), build_jmespath),
        Tool("glom", ("glom",), build_glom),
        Tool("jsonata-python", ("jsonata",), build_jsonata),
    ]


def _validated(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    from accord.canonical import validate_record

    def run(payload: Any) -> Any:
        return validate_record("order", fn(payload)).model_dump()

    return run


def run_section(rounds: int, seconds: float) -> list[Row]:
    """Mapping, mapping + validation, JSON bytes -> record."""
    base = load_payload()
    inputs = variants(base)
    rows = compare_section(
        "mapping (dict -> dict)",
        "hand-written Python",
        hand_written,
        mapping_tools(),
        inputs,
        base,
        rounds=rounds,
        seconds=seconds,
        target=0.8,
    )
    validated = [
        Tool(f"{t.name} + validation", t.needs, lambda t=t: _validated(t.build()), t.held_to_target)
        for t in mapping_tools()
    ]
    rows += compare_section(
        "mapping + pydantic validation",
        "hand-written + validation",
        _validated(hand_written),
        validated,
        inputs,
        base,
        rounds=rounds,
        seconds=seconds,
        target=0.8,
    )
    raw_inputs = {k: _bytes(v) for k, v in inputs.items()}
    rows += compare_section(
        "JSON bytes -> record",
        "json.loads(Decimal) + hand-written",
        lambda b: hand_written(json.loads(b, parse_float=Decimal)),
        _bytes_tools(),
        raw_inputs,
        raw_inputs["fixture"],
        rounds=rounds,
        seconds=seconds,
        target=None,
    )
    return rows


def _bytes(payload: Any) -> bytes:
    # Decimals are written back as JSON numbers, so parsing them is the tool's job.
    return json.dumps(payload, default=_number).replace('"__num__', "").replace('__"', "").encode()


def _number(value: Any) -> str:
    return f"__num__{value}__"


def _bytes_tools() -> list[Tool]:
    def accord_json() -> Callable[[Any], Any]:
        apply = build_accord()
        return lambda b: apply(json.loads(b, parse_float=Decimal))

    def accord_orjson() -> Callable[[Any], Any]:
        import orjson

        apply = build_accord()
        return lambda b: apply(orjson.loads(b))

    def hand_orjson() -> Callable[[Any], Any]:
        import orjson

        return lambda b: hand_written(orjson.loads(b))

    return [
        Tool("json.loads(Decimal) + accord", (), accord_json, held_to_target=True),
        Tool("orjson (floats stay float) + accord", ("orjson",), accord_orjson),
        Tool("orjson + hand-written", ("orjson",), hand_orjson),
    ]
