"""`rasa` as shopdesk runs it: checked before it starts, polite when the action server is down.

`python -m bot.runtime.rasa_server run --model models/ --endpoints endpoints.yml ...` takes the same
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

It also installs, before Rasa starts, the three patches of `bot/runtime/rasa_patches.py`
(no in-memory fallback for database errors, an apology when the action server is down,
`/intent{...}` from customers read as text).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from bot.runtime.rasa_patches import (
    StartupError,
    install_intent_messages_only_from_buttons,
    install_shopdesk_remote_action,
    install_strict_tracker_store,
)

logger = logging.getLogger(__name__)

__all__ = ["StartupError", "main", "preflight"]


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

    from bot.runtime.models import latest_model

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

    from bot.settings import db_url
    from bot.storage.database import engine_for

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

    from bot.runtime.access import ACTION_TOKEN

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
    from bot.runtime.access import LOOPBACK, RASA_TOKEN, development_secrets

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
    from bot.runtime.access import ACTION_TOKEN, development_secrets

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
