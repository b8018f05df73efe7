"""Validate, check and serialise canonical records: the functions other stages call.

``validate_record`` sits in the hot path (every mapped record passes through it), so it does one
dict lookup and one pydantic call; everything else happens only when a record fails.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from accord.canonical.diagnose import from_pydantic
from accord.canonical.models import (
    INVARIANTS_KEY,
    Address,
    CanonicalModel,
    Customer,
    Discount,
    Fulfillment,
    FulfillmentLine,
    InventoryAdjustment,
    InventoryLevel,
    Media,
    Order,
    OrderLine,
    Product,
    Refund,
    RefundLine,
    RefundTransaction,
    Return,
    ReturnLine,
    ShippingLine,
    TaxLine,
    Variant,
)
from accord.diagnostics import Diagnostic
from accord.errors import ValidationError

__all__ = ["ENTITIES", "check_invariants", "from_json", "to_json", "validate_record"]

_MODELS: Final[tuple[type[CanonicalModel], ...]] = (
    Order,
    OrderLine,
    Customer,
    Address,
    TaxLine,
    Discount,
    ShippingLine,
    Product,
    Variant,
    Media,
    InventoryLevel,
    InventoryAdjustment,
    Fulfillment,
    FulfillmentLine,
    Return,
    ReturnLine,
    Refund,
    RefundLine,
    RefundTransaction,
)

#: Every canonical entity by its snake_case name ("order", "order_line", "inventory_level", ...).
#: Treat it as read-only: the static checkers and the JSON Schemas are derived from it.
ENTITIES: Final[dict[str, type[CanonicalModel]]] = {model.entity: model for model in _MODELS}

# Passed as the validation context to switch the invariant validators off (see models.py).
_SKIP_INVARIANTS: Final = MappingProxyType({INVARIANTS_KEY: False})


def _unknown_entity(entity: object) -> ValidationError:
    close = difflib.get_close_matches(str(entity), list(ENTITIES), n=3)
    hint = f"did you mean {', '.join(close)}?" if close else None
    message = f"unknown canonical entity {str(entity)[:60]!r}; known: {', '.join(ENTITIES)}"
    return ValidationError(message, diagnostics=[Diagnostic("CAN000", message, hint=hint)])


def _record_id(data: object) -> str | None:
    if isinstance(data, Mapping):
        rid = data.get("id")
        if isinstance(rid, str):
            return rid
    return None


def validate_record(
    entity: str,
    data: Mapping[str, Any],
    *,
    record_id: str | None = None,
    invariants: bool = True,
) -> CanonicalModel:
    """Validate ``data`` (python form or JSON form) as a canonical ``entity``.

    Raises :class:`accord.errors.ValidationError` carrying one ``CAN`` diagnostic per failing
    field, each with its ``data_path`` (``lines[0].unit_price.amount``) and the record id.
    With ``invariants=False`` the cross-field invariants (totals, refund <= captured, one
    currency) are not enforced; run :func:`check_invariants` on the result to *report* them.

    >>> from decimal import Decimal
    >>> order = validate_record("order", {"id": "shopify:1", "currency": "USD",
    ...     "lines": [{"sku": "A", "quantity": 1,
    ...                "unit_price": {"amount": Decimal("9.50"), "currency": "USD"}}]})
    >>> order.lines[0].unit_price
    Money(amount=Decimal('9.50'), currency='USD')
    >>> validate_record("order", {"id": 450789469})
    Traceback (most recent call last):
    ...
    accord.errors.ValidationError: <input>: error CAN003: id: expected a string, got an int ...
    """
    try:
        model = ENTITIES[entity]
    except (KeyError, TypeError):
        raise _unknown_entity(entity) from None
    try:
        if invariants:
            return model.model_validate(data)
        return model.model_validate(data, context=_SKIP_INVARIANTS)
    except PydanticValidationError as exc:
        rid = record_id if record_id is not None else _record_id(data)
        raise ValidationError(diagnostics=from_pydantic(exc, record_id=rid)) from exc


def check_invariants(record: CanonicalModel, *, record_id: str | None = None) -> list[Diagnostic]:
    """Report the cross-field invariants ``record`` breaks, as diagnostics (never raises).

    This is the *flagging* form of the invariant validators: a mapping validates with
    ``invariants=False`` and reports what this returns, so a platform sample whose totals do
    not add up becomes a diagnostic instead of a crash.

    >>> from decimal import Decimal
    >>> usd = lambda s: {"amount": Decimal(s), "currency": "USD"}
    >>> order = validate_record("order", {"id": "o1", "subtotal": usd("10.00"),
    ...     "total": usd("12.00")}, invariants=False)
    >>> [d.code for d in check_invariants(order)]
    ['CAN020']
    """
    rid = record_id
    if rid is None:
        rid = getattr(record, "id", None) if isinstance(getattr(record, "id", None), str) else None
    return [d.for_record(rid) for d in record.invariant_diagnostics()]


def to_json(model: BaseModel, *, exclude_none: bool = False) -> dict[str, Any]:
    """The JSON form of a record: amounts and ids as strings, timestamps ISO-8601 UTC with ``Z``.

    >>> from decimal import Decimal
    >>> line = validate_record("order_line", {"sku": "A", "quantity": 2,
    ...     "unit_price": {"amount": Decimal("9.50"), "currency": "USD"}})
    >>> to_json(line, exclude_none=True)["unit_price"]
    {'amount': '9.50', 'currency': 'USD'}
    """
    return model.model_dump(mode="json", exclude_none=exclude_none)


def from_json(
    entity: str, data: Mapping[str, Any] | str | bytes, *, invariants: bool = True
) -> CanonicalModel:
    """Read a record from its JSON form (a parsed dict, or JSON text).

    JSON numbers with a fraction are floats and are refused for amounts, exactly as in
    :func:`validate_record`: write amounts as strings.
    """
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            message = f"not valid JSON: {exc}"
            raise ValidationError(message, diagnostics=[Diagnostic("CAN015", message)]) from exc
    return validate_record(entity, data, invariants=invariants)  # type: ignore[arg-type]
