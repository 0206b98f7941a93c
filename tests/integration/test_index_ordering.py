"""No lost review data: the review app's index (`bot/storage/conversation_index.py`) sees every
event,
even one that commits after an event with a higher id was indexed (issue 14).

With two Rasa workers on PostgreSQL, each `SQLTrackerStore.save` takes ids from one sequence
and commits on its own: a worker that took id N may commit after one that took N+1. These
tests make that happen with Rasa's own `save` on real PostgreSQL (`local_postgres` in
conftest.py): one save is held between writing its events and committing them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.conversation_index import CONVERSATIONS, MESSAGES, sync
from bot.storage.database import engine_for, open_database
from bot.storage.index_window import STATE
from tests.helpers.logged_conversations import bot_says, save, user
from tests.helpers.project import PROJECT_ROOT

HOLD_LIMIT = 60  # seconds a held save waits for the test before it gives up


@pytest.fixture(scope="module")
def domain():
    from rasa.shared.core.domain import Domain

    return Domain.load(PROJECT_ROOT / "domain.yml")


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request, tmp_path) -> str:
    """Real PostgreSQL, where commits interleave; SQLite, where writers take turns."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shopdesk.db'}"
    return request.getfixturevalue("postgres_database")


@pytest.fixture()
def engine(database: str) -> Iterator:
    save(database, "earlier", [user("hello", "greet", 0.9)])  # Rasa creates `events`
    engine = open_database(database)
    yield engine
    engine.dispose()


class HeldSave:
    """Rasa's own `SQLTrackerStore.save` of one conversation, run in a thread and stopped
    after its events are written (ids taken, rows inserted) and before they are committed,
    as a worker under load is stopped by the scheduler, until `commit()`."""

    def __init__(self, url: str, domain, sender: str, events: list) -> None:
        from rasa.shared.core.trackers import DialogueStateTracker

        from bot.storage.tracker_store import ShopdeskTrackerStore

        self.written, self.go = threading.Event(), threading.Event()
        self.error: BaseException | None = None
        self.ids: list[int] = []  # the ids its events took, before anyone can see them
        held = self

        class HeldSession(Session):
            def commit(self) -> None:
                written = list(self.new)  # the identity map holds them only weakly
                self.flush()
                held.ids = sorted(event.id for event in written)
                held.written.set()
                if not held.go.wait(HOLD_LIMIT):
                    raise TimeoutError("the test never let this save commit")
                super().commit()

        self.store = ShopdeskTrackerStore(domain, host=url)
        self.store.sessionmaker = sessionmaker(bind=self.store.engine, class_=HeldSession)
        tracker = DialogueStateTracker.from_events(sender, events, domain.slots)
        self.thread = threading.Thread(target=self._save, args=(tracker,), daemon=True)

    def _save(self, tracker) -> None:
        try:
            asyncio.run(self.store.save(tracker))
        except BaseException as error:  # noqa: BLE001 - reported by commit()
            self.error = error

    def start(self) -> HeldSave:
        self.thread.start()
        assert self.written.wait(HOLD_LIMIT), "the held save never wrote its events"
        return self

    def commit(self) -> None:
        self.go.set()
        self.thread.join(HOLD_LIMIT)
        self.store.engine.dispose()
        assert self.error is None, self.error


def indexed_texts(engine) -> list[tuple[str, str]]:
    query = select(MESSAGES.c.conversation_id, MESSAGES.c.text).order_by(MESSAGES.c.event_id)
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def conversation(engine, sender: str):
    query = select(CONVERSATIONS).where(CONVERSATIONS.c.conversation_id == sender)
    with engine.connect() as connection:
        return connection.execute(query).first()


def event_ids(engine, sender: str) -> list[int]:
    from bot.storage.conversation_log import EVENTS

    query = select(EVENTS.c.id).where(EVENTS.c.sender_id == sender).order_by(EVENTS.c.id)
    with engine.connect() as connection:
        return list(connection.scalars(query))


SLOW = [
    user("where is my parcel 482913?", "track_order", 0.93),
    bot_says("Wash linen at 40 degrees.", kind="retrieval", id="transcript:t-1", score=12.0),
]
FAST = [user("refund please", "get_refund", 0.88)]


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_message_committed_after_a_later_one_was_indexed_is_not_skipped(engine, database, domain):
    sync(engine)
    slow = HeldSave(database, domain, "slow-worker", SLOW).start()  # ids N, N+1
    save(database, "fast-worker", FAST)  # id N+2, committed first
    assert max(slow.ids) < min(event_ids(engine, "fast-worker"))

    sync(engine)  # sees only the fast worker's message: the slow one is not committed
    assert ("fast-worker", "refund please") in indexed_texts(engine)
    assert not any(sender == "slow-worker" for sender, _ in indexed_texts(engine))

    slow.commit()
    sync(engine)
    assert indexed_texts(engine) == [
        ("earlier", "hello"),
        ("slow-worker", "where is my parcel 482913?"),
        ("fast-worker", "refund please"),
    ]
    row = conversation(engine, "slow-worker")
    assert (row.user_messages, row.retrievals) == (1, 1)  # the late answer counted, once

    sync(engine)  # reading the window again adds nothing
    assert len(indexed_texts(engine)) == 3
    assert conversation(engine, "slow-worker").retrievals == 1
    assert conversation(engine, "fast-worker").user_messages == 1


def test_the_window_closes_after_the_lag_and_nothing_is_counted_twice(engine, database):
    now = [1_800_000_000.0]
    sync(engine, clock=lambda: now[0])
    save(database, "customer-1", FAST)
    sync(engine, clock=lambda: now[0])
    with engine.connect() as connection:
        remembered = connection.scalar(select(func.count()).select_from(STATE))
    assert remembered > 1  # the watermark and the events still inside the window

    now[0] += 3600  # long after any transaction could still commit below them
    sync(engine, clock=lambda: now[0])
    with engine.connect() as connection:
        names = list(connection.scalars(select(STATE.c.name)))
        watermark = connection.scalar(select(STATE.c.last_event_id).where(STATE.c.name == "events"))
    assert names == ["events"]  # the window's bookkeeping is pruned
    assert watermark == max(event_ids(engine, "customer-1"))
    sync(engine, clock=lambda: now[0])
    assert conversation(engine, "customer-1").user_messages == 1


def test_workers_syncing_at_once_index_each_message_once(engine, database):
    for number in range(6):
        save(database, f"customer-{number}", FAST + FAST)
    engines = [engine_for(database) for _ in range(4)]  # four processes, an engine each
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def worker(own) -> None:
        try:
            start.wait(30)
            sync(own)
        except BaseException as error:  # noqa: BLE001 - asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(own,)) for own in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for own in engines:
        own.dispose()
    assert not errors, errors
    assert len(indexed_texts(engine)) == 1 + 12
    for number in range(6):
        assert conversation(engine, f"customer-{number}").user_messages == 2


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_sync_with_nothing_new_takes_no_write_lock(engine, database):
    """Every list page syncs: with nothing to index it must not queue behind (or hold up)
    Rasa's writes. Here a writer holds SQLite's lock; a sync that wanted it would wait out
    the busy timeout and fail with "database is locked"."""
    sync(engine)
    writer = engine_for(database)  # another process
    with writer.begin() as connection:
        connection.execute(STATE.update().values(last_event_id=STATE.c.last_event_id))
        assert sync(engine) == 0
    writer.dispose()
