"""`shopdesk review`: review state from the command line (the review app does the same)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli.review_queue import add_queue_parser


def command_review_message(args: argparse.Namespace) -> int:
    from bot.runtime.models import domain_intents
    from bot.storage.conversation_log import ConversationLog
    from bot.storage.reviews import ReviewStore

    conversation_id = ConversationLog().conversation_of_message(args.event_id)
    if conversation_id is None:
        print(f"No customer message with id {args.event_id}.", file=sys.stderr)
        return 1
    review = ReviewStore(intents=domain_intents()).review_message(
        args.event_id,
        conversation_id,
        args.by,
        corrected_intent=args.intent,
        excluded=args.exclude,
        answer_approved=args.approve_answer,
        corrected_answer=args.answer,
    )
    print(f"Reviewed message {review.event_id} of {conversation_id}.")
    return 0


def command_review_conversation(args: argparse.Namespace) -> int:
    from bot.storage.reviews import ReviewStore

    store = ReviewStore()
    for tag in args.tag:
        store.add_tag(args.conversation_id, tag, args.by)
    if args.note:
        store.add_note(args.conversation_id, args.note, args.by)
    review = store.review_conversation(
        args.conversation_id, args.by, reviewed=args.reviewed, export_as_story=args.story
    )
    print(
        f"{review.conversation_id}: reviewed {review.reviewed}, story {review.export_as_story}, "
        f"tags {', '.join(review.tags) or '-'}, {len(review.notes)} note(s)"
    )
    return 0


def add_review_parser(subcommands: Any) -> None:
    """`shopdesk review message|conversation|queue`."""
    review = subcommands.add_parser("review", help="review state (the review app does the same)")
    review_commands = review.add_subparsers(dest="review_command", required=True)
    message = review_commands.add_parser("message", help="review one customer message")
    message.add_argument("event_id", type=int, help="the id shown by `conversations show`")
    message.add_argument("--by", required=True, help="who reviews")
    message.add_argument("--intent", help="the correct intent, if the bot's was wrong")
    message.add_argument(
        "--exclude",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep it out of training data",
    )
    message.add_argument(
        "--approve-answer",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="reuse the bot's answer as a transcript",
    )
    message.add_argument("--answer", help="a better answer to store as the transcript")
    message.set_defaults(handler=command_review_message)
    conversation = review_commands.add_parser("conversation", help="review a conversation")
    conversation.add_argument("conversation_id")
    conversation.add_argument("--by", required=True, help="who reviews")
    conversation.add_argument("--reviewed", action=argparse.BooleanOptionalAction, default=None)
    conversation.add_argument(
        "--story",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="export it as a test story",
    )
    conversation.add_argument("--tag", action="append", default=[])
    conversation.add_argument("--note")
    conversation.set_defaults(handler=command_review_conversation)
    add_queue_parser(review_commands)
