"""Diagnostics: the one record every stage reports problems through.

A :class:`Diagnostic` has a stable ``code``, a ``severity``, a ``message`` and, where known, a
source location (``file``, ``line``, ``column``, ``end_line``, ``end_column``; lines and columns
are 1-based) and the runtime ``data_path`` and ``record_id``. Render it compiler-style::

    >>> d = Diagnostic(code="MAP101", message="unknown target field 'totl'",
    ...                file="order.yaml", line=3, column=5, end_column=9)
    >>> print(d.render(source="mapping: x\\nfields:\\n    totl: {from: total}\\n"))
    order.yaml:3:5: error MAP101: unknown target field 'totl'
        totl: {from: total}
        ^^^^

Codes are grouped by stage: ``CAN`` canonical model, ``YAML`` loading, ``SPEC`` spec structure,
``MAP`` mapping checks and runtime, ``RULE`` rules DSL, ``CASE`` case files, ``PRJ`` project
config, ``STORE`` storage, ``CONN`` connectors, ``CLI`` command line.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = ["Diagnostic", "Severity", "has_errors", "render_all", "sort_diagnostics"]


class Severity(enum.StrEnum):
    """How bad a diagnostic is. Errors fail ``accord validate``; warnings do not."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One located problem. Immutable, hashable, and JSON-friendly through :meth:`to_dict`."""

    code: str
    message: str
    severity: Severity = Severity.ERROR
    file: str | None = None
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    data_path: str | None = None
    record_id: str | None = None
    hint: str | None = None
    #: Free-form structured details (offending value, expected type, ...). Never secrets or PII.
    details: tuple[tuple[str, str], ...] = field(default=())

    # -- construction helpers -------------------------------------------------------------

    def at(
        self,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        end_line: int | None = None,
        end_column: int | None = None,
    ) -> Diagnostic:
        """Return a copy located at the given position (fields left ``None`` are kept)."""
        return replace(
            self,
            file=file if file is not None else self.file,
            line=line if line is not None else self.line,
            column=column if column is not None else self.column,
            end_line=end_line if end_line is not None else self.end_line,
            end_column=end_column if end_column is not None else self.end_column,
        )

    def for_record(self, record_id: str | None, data_path: str | None = None) -> Diagnostic:
        """Return a copy carrying the runtime record id and data path."""
        return replace(
            self,
            record_id=record_id if record_id is not None else self.record_id,
            data_path=data_path if data_path is not None else self.data_path,
        )

    # -- presentation ---------------------------------------------------------------------

    @property
    def location(self) -> str:
        """``file:line:col`` with whatever parts are known (``<input>`` when no file)."""
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    @property
    def sort_key(self) -> tuple[str, int, int, int, str]:
        return (
            self.file or "",
            self.line if self.line is not None else 0,
            self.column if self.column is not None else 0,
            Severity(self.severity).rank,
            self.code,
        )

    def render(self, source: str | None = None) -> str:
        """Compiler-style text: ``file:line:col: severity CODE: message``, then the source
        line with a caret under the span when ``source`` (the file's text) is given."""
        head = f"{self.location}: {Severity(self.severity).value} {self.code}: {self.message}"
        lines = [head]
        if self.data_path or self.record_id:
            where = []
            if self.record_id:
                where.append(f"record {self.record_id}")
            if self.data_path:
                where.append(f"at {self.data_path}")
            lines.append("    " + ", ".join(where))
        if source is not None and self.line is not None:
            src_lines = source.splitlines()
            if 1 <= self.line <= len(src_lines):
                text = src_lines[self.line - 1]
                lines.append(text)
                col = max(self.column or 1, 1)
                if self.end_column is not None and (self.end_line in (None, self.line)):
                    width = max(self.end_column - col, 1)
                else:
                    width = 1
                lines.append(" " * (col - 1) + "^" * width)
        if self.hint:
            lines.append(f"    hint: {self.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``None`` fields are dropped."""
        # Every field is a scalar but ``details``, so a shallow walk is enough (and far
        # cheaper than ``asdict``'s deep copy: the runtime stores one per warning).
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        out["severity"] = Severity(self.severity).value
        for name in _OPTIONAL:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.details:
            out["details"] = dict(self.details)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnostic:
        """Inverse of :meth:`to_dict` (used by the dead-letter store)."""
        kwargs = dict(data)
        kwargs["severity"] = Severity(kwargs.get("severity", "error"))
        details = kwargs.pop("details", None) or {}
        return cls(**kwargs, details=tuple((str(k), str(v)) for k, v in details.items()))


#: The fields :meth:`Diagnostic.to_dict` writes only when set.
_OPTIONAL = tuple(
    f.name for f in fields(Diagnostic) if f.name not in ("code", "message", "severity", "details")
)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sort by file, then position, errors before warnings; duplicates are dropped."""
    return sorted(set(diagnostics), key=lambda d: d.sort_key)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(Severity(d.severity) is Severity.ERROR for d in diagnostics)


def render_all(diagnostics: Sequence[Diagnostic], sources: dict[str, str] | None = None) -> str:
    """Render many diagnostics, each with its source line when its file's text is known."""
    sources = sources or {}
    return "\n".join(d.render(sources.get(d.file or "")) for d in sort_diagnostics(diagnostics))
