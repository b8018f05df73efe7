"""AWS Signature Version 4, for the one AWS API accord calls itself: SQS, where SP-API
delivers notifications.

The canonical request, string to sign and signing key follow the published algorithm
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html);
the test suite checks it against AWS's own worked example.

>>> from datetime import datetime, timezone
>>> headers = sigv4_headers(
...     "GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
...     {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}, b"",
...     access_key="AKIDEXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
...     region="us-east-1", service="iam",
...     now=datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc))
>>> headers["authorization"].rsplit("Signature=", 1)[1]
'5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7'
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

import httpx2

__all__ = ["sigv4_headers"]


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _enc(value: str) -> str:
    return quote(value, safe="-_.~")


def sigv4_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    now: datetime,
    session_token: str | None = None,
) -> dict[str, str]:
    """The headers to add to a request: ``x-amz-date``, ``authorization`` and, with temporary
    credentials, ``x-amz-security-token``. Every given header (and ``host``) is signed."""
    parsed = httpx2.URL(url)
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    signed_headers = {k.lower().strip(): " ".join(str(v).split()) for k, v in headers.items()}
    signed_headers["host"] = parsed.netloc.decode("ascii")
    signed_headers["x-amz-date"] = stamp
    if session_token:
        signed_headers["x-amz-security-token"] = session_token
    names = sorted(signed_headers)
    query = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(parsed.params.multi_items()))
    canonical = "\n".join(
        [
            method.upper(),
            quote(parsed.path or "/", safe="/-_.~"),
            query,
            "".join(f"{n}:{signed_headers[n]}\n" for n in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(
        _hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), service), "aws4_request"
    )
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {
        "x-amz-date": stamp,
        "authorization": (
            f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        ),
    }
    if session_token:
        out["x-amz-security-token"] = session_token
    return out
