"""The project config ``accord.yaml``: channels, flows, rule packs, inventory and the store.

Loaded with positions, validated against ``docs/schemas/project.schema.json`` (shipped with
the package), then checked for meaning (unknown channels, missing folders, specs and rule
files). Every problem is a located ``PRJxxx`` :class:`~accord.diagnostics.Diagnostic`;
:func:`load_project` raises :class:`~accord.errors.SpecError` carrying all of them, while
:func:`check_project_file` returns them.

Codes: ``PRJ001`` unreadable file, ``PRJ002`` structure (JSON Schema), ``PRJ101`` unknown
channel, ``PRJ102`` duplicate name, ``PRJ103`` folder not found, ``PRJ104`` rule pack file not
found, ``PRJ105`` no mapping spec for a flow step, ``PRJ106`` unknown rule pack, ``PRJ107`` a
channel kind with no mapping folder (an error when it is a near miss of a shipped kind, such as
``shopfy``; a warning for a new channel whose ``mappings/<kind>/`` does not exist yet).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped, unused-ignore]

from accord.diagnostics import Diagnostic, Severity, sort_diagnostics
from accord.engine.runtime.store import DEFAULT_STORE_URL
from accord.engine.yamlsource import LoadedYaml, load_yaml
from accord.errors import AccordError, SpecError
from accord.resources import mappings_dir, rules_dir

__all__ = [
    "SHIPPED",
    "ChannelConfig",
    "Endpoint",
    "FlowConfig",
    "InventoryConfig",
    "Project",
    "RulePackConfig",
    "check_project_file",
    "load_project",
    "project_schema",
]

#: The folder name that means "accord's bundled content" in ``mappings:`` and ``rules:``.
SHIPPED = "shipped"

_SCHEMA_FILE = Path(__file__).with_name("project.schema.json")


@cache
def project_schema() -> dict[str, Any]:
    """The JSON Schema of ``accord.yaml`` (also published as docs/schemas/project.schema.json)."""
    data: dict[str, Any] = json.loads(_SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """One connected system. ``kind`` picks the mapping folder (``mappings/<kind>/``)."""

    name: str
    kind: str
    api_version: str | None = None
    mappings: tuple[Path, ...] = ()
    inventory_sync: bool = False
    buffer_stock: int = 0
    system: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def owner_name(self) -> str:
        """The name the ownership rules use for this channel's system."""
        return self.system or self.name


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A channel and one of its entities (``shopify`` + ``order``)."""

    channel: str
    entity: str

    def __str__(self) -> str:
        return f"{self.channel}.{self.entity}"


@dataclass(frozen=True, slots=True)
class FlowConfig:
    """Inbound events of ``source`` become canonical records, pass ``rules``, go to ``to``."""

    name: str
    source: Endpoint
    rules: tuple[str, ...] = ()
    to: tuple[Endpoint, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RulePackConfig:
    """A rule pack and the facts every evaluation of it receives."""

    name: str
    path: Path
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InventoryConfig:
    """Allocation order of locations, the system of record for counts, the buffer rule pack."""

    locations: tuple[str, ...] = ("default",)
    source: str | None = None
    buffer_rules: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)

    def location(self, name: Any) -> str:
        """The ledger location for a channel's location id (the first location if none)."""
        if name is None or name == "":
            return self.locations[0]
        return self.aliases.get(str(name), str(name))


@dataclass(frozen=True, slots=True)
class Project:
    """A validated ``accord.yaml``; paths are absolute."""

    path: Path
    name: str
    store_url: str
    mapping_roots: tuple[Path, ...]
    rule_roots: tuple[Path, ...]
    channels: dict[str, ChannelConfig]
    flows: tuple[FlowConfig, ...]
    rule_packs: dict[str, RulePackConfig]
    inventory: InventoryConfig
    ownership: str | None = None

    @property
    def root(self) -> Path:
        return self.path.parent

    def flow_for(self, channel: str, entity: str) -> FlowConfig | None:
        """The flow that handles inbound ``entity`` events from ``channel``."""
        for flow in self.flows:
            if flow.source.channel == channel and flow.source.entity == entity:
                return flow
        return None

    def roots_for(self, channel: str) -> tuple[Path, ...]:
        """Mapping folders for ``channel``: its own first, then the project's."""
        own = self.channels[channel].mappings if channel in self.channels else ()
        return (*own, *self.mapping_roots)


