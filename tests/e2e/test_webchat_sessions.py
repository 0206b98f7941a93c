"""The web chat's signed session ids and rate limits against the running bot's Socket.IO
channel."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

import pytest

from tests.helpers.logged_conversations import stored_events
from tests.helpers.webchat import SIGNED_ID

TIMEOUT = 120  # seconds; a loaded 2-core machine answers slowly


# ------------------------------------------------------------------ the real bot, live


class Chat:
    """A socket.io client from one loopback address, collecting what the server emits."""

    def __init__(self, client) -> None:
        self.client = client
        self.confirmed: asyncio.Queue = asyncio.Queue()
        self.uttered: asyncio.Queue = asyncio.Queue()
        client.on("session_confirm", self.confirmed.put)
        client.on("bot_uttered", self.uttered.put)

    async def session(self, presented: str | None = None) -> str:
        await self.client.emit("session_request", {"session_id": presented})
        return await asyncio.wait_for(self.confirmed.get(), TIMEOUT)

    async def say(self, text: str, session_id: str | None, **extra) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": session_id, **extra})

    async def next_uttered(self) -> dict:
        return await asyncio.wait_for(self.uttered.get(), TIMEOUT)

    async def refusal(self) -> dict:
        """The next refusal, passing over the bot's answers to earlier messages."""
        while "refused" not in (uttered := await self.next_uttered()):
            pass
        return uttered["refused"]


@asynccontextmanager
async def chat(bot, address: str):
    import aiohttp
    import socketio

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))
    client = socketio.AsyncClient(http_session=session, reconnection=False)
    try:
        # Long polling: engineio's websocket client needs a newer aiohttp than Rasa's pin.
        await client.connect(f"http://127.0.0.1:{bot.ports['rasa']}", transports=["polling"])
        yield Chat(client)
    finally:
        await client.disconnect()
        await session.close()


def user_texts(databases, sender: str) -> list[str]:
    events = stored_events(databases["SHOPDESK_DB_URL"], sender)
    return [event["text"] for event in events if event["event"] == "user"]


async def stored(databases, sender: str, count: int) -> list[dict]:
    """The user events of `sender` once `count` are stored (Rasa answers socket.io messages
    in the background: nothing to await but the database)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        events = [
            e for e in stored_events(databases["SHOPDESK_DB_URL"], sender) if e["event"] == "user"
        ]
        if len(events) >= count or time.monotonic() > deadline:
            return events
        await asyncio.sleep(0.2)


@pytest.mark.slow
def test_the_server_issues_the_id_and_a_reload_keeps_it(bot, databases):
    async def scenario():
        async with chat(bot, "127.0.0.31") as first:
            issued = await first.session()
            assert SIGNED_ID.fullmatch(issued)
            await first.say("hello", issued, metadata={"client_address": "6.6.6.6"})
            assert (await first.next_uttered()).get("text")
        async with chat(bot, "127.0.0.31") as reloaded:  # the widget presents what it kept
            assert await reloaded.session(issued) == issued
            await reloaded.say("thanks", issued)
            assert (await reloaded.next_uttered()).get("text")
        return issued

    issued = asyncio.run(scenario())
    events = asyncio.run(stored(databases, issued, 2))
    assert [event["text"] for event in events] == ["hello", "thanks"]
    assert events[0]["metadata"]["client_address"] == "127.0.0.31"  # the server's, not 6.6.6.6


@pytest.mark.slow
def test_a_made_up_or_tampered_id_gets_a_fresh_one_and_reaches_no_other_conversation(
    bot, databases
):
    victim = f"victim-{time.time_ns()}"
    assert bot.say(victim, "hello")  # someone's REST conversation

    async def scenario():
        async with chat(bot, "127.0.0.32") as owner:
            owners = await owner.session()
        async with chat(bot, "127.0.0.33") as attacker:
            nonce, signature = owners.split(".")
            for presented in (victim, f"{nonce}.{'A' * 43}", f"{'0' * 32}.{signature}"):
                issued = await attacker.session(presented)
                assert issued != presented and issued != owners and SIGNED_ID.fullmatch(issued)
            # Naming the other conversations in a message does not reach them either.
            for target in (victim, owners):
                await attacker.say("I am the customer, send me the invoice", target)
                assert (await attacker.refusal())["reason"] == "session"
            return owners, issued

    owners, attackers = asyncio.run(scenario())
    assert user_texts(databases, victim) == ["hello"]
    assert user_texts(databases, owners) == []
    assert user_texts(databases, attackers) == []


@pytest.mark.slow
def test_a_message_before_the_session_is_refused(bot, databases):
    async def scenario():
        async with chat(bot, "127.0.0.34") as client:
            await client.say("hello", None)
            refused = await client.refusal()
            assert refused == {"reason": "session", "message": "hello"}
            return await client.session()

    issued = asyncio.run(scenario())
    assert user_texts(databases, issued) == []


@pytest.mark.slow
def test_socketio_over_the_sender_limit_is_refused_with_the_wait(bot, databases):
    from tests.helpers.channels import configured

    allowed = configured("bot.channels.socketio.SocketIOInput").per_sender[0]
    texts = [f"hello number {n}" for n in range(allowed.amount + 1)]

    async def scenario():
        async with chat(bot, "127.0.0.35") as client:
            issued = await client.session()
            for text in texts:  # at once, without waiting for answers
                await client.say(text, issued)
            refused = await client.refusal()
            return issued, refused, await stored(databases, issued, allowed.amount)

    issued, refused, events = asyncio.run(scenario())
    assert refused["reason"] == "rate_limited" and refused["message"] in texts
    assert 1 <= refused["retry_after"] <= allowed.get_expiry() + 1
    assert sorted(event["text"] for event in events) == sorted(set(texts) - {refused["message"]})
