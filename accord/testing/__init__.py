"""Sidecar case files: loader, runner, structural diff, coverage and the pytest plugin.

Every mapping spec and rule pack has a case file next to it (``order.inbound.cases.yaml`` tests
``order.inbound.yaml``). ``accord test`` and ``pytest`` both run them through
:func:`run_case_file`::

    result = run_case_file("mappings/shopify/order.inbound.cases.yaml")
    for case in result.cases:
        print(case.status, case.name)

Matching is structural (:func:`compare`): partial by default, exact on request, with
``ignore:`` paths for volatile values.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from accord.testing.cases import Case, CaseFile, check_case_file, is_case_file, load_case_file
    from accord.testing.match import Mismatch, compare, render_mismatches, to_json_form
    from accord.testing.runner import (
        CaseResult,
        Coverage,
        FileResult,
        describe_failure,
        find_case_files,
        run_case_file,
        run_paths,
    )
    from accord.testing.schema import case_file_schema
    from accord.testing.subjects import revive

# The pytest plugin imports this package in every pytest run; names load on first use so that
# a run which never meets a case file pays nothing for ruamel.yaml or jsonschema.
_HOME = {
    "Case": "cases",
    "CaseFile": "cases",
    "check_case_file": "cases",
    "is_case_file": "cases",
    "load_case_file": "cases",
    "Mismatch": "match",
    "compare": "match",
    "render_mismatches": "match",
    "to_json_form": "match",
    "CaseResult": "runner",
    "Coverage": "runner",
    "FileResult": "runner",
    "describe_failure": "runner",
    "find_case_files": "runner",
    "run_case_file": "runner",
    "run_paths": "runner",
    "case_file_schema": "schema",
    "revive": "subjects",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'accord.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(f"accord.testing.{home}"), name)


__all__ = [
    "Case",
    "CaseFile",
    "CaseResult",
    "Coverage",
    "FileResult",
    "Mismatch",
    "case_file_schema",
    "check_case_file",
    "compare",
    "describe_failure",
    "find_case_files",
    "is_case_file",
    "load_case_file",
    "render_mismatches",
    "revive",
    "run_case_file",
    "run_paths",
    "to_json_form",
]
