"""Signature helpers shared by the webhook verifiers.

Every comparison is constant-time (:func:`hmac.compare_digest`), and a signature header that
is missing, empty or not ASCII simply fails to match.

>>> sig = hmac_sha256_base64(b"secret", b'{"id":1}')
>>> sig
'A971iWIMgT8Zj9A9eWfikrFj7wQ16/Qwcc4OlRl2PLc='
>>> signature_matches(sig, sig), signature_matches(None, sig)
(True, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

__all__ = ["hmac_sha256_base64", "hmac_sha256_hex", "lower_headers", "signature_matches"]


def hmac_sha256_base64(key: bytes, message: bytes) -> str:
    """Base64 of HMAC-SHA256 (Shopify, WooCommerce)."""
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


def hmac_sha256_hex(key: bytes, message: bytes) -> str:
    """Lower-case hex of HMAC-SHA256 (TikTok Shop)."""
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signature_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a received signature with the expected one."""
    if not given:
        return False
    try:
        given_bytes = given.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(given_bytes, expected.encode("ascii"))


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lower-cased, so lookups do not depend on how a server spelled them."""
    return {str(k).lower(): str(v) for k, v in headers.items()}
