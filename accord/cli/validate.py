"""``accord validate``: check mapping specs, lookup tables, rule packs, case files and the
project config, reporting every problem as ``file:line:col`` with a code and a severity.

Which checker runs is decided by the file name, then by the content:

* ``*.cases.yaml``: sidecar case file (structure, names, subject next to it);
* ``*.rules``: rule pack;
* ``accord.yaml``, or YAML with ``channels:``/``flows:``: project config;
* ``*.inbound.yaml``, ``*.outbound.yaml``, or YAML with ``mapping:``: mapping spec (schema,
  then semantic checks against the canonical model);
* YAML with ``table:``: lookup table;
* YAML with only ``definitions:``: shared definitions (loaded here; checked where included).

Folders are walked for ``*.yaml``, ``*.yml`` and ``*.rules``; YAML files that are none of the
above are skipped there (a file named explicitly gets a ``CLI004`` warning instead).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from accord.cli import EXIT_INTERNAL, EXIT_OK, EXIT_PROBLEMS
from accord.cli._common import guarded
from accord.cli.output import DIAGNOSTIC_FORMATS, add_format_argument, render, resolve_format
from accord.cli.progress import Progress
from accord.diagnostics import Diagnostic, Severity
from accord.errors import AccordError

__all__ = ["Checked", "check_file", "detect_kind", "register", "validate_paths"]

EXAMPLES = """\
examples:
  accord validate                          # mappings/ and rules/ under the current folder
  accord validate mappings/shopify/order.inbound.yaml rules/
  accord validate --format sarif . > accord.sarif
  accord validate --format junit --strict . > validate.xml
