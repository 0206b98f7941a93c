"""Which logged events the review app's index has applied: a watermark and a lag window.

Why not just "the highest event id indexed so far": Rasa's tracker store takes event ids from
one sequence and each worker commits on its own, so with two Rasa workers on PostgreSQL the
event with id N can commit after N+1 was read. A high-water mark at N+1 skips N for ever (a
message missing from the inbox, search, dashboard and export, silently).

So the index keeps, in `index_state`:

- `events`: the watermark. Every event with an id up to it has been applied (or never
  committed); events above it are read again on every sync.
- `seen:<event id>@<unix second>`: an event above the watermark that was applied, and when.
  Applying skips these, so reading the window again counts nothing twice.

Once an event X was seen at time t, every event with a lower id took its id before X did, so
its transaction has ended by t + LAG_SECONDS, provided no tracker-store transaction stays open
longer than that (Rasa's `SQLTrackerStore.save` writes a turn's events and commits at once).
A sync that starts reading after t + LAG_SECONDS therefore sees all of them, and moves the
watermark up to X and forgets the `seen:` rows below it. Syncs take turns: each first updates
the watermark's row, which holds a row lock on PostgreSQL and the write lock on SQLite until
it commits, so two workers never apply the same event. A sync that finds nothing to apply and
nothing to move writes nothing (page views must not queue behind Rasa's writes on SQLite).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Column, Integer, String, delete, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.storage.database import Base

# Longer than any tracker-store transaction can stay open after writing its events; events
# of the last LAG_SECONDS are read again by every sync (a few hundred rows under load).
LAG_SECONDS = 60.0
WATERMARK = "events"
SEEN_PREFIX = "seen:"


class IndexStateRow(Base):
    __tablename__ = "index_state"

    name = Column(String(64), primary_key=True)
    last_event_id = Column(Integer, nullable=False)


STATE = IndexStateRow.__table__


@dataclass(frozen=True)
class Window:
    """The watermark, and the events above it already applied (id -> unix second seen)."""

    watermark: int
    seen: dict[int, int]


def _seen_name(event_id: int, at: float) -> str:
    return f"{SEEN_PREFIX}{event_id}@{math.ceil(at)}"


def _parse_seen(name: str) -> tuple[int, int] | None:
    event_id, _, at = name[len(SEEN_PREFIX) :].partition("@")
    if not (event_id.isdigit() and at.isdigit()):
        return None
    return int(event_id), int(at)


def ensure_state(engine: Engine) -> None:
    """Create the watermark's row (at 0) if this index has none yet."""
    try:
        with engine.begin() as connection:
            if connection.scalar(select(STATE.c.name).where(STATE.c.name == WATERMARK)):
                return
            connection.execute(insert(STATE).values(name=WATERMARK, last_event_id=0))
    except IntegrityError:
        pass  # another worker created it a moment ago


def read_window(connection: Connection) -> Window:
    """The watermark and the events above it already applied, as committed now."""
    watermark = connection.scalar(select(STATE.c.last_event_id).where(STATE.c.name == WATERMARK))
    seen: dict[int, int] = {}
    for name in connection.scalars(
        select(STATE.c.name).where(STATE.c.name.startswith(SEEN_PREFIX, autoescape=True))
    ):
        parsed = _parse_seen(name)
        if parsed is not None:
            seen[parsed[0]] = parsed[1]
    return Window(int(watermark or 0), seen)


def open_window(connection: Connection) -> Window:
    """Take this sync's turn (held until the transaction ends), then read the window."""
    connection.execute(
        update(STATE).where(STATE.c.name == WATERMARK).values(last_event_id=STATE.c.last_event_id)
    )
    return read_window(connection)


def _ripe(window: Window, started: float, lag: float) -> list[int]:
    return [event_id for event_id, at in window.seen.items() if at <= started - lag]


def can_close(window: Window, started: float, lag: float) -> bool:
    """Whether `close_window` would move the watermark."""
    return bool(_ripe(window, started, lag))


def remember(connection: Connection, event_ids: Iterable[int], at: float) -> None:
    """Record events as applied at `at` (unix seconds), in the transaction that applied them."""
    rows = [{"name": _seen_name(event_id, at), "last_event_id": event_id} for event_id in event_ids]
    if rows:
        connection.execute(insert(STATE), rows)


def close_window(connection: Connection, window: Window, started: float, lag: float) -> int:
    """Move the watermark up to the highest event seen at least `lag` seconds before this
    sync started reading (everything below it was in that read), and forget what lies under
    it; returns the watermark."""
    watermark = max([window.watermark, *_ripe(window, started, lag)])
    if watermark > window.watermark:
        connection.execute(
            update(STATE).where(STATE.c.name == WATERMARK).values(last_event_id=watermark)
        )
    below = [
        _seen_name(event_id, at) for event_id, at in window.seen.items() if event_id <= watermark
    ]
    for start in range(0, len(below), 500):
        connection.execute(delete(STATE).where(STATE.c.name.in_(below[start : start + 500])))
    return watermark
