"""JSON for the store: Decimal amounts travel as strings, datetimes as ISO-8601 UTC with ``Z``.

>>> from decimal import Decimal
>>> dumps({"amount": Decimal("10.50"), "currency": "USD"})
'{"amount":"10.50","currency":"USD"}'
>>> loads('{"amount": 10.5}')["amount"]
Decimal('10.5')
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

_orjson: Any
try:  # C-speed encoding of stored state; the standard library is the fallback
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the fallback is for embedders
    _orjson = None

__all__ = ["content_hash", "dumps", "dumps_payload", "dumps_stdlib", "loads", "to_jsonable"]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot store a {type(value).__name__} as JSON")


_ENCODER = json.JSONEncoder(default=_default, separators=(",", ":"), ensure_ascii=False)


# Datetimes and dataclasses go through _default so both encoders write them the same way
# (UTC with ``Z``; ``to_dict`` before the dataclass fields).
_ORJSON_OPTIONS = (
    _orjson.OPT_PASSTHROUGH_DATETIME | _orjson.OPT_PASSTHROUGH_DATACLASS if _orjson else 0
)


def dumps(value: Any) -> str:
    """Compact JSON; never writes a float for a Decimal.

    orjson writes it when installed (~5x faster on a stored order); whatever orjson refuses
    (integers beyond 64 bits, non-string keys, lone surrogates) is written by the standard
    library, so the text is the same either way (non-finite floats aside, which orjson writes
    as ``null``; the store never holds one).
    """
    if _orjson is not None:
        try:
            text: str = _orjson.dumps(value, default=_default, option=_ORJSON_OPTIONS).decode()
            return text
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            pass
    return _ENCODER.encode(value)


def dumps_stdlib(value: Any) -> str:
    """:func:`dumps` with the standard library's encoder only (the reference for tests)."""
    return _ENCODER.encode(value)


# A Decimal is written as a tagged string, then the tag and quotes are cut: the encoder has no
# hook for raw numbers. Control characters make the tag impossible in real text fields.
_NUM = "\x00\x1fN"
_NUM_RE = re.compile(r'"\\u0000\\u001fN([-+0-9.eE]+)"')


def _payload_default(value: Any) -> Any:
    if isinstance(value, Decimal) and value.is_finite():
        return f"{_NUM}{value}"
    return _default(value)


_PAYLOAD_ENCODER = json.JSONEncoder(
    default=_payload_default, separators=(",", ":"), ensure_ascii=True
)


def dumps_payload(value: Any) -> str:
    """JSON for a *channel payload*: Decimals stay JSON numbers with every digit, so a payload
    read with :func:`loads` and written back is the same document.

    >>> dumps_payload({"price": Decimal("19.990"), "qty": 2})
    '{"price":19.990,"qty":2}'
    """
    return _NUM_RE.sub(r"\1", _PAYLOAD_ENCODER.encode(value))


_DECODER = json.JSONDecoder(parse_float=Decimal)  # one decoder: json.loads builds one per call


def loads(text: str | bytes) -> Any:
    """Parse JSON reading every non-integer number as a Decimal (money never becomes float).

    >>> loads(b'{"amount": 0.1}')
    {'amount': Decimal('0.1')}
    """
    if not isinstance(text, str):
        # json.loads' own reading of bytes: UTF-8, -16 or -32 by the first bytes
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    return _DECODER.decode(text)


def to_jsonable(value: Any) -> Any:
    """The plain-JSON form of ``value`` (what :func:`dumps` would write), as Python objects."""
    return json.loads(dumps(value))


def content_hash(value: Any) -> str:
    """A stable digest of a JSON-able value (keys sorted), used for idempotency keys."""
    text = json.dumps(value, default=_default, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
