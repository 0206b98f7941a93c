"""The Redis lock store that several Rasa workers share, against a real Redis server."""

from __future__ import annotations

import asyncio
import multiprocessing
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_client
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.utils.endpoints import read_endpoint_config

from bot.runtime.lock_store import AtomicRedisLockStore
from tests.helpers.http import free_port


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory) -> Iterator:
    from bot.runtime.local_services import LocalRedis

    server = LocalRedis(tmp_path_factory.mktemp("redis"), free_port(), secrets.token_urlsafe(16))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def store_on(server, store_class=AtomicRedisLockStore):
    return store_class(host="127.0.0.1", port=server.port, password=server.password)


def issue_while_another_worker_issues(monkeypatch, first, second, conversation_id) -> list[int]:
    """`first` reads the lock; before it writes, `second` issues a ticket (the race two Rasa
    workers run into when one customer's messages arrive together)."""
    original_issue = TicketLock.issue_ticket
    interleaved: list[int] = []

    def issue_with_a_worker_in_between(lock: TicketLock, lifetime: float) -> int:
        if not interleaved:
            interleaved.append(-1)
            interleaved[0] = second.issue_ticket(conversation_id)
        return original_issue(lock, lifetime)

    monkeypatch.setattr(TicketLock, "issue_ticket", issue_with_a_worker_in_between)
    first_ticket = first.issue_ticket(conversation_id)
    monkeypatch.setattr(TicketLock, "issue_ticket", original_issue)
    return sorted([first_ticket, interleaved[0]])


def test_two_workers_issuing_at_once_get_different_tickets(redis_server, monkeypatch):
    conversation = f"race-{uuid.uuid4().hex}"
    tickets = issue_while_another_worker_issues(
        monkeypatch, store_on(redis_server), store_on(redis_server), conversation
    )
    assert tickets == [0, 1]
    lock = store_on(redis_server).get_lock(conversation)
    assert [ticket.number for ticket in lock.tickets] == [0, 1]


def test_rasas_redis_store_gives_both_workers_the_same_ticket(redis_server, monkeypatch):
    """Why shopdesk has its own store: the same interleaving breaks Rasa 3.6's."""
    conversation = f"race-{uuid.uuid4().hex}"
    tickets = issue_while_another_worker_issues(
        monkeypatch,
        store_on(redis_server, RedisLockStore),
        store_on(redis_server, RedisLockStore),
        conversation,
    )
    assert tickets == [0, 0]


def test_finishing_keeps_the_lock_for_whoever_waits_and_deletes_it_after_the_last(
    redis_server,
):
    store, conversation = store_on(redis_server), f"queue-{uuid.uuid4().hex}"
    first, second = store.issue_ticket(conversation), store.issue_ticket(conversation)
    assert store.get_lock(conversation).is_locked(second)

    store.cleanup(conversation, first)
    assert not store.get_lock(conversation).is_locked(second)

    store.cleanup(conversation, second)
    assert store.get_lock(conversation) is None


def hold_the_lock(port: int, password: str, conversation: str, start_at: float) -> None:
    """One Rasa worker: waits for the others, then handles three messages of the conversation."""
    store = AtomicRedisLockStore(host="127.0.0.1", port=port, password=password)
    log = redis_client.Redis(host="127.0.0.1", port=port, password=password)

    async def handle_messages() -> None:
        for _ in range(3):
            async with store.lock(conversation, wait_time_in_seconds=0.01):
                log.rpush(f"log:{conversation}", "enter")
                await asyncio.sleep(0.02)
                log.rpush(f"log:{conversation}", "leave")

    time.sleep(max(0.0, start_at - time.time()))
    asyncio.run(handle_messages())


def test_workers_in_separate_processes_never_hold_one_conversation_at_once(redis_server):
    conversation = f"workers-{uuid.uuid4().hex}"
    start_at = time.time() + 1.0
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(
            target=hold_the_lock,
            args=(redis_server.port, redis_server.password, conversation, start_at),
        )
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]

    log = redis_client.Redis(
        host="127.0.0.1", port=redis_server.port, password=redis_server.password
    )
    entries = [entry.decode() for entry in log.lrange(f"log:{conversation}", 0, -1)]
    assert entries == ["enter", "leave"] * 12
    assert store_on(redis_server).get_lock(conversation) is None


def test_redis_down_is_a_connection_error_so_the_channel_answers_503():
    store = AtomicRedisLockStore(host="127.0.0.1", port=free_port(), socket_timeout=1)
    with pytest.raises(redis_client.ConnectionError):
        store.issue_ticket("anyone")


def test_endpoints_yml_builds_it_with_rasas_redis_settings(redis_server, tmp_path: Path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "lock_store:\n"
        "  type: bot.runtime.lock_store.AtomicRedisLockStore\n"
        "  url: 127.0.0.1\n"
        f"  port: {redis_server.port}\n"
        f"  password: {redis_server.password}\n"
        "  db: 3\n"
        "  key_prefix: shopdesk\n"
    )
    store = LockStore.create(read_endpoint_config(str(endpoints), "lock_store"))
    assert isinstance(store, AtomicRedisLockStore)
    store.issue_ticket("configured")

    database_3 = redis_client.Redis(
        host="127.0.0.1", port=redis_server.port, password=redis_server.password, db=3
    )
    assert database_3.exists("shopdesk:lock:configured")
