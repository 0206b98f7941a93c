"""`rasa` as shopdesk runs it: checked before it starts, polite when the action server is down.

`python -m bot.rasa_server run --model models/ --endpoints endpoints.yml ...` takes the same
arguments as `rasa`. Before handing over to Rasa's own command line it checks

- the model archive: it must exist and unpack whole (a truncated or corrupt archive would
  otherwise leave `rasa run` up without a model, answering nothing);
- the database and, when endpoints.yml names one, the Redis lock store: unreachable, and the
  server does not start (Rasa would retry for minutes, or fall back to memory);

and exits with status 2 and one line naming what is wrong.

It is closed by default (`server_arguments`): the server binds 127.0.0.1 unless `--interface`
names another address, and with `--enable-api` the API always has a token: `--auth-token`,
else RASA_AUTH_TOKEN from the environment, else development's in `.shopdesk/secrets.env`.
The token is added inside this process, so it never shows on a command line (`ps`). With
SHOPDESK_ACTION_SERVER_TOKEN set, an action endpoint that does not send it is a start-up
error: shopdesk's action server would refuse every call with 401. Unset, development's secret
(`.shopdesk/secrets.env`, as the action server reads it) fills in the endpoints file's
`${SHOPDESK_ACTION_SERVER_TOKEN}`.

It also changes three things Rasa has no setting for, before Rasa starts:

- database errors are not hidden behind Rasa's in-memory fallback
  (`install_strict_tracker_store`), so a message that could not be stored is refused (503);
- custom actions fail politely: when Rasa cannot reach the action server it logs the error
  and goes on as if the action had said nothing, so the customer waits for an answer that
  never comes. Here (`ShopdeskRemoteAction`) the customer gets
  `utter_temporarily_unavailable` (domain.yml), and the next message reaches the action
  server again once it is back. The same class checks the action server's answers against
  a schema compiled once, where Rasa recompiles it for every answer;
- `/intent{...}` messages from public channels are text (`takes_intent_message`): Rasa's
  RegexMessageHandler would otherwise let a customer set any intent and entities (say,
  `/track_order{"order_number": "538214"}`), skipping the classifier. It still reads the
  payload of a button the bot sent in that conversation, `/session_start` and `/restart`,
  and anything from the HTTP API (which needs the token); `trigger_intent` never parses.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

from rasa.core.actions import action as rasa_actions
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

APOLOGY_RESPONSE = "utter_temporarily_unavailable"
FALLBACK_APOLOGY = "Sorry, I can't answer right now. Please try again in a few minutes."


class StartupError(Exception):
    """Something the server needs is missing or broken; the message says what and where."""


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

    Agent._create_tracker_store = staticmethod(_tracker_store_without_memory_fallback)


# ------------------------------------------- `/intent{...}` from customers is text

# The Rasa release the patch below was written against (rasa/core/processor.py).
PATCHED_RASA = "3.6."
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
            f"bot/rasa_server.py patches Rasa {PATCHED_RASA}x's "
            f"MessageProcessor._parse_message_with_graph; this is Rasa {rasa.__version__} "
            f"with parameters {parameters}: check the patch against it first."
        )
    _rasa_parse_message_with_graph = original
    MessageProcessor._parse_message_with_graph = _parse_intent_messages_only_when_offered


def option(argv: list[str], name: str) -> str | None:
    """The value of `--name value` or `--name=value` in a command line."""
    for index, argument in enumerate(argv):
        if argument == name and index + 1 < len(argv):
            return argv[index + 1]
        if argument.startswith(name + "="):
            return argument.split("=", 1)[1]
    return None


def check_model(model: str | None) -> Path:
    """The archive Rasa will load, unpacked once to prove it is whole."""
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    from bot.project import latest_model

    path = Path(model or "models")
    if path.is_dir():
        archive = latest_model(path)
        if archive is None:
            raise StartupError(f"{path}: no model archive (*.tar.gz) here; run `rasa train`.")
        path = archive
    if not path.is_file():
        raise StartupError(f"{path}: model archive not found.")
    try:
        LocalModelStorage.metadata_from_archive(path)
    except Exception as error:  # tarfile, gzip, zlib and JSON errors alike
        raise StartupError(
            f"{path}: not a usable Rasa model archive ({type(error).__name__}: {error}); "
            "train again or restore it."
        ) from error
    return path


def check_database(url: str | None = None) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from bot.database import db_url, engine_for

    url = url or db_url()
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        engine = engine_for(url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise StartupError(f"database {shown} cannot be reached: {reason}") from error


def check_lock_store(endpoints: str | None) -> None:
    """Ping the Redis lock store endpoints.yml names, if any (built as Rasa will build it)."""
    if not endpoints or not Path(endpoints).is_file():
        return
    import redis
    from rasa.core.lock_store import LockStore, RedisLockStore
    from rasa.utils.endpoints import read_endpoint_config

    store = LockStore.create(read_endpoint_config(endpoints, "lock_store"))
    if not isinstance(store, RedisLockStore):
        return
    where = "{host}:{port}".format(**store.red.connection_pool.connection_kwargs)
    try:
        store.red.ping()
    except redis.RedisError as error:
        raise StartupError(f"Redis lock store {where} cannot be reached: {error}") from error


def check_action_endpoint(endpoints: str | None, secret: str | None = None) -> None:
    """The action endpoint, if any, must send `secret` (SHOPDESK_ACTION_SERVER_TOKEN as the
    caller set it: `shopdesk up`, production) and must be readable (its `${...}` set)."""
    from rasa.shared.exceptions import RasaException
    from rasa.utils.endpoints import read_endpoint_config

    from bot.access import ACTION_TOKEN

    if not endpoints or not Path(endpoints).is_file():
        return
    secret = secret if secret is not None else os.environ.get(ACTION_TOKEN)
    try:
        action = read_endpoint_config(endpoints, "action_endpoint")
    except RasaException as error:  # e.g. ${SHOPDESK_ACTION_SERVER_TOKEN} not set
        raise StartupError(f"{endpoints}: {error}") from error
    if action is None or not action.url or not secret:
        return
    headers = {name.lower(): value for name, value in action.headers.items()}
    if headers.get("authorization") != f"Bearer {secret}":
        raise StartupError(
            f"{endpoints}: action_endpoint must send the action server's secret, "
            f"headers: {{Authorization: Bearer ${{{ACTION_TOKEN}}}}} (it answers 401 without)"
        )


def is_server_run(argv: list[str]) -> bool:
    """`run`, not `run actions` (rasa-sdk's server) or any other command."""
    return bool(argv) and argv[0] == "run" and not (len(argv) > 1 and argv[1] == "actions")


def server_arguments(argv: list[str]) -> list[str]:
    """`argv` with loopback as the default interface and, with the API on, a token."""
    from bot.access import LOOPBACK, RASA_TOKEN, development_secrets

    if not is_server_run(argv):
        return argv
    argv = list(argv)
    if option(argv, "--interface") is None and option(argv, "-i") is None:
        argv += ["--interface", LOOPBACK]
    has_token = option(argv, "--auth-token") is not None or option(argv, "-t") is not None
    if "--enable-api" in argv and not has_token:
        # One argument with "=": a random token may begin with "-", which argparse would
        # take for an option ("expected one argument"). The environment's token comes first.
        argv += [f"--auth-token={development_secrets()[RASA_TOKEN]}"]
    return argv


def preflight(argv: list[str]) -> None:
    from bot.access import ACTION_TOKEN, development_secrets

    if not is_server_run(argv):
        return  # only the server needs a model and the stores
    check_model(option(argv, "--model") or option(argv, "-m"))
    check_database()
    check_lock_store(option(argv, "--endpoints"))
    given = os.environ.get(ACTION_TOKEN) or ""
    if not given:  # on its own in development: the secret kept beside the action server's
        os.environ[ACTION_TOKEN] = development_secrets()[ACTION_TOKEN]
    check_action_endpoint(option(argv, "--endpoints"), given)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        preflight(argv)
    except StartupError as error:
        print(f"shopdesk: the Rasa server cannot start: {error}", file=sys.stderr)
        return 2
    try:
        install_intent_messages_only_from_buttons()
    except StartupError as error:
        print(f"shopdesk: the Rasa server cannot start: {error}", file=sys.stderr)
        return 2
    install_shopdesk_remote_action()
    install_strict_tracker_store()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *server_arguments(argv)]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