def _read(path: Path) -> tuple[Any, LoadedYaml]:
    """Parse ``path`` -> (data, positions); raises SpecError PRJ001/YAMLxxx."""
    if not path.is_file():
        raise SpecError(
            diagnostics=[
                Diagnostic(code="PRJ001", message="project file not found", file=str(path))
            ]
        )
    doc = load_yaml(path)
    doc.raise_for_errors()
    return doc.data, doc


def _locate(doc: Any, file: str, code: str, message: str, path: Iterable[str | int],
            *, key: bool = False, hint: str | None = None,
            severity: Severity = Severity.ERROR) -> Diagnostic:  # fmt: skip
    if doc is not None:
        d: Diagnostic = doc.diagnostic(code, message, list(path), key=key, hint=hint,
                                       severity=severity)  # fmt: skip
        return d
    return Diagnostic(code=code, message=message, file=file, hint=hint, severity=severity)


def _shipped_kinds() -> list[str]:
    """The channel kinds accord ships mapping folders for (``shopify``, ``amazon``, ...)."""
    root = mappings_dir()
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "lookups")


def _did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else None


def _schema_diagnostics(data: Any, doc: Any, file: str) -> list[Diagnostic]:
    validator = jsonschema.Draft202012Validator(project_schema())
    out: list[Diagnostic] = []
    for err in validator.iter_errors(data):
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = list(err.schema.get("properties", {}))
            out.extend(
                _locate(doc, file, "PRJ002", f"unknown key {extra!r} in {where}",
                        [*err.absolute_path, extra], key=True,
                        hint=_did_you_mean(str(extra), allowed))
                for extra in sorted(set(err.instance) - set(allowed))
            )  # fmt: skip
            continue
        out.append(_locate(doc, file, "PRJ002", f"{where}: {err.message}", err.absolute_path))
    return out


def _folders(values: list[str], shipped: Path, base: Path) -> list[Path]:
    return [shipped if v == SHIPPED else (base / v).resolve() for v in values]


