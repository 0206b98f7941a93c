"""The `shopdesk` command: run the bot, train when needed, orders and handoffs, and the
learning loop (read logged conversations, review them, export training data, retrain)."""

from __future__ import annotations

import argparse

from bot.cli.conversations import add_conversation_parsers
from bot.cli.db import add_db_parser
from bot.cli.learning import add_learning_parsers
from bot.cli.orders import add_orders_parser
from bot.cli.review import add_review_parser
from bot.cli.run import add_run_parsers
from bot.cli.staff import add_staff_parser


def build_parser() -> argparse.ArgumentParser:
    """Every command group's module registers its subcommands."""
    parser = argparse.ArgumentParser(prog="shopdesk", description=__doc__)
    subcommands = parser.add_subparsers(dest="command", required=True)
    for register in (
        add_run_parsers,
        add_orders_parser,
        add_conversation_parsers,
        add_db_parser,
        add_review_parser,
        add_learning_parsers,
        add_staff_parser,
    ):
        register(subcommands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)
