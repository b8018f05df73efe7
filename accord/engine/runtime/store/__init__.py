"""State stores reached by URL: ``sqlite:///accord.db`` (the default) or ``postgresql://...``.

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     store = open_store(f"sqlite:///{tmp}/state.db")
...     store.schema_version()
...     store.close()
3
"""

from __future__ import annotations

from pathlib import Path

from accord.diagnostics import Diagnostic
from accord.engine.runtime.store.base import (
    AuditEntry,
    DeadLetter,
    InventoryLevel,
    OutboxRow,
    QueueItem,
    RefundEntry,
    Reservation,
    Store,
    StoredRecord,
    Tx,
    iso,
)
from accord.engine.runtime.store.migrations import MIGRATIONS, Migration
from accord.errors import StoreError

__all__ = [
    "DEFAULT_STORE_URL",
    "MIGRATIONS",
    "AuditEntry",
    "DeadLetter",
    "InventoryLevel",
    "Migration",
    "OutboxRow",
    "QueueItem",
    "RefundEntry",
    "Reservation",
    "Store",
    "StoredRecord",
    "Tx",
    "iso",
    "open_store",
    "redact_url",
]

DEFAULT_STORE_URL = "sqlite:///accord.db"


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs.

    >>> redact_url("postgresql://app:s3cret@db:5432/shop")
    'postgresql://app:***@db:5432/shop'
    """
    head, sep, tail = url.partition("://")
    if not sep or "@" not in tail:
        return url
    creds, _, host = tail.rpartition("@")
    user, colon, _ = creds.partition(":")
    return f"{head}://{user}{':***' if colon else ''}@{host}"


def open_store(url: str = DEFAULT_STORE_URL, *, base_dir: Path | None = None,
               migrate: bool = True) -> Store:  # fmt: skip
    """Open (and by default migrate) the store at ``url``.

    ``sqlite:///relative.db`` is resolved against ``base_dir`` (the project folder) or the
    working directory; ``sqlite:////abs/path.db`` is absolute. An unknown scheme is a
    :class:`~accord.errors.StoreError` with code ``STORE006``.
    """
    store: Store
    if url.startswith("sqlite:///"):
        raw = url[len("sqlite:///") :]
        if not raw or raw.startswith(":memory:"):
            raise StoreError(
                diagnostics=[
                    Diagnostic(
                        code="STORE006",
                        message="an in-memory SQLite store cannot be shared between threads;"
                        " use a file path",
                    )
                ]
            )
        path = Path(raw)
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        from accord.engine.runtime.store.sqlite import open_sqlite

        store = open_sqlite(url, path)
    elif url.startswith(("postgresql://", "postgres://")):
        from accord.engine.runtime.store.postgres import open_postgres, split_schema
        from accord.engine.runtime.store.postgres import valid_schema_name as _ok

        schema = split_schema(url)[1]
        if schema is not None and not _ok(schema):
            raise StoreError(
                diagnostics=[Diagnostic(code="STORE006", message=f"invalid schema name {schema!r}")]
            )
        store = open_postgres(url)
    else:
        raise StoreError(
            diagnostics=[
                Diagnostic(
                    code="STORE006",
                    message=f"unsupported store URL {redact_url(url)!r}",
                    hint="use sqlite:///path/to/file.db or postgresql://user@host/db",
                )
            ]
        )
    if migrate:
        try:
            from accord.clock import SystemClock

            store.migrate(iso(SystemClock().now()))
        except BaseException:
            store.close()
            raise
    return store
