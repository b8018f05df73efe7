"""The PostgreSQL store (psycopg 3): one connection per thread, autocommit off by BEGIN.

A ``schema`` query parameter in the URL (``postgresql://host/db?schema=shop_a``) places
accord's tables in that schema (created when missing); tests use it to isolate runs.
"""

from __future__ import annotations

import contextlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors

from accord.engine.runtime.store.base import Store

__all__ = ["open_postgres", "split_schema"]

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

_TRANSIENT = (
    pg_errors.DeadlockDetected,
    pg_errors.SerializationFailure,
    pg_errors.LockNotAvailable,
    psycopg.OperationalError,
)


def split_schema(url: str) -> tuple[str, str | None]:
    """Remove accord's own ``schema`` parameter from a PostgreSQL URL.

    >>> split_schema("postgresql://u@h:5432/db?schema=s1&sslmode=disable")
    ('postgresql://u@h:5432/db?sslmode=disable', 's1')
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def valid_schema_name(name: str) -> bool:
    return bool(_SCHEMA_NAME.match(name))


def open_postgres(url: str) -> Store:
    conninfo, schema = split_schema(url)
    if conninfo.startswith("postgres://"):
        conninfo = "postgresql://" + conninfo[len("postgres://") :]

    def connect() -> psycopg.Connection[tuple[object, ...]]:
        conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        if schema is not None:
            # Two workers starting together may race to create it; either way it exists.
            with contextlib.suppress(pg_errors.UniqueViolation, pg_errors.DuplicateSchema):
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            conn.execute(f'SET search_path TO "{schema}"')
        return conn

    return Store(
        url,
        "postgresql",
        connect,
        begin="BEGIN",
        transient=lambda exc: isinstance(exc, _TRANSIENT),
        db_errors=(psycopg.Error,),
    )
