"""The one exception tree of accord.

Every exception accord raises on purpose is an :class:`AccordError`; each class also subclasses
the builtin it resembles, so ``except ValueError`` keeps working for callers who do not know
accord. Errors from the libraries underneath (lark, jsonschema, jmespath, ruamel.yaml, pydantic,
httpx2, sqlite3, psycopg) are caught at the boundary and re-raised as one of these with
``raise ... from``::

    AccordError(Exception)                       .diagnostics, .code, .error_class
    ├── SpecError(ValueError)                    a mapping spec, lookup table, rule file, case file
    │   │                                        or project config is invalid (load, structure,
    │   │                                        semantic check); carries every Diagnostic found
    │   └── RuleSyntaxError(SyntaxError)         a rule file does not parse
    ├── MappingError(ValueError)                 one record failed to map at run time
    ├── RuleError(ValueError)                    one record failed rule evaluation (e.g. a value
    │                                            the rule needs is missing)
    ├── ValidationError(ValueError)              a record breaks the canonical model
    │   └── MoneyError                           float amount, unknown currency, mixed currencies
    │       └── CurrencyMismatchError(TypeError) arithmetic between two currencies
    ├── StoreError(RuntimeError)                 the state store failed or refused a write
    │   └── StaleUpdateError                     an older update arrived after a newer one
    └── ConnectorError(ConnectionError)          a channel call failed; .error_class says how
        ├── TransientError                       network trouble, 5xx: retry with backoff
        ├── QuotaError                           429 / throttled: retry after the given delay
        ├── AuthError(PermissionError)           401/403, bad signature: refresh once
        ├── RequestRejectedError(ValueError)     400/422: never retried
        └── ConflictError                        409 / business rule on the far side

:class:`ErrorClass` is the classification shared by connectors, the retry policy and the
dead-letter store.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from accord.diagnostics import Diagnostic

__all__ = [
    "AccordError",
    "AuthError",
    "ConflictError",
    "ConnectorError",
    "CurrencyMismatchError",
    "ErrorClass",
    "MappingError",
    "MoneyError",
    "QuotaError",
    "RequestRejectedError",
    "RuleError",
    "RuleSyntaxError",
    "SpecError",
    "StaleUpdateError",
    "StoreError",
    "TransientError",
    "ValidationError",
]


class ErrorClass(enum.StrEnum):
    """How a failure should be handled: the dead-letter store and retry policy key on this."""

    TRANSIENT = "transient"  # try again soon: network, timeouts, 5xx, lock contention
    QUOTA = "quota"  # try again after the rate-limit window
    AUTH = "auth"  # refresh credentials once, then a human
    VALIDATION = "validation"  # the data or spec is wrong: fix it, then retry
    BUSINESS_CONFLICT = "business_conflict"  # policy refused it (ownership, duplicate refund)

    @property
    def retryable(self) -> bool:
        return self in (ErrorClass.TRANSIENT, ErrorClass.QUOTA)


class AccordError(Exception):
    """Base of every accord exception.

    ``diagnostics`` holds the located problems (possibly several: validation collects them all);
    ``code`` is the stable code of the first one; ``error_class`` drives retries and the
    dead-letter store.
    """

    default_code = "ACCORD"
    error_class: ErrorClass = ErrorClass.VALIDATION

    def __init__(
        self,
        message: str | None = None,
        *,
        diagnostics: Iterable[Diagnostic] = (),
        code: str | None = None,
        error_class: ErrorClass | None = None,
    ) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        if message is None:
            message = (
                "\n".join(d.render() for d in self.diagnostics)
                if self.diagnostics
                else self.__class__.__name__
            )
        self.message = message
        self.code = code or (self.diagnostics[0].code if self.diagnostics else self.default_code)
        if error_class is not None:
            self.error_class = error_class
        super().__init__(message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Keep keyword-only state across pickling (worker processes send errors back).
        return (
            _rebuild,
            (self.__class__, self.message, self.diagnostics, self.code, self.error_class),
        )


def _rebuild(
    cls: type[AccordError],
    message: str,
    diagnostics: tuple[Diagnostic, ...],
    code: str,
    error_class: ErrorClass,
) -> AccordError:
    return cls(message, diagnostics=diagnostics, code=code, error_class=error_class)


class SpecError(AccordError, ValueError):
    """A declarative file (mapping, lookup, rules, cases, project config) is invalid."""

    default_code = "SPEC"


class RuleSyntaxError(SpecError, SyntaxError):
    """A rule file does not parse. ``diagnostics[0]`` locates the first bad token."""

    default_code = "RULE001"


class MappingError(AccordError, ValueError):
    """One record failed to map; the Diagnostic points at the spec line and the data path."""

    default_code = "MAP"


class RuleError(AccordError, ValueError):
    """One record failed rule evaluation; never silently read as ``false``."""

    default_code = "RULE"


class ValidationError(AccordError, ValueError):
    """A record does not satisfy the canonical model; one Diagnostic per failing field path."""

    default_code = "CAN"


class MoneyError(ValidationError):
    """A money value is malformed: a float amount, an unknown currency, mixed currencies."""

    default_code = "CAN010"


class CurrencyMismatchError(MoneyError, TypeError):
    """Arithmetic or comparison between amounts of two different currencies."""

    default_code = "CAN011"


class StoreError(AccordError, RuntimeError):
    """The state store failed or refused a write."""

    default_code = "STORE"
    error_class = ErrorClass.TRANSIENT


class StaleUpdateError(StoreError):
    """An update older than the stored state arrived; it is never applied."""

    default_code = "STORE010"
    error_class = ErrorClass.BUSINESS_CONFLICT


class ConnectorError(AccordError, ConnectionError):
    """A call to a channel failed; ``error_class`` says whether and how to retry."""

    default_code = "CONN"
    error_class = ErrorClass.TRANSIENT

    def __init__(
        self,
        message: str | None = None,
        *,
        diagnostics: Iterable[Diagnostic] = (),
        code: str | None = None,
        error_class: ErrorClass | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, diagnostics=diagnostics, code=code, error_class=error_class)
        self.status_code = status_code
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_connector,
            (
                self.__class__,
                self.message,
                self.diagnostics,
                self.code,
                self.error_class,
                self.status_code,
                self.retry_after,
            ),
        )


def _rebuild_connector(
    cls: type[ConnectorError],
    message: str,
    diagnostics: tuple[Diagnostic, ...],
    code: str,
    error_class: ErrorClass,
    status_code: int | None,
    retry_after: float | None,
) -> ConnectorError:
    return cls(
        message,
        diagnostics=diagnostics,
        code=code,
        error_class=error_class,
        status_code=status_code,
        retry_after=retry_after,
    )


class TransientError(ConnectorError):
    """Network failure, timeout or 5xx: retried with backoff and jitter."""

    default_code = "CONN001"
    error_class = ErrorClass.TRANSIENT


class QuotaError(ConnectorError):
    """Rate limited (429, or a throttle reported with HTTP 200): retried after ``retry_after``."""

    default_code = "CONN002"
    error_class = ErrorClass.QUOTA


class AuthError(ConnectorError, PermissionError):
    """Credentials refused or a webhook signature is wrong: refreshed and retried once."""

    default_code = "CONN003"
    error_class = ErrorClass.AUTH


class RequestRejectedError(ConnectorError, ValueError):
    """The channel rejected the request as invalid (400/422): never retried."""

    default_code = "CONN004"
    error_class = ErrorClass.VALIDATION


class ConflictError(ConnectorError):
    """The channel refused on business grounds (409, duplicate, state conflict)."""

    default_code = "CONN005"
    error_class = ErrorClass.BUSINESS_CONFLICT
