"""`shopdesk staff ...`: support-staff accounts of the review app, for whoever runs the shop.

Kept apart from bot/cli/__init__.py so account management (passwords, unlocking after an attack)
reads
as one piece. Refusals (a common password, an unknown account) exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from bot.storage.password_policy import MIN_PASSWORD_LENGTH


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    password = getpass.getpass(f"Password ({MIN_PASSWORD_LENGTH} characters or more): ")
    if password != getpass.getpass("Again: "):
        raise SystemExit("The passwords differ.")
    return password


def _staff_change(change: Callable[[Any], str]) -> int:
    """Run `change(accounts)` and print what it says, or the reason it was refused."""
    from bot.storage.staff import StaffAccounts, StaffError

    try:
        print(change(StaffAccounts()))
    except StaffError as error:
        print(f"shopdesk: {error}", file=sys.stderr)
        return 2
    return 0


def command_staff_add(args: argparse.Namespace) -> int:
    def add(accounts: Any) -> str:
        member = accounts.create(args.username, _read_password(args), args.role)
        return f"Created {member.role} account '{member.username}'."

    return _staff_change(add)


def command_staff_password(args: argparse.Namespace) -> int:
    def change_password(accounts: Any) -> str:
        accounts.set_password(args.username, _read_password(args))
        return f"New password set for '{args.username}'; their sessions were ended."

    return _staff_change(change_password)


def command_staff_disable(args: argparse.Namespace) -> int:
    def disable(accounts: Any) -> str:
        accounts.disable(args.username)
        return f"Disabled '{args.username}'."

    return _staff_change(disable)


def command_staff_unlock(args: argparse.Namespace) -> int:
    def unlock(accounts: Any) -> str:
        forgotten = accounts.unlock(args.username)
        return f"'{args.username}' may log in again at once ({forgotten} failed logins forgotten)."

    return _staff_change(unlock)


def command_staff_list(args: argparse.Namespace) -> int:
    from bot.storage.staff import StaffAccounts

    members = StaffAccounts().members()
    for member, disabled in members:
        print(f"{member.username:24} {member.role:9} {'disabled' if disabled else 'active'}")
    if not members:
        print("No staff accounts yet: shopdesk staff add <name> --role admin")
    return 0


def add_staff_parser(subcommands: Any) -> None:
    """`shopdesk staff add|password|passwd|disable|unlock|list`."""
    staff = subcommands.add_parser("staff", help="support-staff accounts of the review app")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_commands.add_parser("add", help="create an account (asks for the password)")
    add.add_argument("username")
    add.add_argument("--role", choices=("reviewer", "admin"), default="reviewer")
    add.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    add.set_defaults(handler=command_staff_add)
    password = staff_commands.add_parser("password", aliases=["passwd"], help="set a new password")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true")
    password.set_defaults(handler=command_staff_password)
    disable = staff_commands.add_parser("disable", help="lock an account out")
    disable.add_argument("username")
    disable.set_defaults(handler=command_staff_disable)
    unlock = staff_commands.add_parser(
        "unlock", help="forget an account's failed logins, so it may log in again at once"
    )
    unlock.add_argument("username")
    unlock.set_defaults(handler=command_staff_unlock)
    staff_commands.add_parser("list", help="all accounts").set_defaults(handler=command_staff_list)
