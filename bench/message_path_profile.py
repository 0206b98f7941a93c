"""Where a message's time goes inside the Rasa server, measured with cProfile.

The same conversations go through Rasa's `Agent` in-process (the real action server on
loopback, a fresh SQLite tracker store) for each setup:

- `rasa`:     Rasa's own RemoteAction (the action server's answer checked with
              `jsonschema.validate`, which recompiles the schema on every answer);
- `shopdesk`: `bot.runtime.rasa_patches.ShopdeskRemoteAction` (the schema compiled once).

Each setup runs on each model archive given (e.g. one trained with TEDPolicy and one without),
and the table gives milliseconds per message spent in each part of the path.

    .venv/bin/python bench/message_path_profile.py --model models/with-ted.tar.gz \\
        --model models/without-ted.tar.gz          # -> bench/results/message_path.json
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from bench.load_benchmark import CONVERSATIONS  # noqa: E402
from bot.runtime.access import ACTION_TOKEN, development_secrets  # noqa: E402
from bot.runtime.models import latest_model  # noqa: E402
from bot.runtime.processes import start_action_server, stop, wait_until_healthy  # noqa: E402

# (label, file name fragment, function name) of the parts of a message's path.
PARTS = [
    ("check of the action server's answer", "actions/action.py", "_validate_action_result"),
    (
        "check of the action server's answer",
        "bot/runtime/rasa_server.py",
        "_validate_action_result",
    ),
    ("TEDPolicy", "ted_policy.py", "predict_action_probabilities"),
    ("RulePolicy", "rule_policy.py", "predict_action_probabilities"),
    ("MemoizationPolicy", "memoization.py", "predict_action_probabilities"),
    ("BERT intent classifier", "bert_intent_classifier.py", "process"),
    ("tracker store: read", "tracker_store.py", "_retrieve"),
    ("tracker store: write", "tracker_store.py", "save"),
    ("whole message", "core/agent.py", "handle_message"),
]


def cumulative_seconds(stats: pstats.Stats) -> dict[str, float]:
    found = dict.fromkeys((label for label, _, _ in PARTS), 0.0)
    for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():
        for label, fragment, name in PARTS:
            if function == name and filename.replace(os.sep, "/").endswith(fragment):
                found[label] = max(found[label], cumulative)
    return found


async def run_setup(model: Path, actions_url: str, setup: str, rounds: int) -> dict:
    import rasa.core.actions.action as rasa_actions
    import structlog
    from rasa.core.actions import forms
    from rasa.core.agent import load_agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.endpoints import EndpointConfig

    from bot.runtime.rasa_patches import install_shopdesk_remote_action

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    original = rasa_actions.RemoteAction
    if setup == "shopdesk":
        install_shopdesk_remote_action()
    try:
        # The action server refuses callers without its shared secret (bot/runtime/access.py).
        authorization = {"Authorization": f"Bearer {os.environ[ACTION_TOKEN]}"}
        endpoints = AvailableEndpoints(action=EndpointConfig(actions_url, headers=authorization))
        agent = await load_agent(model_path=str(model), endpoints=endpoints)

        async def talk(round_number: int) -> int:
            sent = 0
            for number, script in enumerate(CONVERSATIONS):
                sender = f"{setup}-{model.stem}-{round_number}-{number}"
                for text in script:
                    await agent.handle_message(UserMessage(text, CollectingOutputChannel(), sender))
                    sent += 1
            return sent

        await talk(-1)  # warm-up: caches, TensorFlow graphs
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        messages = sum([await talk(n) for n in range(rounds)])
        profiler.disable()
        elapsed = time.perf_counter() - started
    finally:
        rasa_actions.RemoteAction = forms.RemoteAction = original
    parts = cumulative_seconds(pstats.Stats(profiler))
    return {
        "model": model.name,
        "setup": setup,
        "messages": messages,
        "wall_ms_per_message": elapsed / messages * 1000,
        "ms_per_message": {label: s / messages * 1000 for label, s in parts.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, action="append", help="default: the newest")
    parser.add_argument("--rounds", type=int, default=3, help="times through the scripts")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "message_path.json"
    )
    args = parser.parse_args()
    models = args.model or [latest_model()]

    results = []
    with tempfile.TemporaryDirectory() as folder:
        os.environ["SHOPDESK_DB_URL"] = f"sqlite:///{folder}/shopdesk.db"
        os.environ.update(development_secrets())
        actions = start_action_server(5465)
        try:
            wait_until_healthy("http://localhost:5465/health", actions)
            for model in models:
                for setup in ("rasa", "shopdesk"):
                    result = asyncio.run(
                        run_setup(model, "http://localhost:5465/webhook", setup, args.rounds)
                    )
                    results.append(result)
                    parts = ", ".join(
                        f"{label} {ms:.1f}" for label, ms in result["ms_per_message"].items()
                    )
                    print(f"{model.name} / {setup}: {parts} (ms per message)", flush=True)
        finally:
            stop([actions])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"command": "python bench/message_path_profile.py", "runs": results}, indent=2)
    )
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
