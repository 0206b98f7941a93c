"""`shopdesk review queue`: the unreviewed customer messages in the review queue's order.

The same order the review app's NLU inbox uses (bot/learning/review_queue.py), for staff who review
from a terminal or a script (`--json`). Kept apart from bot/cli/__init__.py, which only registers
it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bot.learning.review_queue import DEFAULT_STRATEGY, STRATEGIES, QueueItem
from bot.settings import MODELS_DIR


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _as_dict(item: QueueItem) -> dict[str, Any]:
    return {
        "event_id": item.event_id,
        "conversation_id": item.conversation_id,
        "text": item.text,
        "intent": item.intent,
        "confidence": round(item.confidence, 4),
        "margin": round(item.margin, 4),
    }


def as_text(items: list[QueueItem], total: int, strategy: str) -> str:
    """One line per message: event id, conversation, top intent, confidence, margin, text."""
    if not items:
        return "No unreviewed customer messages."
    lines = [
        f"{len(items)} of {total} unreviewed messages, ordered by {strategy}: "
        f"{STRATEGIES[strategy]}",
        f"{'event':>8}  {'conversation':<24} {'intent':<24} {'conf':>5} {'margin':>6}  text",
    ]
    for item in items:
        lines.append(
            f"{item.event_id:>8}  {item.conversation_id[:24]:<24} {(item.intent or '-')[:24]:<24}"
            f" {item.confidence:>5.2f} {item.margin:>6.2f}  {item.text!r}"
        )
    return "\n".join(lines)


def command_review_queue(args: argparse.Namespace) -> int:
    from bot.learning.review_queue import review_queue, served_encoder
    from bot.storage.conversation_log import ConversationLog

    log = ConversationLog()
    embedder = served_encoder(args.models) if args.strategy == "cluster_margin" else None
    items, total = review_queue(log.engine, args.strategy, args.limit, embedder)
    if args.json:
        report = {"strategy": args.strategy, "unreviewed": total}
        print(json.dumps({**report, "messages": [_as_dict(item) for item in items]}, indent=2))
    else:
        print(as_text(items, total, args.strategy))
    return 0


def add_queue_parser(review_commands: Any) -> None:
    """`shopdesk review queue [--strategy S] [--limit N] [--json]`."""
    queue = review_commands.add_parser(
        "queue", help="unreviewed customer messages, the label that teaches most first"
    )
    queue.add_argument(
        "--strategy",
        choices=list(STRATEGIES),
        default=DEFAULT_STRATEGY,
        help=f"the order (default {DEFAULT_STRATEGY}, the learning-curve benchmark's winner)",
    )
    queue.add_argument("--limit", type=_positive, default=25, help="how many to print (default 25)")
    queue.add_argument(
        "--models",
        type=Path,
        default=MODELS_DIR,
        help="whose newest model's encoder cluster_margin embeds with",
    )
    queue.add_argument("--json", action="store_true")
    queue.set_defaults(handler=command_review_queue)
