"""Build the engine's parts from a project: the mapping catalog, rule sets and validator.

Kept apart from :mod:`engine` so the engine itself depends only on small protocols; this is
the one module that knows the compiler, the rules DSL and the canonical model by name.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from accord.diagnostics import Diagnostic
from accord.engine.runtime.config import Project
from accord.errors import AccordError, SpecError

__all__ = ["ChannelCatalogs", "build_parts", "canonical_validator"]


class ChannelCatalogs:
    """One :class:`~accord.engine.mapping.MappingCatalog` per channel folder, built on first
    use, so a broken spec of one channel dead-letters that channel's events and leaves the
    others running."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = roots
        self._catalogs: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _catalog(self, channel: str) -> Any:
        with self._lock:
            found = self._catalogs.get(channel)
            if found is None:
                from accord.engine.mapping import MappingCatalog

                folders = [r / channel for r in self.roots if (r / channel).is_dir()]
                try:
                    found = MappingCatalog(folders)
                except AccordError as exc:
                    found = exc
                self._catalogs[channel] = found
        if isinstance(found, AccordError):
            raise found
        return found

    def find(self, channel: str, entity: str, direction: str) -> Any:
        """The compiled mapping for ``channel``'s ``entity`` in ``direction``."""
        return self._catalog(channel).find(channel, entity, direction)


def canonical_validator(entity: str, record: dict[str, Any], record_id: str | None) -> None:
    """Validate a mapped record against the canonical model (raises ValidationError)."""
    from accord.canonical import ENTITIES, validate_record

    if entity in ENTITIES:
        validate_record(entity, record, record_id=record_id)


def build_parts(project: Project) -> tuple[Any, Mapping[str, Any], Any, Any]:
    """``(catalog, {pack: ruleset}, validator, ownership policy or None)`` for
    :class:`~accord.engine.runtime.Engine`.

    Every rule pack of the project is compiled now (compile once, run many); a pack that does
    not compile raises :class:`~accord.errors.SpecError` with its diagnostics.
    """
    roots: list[Path] = []
    for ch in project.channels.values():
        roots.extend(r for r in ch.mappings if r not in roots)
    roots.extend(r for r in project.mapping_roots if r not in roots)
    catalog = ChannelCatalogs(roots)

    from accord.engine.rules import load_ruleset

    rulesets: dict[str, Any] = {}
    problems: list[Diagnostic] = []
    for name, pack in sorted(project.rule_packs.items()):
        try:
            rulesets[name] = load_ruleset(pack.path)
        except AccordError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise SpecError(diagnostics=problems)
    ownership = None
    if project.ownership is not None:
        from accord.engine.rules import OwnershipPolicy

        ownership = OwnershipPolicy(rulesets[project.ownership])
    return catalog, rulesets, canonical_validator, ownership
