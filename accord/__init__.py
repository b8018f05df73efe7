"""accord: keep the systems of a multi-channel commerce business in accord.

The public API is re-exported here; everything else is internal. See ``docs/`` for guides.
"""

from accord._version import __version__
from accord.clock import Clock, FrozenClock, SystemClock
from accord.diagnostics import Diagnostic, Severity
from accord.errors import (
    AccordError,
    AuthError,
    ConflictError,
    ConnectorError,
    CurrencyMismatchError,
    ErrorClass,
    MappingError,
    MoneyError,
    QuotaError,
    RequestRejectedError,
    RuleError,
    RuleSyntaxError,
    SpecError,
    StaleUpdateError,
    StoreError,
    TransientError,
    ValidationError,
)

__all__ = [
    "AccordError",
    "AuthError",
    "Clock",
    "ConflictError",
    "ConnectorError",
    "CurrencyMismatchError",
    "Diagnostic",
    "ErrorClass",
    "FrozenClock",
    "MappingError",
    "MoneyError",
    "QuotaError",
    "RequestRejectedError",
    "RuleError",
    "RuleSyntaxError",
    "Severity",
    "SpecError",
    "StaleUpdateError",
    "StoreError",
    "SystemClock",
    "TransientError",
    "ValidationError",
    "__version__",
]
