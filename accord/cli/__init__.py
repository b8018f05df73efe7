"""The ``accord`` command line.

Each subcommand lives in its own module under ``accord.cli`` and exposes
``register(subparsers) -> None``; the parser it adds sets ``func`` to a callable taking the
parsed namespace and returning an exit code. Exit codes everywhere:

* 0: ok (warnings allowed)
* 1: problems found (validation errors, failing cases, changed decisions)
* 2: usage error
* 3: unreadable input or internal error
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from accord._version import __version__
from accord.errors import AccordError

__all__ = ["EXIT_INTERNAL", "EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3

#: Subcommand modules, in the order ``accord --help`` lists them.
COMMANDS: tuple[str, ...] = (
    "validate",
    "test",
    "map",
    "explain",
    "replay",
    "diff",
    "schema",
    "ownership",
    "run",
    "dlq",
    "outbox",
    "audit",
    "reconcile",
    "serve",
    "pull",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse exits with 2 already; keep its message format but make the code explicit.
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="accord",
        description="Keep the systems of a multi-channel commerce business in accord.",
        epilog="Run 'accord COMMAND --help' for a command's options and examples.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"accord {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"accord.cli.{name.replace('-', '_')}")
        except ModuleNotFoundError as exc:
            if exc.name != f"accord.cli.{name}":
                raise
            continue  # not built yet
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = func(args)
    except AccordError as exc:
        print(f"accord: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    return code
