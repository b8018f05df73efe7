"""Load sidecar case files with source positions.

The file is read with :func:`accord.engine.yamlsource.load_yaml`, so floats are ``Decimal``
(money never passes through a float) and every problem is located at ``file:line:col``.
Problems are collected, never raised one at a time: :func:`load_case_file` raises one
:class:`~accord.errors.SpecError` carrying every ``CASE``/``YAML`` diagnostic.

Codes: ``CASE001`` structure (JSON Schema), ``CASE002`` duplicate case name, ``CASE003`` no
subject next to the case file, ``CASE004`` unreadable ``given_file``, ``CASE005`` bad ``now``,
``CASE006`` bad ``ignore`` path, ``CASE007`` given/inputs/given_file/expect combination.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from accord.diagnostics import Diagnostic, sort_diagnostics
from accord.engine.yamlsource import LoadedYaml, load_yaml
from accord.errors import SpecError
from accord.testing.match import parse_path

__all__ = [
    "Case",
    "CaseFile",
    "check_case_file",
    "is_case_file",
    "load_case_file",
    "subject_candidates",
]

CASE_SUFFIXES = (".cases.yaml", ".cases.yml")


def is_case_file(path: Path) -> bool:
    """Whether ``path`` is named like a sidecar case file."""
    return path.name.endswith(CASE_SUFFIXES)


@dataclass(slots=True)
class Case:
    """One case: what is given, what is expected, and where it is written."""

    name: str
    index: int
    line: int
    given: Any = None
    inputs: dict[str, Any] | None = None
    given_file: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    now: datetime | None = None
    expect: Any = None
    has_expect: bool = False
    expect_exact: bool = False
    expect_error: str | None = None
    ignore: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def payload(self) -> Any:
        """What the subject receives: ``given`` (or the file's content) or the named inputs."""
        return self.inputs if self.inputs is not None else self.given


@dataclass(slots=True)
class CaseFile:
    """A loaded case file: its cases in order, the subject it tests and the source tree."""

    path: Path
    cases: list[Case]
    subject: Path | None
    source: LoadedYaml

    def __iter__(self) -> Iterator[Case]:
        return iter(self.cases)


def subject_candidates(case_path: Path) -> list[Path]:
    """Where the subject of a sidecar file may be: ``x.cases.yaml`` tests ``x.yaml``,
    ``x.yml`` or ``x.rules``."""
    name = case_path.name
    for suffix in CASE_SUFFIXES:
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            return [case_path.with_name(stem + ext) for ext in (".yaml", ".yml", ".rules")]
    return []


def load_case_file(path: str | Path) -> CaseFile:
    """Load and check a case file; raise ``SpecError`` with every problem found.

    Relative ``given_file`` paths are read now, so a runner never touches the disk again.
    """
    path = Path(path)
    src = load_yaml(path)
    problems: list[Diagnostic] = list(src.diagnostics)

    def diag(
        code: str, message: str, where: tuple[str | int, ...], hint: str | None = None
    ) -> None:
        problems.append(src.diagnostic(code, message, where, key=bool(where), hint=hint))

    _check_schema(src, diag)
    data = src.data if isinstance(src.data, dict) else {}
    subject: Path | None = None
    if isinstance(data.get("subject"), str):
        subject = (path.parent / data["subject"]).resolve()
        if not subject.is_file():
            diag("CASE003", f"subject {data['subject']!r} does not exist", ("subject",))
            subject = None
    else:
        subject = next((p for p in subject_candidates(path) if p.is_file()), None)
        if subject is None and problems == []:
            names = ", ".join(p.name for p in subject_candidates(path))
            diag(
                "CASE003",
                f"no spec or rule pack next to this case file (looked for {names})",
                (),
                hint="name the case file after its subject, or set 'subject: <path>'",
            )

    cases: list[Case] = []
    seen: dict[str, int] = {}
    raw_cases = data.get("cases")
    for i, raw in enumerate(raw_cases if isinstance(raw_cases, list) else []):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            continue  # already reported by the schema check
        where: tuple[str | int, ...] = ("cases", i)
        name = raw["name"]
        if name in seen:
            diag(
                "CASE002",
                f"duplicate case name {name!r} (first used by case {seen[name] + 1})",
                (*where, "name"),
            )
            continue
        seen[name] = i
        span = src.nearest(where)
        case = Case(name=name, index=i, line=span.line if span else 1)
        givens = [k for k in ("given", "inputs", "given_file") if k in raw]
        if len(givens) != 1:
            diag(
                "CASE007",
                f"case {name!r} needs exactly one of given, inputs or given_file"
                + (f" (has {', '.join(givens)})" if givens else ""),
                where,
            )
        case.given = raw.get("given")
        if isinstance(raw.get("inputs"), dict):
            case.inputs = raw["inputs"]
        if isinstance(raw.get("given_file"), str):
            case.given_file = raw["given_file"]
            loaded = _read_given_file(path.parent / raw["given_file"])
            if isinstance(loaded, str):
                diag(
                    "CASE004", f"given_file {raw['given_file']!r}: {loaded}", (*where, "given_file")
                )
            else:
                case.given = loaded[0]
        if "expect" in raw and "expect_error" in raw:
            diag("CASE007", f"case {name!r} has both expect and expect_error", where)
        case.has_expect = "expect" in raw
        case.expect = raw.get("expect")
        case.expect_exact = raw.get("expect_exact") is True
        if isinstance(raw.get("expect_error"), str):
            case.expect_error = raw["expect_error"]
        if isinstance(raw.get("context"), dict):
            case.context = raw["context"]
        now = raw.get("now")
        if isinstance(now, datetime):
            now = now.isoformat()
        if isinstance(now, str):
            try:
                moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
            except ValueError:
                moment = None
            if moment is None or moment.tzinfo is None:
                diag("CASE005", f"now {now!r} is not an ISO-8601 time with a zone", (*where, "now"))
            else:
                case.now = moment
        ignore = raw.get("ignore")
        if isinstance(ignore, list):
            good: list[str] = []
            for j, item in enumerate(ignore):
                if not isinstance(item, str):
                    continue
                try:
                    parse_path(item)
                except ValueError as exc:
                    diag("CASE006", f"ignore path: {exc}", (*where, "ignore", j))
                else:
                    good.append(item)
            case.ignore = tuple(good)
        if isinstance(raw.get("tags"), list):
            case.tags = tuple(str(t) for t in raw["tags"])
        cases.append(case)

    if problems:
        raise SpecError(diagnostics=sort_diagnostics(problems))
    return CaseFile(path=path, cases=cases, subject=subject, source=src)


def check_case_file(path: str | Path) -> list[Diagnostic]:
    """Every problem in a case file, as diagnostics; never raises for bad content."""
    try:
        load_case_file(path)
    except SpecError as exc:
        return list(exc.diagnostics)
    return []


def _read_given_file(path: Path) -> tuple[Any] | str:
    if not path.is_file():
        return "file not found"
    if path.suffix == ".json":
        try:
            return (json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal),)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            return f"not valid JSON: {exc}"
    try:
        return (load_yaml(path).data,)
    except SpecError as exc:
        return exc.diagnostics[0].message


