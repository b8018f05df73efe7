"""Find the compiled mapping for a channel, entity and direction among spec folders.

A catalog scans its roots for spec files (``*.yaml`` with a ``mapping:`` header; case files
``*.cases.yaml``, lookup tables and definition files are skipped), loads and compiles each
once, lazily, and caches it.

>>> import pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "order.inbound.yaml").write_text(
...     "mapping: demo.order.inbound\\nchannel: demo\\ndirection: inbound\\n"
...     "source: demo.order\\ntarget: order\\nfields:\\n  id: {from: id, as: string}\\n")
>>> catalog = MappingCatalog([root])
>>> catalog.find("demo", "order", "inbound").apply({"id": 7})
{'id': '7'}
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from accord.diagnostics import Diagnostic
from accord.engine.mapping.compiler import compile_mapping
from accord.engine.mapping.runtime import CompiledMapping
from accord.engine.mapping.spec import load_spec, load_yaml_cached
from accord.errors import SpecError

__all__ = ["MappingCatalog"]

_Key = tuple[str, str, str]


class MappingCatalog:
    """Spec files under ``roots``, indexed by ``(channel, entity, direction)`` and by id.

    The entity is the file's own name (``order`` for ``order.inbound.yaml``) or the canonical
    one (the target of an inbound spec, the source of an outbound one) when a single spec of
    the channel and direction maps it. Several specs may share a channel, entity and direction
    (two API versions of one payload, in two folders); they are told apart by their
    ``mapping:`` id or their channel-side name (the ``source:`` of an inbound spec, the
    ``target:`` of an outbound one), passed as ``mapping=`` to :meth:`find` or to :meth:`get`.
    Two specs with one ``mapping:`` id are refused (``MAP011``).
    """

    def __init__(
        self,
        roots: Iterable[str | os.PathLike[str]],
        *,
        project_root: str | os.PathLike[str] | None = None,
    ) -> None:
        self.roots = [Path(r) for r in roots]
        self.project_root = project_root
        self._files: dict[_Key, list[Path]] = {}  # by file name: order.inbound.yaml -> order
        self._by_entity: dict[_Key, list[Path]] = {}  # by canonical entity
        self._ids: dict[str, Path] = {}  # by mapping: id
        self._names: dict[Path, tuple[str, str]] = {}  # path -> (mapping id, channel-side name)
        self._compiled: dict[Path, CompiledMapping] = {}
        problems: list[Diagnostic] = []
        for path in self._spec_files():
            try:
                header = load_yaml_cached(path, None).data
            except SpecError as exc:
                problems.extend(exc.diagnostics)
                continue
            if not isinstance(header, dict) or "mapping" not in header:
                continue
            mapping_id = str(header.get("mapping"))
            channel, direction = str(header.get("channel")), str(header.get("direction"))
            target, source = header.get("target"), header.get("source")
            inbound = direction == "inbound"
            canonical = str(target if inbound else source)
            other = self._ids.get(mapping_id)
            if other is not None and other != path:
                problems.append(
                    Diagnostic(
                        code="MAP011",
                        message=f"two specs have the mapping id {mapping_id!r}: {other} and {path}",
                        file=str(path),
                        hint="give each spec its own `mapping:` id",
                    )
                )
                continue
            self._ids[mapping_id] = path
            self._names[path] = (mapping_id, str(source if inbound else target))
            key = (channel, path.name.split(".")[0], direction)
            self._files.setdefault(key, []).append(path)
            self._by_entity.setdefault((channel, canonical, direction), []).append(path)
        if problems:
            raise SpecError(diagnostics=problems)

    def _spec_files(self) -> list[Path]:
        found: list[Path] = []
        for root in self.roots:
            if root.is_file():
                found.append(root)
                continue
            for path in sorted(root.rglob("*.yaml")):
                if path.name.endswith(".cases.yaml"):
                    continue
                found.append(path)
        return found

    def _load(self, path: Path) -> CompiledMapping:
        compiled = self._compiled.get(path)
        if compiled is None:
            compiled = compile_mapping(load_spec(path, project_root=self.project_root))
            self._compiled[path] = compiled
        return compiled

    def keys(self) -> list[_Key]:
        """Every ``(channel, entity, direction)`` the catalog can find without ``mapping=``,
        sorted."""
        named = {k for k, paths in self._files.items() if len(paths) == 1}
        unique = {k for k, paths in self._by_entity.items() if len(paths) == 1}
        return sorted(named | (unique - set(self._files)))

    def ids(self) -> list[str]:
        """Every ``mapping:`` id in the catalog, sorted."""
        return sorted(self._ids)

    def get(self, mapping_id: str) -> CompiledMapping:
        """The compiled mapping whose ``mapping:`` id is ``mapping_id``; SpecError ``MAP010``
        if there is none."""
        path = self._ids.get(mapping_id)
        if path is None:
            raise SpecError(
                diagnostics=[
                    Diagnostic(
                        code="MAP010",
                        message=f"no mapping with the id {mapping_id!r}",
                        hint="known: " + ", ".join(self.ids()),
                    )
                ]
            )
        return self._load(path)

    def find(
        self, channel: str, entity: str, direction: str, *, mapping: str | None = None
    ) -> CompiledMapping:
        """The compiled mapping. ``entity`` is the spec's file name (``order`` for
        ``order.inbound.yaml``) or the canonical entity. When several specs match,
        ``mapping`` picks one by its ``mapping:`` id or its channel-side name (``source:`` of
        an inbound spec, ``target:`` of an outbound one). SpecError ``MAP010`` if none
        matches, ``MAP011`` if several do and ``mapping`` does not tell them apart."""
        key = (channel, entity, direction)
        candidates = list(self._files.get(key, []))
        if not candidates or mapping is not None:
            candidates += [p for p in self._by_entity.get(key, []) if p not in candidates]
        if mapping is not None:
            candidates = [p for p in candidates if mapping in self._names[p]]
        if len(candidates) > 1:
            names = ", ".join(self._names[p][0] for p in candidates)
            raise SpecError(
                diagnostics=[
                    Diagnostic(
                        code="MAP011",
                        message=f"several specs map {channel}/{entity}/{direction}: {names}",
                        hint="pick one with mapping=<its mapping id>",
                    )
                ]
            )
        if not candidates:
            wanted = "/".join(key) + (f" with mapping {mapping!r}" if mapping else "")
            raise SpecError(
                diagnostics=[
                    Diagnostic(
                        code="MAP010",
                        message=f"no mapping for {wanted}",
                        hint="known: " + ", ".join("/".join(k) for k in self.keys()),
                    )
                ]
            )
        return self._load(candidates[0])

    def all(self) -> list[CompiledMapping]:
        """Every spec, compiled, in file order (SpecError with all problems if any fails)."""
        out: list[CompiledMapping] = []
        problems: list[Diagnostic] = []
        for path in sorted(self._ids.values()):
            try:
                out.append(self._load(path))
            except SpecError as exc:
                problems.extend(exc.diagnostics)
        if problems:
            raise SpecError(diagnostics=problems)
        return out
