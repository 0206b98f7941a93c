"""One way to open shopdesk's databases (orders, records), SQLite or PostgreSQL by URL."""

from __future__ import annotations

import os

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine


def engine_for(url: str) -> Engine:
    """An engine for `url`; a SQLite file's folder is created so a fresh checkout just works."""
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(url[len("sqlite:///") :]) or ".", exist_ok=True)
    return create_engine(url, future=True, pool_pre_ping=True)
