"""Credentials for connectors: where they come from and how they are kept out of sight.

A connector never reads ``os.environ`` itself; it asks a :class:`SecretsProvider`.
:class:`EnvSecrets` reads environment variables, :class:`StaticSecrets` holds a mapping
(tests, or a vault client that has already fetched the values). Every value a connector reads
is registered with its :class:`Redactor`, which scrubs it from error messages, logs and
recordings.

>>> secrets = StaticSecrets({"SHOPIFY_ACCESS_TOKEN": "shpat_123456"})
>>> redactor = Redactor()
>>> redactor.add(secrets.get("SHOPIFY_ACCESS_TOKEN"))
>>> redactor.redact("token shpat_123456 was refused")
'token [REDACTED] was refused'
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

__all__ = ["REDACTED", "EnvSecrets", "Redactor", "SecretsProvider", "StaticSecrets"]

#: What a secret is replaced with wherever it would otherwise appear.
REDACTED = "[REDACTED]"

# Short values ("1", "us") would redact innocent text everywhere; real credentials are long.
_MIN_SECRET_LENGTH = 6


@runtime_checkable
class SecretsProvider(Protocol):
    """Anything that can look a credential up by name; ``None`` when it is not set."""

    def get(self, name: str) -> str | None:
        """The value of credential ``name``, or ``None``."""
        ...


class EnvSecrets:
    """Credentials from environment variables, optionally under a prefix.

    >>> EnvSecrets(environ={"ACME_SHOPIFY_SHOP": "acme.myshopify.com"}, prefix="ACME_").get(
    ...     "SHOPIFY_SHOP")
    'acme.myshopify.com'
    """

    def __init__(self, *, prefix: str = "", environ: Mapping[str, str] | None = None) -> None:
        self._prefix = prefix
        self._environ = environ

    def get(self, name: str) -> str | None:
        environ = os.environ if self._environ is None else self._environ
        value = environ.get(self._prefix + name)
        return value or None

    def __repr__(self) -> str:
        return f"EnvSecrets(prefix={self._prefix!r})"


class StaticSecrets:
    """Credentials held in memory. ``repr`` never shows the values."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def get(self, name: str) -> str | None:
        return self._values.get(name) or None

    def set(self, name: str, value: str) -> None:
        """Replace a credential (a rotated token, say)."""
        self._values[name] = value

    def __repr__(self) -> str:
        return f"StaticSecrets(names={sorted(self._values)!r})"


class Redactor:
    """Remembers secret values and replaces them in any text.

    Thread-safe: the webhook server verifies deliveries on several threads at once.
    """

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: str | None) -> None:
        """Remember ``value`` as secret (ignored when empty or too short to be a credential)."""
        if value and len(value) >= _MIN_SECRET_LENGTH:
            with self._lock:
                self._values.add(value)

    def redact(self, text: str) -> str:
        """``text`` with every remembered secret replaced by ``[REDACTED]``."""
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)  # longest first: no partials
        for value in values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def __contains__(self, value: object) -> bool:
        with self._lock:
            return value in self._values

    def __repr__(self) -> str:
        return f"Redactor({len(self._values)} secrets)"
