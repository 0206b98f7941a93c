"""Blocking work (database reads, drawing charts, calls to the Rasa server) off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")


async def in_thread(function: Callable[..., T], *args: Any) -> T:
    """Run `function(*args)` in the default thread pool so other requests keep flowing."""
    return await asyncio.get_running_loop().run_in_executor(None, partial(function, *args))
