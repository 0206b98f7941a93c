"""PostgreSQL of this machine's package on loopback, for tests that need real concurrent
transactions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.http import free_port


@pytest.fixture(scope="session")
def local_postgres(tmp_path_factory) -> Iterator:
    """A PostgreSQL server of this machine's package on loopback, in a temporary folder
    (bot/runtime/local_services.py, as the production tests start theirs), for tests that need real
    concurrent transactions. Each test makes its own database on it (`postgres_database`)."""
    import secrets
    import shutil
    import tempfile

    from bot.runtime.local_services import LocalPostgres

    folder = Path(tempfile.mkdtemp(prefix="shopdesk-postgres-"))
    folder.chmod(0o755)  # PostgreSQL runs as its own user and must reach its folder
    server = LocalPostgres(folder / "postgres", free_port(), secrets.token_urlsafe(16))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def postgres_database(local_postgres) -> Iterator[str]:
    """The URL of a new, empty database on `local_postgres`, dropped after the test."""
    import secrets

    from sqlalchemy import create_engine, text

    name = f"test_{secrets.token_hex(6)}"
    admin = create_engine(local_postgres.url, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield local_postgres.url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
