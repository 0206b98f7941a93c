"""Short replies to messages that ask for nothing: "ok", "hmm", "👍", "?", "are you there?".

Such a message is no question, so neither a template nor "please rephrase" fits. A nudge
("?", "hello?", "are you there?") gets "I'm here"; an acknowledgment gets a short "all right"
outside the order form and nothing inside it, where the form's own "Back to your order"
follows at once and a second sentence would only be noise.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.form_turns import ORDER_FORM

_NUDGE = re.compile(r"\?|\b(there|here|hello|hallo|anyone|anybody)\b", re.IGNORECASE)


def is_nudge(text: str) -> bool:
    """The customer checks whether the bot is still there, rather than acknowledging."""
    return bool(_NUDGE.search(text))


class ActionAcknowledge(Action):
    """Acknowledge an acknowledgment, answer a nudge; silent where the form asks next."""

    def name(self) -> str:
        return "action_acknowledge"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = str((tracker.latest_message or {}).get("text") or "")
        in_form = (tracker.active_loop or {}).get("name") == ORDER_FORM
        if is_nudge(text):
            response = "utter_still_here_in_form" if in_form else "utter_still_here"
            dispatcher.utter_message(response=response)
        elif not in_form:
            dispatcher.utter_message(response="utter_acknowledged")
        return []
