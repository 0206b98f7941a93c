"""The `shopdesk` command: run the bot, train when needed, manage sample orders and handoffs."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from bot.processes import (
    endpoints_for_action_port,
    start_action_server,
    start_rasa_server,
    stop,
    wait_until_healthy,
)
from bot.project import train_if_needed


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
    from bot.rasa_api import resume_conversation
    from bot.records import Records

    resume_conversation(args.rasa_url, args.conversation_id, args.token)
    closed = Records().release(args.conversation_id)
    print(f"Resumed {args.conversation_id}; closed {closed} handoff request(s).")
    return 0


def command_up(args: argparse.Namespace) -> int:
    model = train_if_needed()
    if "SHOPDESK_ORDERS_DB_URL" not in os.environ:  # never touch a shop's own database
        command_orders_init(argparse.Namespace(if_missing=True, count=200))
    processes = []

    def shut_down(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shut_down)
    try:
        actions = start_action_server(args.actions_port)
        processes.append(actions)
        wait_until_healthy(f"http://localhost:{args.actions_port}/health", actions)
        rasa = start_rasa_server(args.port, model, endpoints_for_action_port(args.actions_port))
        processes.append(rasa)
        wait_until_healthy(f"http://localhost:{args.port}/status", rasa)
        base = f"http://localhost:{args.port}"
        print(
            "\nshopdesk is running.\n"
            f"  Chat (REST):   curl -s {base}/webhooks/rest/webhook "
            '-H "Content-Type: application/json" '
            '-d \'{"sender": "me", "message": "where is my order 482913?"}\'\n'
            f'  Parse (API):   curl -s {base}/model/parse -d \'{{"text": "refund please"}}\'\n'
            f"  Rasa server:   {base}   (model {model.name})\n"
            f"  Action server: http://localhost:{args.actions_port}\n"
            "  Stop:          Ctrl+C\n",
            flush=True,
        )
        while all(process.poll() is None for process in processes):
            time.sleep(1.0)
        print("A shopdesk process exited on its own; stopping the others.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping shopdesk ...", flush=True)
        return 0
    finally:
        stop(processes)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopdesk", description=__doc__)
    subcommands = parser.add_subparsers(dest="command", required=True)

    up = subcommands.add_parser("up", help="train if needed, start action server and Rasa server")
    up.add_argument("--port", type=int, default=5005, help="Rasa server port (default 5005)")
    up.add_argument(
        "--actions-port",
        type=int,
        default=5055,
        help="action server port (default 5055, as in endpoints.yml)",
    )
    up.set_defaults(handler=command_up)

    train = subcommands.add_parser("train", help="`rasa train` unless the model is up to date")
    train.add_argument("--force", action="store_true", help="train even if nothing changed")
    train.set_defaults(handler=command_train)
    orders = subcommands.add_parser("orders", help="the demo store's sample orders")
    orders_commands = orders.add_subparsers(dest="orders_command", required=True)
    init = orders_commands.add_parser("init", help="(re)create the sample orders database")
    init.add_argument("--count", type=int, default=200)
    init.add_argument("--if-missing", action="store_true", help="only when there is none")
    init.set_defaults(handler=command_orders_init)

    handoff = subcommands.add_parser("handoff", help="conversations handed to a person")
    handoff_commands = handoff.add_subparsers(dest="handoff_command", required=True)
    handoff_commands.add_parser("list", help="open requests").set_defaults(
        handler=command_handoff_list
    )
    release = handoff_commands.add_parser("release", help="give a conversation back to the bot")
    release.add_argument("conversation_id")
    release.add_argument("--rasa-url", default="http://localhost:5005")
    release.add_argument("--token", default=None, help="Rasa HTTP API token, if one is set")
    release.set_defaults(handler=command_handoff_release)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
