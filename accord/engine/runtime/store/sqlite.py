"""The embedded SQLite store: WAL journal, one connection per thread, BEGIN IMMEDIATE."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from accord.engine.runtime.store.base import Store

__all__ = ["open_sqlite"]

#: How long a writer waits for another process's write lock before reporting STORE003.
BUSY_TIMEOUT_S = 30.0


def _transient(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def open_sqlite(url: str, path: Path) -> Store:
    """A store in the SQLite file at ``path`` (created, with its folder, when missing)."""

    def connect() -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves, so a writer takes
        # the lock up front instead of failing to upgrade a read lock under contention.
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL is durable against process crashes (SIGKILL); only an OS crash may lose
        # the last commits, never corrupt the file.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    return Store(
        url,
        "sqlite",
        connect,
        begin="BEGIN IMMEDIATE",
        transient=_transient,
        db_errors=(sqlite3.Error, OSError),
    )
