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
    """Spec files under ``roots``, indexed by ``(channel, entity, direction)``.

    The entity is the file's own name (``order`` for ``order.inbound.yaml``) or the canonical
    one (the target of an inbound spec, the source of an outbound one) when a single spec of
    the channel and direction maps it.
    """

    def __init__(
        self,
        roots: Iterable[str | os.PathLike[str]],
        *,
        project_root: str | os.PathLike[str] | None = None,
    ) -> None:
        self.roots = [Path(r) for r in roots]
        self.project_root = project_root
        self._files: dict[_Key, Path] = {}  # by file name: order.inbound.yaml -> order
        self._by_entity: dict[_Key, list[Path]] = {}  # by canonical entity
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
            channel, direction = str(header.get("channel")), str(header.get("direction"))
            target, source = header.get("target"), header.get("source")
            canonical = str(target if direction == "inbound" else source)
            key = (channel, path.name.split(".")[0], direction)
            other = self._files.get(key)
            if other is not None and other != path:
                problems.append(
                    Diagnostic(
                        code="MAP011",
                        message=f"two specs map {'/'.join(key)}: {other} and {path}",
                        file=str(path),
                    )
                )
            self._files[key] = path
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
        """Every ``(channel, entity, direction)`` the catalog can find, sorted."""
        unique = {k for k, paths in self._by_entity.items() if len(paths) == 1}
        return sorted(set(self._files) | unique)

    def find(self, channel: str, entity: str, direction: str) -> CompiledMapping:
        """The compiled mapping. ``entity`` is the spec's file name (``order`` for
        ``order.inbound.yaml``) or, when only one spec maps it, the canonical entity.
        SpecError ``MAP010`` if none matches, ``MAP011`` if several do."""
        path = self._files.get((channel, entity, direction))
        if path is None:
            candidates = self._by_entity.get((channel, entity, direction), [])
            if len(candidates) > 1:
                names = ", ".join(p.name for p in candidates)
                raise SpecError(
                    diagnostics=[
                        Diagnostic(
                            code="MAP011",
                            message=f"several specs map {channel}/{entity}/{direction}: {names}",
                            hint="ask for one by its file name",
                        )
                    ]
                )
            path = candidates[0] if candidates else None
        if path is None:
            raise SpecError(
                diagnostics=[
                    Diagnostic(
                        code="MAP010",
                        message=f"no mapping for {channel}/{entity}/{direction}",
                        hint="known: " + ", ".join("/".join(k) for k in self.keys()),
                    )
                ]
            )
        return self._load(path)

    def all(self) -> list[CompiledMapping]:
        """Every spec, compiled, in file order (SpecError with all problems if any fails)."""
        out: list[CompiledMapping] = []
        problems: list[Diagnostic] = []
        for path in sorted(set(self._files.values())):
            try:
                out.append(self._load(path))
            except SpecError as exc:
                problems.extend(exc.diagnostics)
        if problems:
            raise SpecError(diagnostics=problems)
        return out
