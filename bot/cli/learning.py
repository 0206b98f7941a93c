"""`shopdesk export`, `retrain` and `discover`: the learning loop's steps."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.settings import MODELS_DIR, PROJECT_ROOT


def command_export(args: argparse.Namespace) -> int:
    from bot.learning.export import ExportPaths, export_reviewed
    from bot.storage.conversation_log import ConversationLog
    from bot.storage.reviews import ReviewStore

    defaults = ExportPaths()
    paths = ExportPaths(
        nlu=args.nlu or defaults.nlu,
        transcripts=args.transcripts or defaults.transcripts,
        stories=args.stories or defaults.stories,
        held_out=(*defaults.held_out, *(getattr(args, "held_out", None) or [])),
        held_back=getattr(args, "held_back", None) or defaults.held_back,
    )
    print(export_reviewed(ConversationLog(), ReviewStore(), paths).summary())
    return 0


def command_retrain(args: argparse.Namespace) -> int:
    from rich.console import Console

    from bot.learning.retrain import promote_if_not_worse, train_candidate
    from bot.runtime.models import latest_model

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
    """Cluster the unreviewed messages no intent covered (bot/learning/discovery.py)."""
    import json

    from bot.learning.discovery import as_json, as_text, run_discovery
    from bot.runtime.models import latest_model

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


def add_learning_parsers(subcommands: Any) -> None:
    """`shopdesk export`, `shopdesk retrain` and `shopdesk discover`."""
    export = subcommands.add_parser(
        "export", help="write reviewed conversations as NLU data, transcripts and test stories"
    )
    export.add_argument("--nlu", type=Path, help="default data/nlu/reviewed.yml")
    export.add_argument("--transcripts", type=Path, help="default data/transcripts/reviewed.jsonl")
    export.add_argument("--stories", type=Path, help="default tests/reviewed_stories.yml")
    export.add_argument(
        "--held-back", type=Path, help="the held-back share; default tests/reviewed_heldout.yml"
    )
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
