"""The `shopdesk` command: run the bot, train when needed, orders and handoffs, and the
learning loop (read logged conversations, review them, export training data, retrain)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.project import MODELS_DIR, PROJECT_ROOT, train_if_needed
from bot.review_queue_cli import add_queue_parser
from bot.staff_cli import add_staff_parser
from bot.up import add_up_parser


def command_train(args: argparse.Namespace) -> int:
    train_if_needed(force=args.force)
    return 0


def command_orders_init(args: argparse.Namespace) -> int:
    from bot.orders import create_sample_orders, orders_db_url, sample_orders_exist

    if args.if_missing and sample_orders_exist(orders_db_url()):
        return 0
    count = create_sample_orders(orders_db_url(), count=args.count)
    print(f"Created {count} sample orders in {orders_db_url()}")
    return 0


def command_orders_token(args: argparse.Namespace) -> int:
    """Print a signed order token, as a shop's server mints one (bot/order_tokens.py)."""
    from bot.order_tokens import OrderTokenError, mint

    try:
        print(mint(args.number, ttl_seconds=args.ttl))
    except OrderTokenError as error:
        print(f"shopdesk: {error}", file=sys.stderr)
        return 2
    return 0


def command_handoff_list(args: argparse.Namespace) -> int:
    from bot.records import Records

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
    from bot.access import RASA_TOKEN, read_secret
    from bot.rasa_api import resume_conversation
    from bot.records import Records

    token = args.token or read_secret(RASA_TOKEN)  # production's, else development's
    resume_conversation(args.rasa_url, args.conversation_id, token)
    closed = Records().release(args.conversation_id)
    print(f"Resumed {args.conversation_id}; closed {closed} handoff request(s).")
    return 0


def command_db_upgrade(args: argparse.Namespace) -> int:
    from bot.database import current_revision, db_url, engine_for, upgrade

    upgrade(db_url(), args.revision)
    print(f"shopdesk database at revision {current_revision(engine_for(db_url()))}")
    return 0


def command_conversations_list(args: argparse.Namespace) -> int:
    from bot.conversations import ConversationLog

    summaries = ConversationLog().list(limit=args.limit, offset=args.offset)
    for summary in summaries:
        print(
            f"{summary.ended_at:%Y-%m-%d %H:%M}  {summary.user_messages:4d} messages  {summary.id}"
        )
    if not summaries:
        print("No conversations logged yet.")
    return 0


def command_conversations_show(args: argparse.Namespace) -> int:
    from bot.conversations import BotTurn, ConversationLog, UserTurn

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


def command_review_message(args: argparse.Namespace) -> int:
    from bot.conversations import ConversationLog
    from bot.project import domain_intents
    from bot.review import ReviewStore

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
    from bot.review import ReviewStore

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


def command_export(args: argparse.Namespace) -> int:
    from bot.conversations import ConversationLog
    from bot.export import ExportPaths, export_reviewed
    from bot.review import ReviewStore

    defaults = ExportPaths()
    paths = ExportPaths(
        nlu=args.nlu or defaults.nlu,
        transcripts=args.transcripts or defaults.transcripts,
        stories=args.stories or defaults.stories,
        held_out=(*defaults.held_out, *(getattr(args, "held_out", None) or [])),
    )
    print(export_reviewed(ConversationLog(), ReviewStore(), paths).summary())
    return 0


def command_retrain(args: argparse.Namespace) -> int:
    from rich.console import Console

    from bot.project import latest_model
    from bot.retrain import promote_if_not_worse, train_candidate

    console = Console()
    if not args.no_export:
        console.rule("1. Export reviewed conversations")
        command_export(
            argparse.Namespace(nlu=None, transcripts=None, stories=None, held_out=[args.test_data])
        )
    console.rule("2. Train a candidate model")
    finetune_from = latest_model(args.models) if args.finetune else None
    candidate = train_candidate(console, args.config, finetune_from, args.epoch_fraction)
    console.rule("3. Evaluate candidate and current model")
    decision = promote_if_not_worse(candidate, args.models, args.test_data, console)
    return 0 if decision.promoted else 3


