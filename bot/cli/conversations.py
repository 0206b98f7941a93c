"""`shopdesk conversations` and `shopdesk handoff`: the conversation log and the handoff queue."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def command_handoff_list(args: argparse.Namespace) -> int:
    from bot.storage.handoffs_and_feedback import Records

    requests = Records().open_handoffs()
    for request in requests:
        print(
            f"{request.created_at:%Y-%m-%d %H:%M}  {request.conversation_id}  {request.reason}"
            f"  {request.status}  {(request.last_message or '')[:60]!r}"
        )
    if not requests:
        print("No open handoff requests.")
    return 0


def command_handoff_release(args: argparse.Namespace) -> int:
    from bot.runtime.access import RASA_TOKEN, read_secret
    from bot.runtime.rasa_api import resume_conversation
    from bot.storage.handoffs_and_feedback import Records

    token = args.token or read_secret(RASA_TOKEN)  # production's, else development's
    resume_conversation(args.rasa_url, args.conversation_id, token)
    closed = Records().release(args.conversation_id)
    print(f"Resumed {args.conversation_id}; closed {closed} handoff request(s).")
    return 0


def command_conversations_list(args: argparse.Namespace) -> int:
    from bot.storage.conversation_log import ConversationLog

    summaries = ConversationLog().list(limit=args.limit, offset=args.offset)
    for summary in summaries:
        print(
            f"{summary.ended_at:%Y-%m-%d %H:%M}  {summary.user_messages:4d} messages  {summary.id}"
        )
    if not summaries:
        print("No conversations logged yet.")
    return 0


def command_conversations_show(args: argparse.Namespace) -> int:
    from bot.storage.conversation_log import BotTurn, ConversationLog, UserTurn

    conversation = ConversationLog().read(args.conversation_id)
    if conversation is None:
        print(f"No conversation {args.conversation_id!r}.", file=sys.stderr)
        return 1
    print(
        f"{conversation.id}  channel {conversation.channel}  "
        f"{conversation.started_at:%Y-%m-%d %H:%M:%S} - {conversation.ended_at:%H:%M:%S}"
        + ("  (paused: with a person)" if conversation.paused else "")
    )
    for turn in conversation.turns:
        if isinstance(turn, UserTurn):
            top = ", ".join(f"{g.name} {g.confidence:.2f}" for g in turn.ranking[:3])
            print(
                f"  [{turn.event_id}] customer: {turn.text!r}\n      intent {turn.intent} ({top})"
            )
        elif isinstance(turn, BotTurn):
            feedback = "" if turn.feedback is None else f"  feedback: {turn.feedback}"
            print(f"      bot: {turn.text!r}  <- {turn.source or 'domain response'}{feedback}")
        else:
            print(f"      -- {turn.status} --")
    return 0


def add_conversation_parsers(subcommands: Any) -> None:
    """`shopdesk conversations list|show` and `shopdesk handoff list|release`."""
    handoff = subcommands.add_parser("handoff", help="conversations handed to a person")
    handoff_commands = handoff.add_subparsers(dest="handoff_command", required=True)
    handoff_commands.add_parser("list", help="open requests").set_defaults(
        handler=command_handoff_list
    )
    release = handoff_commands.add_parser("release", help="give a conversation back to the bot")
    release.add_argument("conversation_id")
    release.add_argument("--rasa-url", default="http://localhost:5005")
    release.add_argument(
        "--token",
        default=None,
        help="Rasa HTTP API token (default $RASA_AUTH_TOKEN, else .shopdesk/secrets.env's)",
    )
    release.set_defaults(handler=command_handoff_release)

    conversations = subcommands.add_parser("conversations", help="read the conversation log")
    conversation_commands = conversations.add_subparsers(
        dest="conversations_command", required=True
    )
    listing = conversation_commands.add_parser("list", help="newest first")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--offset", type=int, default=0)
    listing.set_defaults(handler=command_conversations_list)
    show = conversation_commands.add_parser("show", help="one conversation, turn by turn")
    show.add_argument("conversation_id")
    show.set_defaults(handler=command_conversations_show)
