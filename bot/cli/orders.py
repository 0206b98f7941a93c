"""`shopdesk orders`: the demo store's sample orders and signed order tokens."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def command_orders_init(args: argparse.Namespace) -> int:
    from bot.answers.orders import create_sample_orders, sample_orders_exist
    from bot.settings import orders_db_url

    if args.if_missing and sample_orders_exist(orders_db_url()):
        return 0
    count = create_sample_orders(orders_db_url(), count=args.count)
    print(f"Created {count} sample orders in {orders_db_url()}")
    return 0


def command_orders_token(args: argparse.Namespace) -> int:
    """Print a signed order token, as a shop's server mints one (bot/answers/order_tokens.py)."""
    from bot.answers.order_tokens import OrderTokenError, mint

    try:
        print(mint(args.number, ttl_seconds=args.ttl))
    except OrderTokenError as error:
        print(f"shopdesk: {error}", file=sys.stderr)
        return 2
    return 0


def add_orders_parser(subcommands: Any) -> None:
    """`shopdesk orders init|token`."""
    orders = subcommands.add_parser("orders", help="the demo store's sample orders")
    orders_commands = orders.add_subparsers(dest="orders_command", required=True)
    init = orders_commands.add_parser("init", help="(re)create the sample orders database")
    init.add_argument("--count", type=int, default=200)
    init.add_argument("--if-missing", action="store_true", help="only when there is none")
    init.set_defaults(handler=command_orders_init)
    token = orders_commands.add_parser(
        "token",
        help="mint a signed order token (as the shop's server does; $SHOPDESK_ORDER_TOKEN_SECRET)",
    )
    token.add_argument("number", help="the order number the token vouches for")
    token.add_argument("--ttl", type=int, default=3600, help="seconds it stays valid")
    token.set_defaults(handler=command_orders_token)
