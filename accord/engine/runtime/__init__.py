"""The runtime: project config, Engine, state stores, ledgers, dead-letter store and audit.

>>> from accord.engine.runtime import Engine, Result, load_project   # the public surface
>>> sorted(Result.__dataclass_fields__)[:4]
['channel', 'decisions', 'diagnostics', 'dlq_id']

See ``docs/runtime.md`` (the engine, stores, ledgers) and ``docs/configuration.md``
(``accord.yaml``).
"""

from accord.engine.runtime.config import (
    ChannelConfig,
    Endpoint,
    FlowConfig,
    InventoryConfig,
    Project,
    RulePackConfig,
    check_project_file,
    load_project,
    project_schema,
)
from accord.engine.runtime.engine import Engine, Event, Result
from accord.engine.runtime.store import (
    DEFAULT_STORE_URL,
    AuditEntry,
    DeadLetter,
    InventoryLevel,
    Store,
    open_store,
)

__all__ = [
    "DEFAULT_STORE_URL",
    "AuditEntry",
    "ChannelConfig",
    "DeadLetter",
    "Endpoint",
    "Engine",
    "Event",
    "FlowConfig",
    "InventoryConfig",
    "InventoryLevel",
    "Project",
    "Result",
    "RulePackConfig",
    "Store",
    "check_project_file",
    "load_project",
    "open_store",
    "project_schema",
]