def command_discover(args: argparse.Namespace) -> int:
    """Cluster the unreviewed messages no intent covered (bot/discovery.py)."""
    import json

    from bot.discovery import as_json, as_text, run_discovery
    from bot.project import latest_model

    # The served model's encoder by default: its space is the one the classifier decides in.
    archive = args.model or (latest_model() if args.encoder is None else None)
    candidates, clusters = run_discovery(
        archive=archive,
        encoder_dir=args.encoder,
        data_dir=args.nlu,
        limit=args.limit,
        distance_threshold=args.distance_threshold,
        min_size=args.min_size,
    )
    if args.json:
        print(json.dumps(as_json(candidates, clusters), indent=2))
    else:
        print(as_text(candidates, clusters))
    return 0


def command_review_app(args: argparse.Namespace) -> int:
    from bot.review_app import create_app

    create_app().run(
        host=args.host, port=args.port, workers=args.workers, access_log=False, debug=False
    )
    return 0


def command_webchat(args: argparse.Namespace) -> int:
    from bot.webchat import create_app

    create_app(args.socket_url).run(
        host=args.host, port=args.port, workers=1, access_log=False, debug=False
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopdesk", description=__doc__)
    subcommands = parser.add_subparsers(dest="command", required=True)

    add_up_parser(subcommands)

    train = subcommands.add_parser("train", help="`rasa train` unless the model is up to date")
    train.add_argument("--force", action="store_true", help="train even if nothing changed")
    train.set_defaults(handler=command_train)
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

    db = subcommands.add_parser("db", help="shopdesk's database (SHOPDESK_DB_URL)")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_upgrade = db_commands.add_parser("upgrade", help="create or migrate shopdesk's tables")
    db_upgrade.add_argument("revision", nargs="?", default="head")
    db_upgrade.set_defaults(handler=command_db_upgrade)

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

    export = subcommands.add_parser(
        "export", help="write reviewed conversations as NLU data, transcripts and test stories"
    )
    export.add_argument("--nlu", type=Path, help="default data/nlu/reviewed.yml")
    export.add_argument("--transcripts", type=Path, help="default data/transcripts/reviewed.jsonl")
    export.add_argument("--stories", type=Path, help="default tests/reviewed_stories.yml")
    export.add_argument(
        "--held-out",
        type=Path,
        action="append",
        help="another test set whose messages are never exported (repeatable; the held-out, "
        "robustness and off-topic sets under tests/ always count)",
    )
    export.set_defaults(handler=command_export)

    retrain = subcommands.add_parser(
        "retrain",
        help="export, train a candidate, promote it only if not worse on held-out data",
    )
    retrain.add_argument("--no-export", action="store_true", help="train on the data as it is")
    retrain.add_argument(
        "--test-data", type=Path, default=PROJECT_ROOT / "tests" / "nlu_heldout.yml"
    )
    retrain.add_argument("--models", type=Path, default=MODELS_DIR, help="served models folder")
    retrain.add_argument("--config", type=Path, help="another config.yml for the candidate")
    retrain.add_argument(
        "--finetune",
        action="store_true",
        help="continue from the current model (`rasa train --finetune`; same intents only)",
    )
    retrain.add_argument("--epoch-fraction", type=float, default=0.3)
    retrain.set_defaults(handler=command_retrain)

    discover = subcommands.add_parser(
        "discover", help="cluster unreviewed messages no intent covers (new intents, FAQ)"
    )
    discover.add_argument(
        "--model", type=Path, help="a model archive whose encoder to use (default: the newest)"
    )
    discover.add_argument("--encoder", type=Path, help="or a Hugging Face model folder")
    discover.add_argument("--nlu", type=Path, default=PROJECT_ROOT / "data" / "nlu")
    discover.add_argument("--limit", type=int, default=1000, help="newest messages read")
    discover.add_argument(
        "--distance-threshold", type=float, default=0.6, help="cosine distance within a cluster"
    )
    discover.add_argument("--min-size", type=int, default=3)
    discover.add_argument("--json", action="store_true")
    discover.set_defaults(handler=command_discover)

    add_staff_parser(subcommands)

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
