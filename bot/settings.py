"""Where a shopdesk project keeps things, and the environment variables that move them.

Every path and database URL the processes share is here, so a newcomer finds them in one
place; a component's own defaults stay in its `get_default_config`, a server's options in its
command line.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_ROOT / "models"
DATA_DIR = PROJECT_ROOT / "data"
# Runtime state of a development checkout: SQLite files, generated secrets, retrain logs.
STATE_DIR = PROJECT_ROOT / ".shopdesk"

DEFAULT_DB_URL = f"sqlite:///{STATE_DIR / 'shopdesk.db'}"
DEFAULT_ORDERS_DB_URL = f"sqlite:///{STATE_DIR / 'orders.db'}"


def db_url() -> str:
    """shopdesk's database: the conversation log, reviews, handoffs, staff (SHOPDESK_DB_URL)."""
    return os.environ.get("SHOPDESK_DB_URL", DEFAULT_DB_URL)


def orders_db_url() -> str:
    """The shop's orders (SHOPDESK_ORDERS_DB_URL); the demo's sample orders by default."""
    return os.environ.get("SHOPDESK_ORDERS_DB_URL", DEFAULT_ORDERS_DB_URL)
