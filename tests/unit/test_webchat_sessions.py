"""The web chat's session ids are issued and signed by the server, and its messages are rate
limited (bot/channels/socketio.py): against the real bot of the session (`bot` in
conftest.py), with python-socketio's client (installed with Rasa) as a browser would talk.

Each test connects from its own loopback address (127.0.0.x), as in test_channel_limits.py.
"""

from __future__ import annotations

from tests.helpers.webchat import SIGNED_ID

# ------------------------------------------------------------------ without a server


def test_session_ids_are_signed_and_only_ours_verify():
    from bot.channels.sender_ids import sender_id_problem
    from bot.channels.socketio import SessionIds

    ours, theirs = SessionIds(b"k" * 32), SessionIds(b"j" * 32)
    issued = ours.issue()
    assert SIGNED_ID.fullmatch(issued) and sender_id_problem(issued) is None
    assert ours.verify(issued) and issued != ours.issue()
    nonce, signature = issued.split(".")
    other = theirs.issue()
    for forged in (
        theirs.issue(),  # another key
        f"{nonce}.{other.split('.')[1]}",  # our nonce, someone else's signature
        f"{'0' * 32}.{signature}",  # our signature on another nonce
        issued[:-1] + ("A" if issued[-1] != "A" else "B"),
        issued + "x",
        "victim-42",
        None,
        ["list"],
    ):
        assert not ours.verify(forged), forged


def test_the_session_key_is_the_dedicated_secret_or_derived_from_the_api_token():
    from bot.channels.socketio import SessionIds

    derived = SessionIds.from_environment({"RASA_AUTH_TOKEN": "t0ken"})
    assert derived.key == SessionIds.from_environment({"RASA_AUTH_TOKEN": "t0ken"}).key
    assert b"t0ken" not in derived.key  # never the API token itself
    assert derived.verify(SessionIds.from_environment({"RASA_AUTH_TOKEN": "t0ken"}).issue())
    given = {"SHOPDESK_WEBCHAT_SECRET": "webchat-secret", "RASA_AUTH_TOKEN": "t0ken"}
    assert SessionIds.from_environment(given).key == b"webchat-secret"


def test_refusals_say_why_and_return_the_message():
    from bot.channels.socketio import refusal

    limited = refusal("rate_limited", "where is my order?", 7)
    assert "wait 7 seconds" in limited["text"]
    assert limited["refused"] == {
        "reason": "rate_limited",
        "message": "where is my order?",
        "retry_after": 7,
    }
    assert refusal("session", None)["refused"] == {"reason": "session"}
