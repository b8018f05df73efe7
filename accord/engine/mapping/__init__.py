"""Mapping specs: declarative YAML compiled to fast Python that turns payloads into records.

The stages, in order: :func:`load_spec` (YAML with positions -> :class:`MappingSpec`;
:func:`spec_from_yaml` for text), :func:`compile_mapping` (generated Python ->
:class:`CompiledMapping`), :meth:`CompiledMapping.apply` (dict in, dict out) and
:meth:`CompiledMapping.explain`.
:class:`DriftRecorder` reports payload fields no spec consumed; :class:`MappingCatalog` finds
the spec for a channel, entity and direction. See ``docs/mapping-language.md``.

>>> spec = MappingSpec.from_dict({
...     "mapping": "demo.order.inbound", "channel": "demo", "direction": "inbound",
...     "source": "demo.order", "target": "order", "version": 2,
...     "fields": {"total": {"from": "total_price", "as": "money",
...                          "currency": {"from": "currency"}}}})
>>> compile_mapping(spec).apply({"total_price": "409.94", "currency": "USD"})
{'total': {'amount': Decimal('409.94'), 'currency': 'USD'}}
"""

from accord.engine.mapping.catalog import MappingCatalog
from accord.engine.mapping.compiler import compile_mapping
from accord.engine.mapping.drift import DriftRecorder, DriftReport, UnmappedPath
from accord.engine.mapping.explain import Explanation, FieldTrace
from accord.engine.mapping.runtime import CompiledMapping
from accord.engine.mapping.spec import (
    CurrencySource,
    Definition,
    FieldRule,
    LookupTable,
    MappingSpec,
    SourcePath,
    TransformCall,
    load_spec,
    spec_from_yaml,
)
from accord.engine.mapping.transforms import TRANSFORMS, Transform

__all__ = [
    "TRANSFORMS",
    "CompiledMapping",
    "CurrencySource",
    "Definition",
    "DriftRecorder",
    "DriftReport",
    "Explanation",
    "FieldRule",
    "FieldTrace",
    "LookupTable",
    "MappingCatalog",
    "MappingSpec",
    "SourcePath",
    "Transform",
    "TransformCall",
    "UnmappedPath",
    "compile_mapping",
    "load_spec",
    "spec_from_yaml",
]
