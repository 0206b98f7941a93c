"""The `shopdesk` command: `shopdesk up` runs the whole bot, `shopdesk train` trains when needed."""

from __future__ import annotations

import argparse
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


def command_up(args: argparse.Namespace) -> int:
    model = train_if_needed()
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