def _build(path: Path, data: dict[str, Any], doc: Any) -> tuple[Project, list[Diagnostic]]:
    file = str(path)
    base = path.parent
    diags: list[Diagnostic] = []

    def located(code: str, message: str, where: list[str | int], **kw: Any) -> None:
        diags.append(_locate(doc, file, code, message, where, **kw))

    mapping_roots = _folders(data.get("mappings", [SHIPPED]), mappings_dir(), base)
    rule_roots = _folders(data.get("rules", [SHIPPED]), rules_dir(), base)
    for key, roots in (("mappings", mapping_roots), ("rules", rule_roots)):
        for i, root in enumerate(roots):
            if not root.is_dir():
                located("PRJ103", f"{key} folder not found: {root}", [key, i])

    channels: dict[str, ChannelConfig] = {}
    for i, ch in enumerate(data["channels"]):
        if ch["name"] in channels:
            located("PRJ102", f"duplicate channel {ch['name']!r}", ["channels", i, "name"])
        own = tuple(_folders(ch.get("mappings", []), mappings_dir(), base))
        for j, root in enumerate(own):
            if not root.is_dir():
                located("PRJ103", f"mappings folder not found: {root}",
                        ["channels", i, "mappings", j])  # fmt: skip
        kind = ch["kind"]
        if not any((r / kind).is_dir() for r in (*own, *mapping_roots)):
            # A near miss of a shipped kind is a typo; anything else is a new channel whose
            # specs are not written yet.
            near = _did_you_mean(kind, _shipped_kinds())
            located("PRJ107", f"channel kind {kind!r} has no mapping folder {kind}/ in the "
                    "mapping folders", ["channels", i, "kind"],
                    hint=near or f"a new channel's specs go in {kind}/ under a mapping folder",
                    severity=Severity.ERROR if near else Severity.WARNING)  # fmt: skip
        channels[ch["name"]] = ChannelConfig(
            name=ch["name"],
            kind=ch["kind"],
            api_version=ch.get("api_version"),
            mappings=own,
            inventory_sync=bool(ch.get("inventory_sync", False)),
            buffer_stock=int(ch.get("buffer_stock", 0)),
            system=ch.get("system"),
            facts=dict(ch.get("facts") or {}),
        )

    packs: dict[str, RulePackConfig] = {}
    for name, spec in (data.get("rule_packs") or {}).items():
        if "file" in spec:
            pack_path = (base / spec["file"]).resolve()
        else:
            pack_path = next(
                (r / f"{name}.rules" for r in rule_roots if (r / f"{name}.rules").is_file()),
                rule_roots[0] / f"{name}.rules" if rule_roots else base / f"{name}.rules",
            )
        if not pack_path.is_file():
            located("PRJ104", f"rule pack {name!r}: file not found: {pack_path}",
                    ["rule_packs", name], key=True)  # fmt: skip
        packs[name] = RulePackConfig(name, pack_path, dict(spec.get("facts") or {}))

    def channel_ref(name: str, where: list[str | int]) -> ChannelConfig | None:
        if name not in channels:
            located("PRJ101", f"unknown channel {name!r}", where,
                    hint=_did_you_mean(name, channels))  # fmt: skip
            return None
        return channels[name]

    def pack_ref(name: str, where: list[str | int]) -> None:
        if name in packs:
            return
        found = next((r / f"{name}.rules" for r in rule_roots if (r / f"{name}.rules").is_file()),
                     None)  # fmt: skip
        if found is None:
            located("PRJ106", f"unknown rule pack {name!r}", where,
                    hint=_did_you_mean(name, packs) or "declare it under rule_packs:")  # fmt: skip
        else:
            packs[name] = RulePackConfig(name, found, {})

    def spec_ref(ch: ChannelConfig, entity: str, direction: str, where: list[str | int]) -> None:
        roots = (*ch.mappings, *mapping_roots)
        rel = Path(ch.kind) / f"{entity}.{direction}.yaml"
        if not any((r / rel).is_file() for r in roots):
            located("PRJ105", f"no {direction} mapping spec {rel} in the mapping folders", where)

    flows: list[FlowConfig] = []
    seen: set[str] = set()
    for i, fl in enumerate(data["flows"]):
        if fl["name"] in seen:
            located("PRJ102", f"duplicate flow {fl['name']!r}", ["flows", i, "name"])
        seen.add(fl["name"])
        src = Endpoint(fl["from"]["channel"], fl["from"]["entity"])
        ch = channel_ref(src.channel, ["flows", i, "from", "channel"])
        if ch is not None:
            spec_ref(ch, src.entity, "inbound", ["flows", i, "from"])
        for j, pack in enumerate(fl.get("rules", [])):
            pack_ref(pack, ["flows", i, "rules", j])
        dests: list[Endpoint] = []
        for j, to in enumerate(fl.get("to", [])):
            dest = Endpoint(to["channel"], to["entity"])
            dch = channel_ref(dest.channel, ["flows", i, "to", j, "channel"])
            if dch is not None:
                spec_ref(dch, dest.entity, "outbound", ["flows", i, "to", j])
            dests.append(dest)
        flows.append(FlowConfig(fl["name"], src, tuple(fl.get("rules", [])), tuple(dests),
                                dict(fl.get("defaults") or {})))  # fmt: skip

    inv = data.get("inventory") or {}
    if "source" in inv:
        channel_ref(inv["source"], ["inventory", "source"])
    if "buffer_rules" in inv:
        pack_ref(inv["buffer_rules"], ["inventory", "buffer_rules"])
    if "ownership" in data:
        pack_ref(data["ownership"], ["ownership"])
    inventory = InventoryConfig(
        locations=tuple(inv.get("locations", ["default"])),
        source=inv.get("source"),
        buffer_rules=inv.get("buffer_rules"),
        aliases={str(k): str(v) for k, v in (inv.get("aliases") or {}).items()},
    )
    project = Project(
        path=path,
        name=data["project"],
        store_url=data.get("store", DEFAULT_STORE_URL),
        mapping_roots=tuple(mapping_roots),
        rule_roots=tuple(rule_roots),
        channels=channels,
        flows=tuple(flows),
        rule_packs=packs,
        inventory=inventory,
        ownership=data.get("ownership"),
    )
    return project, diags


def _load(path: str | Path) -> tuple[Project | None, list[Diagnostic]]:
    path = Path(path).resolve()
    try:
        data, doc = _read(path)
    except AccordError as exc:
        return None, list(exc.diagnostics)
    if not isinstance(data, dict):
        return None, [
            Diagnostic(code="PRJ002", message="the project file must be a mapping", file=str(path))
        ]
    diags = _schema_diagnostics(data, doc, str(path))
    if diags:
        return None, sort_diagnostics(diags)
    project, diags = _build(path, data, doc)
    return project, sort_diagnostics(diags)


def check_project_file(path: str | Path) -> list[Diagnostic]:
    """Every problem in the project file at ``path``, sorted by location (empty when valid)."""
    return _load(path)[1]


def load_project(path: str | Path) -> Project:
    """Load and validate ``accord.yaml``; raises :class:`~accord.errors.SpecError` with every
    problem found when it is invalid."""
    project, diags = _load(path)
    errors = [d for d in diags if Severity(d.severity) is Severity.ERROR]
    if project is None or errors:
        raise SpecError(diagnostics=errors or diags)
    return project
