"""Rasa's `SQLTrackerStore` on shopdesk's database, configured by one URL.

`endpoints.yml` names it (`type: bot.storage.tracker_store.ShopdeskTrackerStore`) so that the Rasa
server, `rasa shell` and the action server's records share `SHOPDESK_DB_URL`: a SQLite file
with no set-up by default, PostgreSQL when the variable says so. Everything else (the `events`
table, how trackers are saved and read) is Rasa's own.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.domain import Domain

from bot.settings import db_url
from bot.storage.database import open_database

logger = logging.getLogger(__name__)


class ShopdeskTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose database is `url` in endpoints.yml, else `SHOPDESK_DB_URL`."""

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = None,
        event_broker: EventBroker | None = None,
        **kwargs: Any,
    ) -> None:
        url = host or db_url()
        # Our tables live beside Rasa's `events`: bring them up to date first (this also
        # creates a SQLite file's folder and switches it to WAL for concurrent readers).
        open_database(url).dispose()
        ignored = [
            key
            for key in ("dialect", "db", "port", "username", "password", "login_db", "query")
            if kwargs.pop(key, None) is not None
        ]
        if ignored:
            logger.warning(
                "endpoints.yml: %s ignored; this tracker store takes one `url` "
                "(or SHOPDESK_DB_URL).",
                ", ".join(ignored),
            )
        super().__init__(domain=domain, host=url, event_broker=event_broker, **kwargs)
        # Rasa's engine never checks a pooled connection before use, so after a database
        # restart every pooled connection would fail once; ping first instead.
        rasa_engine = self.engine
        self.engine = sa.create_engine(
            self.engine.url, pool_pre_ping=True, **create_engine_kwargs(self.engine.url)
        )
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)
        rasa_engine.dispose()
        logger.info("Conversations are logged to %r.", self.engine.url)
