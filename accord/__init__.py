"""accord: keep the systems of a multi-channel commerce business in accord.

The public API is re-exported here; everything else is internal. Errors, diagnostics and the
clock import eagerly; the heavier stages (canonical model, mapping compiler, rules DSL, runtime)
load on first use, so ``import accord`` stays cheap for the pytest plugin and the CLI.

>>> import accord
>>> accord.Money.parse("12.30 USD").amount
Decimal('12.30')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from accord.canonical import (
        ENTITIES,
        CanonicalModel,
        Money,
        Order,
        Refund,
        Rounding,
        check_invariants,
        from_json,
        to_json,
        validate_record,
    )
    from accord.engine.mapping import (
        TRANSFORMS,
        CompiledMapping,
        DriftRecorder,
        Explanation,
        MappingCatalog,
        MappingSpec,
        compile_mapping,
        load_spec,
    )
    from accord.engine.mapping.check import (
        check_lookup_file,
        check_spec_file,
        check_spec_text,
    )
    from accord.engine.mapping.invert import (
        Inversion,
        invert_spec,
    )
    from accord.engine.rules import (
        BusinessCalendar,
        Decision,
        FactSpec,
        Outcome,
        OwnershipPolicy,
        RuleSet,
        WriteVerdict,
        check_rules_file,
        check_rules_text,
        check_write,
        load_ruleset,
        parse_ruleset,
    )
    from accord.engine.runtime import (
        Engine,
        Event,
        Project,
        Result,
        check_project_file,
        load_project,
        open_store,
    )
    from accord.engine.yamlsource import (
        LoadedYaml,
        load_yaml,
    )

_LAZY: dict[str, str] = {
    "CanonicalModel": "accord.canonical",
    "ENTITIES": "accord.canonical",
    "Money": "accord.canonical",
    "Order": "accord.canonical",
    "Refund": "accord.canonical",
    "Rounding": "accord.canonical",
    "check_invariants": "accord.canonical",
    "from_json": "accord.canonical",
    "to_json": "accord.canonical",
    "validate_record": "accord.canonical",
    "CompiledMapping": "accord.engine.mapping",
    "DriftRecorder": "accord.engine.mapping",
    "Explanation": "accord.engine.mapping",
    "MappingCatalog": "accord.engine.mapping",
    "MappingSpec": "accord.engine.mapping",
    "TRANSFORMS": "accord.engine.mapping",
    "compile_mapping": "accord.engine.mapping",
    "load_spec": "accord.engine.mapping",
    "check_lookup_file": "accord.engine.mapping.check",
    "check_spec_file": "accord.engine.mapping.check",
    "check_spec_text": "accord.engine.mapping.check",
    "Inversion": "accord.engine.mapping.invert",
    "invert_spec": "accord.engine.mapping.invert",
    "LoadedYaml": "accord.engine.yamlsource",
    "load_yaml": "accord.engine.yamlsource",
    "BusinessCalendar": "accord.engine.rules",
    "Decision": "accord.engine.rules",
    "FactSpec": "accord.engine.rules",
    "Outcome": "accord.engine.rules",
    "OwnershipPolicy": "accord.engine.rules",
    "RuleSet": "accord.engine.rules",
    "WriteVerdict": "accord.engine.rules",
    "check_rules_file": "accord.engine.rules",
    "check_rules_text": "accord.engine.rules",
    "check_write": "accord.engine.rules",
    "load_ruleset": "accord.engine.rules",
    "parse_ruleset": "accord.engine.rules",
    "Engine": "accord.engine.runtime",
    "Event": "accord.engine.runtime",
    "Project": "accord.engine.runtime",
    "Result": "accord.engine.runtime",
    "check_project_file": "accord.engine.runtime",
    "load_project": "accord.engine.runtime",
    "open_store": "accord.engine.runtime",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'accord' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "AccordError",
    "AuthError",
    "BusinessCalendar",
    "CanonicalModel",
    "Clock",
    "CompiledMapping",
    "ConflictError",
    "ConnectorError",
    "CurrencyMismatchError",
    "Decision",
    "Diagnostic",
    "DriftRecorder",
    "ENTITIES",
    "Engine",
    "ErrorClass",
    "Event",
    "Explanation",
    "FactSpec",
    "FrozenClock",
    "Inversion",
    "LoadedYaml",
    "MappingCatalog",
    "MappingError",
    "MappingSpec",
    "Money",
    "MoneyError",
    "Order",
    "Outcome",
    "OwnershipPolicy",
    "Project",
    "QuotaError",
    "Refund",
    "RequestRejectedError",
    "Result",
    "Rounding",
    "RuleError",
    "RuleSet",
    "RuleSyntaxError",
    "Severity",
    "SpecError",
    "StaleUpdateError",
    "StoreError",
    "SystemClock",
    "TRANSFORMS",
    "TransientError",
    "ValidationError",
    "WriteVerdict",
    "__version__",
    "check_invariants",
    "check_lookup_file",
    "check_project_file",
    "check_rules_file",
    "check_rules_text",
    "check_spec_file",
    "check_spec_text",
    "check_write",
    "compile_mapping",
    "from_json",
    "invert_spec",
    "load_project",
    "load_ruleset",
    "load_spec",
    "load_yaml",
    "open_store",
    "parse_ruleset",
    "to_json",
    "validate_record",
]