"""

SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", "out"}
SUFFIXES = (".yaml", ".yml", ".rules")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check specs, lookup tables, rule packs, case files and the project config",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths", nargs="*", type=Path, help="files or folders (default: mappings rules accord.yaml)"
    )
    add_format_argument(parser, DIAGNOSTIC_FORMATS)
    parser.add_argument("--strict", action="store_true", help="warnings fail too")
    parser.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="worker processes (default: up to 4 when there are many files; 1 = none)",
    )
    parser.set_defaults(func=guarded(run))


def run(args: argparse.Namespace) -> int:
    paths: list[Path] = list(args.paths) or [
        p for p in (Path("mappings"), Path("rules"), Path("accord.yaml")) if p.exists()
    ]
    if not paths:
        print(
            "accord validate: nothing to validate (no paths given and no mappings/, rules/ "
            "or accord.yaml here)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    files, diagnostics, unreadable, internal = validate_paths(paths, jobs=args.jobs)
    fmt = resolve_format(args.format)
    sources = _sources(diagnostics) if fmt == "text" else None
    print(render(diagnostics, fmt, files=[str(f) for f in files], sources=sources))
    if unreadable or internal:
        return EXIT_INTERNAL
    failing = {Severity.ERROR, Severity.WARNING} if args.strict else {Severity.ERROR}
    if any(Severity(d.severity) in failing for d in diagnostics):
        return EXIT_PROBLEMS
    return EXIT_OK


def _sources(diagnostics: Sequence[Diagnostic]) -> dict[str, str]:
    out: dict[str, str] = {}
    for file in {d.file for d in diagnostics if d.file and d.line is not None}:
        try:
            out[file] = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return out


def _walk(paths: Sequence[Path]) -> Iterator[tuple[Path, bool]]:
    """Files to check, with whether each was named explicitly."""
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                parents = found.relative_to(path).parts[:-1]
                if (
                    found.is_file()
                    and found.name.endswith(SUFFIXES)
                    and not SKIP_DIRS.intersection(parents)
                ):
                    yield found, False
        else:
            yield path, True


def detect_kind(path: Path, data: object = None) -> str | None:
    """``cases``, ``rules``, ``project``, ``mapping``, ``lookup``, ``definitions`` or ``None``.

    >>> detect_kind(Path("x/order.inbound.cases.yaml")), detect_kind(Path("refunds.rules"))
    ('cases', 'rules')
    >>> detect_kind(Path("a.yaml"), {"mapping": "shopify.order.inbound"})
    'mapping'
    """
    name = path.name
    if name.endswith((".cases.yaml", ".cases.yml")):
        return "cases"
    if name.endswith(".rules"):
        return "rules"
    if name in ("accord.yaml", "accord.yml"):
        return "project"
    if name.endswith((".inbound.yaml", ".outbound.yaml", ".inbound.yml", ".outbound.yml")):
        return "mapping"
    if isinstance(data, dict):
        if "mapping" in data:
            return "mapping"
        if "table" in data:
            return "lookup"
        if "cases" in data:
            return "cases"
        if "channels" in data or "flows" in data:
            return "project"
        if "definitions" in data:
            return "definitions"
    return None


def _checker(kind: str) -> Callable[[Path], list[Diagnostic]]:
    if kind == "cases":
        from accord.testing.cases import check_case_file

        return check_case_file
    if kind == "rules":
        from accord.engine.rules import check_rules_file

        return check_rules_file
    if kind == "project":
        from accord.engine.runtime import check_project_file

        return check_project_file
    if kind == "mapping":
        from accord.engine.mapping.check import check_spec_file

        return check_spec_file
    if kind == "lookup":
        from accord.engine.mapping.check import check_lookup_file

        return check_lookup_file
    return _check_yaml_only


def _prepare(kinds: set[str]) -> None:
    """Import the checkers for ``kinds`` and build what they build on first use."""
    for kind in sorted(kinds):
        _checker(kind)
    if "cases" in kinds:
        from accord.testing.cases import warm_up

        warm_up()


def _check_yaml_only(path: Path) -> list[Diagnostic]:
    from accord.engine.mapping.spec import load_yaml_cached

    try:
        return list(load_yaml_cached(path, os.fspath(path)).diagnostics)
    except AccordError as exc:
        return list(exc.diagnostics)


@dataclass(frozen=True, slots=True)
class Checked:
    """The outcome of checking one file (picklable: worker processes send it back)."""

    path: Path
    counted: bool  # whether it counts as a checked file
    diagnostics: tuple[Diagnostic, ...] = ()
    unreadable: bool = False
    internal: bool = False


def check_file(path: Path, explicit: bool = True) -> Checked:
    """Check one file with the checker its name or content calls for."""
    if not path.exists():
        diag = Diagnostic(code="CLI001", message="no such file or folder", file=str(path))
        return Checked(path, False, (diag,), unreadable=True)
    kind = detect_kind(path)
    if kind is None:
        from accord.engine.mapping.spec import load_yaml_cached

        try:
            # cached: the checker the content calls for reads the same parse
            loaded = load_yaml_cached(path, os.fspath(path))
        except AccordError as exc:
            return Checked(path, True, tuple(exc.diagnostics))
        kind = detect_kind(path, loaded.data)
    if kind is None:
        if not explicit:
            return Checked(path, False)
        warning = Diagnostic(
            code="CLI004",
            message="not an accord file (no mapping:, table:, cases:, definitions: or "
            "project keys); skipped",
            severity=Severity.WARNING,
            file=str(path),
        )
        return Checked(path, True, (warning,))
    try:
        return Checked(path, True, tuple(_checker(kind)(path)))
    except ImportError as exc:
        diag = Diagnostic(
            code="CLI002",
            message=f"cannot check a {kind} file: checker unavailable ({exc})",
            file=str(path),
        )
        return Checked(path, True, (diag,), internal=True)
    except AccordError as exc:  # a checker that raised instead of returning
        found = list(exc.diagnostics) or [
            Diagnostic(code=exc.code, message=exc.message, file=str(path))
        ]
        return Checked(path, True, tuple(found))
    except Exception as exc:  # a checker bug: report it, keep checking the rest
        diag = Diagnostic(
            code="CLI003",
            message=f"internal error while checking: {type(exc).__name__}: {exc}",
            file=str(path),
        )
        return Checked(path, True, (diag,), internal=True)


def _check_pair(item: tuple[Path, bool]) -> Checked:
    return check_file(*item)


#: Below this many files the start-up of worker processes costs more than it saves.
PARALLEL_FROM = 24


def _workers(jobs: int | None, count: int) -> int:
    if jobs is not None:
        return max(1, jobs)
    if count < PARALLEL_FROM or sys.platform != "linux":
        return 1  # fork is the cheap start method, and only safe to rely on on Linux
    return min(os.cpu_count() or 1, 4)


def validate_paths(
    paths: Sequence[Path], *, jobs: int | None = None
) -> tuple[list[Path], list[Diagnostic], bool, bool]:
    """Check every file under ``paths``, in worker processes when there are many.

    Returns the files checked, every diagnostic, whether some input was unreadable and
    whether a checker failed internally (both exit with 3).
    """
    todo = list(_walk(paths))
    workers = _workers(jobs, len(todo))
    results: list[Checked] = []
    with Progress(total=len(todo), label="validate") as bar:
        if workers > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # Import the checkers (and build their schema validators and parser tables) once
            # here: forked workers inherit them instead of each paying for them again.
            _prepare({detect_kind(path) or "mapping" for path, _ in todo})
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                for checked in pool.map(_check_pair, todo, chunksize=4):
                    results.append(checked)
                    bar.advance()
        else:
            for path, explicit in todo:
                results.append(check_file(path, explicit))
                bar.advance()
    files = [r.path for r in results if r.counted]
    diagnostics = [d for r in results for d in r.diagnostics]
    unreadable = any(r.unreadable for r in results)
    internal = any(r.internal for r in results)
    return files, diagnostics, unreadable, internal
