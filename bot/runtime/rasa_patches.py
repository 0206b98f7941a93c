"""The patches of Rasa 3.6 internals that shopdesk needs, in one place, each checked at start-up
against the Rasa release it was written for (`check_patched_release`).

- database errors are not hidden behind Rasa's in-memory fallback
  (`install_strict_tracker_store`), so a message that could not be stored is refused (503);
- custom actions fail politely (`ShopdeskRemoteAction`): when Rasa cannot reach the action
  server the customer gets `utter_temporarily_unavailable` (domain.yml) instead of silence,
  and the action server's answers are checked against a schema compiled once;
- `/intent{...}` messages from public channels are text (`takes_intent_message`): only the
  payload of a button the bot sent in that conversation, `/session_start` and `/restart`,
  and anything from the HTTP API (which needs the token) are parsed as intents.

`bot.runtime.rasa_server` installs them before Rasa starts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.actions import action as rasa_actions
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

APOLOGY_RESPONSE = "utter_temporarily_unavailable"
FALLBACK_APOLOGY = "Sorry, I can't answer right now. Please try again in a few minutes."


class StartupError(Exception):
    """Something the server needs is missing or broken; the message says what and where."""


# The Rasa release every patch in this module was written against: on another, or when what a
# patch replaces is gone, the server does not start rather than run an unchecked patch.
PATCHED_RASA = "3.6."


def check_patched_release(what: str, present: bool) -> None:
    """StartupError unless this is the Rasa release the patch of `what` was written for and
    `what` is still there to replace."""
    import rasa

    if not rasa.__version__.startswith(PATCHED_RASA) or not present:
        raise StartupError(
            f"bot/runtime/rasa_patches.py patches Rasa {PATCHED_RASA}x's {what}; this is Rasa "
            f"{rasa.__version__}{'' if present else f' without {what}'}: check the patch first."
        )


class ShopdeskRemoteAction(rasa_actions.RemoteAction):
    """Rasa's RemoteAction, apologising to the customer when the action server fails, and
    checking the action server's answers against a schema compiled once.

    Rasa calls `jsonschema.validate`, which checks the schema itself again on every call:
    25 ms per answer on a 2-core machine, 0.3 ms compiled once (docs/benchmarks.md).
    """

    _response_validator: Any = None

    def _validate_action_result(self, result: dict[str, Any]) -> bool:
        from jsonschema import ValidationError
        from jsonschema.validators import validator_for

        cls = type(self)
        if cls._response_validator is None:
            spec = self.action_response_format_spec()
            cls._response_validator = validator_for(spec)(spec)
        try:
            cls._response_validator.validate(result)
        except ValidationError as error:
            error.message += (
                ". Failed to validate Action server response from API, make sure your "
                "response from the Action endpoint is valid."
            )
            raise
        return True

    async def run(self, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> list:
        try:
            return await super().run(output_channel, nlg, tracker, domain)
        except rasa_actions.ActionExecutionRejection:
            raise  # a form's validation said no: Rasa's normal flow
        except (RasaException, asyncio.TimeoutError) as error:
            logger.error(
                "Custom action %r failed (%s); the customer was asked to try again later.",
                self.name(),
                error,
            )
            message = await nlg.generate(APOLOGY_RESPONSE, tracker, output_channel.name())
            message = dict(message or {"text": FALLBACK_APOLOGY})
            message["answer_source"] = {"kind": "unavailable", "action": self.name()}
            await output_channel.send_response(tracker.sender_id, dict(message))
            return [rasa_actions.create_bot_utterance(message)]


def install_shopdesk_remote_action() -> None:
    """Everywhere Rasa makes a RemoteAction: custom actions, and forms' validation actions
    (`rasa.core.actions.forms` imported the class by name)."""
    from rasa.core.actions import forms

    check_patched_release("RemoteAction", hasattr(forms, "RemoteAction"))
    rasa_actions.RemoteAction = ShopdeskRemoteAction  # type: ignore[misc]
    forms.RemoteAction = ShopdeskRemoteAction  # type: ignore[misc]


def _tracker_store_without_memory_fallback(store: Any, domain: Any) -> Any:
    from rasa.core.tracker_store import InMemoryTrackerStore

    if store is None:
        return InMemoryTrackerStore(domain)
    store.domain = domain
    return store


def install_strict_tracker_store() -> None:
    """Let database errors reach the channel instead of being hidden.

    Rasa wraps every tracker store in `FailSafeTrackerStore`, which on a database error reads
    an empty conversation and saves it in memory: the customer is answered as a stranger and
    the message is lost while the client is told all is well. Without the wrapper the error
    reaches bot.channels.rest, which answers 503 so the client sends the message again.
    """
    from rasa.core.agent import Agent

    check_patched_release("Agent._create_tracker_store", hasattr(Agent, "_create_tracker_store"))
    Agent._create_tracker_store = staticmethod(_tracker_store_without_memory_fallback)


# ------------------------------------------- `/intent{...}` from customers is text
# Rasa's own conversation controls, which channels send for the customer (Telegram's
# /restart) and clients may send when a chat opens; they carry no entities.
CONTROL_MESSAGES = frozenset({"/session_start", "/restart"})
BUTTON_KEYS = ("buttons", "quick_replies")


def offered_payloads(tracker: Any) -> set[str]:
    """The payloads of every button the bot sent in this conversation (as Rasa keeps it)."""
    from rasa.shared.core.events import BotUttered

    payloads = set()
    for event in getattr(tracker, "events", None) or ():
        if not isinstance(event, BotUttered):
            continue
        for key in BUTTON_KEYS:
            for button in event.data.get(key) or ():
                payload = button.get("payload") if isinstance(button, dict) else None
                if isinstance(payload, str):
                    payloads.add(payload.strip())
    return payloads


def takes_intent_message(message: Any, tracker: Any) -> bool:
    """May Rasa's RegexMessageHandler read this message's `/intent{entities}` text?

    Yes for the HTTP API (no input channel: it needs the token), for Rasa's own controls,
    and for exactly the payload of a button the bot sent in this conversation. A customer
    who types `/track_order{"order_number": "538214"}` on a public channel is not
    answering a button: the text is classified like any other.
    """
    text = (message.text or "").strip()
    if not text.startswith("/") or message.input_channel is None:
        return True
    return text in CONTROL_MESSAGES or text in offered_payloads(tracker)


def _parse_intent_messages_only_when_offered(
    self: Any, message: Any, tracker: Any, only_output_properties: bool = True
) -> dict[str, Any]:
    """`MessageProcessor._parse_message_with_graph`, stopping before RegexMessageHandler
    when the message may not be read as an intent (`takes_intent_message`)."""
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
    from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler

    if takes_intent_message(message, tracker):
        return _rasa_parse_message_with_graph(self, message, tracker, only_output_properties)
    handler = self.model_metadata.predict_schema.nodes.get(self.model_metadata.nlu_target)
    if handler is None or handler.uses is not RegexMessageHandler:
        # Not the graph this was written for: refuse the message rather than obey it.
        raise RasaException(f"{self.model_metadata.nlu_target!r} is not RegexMessageHandler")
    before_handler = handler.needs["messages"]  # the NLU pipeline's last component
    results = self.graph_runner.run(
        inputs={PLACEHOLDER_MESSAGE: [message], PLACEHOLDER_TRACKER: tracker},
        targets=[before_handler],
    )
    parse_data: dict[str, Any] = {
        "text": "",
        "intent": {"name": None, "confidence": 0.0},
        "entities": [],
    }
    parse_data.update(
        results[before_handler][0].as_dict(only_output_properties=only_output_properties)
    )
    return parse_data


_rasa_parse_message_with_graph: Any = None


def install_intent_messages_only_from_buttons() -> None:
    """Replace MessageProcessor._parse_message_with_graph (see `takes_intent_message`).

    Checked first: on another Rasa release, or if the method's parameters changed, the
    server does not start (StartupError) instead of running an unchecked patch.
    """
    import inspect

    import rasa
    from rasa.core.processor import MessageProcessor

    global _rasa_parse_message_with_graph
    original = MessageProcessor._parse_message_with_graph
    if original is _parse_intent_messages_only_when_offered:
        return
    parameters = list(inspect.signature(original).parameters)
    if not rasa.__version__.startswith(PATCHED_RASA) or parameters != [
        "self",
        "message",
        "tracker",
        "only_output_properties",
    ]:
        raise StartupError(
            f"bot/runtime/rasa_patches.py patches Rasa {PATCHED_RASA}x's "
            f"MessageProcessor._parse_message_with_graph; this is Rasa {rasa.__version__} "
            f"with parameters {parameters}: check the patch against it first."
        )
    _rasa_parse_message_with_graph = original
    MessageProcessor._parse_message_with_graph = _parse_intent_messages_only_when_offered
