"""Fixtures for the runtime tests: one suite, parametrised over SQLite and PostgreSQL.

PostgreSQL tests run whenever ``ACCORD_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it); each
test gets its own schema inside one per-session prefix, and every schema is dropped at the end
of the session, so parallel runs never collide. Without the variable they are skipped with a
message saying how to run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from accord.engine.runtime.store import Store, open_store

PG_ENV = "ACCORD_TEST_POSTGRES_URL"
SKIP_PG = (
    f"PostgreSQL tests need {PG_ENV}; run them with "
    f"{PG_ENV}=postgresql://postgres@127.0.0.1:5432/test .venv/bin/pytest tests/runtime"
)


class PgSchemas:
    """Hands out fresh schemas named ``<session prefix>_<n>`` and drops them all at the end."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.prefix = f"accord_t{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.made: list[str] = []

    def url(self) -> str:
        name = f"{self.prefix}_{len(self.made)}"
        self.made.append(name)
        sep = "&" if "?" in self.base_url else "?"
        return f"{self.base_url}{sep}schema={name}"

    def shared(self) -> str:
        """One migrated schema reused by every test, emptied before each (much faster than a
        schema and a migration per test)."""
        if not hasattr(self, "_shared"):
            self._shared = self.url()
            open_store(self._shared).close()
        with psycopg.connect(self.base_url, autocommit=True) as conn:
            schema = self._shared.rsplit("schema=", 1)[1]
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s"
                    " AND tablename <> 'accord_schema_migrations'",
                    (schema,),
                )
            ]
            if tables:
                names = ", ".join(f'"{schema}"."{t}"' for t in tables)
                conn.execute(f"TRUNCATE {names} RESTART IDENTITY")
        return self._shared

    def drop_all(self) -> None:
        if not self.made:
            return
        with psycopg.connect(self.base_url, autocommit=True) as conn:
            for name in self.made:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture(scope="session")
def pg_schemas() -> Iterator[PgSchemas | None]:
    base = os.environ.get(PG_ENV)
    if not base:
        yield None
        return
    # Fail loudly (an error, not a skip) when the variable is set but the server is down.
    with psycopg.connect(base, connect_timeout=5) as conn:
        conn.execute("SELECT 1")
    schemas = PgSchemas(base)
    yield schemas
    schemas.drop_all()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path, pg_schemas: PgSchemas | None) -> str:
    """A URL of an empty, migrated store of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    if pg_schemas is None:
        pytest.skip(SKIP_PG)
    return pg_schemas.shared()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_store_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_schemas: PgSchemas | None
) -> str:
    """A URL of a store that has never been opened (no tables at all)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    if pg_schemas is None:
        pytest.skip(SKIP_PG)
    return pg_schemas.url()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()
