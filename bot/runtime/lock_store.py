"""Rasa's `RedisLockStore` with every change to a conversation's lock made atomically.

Rasa Open Source 3.6's `RedisLockStore` changes a lock by reading it from Redis, editing it in
Python and writing it back. Two Rasa workers that do this at the same moment overwrite each
other. The worst case is a conversation's first messages arriving together: both workers find
no lock, both create one holding ticket 0, and both handle a message at once. The second
worker's `SQLTrackerStore.save` then counts the first worker's events as already stored and
silently drops its own user message. (Rasa's docs call only Rasa Pro's
`ConcurrentRedisLockStore` safe for several replicas.)

This store keeps Rasa's ticket lock and its Redis layout, and does each read-edit-write inside
a Redis transaction that watches the lock's key (redis-py's `Redis.transaction`): if another
worker changed the key in between, the edit is redone on the new value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

Result = TypeVar("Result")

# An edit gets the lock as stored (None when there is none) and returns the lock to store
# (None deletes it) and the value the caller wants back.
LockEdit = Callable[[TicketLock | None], tuple[TicketLock | None, Result]]


class AtomicRedisLockStore(RedisLockStore):
    """Ticket locks in Redis that several Rasa workers and replicas can share.

    endpoints.yml: `lock_store: {type: bot.runtime.lock_store.AtomicRedisLockStore, url: ..., port:
    ..., password: ..., db: ..., key_prefix: ...}`, the same keys as Rasa's `type: redis`.
    """

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        # Rasa builds lock stores named by module path with `endpoint_config=` only.
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs}
        super().__init__(**kwargs)

    def _edit_lock(self, conversation_id: str, edit: LockEdit[Result]) -> Result:
        key = self.key_prefix + conversation_id

        def read_edit_write(pipe: Any) -> Result:
            stored = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(stored)) if stored else None
            new_lock, result = edit(lock)
            pipe.multi()
            if new_lock is None:
                pipe.delete(key)
            else:
                pipe.set(key, new_lock.dumps())
            return result

        return self.red.transaction(read_edit_write, key, value_from_callable=True)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._edit_lock(conversation_id, issue)
        except (RedisConnectionError, RedisTimeoutError):
            raise  # Redis is down: the channel answers 503 and the client sends again
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._edit_lock(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def remove_ticket(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._edit_lock(conversation_id, remove_ticket)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove the ticket, and the lock once no one waits: one step, or a ticket issued
        between the two would be deleted with the lock."""

        def remove_ticket(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
                if not lock.is_someone_waiting():
                    lock = None
            return lock, None

        self._edit_lock(conversation_id, remove_ticket)
