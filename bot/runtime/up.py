"""`shopdesk up`: train if needed, then start and supervise the action server, the Rasa server,
the review app and the web chat, in development or production mode.

Every server binds 127.0.0.1 unless `--host` names another address (the action server has
its own `--actions-host`: only the Rasa server calls it). The Rasa HTTP API's token and the
action server's secret come from the environment in production and from
`.shopdesk/secrets.env` in development (bot/runtime/access.py); they reach the servers through the
environment, never a command line.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from bot.runtime.access import (
    ACTION_TOKEN,
    LOOPBACK,
    RASA_TOKEN,
    AccessConfigError,
    development_secrets,
    url_host,
    webchat_origins,
)
from bot.runtime.local_services import ServiceError
from bot.runtime.models import train_if_needed
from bot.runtime.processes import (
    Service,
    endpoints_for_action_port,
    start_action_server,
    start_all,
    start_rasa_server,
    start_review_app,
    start_webchat,
    stop,
    supervise,
)


def ensure_first_admin() -> None:
    """A fresh install gets one admin with a random password, printed once (as Rasa X did)."""
    import secrets

    from bot.storage.staff import StaffAccounts

    accounts = StaffAccounts()
    if accounts.count() == 0:
        password = secrets.token_urlsafe(12)
        accounts.create("admin", password, "admin")
        print(
            "Created the review app's first account: user 'admin', password "
            f"'{password}' (shown once; change it with `shopdesk staff password admin`)."
        )


def ensure_sample_orders() -> None:
    """The demo store's orders, unless a shop's own database is configured (never touched)."""
    from bot.answers.orders import create_sample_orders, sample_orders_exist
    from bot.settings import orders_db_url

    if "SHOPDESK_ORDERS_DB_URL" in os.environ or sample_orders_exist(orders_db_url()):
        return
    count = create_sample_orders(orders_db_url(), count=200)
    print(f"Created {count} sample orders in {orders_db_url()}")


def production_settings(args: argparse.Namespace, stores: list) -> dict[str, str]:
    """The production environment (local PostgreSQL and Redis started first if asked)."""
    from bot.runtime.production import (
        production_environment,
        rasa_worker_environment,
        start_local_stores,
    )

    environ = dict(os.environ)
    if args.local_services:
        local, started = start_local_stores(
            postgres_port=args.postgres_port, redis_port=args.redis_port
        )
        stores.extend(started)
        environ.update(local)
    environ = production_environment(environ)
    environ.update(
        rasa_worker_environment(args.workers, args.actions_port, url_host(args.actions_host))
    )
    return environ


def access_settings(production: bool) -> dict[str, str]:
    """The API token and the action server's secret for every server, and the API token for
    the review app's handoffs. Production has checked them; development keeps its own."""
    if production:
        tokens = {name: os.environ[name] for name in (RASA_TOKEN, ACTION_TOKEN)}
    else:
        tokens = development_secrets()
    return {**tokens, "SHOPDESK_RASA_TOKEN": tokens[RASA_TOKEN]}


def command_up(args: argparse.Namespace) -> int:
    from bot.runtime.production import ENDPOINTS, ProductionConfigError
    from bot.runtime.rasa_server import StartupError, check_database
    from bot.storage.database import upgrade

    stores: list = []
    services: list[Service] = []

    def shut_down(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shut_down)
    try:
        if args.production:
            os.environ.update(production_settings(args, stores))
        os.environ.update(access_settings(args.production))
        origins = webchat_origins(args.webchat_origin, args.webchat_port, args.host)
        check_database()  # a clear line, not a traceback, when it is down
        model = args.model or train_if_needed()
        upgrade()  # before the servers start, so they never race to create tables
        ensure_first_admin()
        ensure_sample_orders()

        local = url_host(args.host)
        base = f"http://{local}:{args.port}"
        if args.production:
            endpoints = ENDPOINTS
        else:
            endpoints = endpoints_for_action_port(args.actions_port, args.actions_host)
        actions = f"http://{url_host(args.actions_host)}:{args.actions_port}"
        services = [
            Service(
                "action server",
                lambda: start_action_server(args.actions_port, args.actions_host),
                f"{actions}/health",
            ),
            Service(
                "Rasa server",
                lambda: start_rasa_server(args.port, model, endpoints, origins, args.host),
                f"{base}/",  # /status needs the token
            ),
            Service(
                "review app",
                lambda: start_review_app(args.review_port, base, args.host),
                f"http://{local}:{args.review_port}/health",
            ),
            Service(
                "web chat",
                lambda: start_webchat(args.webchat_port, base, args.host),
                f"http://{local}:{args.webchat_port}/health",
            ),
        ]
        start_all(services)
        print_running(args, base, model, origins)
        failed = supervise(services)
        print(f"shopdesk: the {failed} keeps exiting; stopping everything.", file=sys.stderr)
        return 1
    except (ProductionConfigError, StartupError, ServiceError, AccessConfigError) as error:
        print(f"shopdesk: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nStopping shopdesk ...", flush=True)
        return 0
    finally:
        stop([service.process for service in services if service.process is not None])
        for store in reversed(stores):
            store.stop()


