"""Turn pydantic validation errors into ``CAN`` diagnostics with record data paths.

Pydantic reports a failing field as a ``loc`` tuple and an error ``type``; accord reports a
:class:`~accord.diagnostics.Diagnostic` with a stable ``code`` and a ``data_path`` written the
way mapping specs and case files write paths (``lines[0].unit_price.amount``). The codes are
part of the public contract: case files assert them (``expect_error: CAN010``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

from pydantic import ValidationError as PydanticValidationError

from accord.canonical.types import ERROR_TYPES
from accord.diagnostics import Diagnostic

__all__ = ["CODES", "format_path", "from_pydantic"]

#: Every CAN code, with what it means. Tests pin this table; never renumber.
CODES: Final = {
    "CAN000": "unknown canonical entity",
    "CAN001": "a required field is missing",
    "CAN002": "a field the model does not define (put channel-only data under 'extra')",
    "CAN003": "expected a string (ids are strings, never numbers)",
    "CAN004": "expected an integer",
    "CAN005": "number out of range (quantities are non-negative)",
    "CAN006": "timestamp without a time zone",
    "CAN007": "not a timestamp or date",
    "CAN008": "value not among the allowed choices",
    "CAN009": "not an exact decimal number",
    "CAN010": "float amount: amounts are exact Decimals or strings",
    "CAN011": "arithmetic or comparison between two currencies",
    "CAN012": "unknown currency code",
    "CAN013": "not an email address",
    "CAN014": "expected true or false",
    "CAN015": "wrong structure (object, list or mapping expected)",
    "CAN016": "badly formed string (empty id, bad country code)",
    "CAN020": "order totals do not reconcile",
    "CAN021": "refunded more than was captured",
    "CAN022": "money in a currency other than the record's",
    "CAN023": "negative amount where only a positive one makes sense",
    "CAN099": "invalid value",
}

# pydantic's own error types -> our codes. Anything unlisted becomes CAN099.
_PYDANTIC_CODES: Final = {
    "missing": "CAN001",
    "extra_forbidden": "CAN002",
    "string_type": "CAN003",
    "string_sub_type": "CAN003",
    "int_type": "CAN004",
    "int_parsing": "CAN004",
    "int_from_float": "CAN004",
    "greater_than_equal": "CAN005",
    "greater_than": "CAN005",
    "less_than_equal": "CAN005",
    "enum": "CAN008",
    "literal_error": "CAN008",
    "bool_type": "CAN014",
    "bool_parsing": "CAN014",
    "model_type": "CAN015",
    "model_attributes_type": "CAN015",
    "dict_type": "CAN015",
    "list_type": "CAN015",
    "string_too_short": "CAN016",
    "string_pattern_mismatch": "CAN016",
    **ERROR_TYPES,
}

# A path segment as specs write them; anything else (a key with a dot) cannot be spelled.
_PLAIN_KEY: Final = re.compile(r"[^.\[\]]+")

#: The pydantic error type an invariant check raises; its ctx carries finished diagnostics.
INVARIANT_ERROR: Final = "canonical_invariant"


def format_path(loc: Iterable[str | int], prefix: str = "") -> str:
    """Write a pydantic ``loc`` as a record path.

    >>> format_path(("lines", 0, "unit_price", "amount"))
    'lines[0].unit_price.amount'
    >>> format_path(("external_ids", "shopify"), prefix="refunds[1]")
    'refunds[1].external_ids.shopify'
    >>> format_path(("external_ids", 7, "[key]"))  # a bad key: point at the dict
    'external_ids'
    """
    steps = list(loc)
    parts: list[str] = [prefix] if prefix else []
    for i, item in enumerate(steps):
        if item == "[key]" or (i + 1 < len(steps) and steps[i + 1] == "[key]"):
            # pydantic marks an invalid dict *key* (rather than value) with "[key]" after it;
            # the key may be unspellable (an int, ""), so the path stops at the dict.
            break
        if isinstance(item, int):
            if parts:
                parts[-1] += f"[{item}]"
            else:
                parts.append(f"[{item}]")
        elif _PLAIN_KEY.fullmatch(item):
            parts.append(item)
        else:
            # A dict key no dotted path can spell ("a.b", "x[0]"): point at its container.
            break
    return ".".join(parts)


def _hint(code: str, input_value: Any) -> str | None:
    if code == "CAN003" and isinstance(input_value, int) and not isinstance(input_value, bool):
        return "ids and codes are strings; map them with 'as: string'"
    if code == "CAN002":
        return "list channel-only fields under 'extra', or fix the field name"
    if code == "CAN010":
        return "map amounts with 'as: money' or 'as: decimal', which never go through float"
    return None


def from_pydantic(
    exc: PydanticValidationError,
    *,
    record_id: str | None = None,
    prefix: str = "",
) -> list[Diagnostic]:
    """One Diagnostic per pydantic error, in the order pydantic found them.

    Invariant errors (raised by the model validators with :data:`INVARIANT_ERROR`) already
    carry finished diagnostics; they are re-rooted at the failing object's path.
    """
    out: list[Diagnostic] = []
    for err in exc.errors(include_url=False):
        loc: Sequence[str | int] = err["loc"]
        path = format_path(loc, prefix)
        kind = err["type"]
        if kind == INVARIANT_ERROR:
            for diag in err.get("ctx", {}).get("diagnostics", ()):
                sub = diag.data_path or ""
                full = f"{path}.{sub}" if path and sub else (path or sub)
                out.append(diag.for_record(record_id, full or None))
            continue
        code = _PYDANTIC_CODES.get(kind, "CAN099")
        input_value = err.get("input")
        details: tuple[tuple[str, str], ...] = ()
        if code not in ("CAN001", "CAN002"):
            details = (("input_type", type(input_value).__name__),)
        label = path or "record"
        message = f"{label}: {err['msg']}"
        if code == "CAN003" and isinstance(input_value, int) and not isinstance(input_value, bool):
            message = f"{label}: expected a string, got an int (ids are strings, never numbers)"
        elif code == "CAN002":
            message = f"{label}: the canonical model has no such field"
        out.append(
            Diagnostic(
                code=code,
                message=message,
                data_path=path or None,
                record_id=record_id,
                hint=_hint(code, input_value),
                details=details,
            )
        )
    return out