@functools.cache
def _validator() -> Any:
    # jsonschema ships no type stubs; import it as a plain module object. Built once: a
    # validate run checks many case files.
    jsonschema: Any = importlib.import_module("jsonschema")

    from accord.testing.schema import case_file_schema

    return jsonschema.Draft7Validator(case_file_schema())


def warm_up() -> None:
    """Build the case-file schema validator now (before worker processes fork)."""
    _validator()


def _check_schema(src: LoadedYaml, diag: Callable[..., None]) -> None:
    validator = _validator()
    data = _jsonable(src.data)
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        where = tuple(error.absolute_path)
        if error.validator in ("oneOf", "not") and len(where) == 2:
            continue  # given/inputs/expect combinations get a precise CASE007 instead
        if where and where[-1] == "now" and error.validator == "pattern":
            continue  # CASE005 says it better
        field_name = ".".join(str(p) for p in where) or "the file"
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            for extra in (k for k in error.instance if k not in known):
                allowed = ", ".join(sorted(known))
                diag(
                    "CASE001",
                    f"{field_name}: unknown key {extra!r} (allowed: {allowed})",
                    (*where, extra),
                )
            continue
        diag("CASE001", f"{field_name}: {error.message}", where)


def _jsonable(value: Any) -> Any:
    # jsonschema's "number" accepts Decimal, but datetimes (YAML timestamps) must become text.
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