def print_running(args: argparse.Namespace, base: str, model: Path, origins: list[str]) -> None:
    """Where to talk to it; never a secret (terminal output ends up in logs)."""
    mode = "development"
    where = "the environment" if args.production else ".shopdesk/secrets.env"
    if args.production:
        mode = f"production, {os.environ['SANIC_WORKERS']} Rasa workers"
    local = url_host(args.host)
    print(
        f"\nshopdesk is running.\n  Mode:          {mode}, listening on {args.host}\n"
        f"  Chat (REST):   curl -s {base}/webhooks/rest/webhook "
        '-H "Content-Type: application/json" '
        '-d \'{"sender": "me", "message": "where is my order 482913?"}\'\n'
        f'  Parse (API):   curl -s "{base}/model/parse?token=$RASA_AUTH_TOKEN" '
        f'-d \'{{"text": "refund please"}}\'   (RASA_AUTH_TOKEN: {where})\n'
        f"  Rasa server:   {base}   (model {model.name}; CORS: {' '.join(origins)})\n"
        f"  Action server: http://{url_host(args.actions_host)}:{args.actions_port}   "
        f"(/metrics; calls need {ACTION_TOKEN})\n"
        f"  Review app:    http://{local}:{args.review_port}   (support staff log in)\n"
        f"  Web chat:      http://{local}:{args.webchat_port}   (a demo shop page)\n"
        "  Stop:          Ctrl+C\n",
        flush=True,
    )


def add_up_parser(subcommands: argparse._SubParsersAction) -> None:
    up = subcommands.add_parser("up", help="train if needed, start action server and Rasa server")
    up.add_argument("--port", type=int, default=5005, help="Rasa server port (default 5005)")
    up.add_argument(
        "--actions-port",
        type=int,
        default=5055,
        help="action server port (default 5055, as in endpoints.yml)",
    )
    up.add_argument("--review-port", type=int, default=5010, help="review app port (default 5010)")
    up.add_argument(
        "--webchat-port", type=int, default=5020, help="web chat widget port (default 5020)"
    )
    up.add_argument(
        "--host",
        default=LOOPBACK,
        help="address the Rasa server, review app and web chat bind (default 127.0.0.1: this "
        "machine only; 0.0.0.0 for every interface)",
    )
    up.add_argument(
        "--actions-host",
        default=LOOPBACK,
        help="address the action server binds (default 127.0.0.1; only Rasa calls it)",
    )
    up.add_argument(
        "--webchat-origin",
        action="append",
        default=None,
        metavar="ORIGIN",
        help="a page origin allowed by the Rasa server's CORS, e.g. https://shop.example "
        "(repeatable; default $SHOPDESK_WEBCHAT_ORIGINS, else the web chat's own page)",
    )
    up.add_argument(
        "--model",
        type=Path,
        default=None,
        help="serve this model archive instead of training when needed",
    )
    up.add_argument(
        "--production",
        action="store_true",
        help="PostgreSQL, Redis lock store, several Rasa workers, API token "
        "(settings from environment variables; see the README)",
    )
    up.add_argument(
        "--workers", type=int, default=2, help="Rasa server workers in production (default 2)"
    )
    up.add_argument(
        "--local-services",
        action="store_true",
        help="with --production: start this machine's PostgreSQL and Redis on loopback "
        "under .shopdesk/production/",
    )
    up.add_argument("--postgres-port", type=int, default=5433)
    up.add_argument("--redis-port", type=int, default=6380)
    up.set_defaults(handler=command_up)
