"""`shopdesk up`, `train`, `review-app` and `webchat`: running the bot and its web apps."""

from __future__ import annotations

import argparse
from typing import Any

from bot.runtime.models import train_if_needed
from bot.runtime.up import add_up_parser


def command_train(args: argparse.Namespace) -> int:
    train_if_needed(force=args.force)
    return 0


def command_review_app(args: argparse.Namespace) -> int:
    from bot.review_app import create_app

    create_app().run(
        host=args.host, port=args.port, workers=args.workers, access_log=False, debug=False
    )
    return 0


def command_webchat(args: argparse.Namespace) -> int:
    from bot.channels.webchat import create_app

    create_app(args.socket_url).run(
        host=args.host, port=args.port, workers=1, access_log=False, debug=False
    )
    return 0


def add_run_parsers(subcommands: Any) -> None:
    """The commands that run something."""
    add_up_parser(subcommands)
    train = subcommands.add_parser("train", help="`rasa train` unless the model is up to date")
    train.add_argument("--force", action="store_true", help="train even if nothing changed")
    train.set_defaults(handler=command_train)
    app = subcommands.add_parser("review-app", help="serve the review app on its own")
    app.add_argument("--host", default="127.0.0.1")
    app.add_argument("--port", type=int, default=5010)
    app.add_argument("--workers", type=int, default=1)
    app.set_defaults(handler=command_review_app)

    webchat = subcommands.add_parser("webchat", help="serve the web chat widget on its own")
    webchat.add_argument("--host", default="127.0.0.1")
    webchat.add_argument("--port", type=int, default=5020)
    webchat.add_argument(
        "--socket-url", default=None, help="the Rasa server (default $SHOPDESK_SOCKET_URL)"
    )
    webchat.set_defaults(handler=command_webchat)
