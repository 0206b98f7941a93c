"""Calls to the Rasa server's HTTP API that shopdesk's own tools need."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request


def resume_conversation(rasa_url: str, conversation_id: str, token: str | None = None) -> None:
    """Give a paused conversation back to the bot (Rasa's ConversationResumed).

    Resume, then listen: the bot's last action was the handoff, and without an action_listen
    the customer's next message would be read as a reply to it.
    """
    url = (
        f"{rasa_url.rstrip('/')}/conversations/"
        f"{urllib.parse.quote(conversation_id, safe='')}/tracker/events"
    )
    if token:
        url += f"?token={urllib.parse.quote(token)}"
    events = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
    request = urllib.request.Request(
        url, data=json.dumps(events).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        tracker = json.loads(response.read() or b"{}")
    # Rasa 3.6's HTTP API (Sanic 21.12) does not unquote path parameters: an id with characters
    # that need quoting reaches another, new conversation. Say so rather than pretend.
    if tracker.get("sender_id") != conversation_id:
        raise ValueError(
            f"Rasa's HTTP API cannot address conversation {conversation_id!r}: it does not "
            f"unquote the id in the URL and resumed {tracker.get('sender_id')!r} instead"
        )
