"""`shopdesk db upgrade`: create or migrate shopdesk's tables."""

from __future__ import annotations

import argparse
from typing import Any


def command_db_upgrade(args: argparse.Namespace) -> int:
    from bot.settings import db_url
    from bot.storage.database import current_revision, engine_for, upgrade

    upgrade(db_url(), args.revision)
    print(f"shopdesk database at revision {current_revision(engine_for(db_url()))}")
    return 0


def add_db_parser(subcommands: Any) -> None:
    """`shopdesk db upgrade [revision]`."""
    db = subcommands.add_parser("db", help="shopdesk's database (SHOPDESK_DB_URL)")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_upgrade = db_commands.add_parser("upgrade", help="create or migrate shopdesk's tables")
    db_upgrade.add_argument("revision", nargs="?", default="head")
    db_upgrade.set_defaults(handler=command_db_upgrade)
