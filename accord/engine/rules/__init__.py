"""The rules DSL: typed, explainable business policy compiled to Python.

Pipeline: :mod:`.parser` (``grammar.lark``, one cached LALR parser) -> :mod:`.compiler`
(checks every path, type and name against the canonical model and the declared facts, then
emits one Python function) -> :class:`RuleSet.evaluate` -> :class:`Decision`. See
``docs/rules-language.md`` for the language.

>>> rs = parse_ruleset('''
... ruleset refunds
... fact amount: money
... rule big when amount > 200 USD then escalate to finance because "refund of {amount}"
... ''')
>>> rs.evaluate({}, facts={"amount": "250.00 USD"}).to_dict()["outcomes"][0]["queue"]
'finance'
"""

from __future__ import annotations

from accord.engine.rules.calendars import BusinessCalendar
from accord.engine.rules.decision import Decision, Outcome
from accord.engine.rules.ownership import OwnershipPolicy, WriteVerdict, check_write
from accord.engine.rules.ruleset import (
    FactSpec,
    RuleSet,
    check_rules_file,
    check_rules_text,
    load_ruleset,
    parse_ruleset,
)

__all__ = [
    "BusinessCalendar",
    "Decision",
    "FactSpec",
    "Outcome",
    "OwnershipPolicy",
    "RuleSet",
    "WriteVerdict",
    "check_rules_file",
    "check_rules_text",
    "check_write",
    "load_ruleset",
    "parse_ruleset",
]
