"""``accord test``: run sidecar case files and report failures as structural diffs.

Each ``*.cases.yaml`` runs against the spec or rule pack next to it. A failing case shows the
paths that differ (``total.amount: expected "12.30", got "12.31"``). ``--update`` rewrites the
failing expectations from the actual outputs, keeping comments, and lists every edit.
Coverage says which spec fields and which rules / table rows the cases exercised;
``--min-coverage N`` fails the run below N percent.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accord.cli import EXIT_INTERNAL, EXIT_OK, EXIT_PROBLEMS
from accord.cli._common import guarded
from accord.cli.output import JUnitCase, add_format_argument, junit, resolve_format
from accord.cli.progress import Progress
from accord.diagnostics import Diagnostic

if TYPE_CHECKING:
    from accord.testing.runner import Coverage, FileResult

__all__ = ["register"]

EXAMPLES = """\
examples:
  accord test                                   # every case under mappings/ and rules/
  accord test mappings/shopify/order.inbound.cases.yaml
  accord test --update rules/                   # snapshot mode: rewrite failing expectations
  accord test --min-coverage 80 --coverage      # list what no case exercised
  accord test -k refund rules/                  # only the cases whose name has "refund"
  accord test --format junit > cases.xml
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "test",
        help="run sidecar case files (*.cases.yaml)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths", nargs="*", type=Path, help="case files or folders (default: mappings rules)"
    )
    parser.add_argument(
        "--update", action="store_true", help="rewrite failing expectations from actual outputs"
    )
    parser.add_argument(
        "--min-coverage",
        type=float,
        metavar="N",
        help="fail when less than N percent of spec fields / rules / table rows are exercised",
    )
    parser.add_argument(
        "--coverage",
        action="store_true",
        help="list the fields, branches, map entries, rules and rows not exercised",
    )
    parser.add_argument(
        "-k", "--match", metavar="TEXT", help="run only the cases whose name contains TEXT"
    )
    add_format_argument(parser, ("text", "json", "junit", "github"))
    parser.set_defaults(func=guarded(run))


def run(args: argparse.Namespace) -> int:
    from accord.testing.runner import Coverage, describe_failure, find_case_files, run_case_file

    paths: list[Path] = list(args.paths) or [
        p for p in (Path("mappings"), Path("rules")) if p.is_dir()
    ]
    if not paths:
        print(
            "accord test: no case files (no paths given and no mappings/ or rules/ here)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    files = list(find_case_files(paths))
    results = []
    with Progress(total=len(files), label="test") as bar:
        for path in files:
            results.append(run_case_file(path, update=args.update, only=args.match))
            bar.advance()
    total = Coverage()
    for r in results:
        total.merge(r.coverage)
    fmt = resolve_format(args.format)
    missing_input = any(d.code == "CASE009" for r in results for d in r.diagnostics)
    below = args.min_coverage is not None and total.percent + 1e-9 < args.min_coverage
    if fmt == "json":
        print(json.dumps(_json(results, total), indent=2, ensure_ascii=False))
    elif fmt == "junit":
        print(_junit(results))
    else:
        out = sys.stdout
        for r in results:
            counts = r.counts()
            cov = f"  coverage {r.coverage.percent:.0f}%" if r.coverage.items else ""
            state = "ok" if r.ok else r.status.upper()
            print(f"{state:6} {r.path}  {_summary(counts)}{cov}", file=out)
            for d in r.diagnostics:
                _emit_diag(d, fmt)
            for c in r.cases:
                if not c.ok:
                    if fmt == "github":
                        _emit_diag(
                            Diagnostic(
                                code="CASE100",
                                message=f"{c.name}: {c.message}",
                                file=str(r.path),
                                line=c.line,
                            ),
                            fmt,
                        )
                    print(_indent(describe_failure(str(r.path), c)), file=out)
            for change in r.updates:
                print(f"  updated: {change}", file=out)
            if args.coverage and r.coverage.missed:
                print(f"  not exercised: {', '.join(r.coverage.missed)}", file=out)
        counts = {"passed": 0, "failed": 0, "error": 0}
        for r in results:
            for k, v in r.counts().items():
                counts[k] += v
        files_failed = sum(1 for r in results if r.diagnostics)
        line = f"{_summary(counts)} in {len(results)} case file{'s' if len(results) != 1 else ''}"
        if files_failed:
            line += f" ({files_failed} could not run)"
        if total.items:
            line += (
                f"; coverage {total.percent:.1f}% ({len(total.hit & total.items)}/"
                f"{len(total.items)} fields, branches, map entries, rules and rows)"
            )
        print(line, file=out)
        if below:
            print(
                f"coverage {total.percent:.1f}% is below --min-coverage {args.min_coverage:g}",
                file=out,
            )
    if missing_input:
        return EXIT_INTERNAL
    if any(not r.ok for r in results) or below:
        return EXIT_PROBLEMS
    return EXIT_OK


def _emit_diag(d: Diagnostic, fmt: str) -> None:
    if fmt == "github":
        from accord.cli.output import github

        print(github([d]))
    else:
        print(_indent(d.render()))


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _summary(counts: dict[str, int]) -> str:
    parts = [f"{counts['passed']} passed"]
    if counts["failed"]:
        parts.append(f"{counts['failed']} failed")
    if counts["error"]:
        parts.append(f"{counts['error']} error{'s' if counts['error'] != 1 else ''}")
    return ", ".join(parts)


def _json(results: list[FileResult], total: Coverage) -> dict[str, Any]:
    return {
        "files": [
            {
                "path": str(r.path),
                "subject": str(r.subject) if r.subject else None,
                "status": r.status,
                "diagnostics": [d.to_dict() for d in r.diagnostics],
                "cases": [
                    {
                        "name": c.name,
                        "line": c.line,
                        "status": c.status,
                        "message": c.message,
                        "differences": [
                            {
                                "path": m.where,
                                "kind": m.kind,
                                "expected": m.expected,
                                "actual": m.actual,
                            }
                            for m in c.mismatches
                        ],
                        "error_code": c.error_code,
                        "seconds": round(c.seconds, 6),
                    }
                    for c in r.cases
                ],
                "coverage": {"percent": round(r.coverage.percent, 2), "missed": r.coverage.missed},
                "updates": r.updates,
            }
            for r in results
        ],
        "summary": {
            status: sum(r.counts()[status] for r in results)
            for status in ("passed", "failed", "error")
        },
        "coverage": {
            "percent": round(total.percent, 2),
            "items": len(total.items),
            "hit": len(total.hit & total.items),
        },
    }


def _junit(results: list[FileResult]) -> str:
    from accord.testing.runner import describe_failure

    suites: dict[str, list[JUnitCase]] = {}
    for r in results:
        cases: list[JUnitCase] = []
        if r.diagnostics:
            cases.append(
                JUnitCase(
                    name="case file",
                    classname=str(r.path),
                    error=f"{r.diagnostics[0].code}: {r.diagnostics[0].message}",
                    details="\n".join(d.render() for d in r.diagnostics),
                )
            )
        for c in r.cases:
            case = JUnitCase(name=c.name, classname=str(r.path), seconds=c.seconds)
            if c.status == "failed":
                case.failure = c.message
                case.details = describe_failure(str(r.path), c)
            elif c.status == "error":
                case.error = c.message
                case.details = describe_failure(str(r.path), c)
            cases.append(case)
        suites[str(r.path)] = cases
    return junit(suites, name="accord test")
