"""Blocking work (database reads, drawing charts, calls to the Rasa server) off the event loop.

Every handler and the session check in `security.authenticate` go through `in_thread`: one
slow request (an export, a first sync of a large log) then occupies a worker thread, not the
loop that answers everyone else. The loop's default executor is bounded (Python's
min(32, cores + 4) threads), so a burst waits for a free thread instead of opening ever more
database connections; SQLAlchemy's engines are thread-safe (SQLite files get a connection
per checkout, so no connection crosses threads).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")


async def in_thread(function: Callable[..., T], *args: Any) -> T:
    """Run `function(*args)` in the default thread pool so other requests keep flowing."""
    return await asyncio.get_running_loop().run_in_executor(None, partial(function, *args))
