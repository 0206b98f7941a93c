"""shopdesk's database: where it is, how to open it, and bringing its schema up to date.

One database holds the conversation log (Rasa's `events` table, written by the tracker
store) and shopdesk's own tables (handoffs, feedback, review state), so the review app can
join them. `SHOPDESK_DB_URL` points at it: a SQLite file by default, PostgreSQL in production
(`postgresql://user:password@host:5432/shopdesk`). Our tables are created and upgraded by the
Alembic migrations in `bot/storage/migrations/`, never by `create_all`.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import declarative_base

from bot.settings import db_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Our own version table, so an Alembic-managed application sharing the database is untouched.
VERSION_TABLE = "shopdesk_alembic_version"

# The declarative base of every table shopdesk owns (records, review state).
Base = declarative_base()


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # WAL lets the review app read while the Rasa server and the action server write;
    # foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def private_sqlite_file(path: str) -> None:
    """Create a SQLite file (and its folder) readable by its owner only, and take other
    users' bits off one that exists: it holds every customer's conversations and the staff's
    password hashes. SQLite gives its -wal and -shm files the database file's mode."""
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        os.makedirs(folder, mode=0o700, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        try:
            info = os.stat(name)
        except FileNotFoundError:
            continue
        if info.st_mode & 0o077 and info.st_uid == os.getuid():
            os.chmod(name, 0o600)


def engine_for(url: str) -> Engine:
    """An engine for `url`; a SQLite file's folder is created so a fresh checkout just works,
    and the file is mode 600."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :].split("?", 1)[0]
        if path and path != ":memory:":
            private_sqlite_file(path)
        engine = create_engine(url, future=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


def alembic_config(url: str):  # -> alembic.config.Config
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_table", VERSION_TABLE)
    # `%` would be read as interpolation by configparser (passwords may contain it).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Create or upgrade shopdesk's tables to `revision` (idempotent)."""
    from alembic import command

    url = url or db_url()
    if url.startswith("sqlite:///"):
        engine_for(url).dispose()  # creates the folder of a new SQLite file
    command.upgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


@lru_cache(maxsize=1)
def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(db_url())).get_current_head()


# One engine per database URL in this process, shared by every store (the review app's log,
# reviews, handoffs and staff used to hold four pools on one database), and the URLs whose
# schema this process has already brought up to date.
_engines: dict[str, Engine] = {}
_up_to_date: set[str] = set()
_engines_lock = threading.Lock()


def shared_engine(url: str) -> Engine:
    """This process's engine for `url`, made on first use."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = engine_for(url)
        return engine


def open_database(url: str | None = None) -> Engine:
    """This process's engine on an up-to-date schema. The first open in a process migrates
    (so a new checkout needs no step, and `shopdesk db upgrade` does it ahead of a
    deployment); every later store gets the same engine without looking again."""
    url = url or db_url()
    engine = shared_engine(url)
    with _engines_lock:
        if url not in _up_to_date:
            _migrate(engine, url)
            _up_to_date.add(url)
    return engine


def _migrate(engine: Engine, url: str) -> None:
    if current_revision(engine) == head_revision():
        return
    try:
        upgrade(url)
    except SQLAlchemyError:
        # The Rasa server, the action server and the review app start together; another
        # of them may have run the same migration a moment ago.
        if current_revision(engine) != head_revision():
            raise
