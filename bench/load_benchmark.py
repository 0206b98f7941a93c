"""End-to-end load: simulated customers talking to the real bot, ours vs Rasa's DIET pipeline.

For each pipeline the real action server and Rasa server are started (REST channel, a fresh
SQLite tracker store), then N customers (1, 8, 32, 64) hold multi-turn conversations over
HTTP on loopback, each waiting for the bot's reply before the next message, for a fixed time
per level. Reported per level: messages per second, latency p50/p95/p99, errors. Afterwards
the tracker store is read back: every message sent must be there exactly once, in order.

    .venv/bin/python bench/load_benchmark.py          # bench/results/load.json + load.png
    .venv/bin/python bench/load_benchmark.py --seconds 10 --levels 1 8   # a quick look

The DIET bot (bench/config_diet_bot.yml: Rasa's default pipeline, our policies) is trained
once into bench/.models/; ours is the project's model (`shopdesk train`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from bot.runtime.models import rasa_command, train_if_needed  # noqa: E402
from bot.runtime.processes import (  # noqa: E402
    endpoints_for_action_port,
    start_action_server,
    start_rasa_server,
    stop,
    wait_until_healthy,
)
from bot.runtime.production import (  # noqa: E402
    ENDPOINTS,
    production_environment,
    rasa_worker_environment,
    start_local_stores,
)

# Conversations customers of the demo store hold (no handoffs: a paused bot answers nothing).
CONVERSATIONS = [
    ["hi", "where is my order 482913?", "great, thanks", "bye"],
    ["hello", "which payment methods do you accept?", "can I pay later with klarna", "thanks"],
    ["how should I wash a linen duvet cover so it doesn't shrink", "/affirm"],
    ["I'd like to cancel my order please", "it's 604731", "thank you"],
    ["how long does delivery to austria take?", "and what does express shipping cost", "ok"],
    ["can I still change the address on order 538214?", "ok, thanks for checking"],
    ["I forgot my password", "the reset email never arrives", "thanks"],
    ["good morning", "what's your returns policy", "how long until I get my money back", "bye"],
]
LEVELS = (1, 8, 32, 64)
REQUEST_TIMEOUT = 30.0


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for the servers started inside (they inherit them), then restore."""
    backup = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in backup.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def running_bot(
    model: Path, stack: dict[str, str], workers: int, rasa_port: int, actions_port: int
) -> Iterator[str]:
    """The action server and the Rasa server on `stack` (SQLite alone, or the production one:
    PostgreSQL, Redis lock store and `workers` Rasa workers, as `shopdesk up --production`)."""
    production = "SHOPDESK_REDIS_HOST" in stack
    extra = rasa_worker_environment(workers, actions_port) if production else {}
    processes = []
    with environment({**stack, **extra}):
        try:
            actions = start_action_server(actions_port)
            processes.append(actions)
            wait_until_healthy(f"http://localhost:{actions_port}/health", actions)
            endpoints = ENDPOINTS if production else endpoints_for_action_port(actions_port)
            rasa = start_rasa_server(rasa_port, model, endpoints)
            processes.append(rasa)
            wait_until_healthy(f"http://localhost:{rasa_port}/", rasa)
            yield f"http://127.0.0.1:{rasa_port}"
        finally:
            stop(processes)


@contextlib.contextmanager
def local_stores(folder: Path) -> Iterator[dict[str, str]]:
    """PostgreSQL and Redis on loopback in `folder`, as `shopdesk up --local-services`."""
    folder.chmod(0o755)  # PostgreSQL runs as its own user when we are root
    environ, stores = start_local_stores(folder, postgres_port=5433, redis_port=6380)
    try:
        yield production_environment(environ)
    finally:
        for store in reversed(stores):
            store.stop()


async def customer(
    session,
    base: str,
    name: str,
    first_script: int,
    deadline: float,
    record: dict,
    think_s: float = 0.0,
) -> None:
    """Hold conversations one after another until the deadline; every message is timed.

    With `think_s` 0 the next message leaves the moment the answer arrives (the server's
    capacity); real customers read and type for seconds between messages.
    """
    import aiohttp

    scripts = itertools.islice(itertools.cycle(CONVERSATIONS), first_script, None)
    for number in itertools.count():
        if time.monotonic() >= deadline:
            return
        sender = f"{name}-{number}"
        sent = record["sent"].setdefault(sender, [])
        for text in next(scripts):
            started = time.perf_counter()
            try:
                async with session.post(
                    f"{base}/webhooks/rest/webhook",
                    json={"sender": sender, "message": text},
                    timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
                ) as response:
                    await response.read()
                    ok = response.status == 200
            except (aiohttp.ClientError, asyncio.TimeoutError):
                ok = False
            sent.append(text)
            record["latency_ms"].append((time.perf_counter() - started) * 1000)
            record["errors"] += 0 if ok else 1
            if think_s:
                await asyncio.sleep(think_s)  # reading the answer, typing the next message


async def run_level(
    base: str,
    customers: int,
    seconds: float,
    run_id: str,
    think_s: float = 0.0,
    per_request: bool = False,
) -> dict:
    """`per_request`: a new connection for every message, as behind a reverse proxy (nginx's
    `proxy_pass` opens one per request by default). Otherwise each customer keeps one
    connection, which stays with the Rasa worker that accepted it."""
    import aiohttp

    record: dict = {"sent": {}, "latency_ms": [], "errors": 0}
    connector = aiohttp.TCPConnector(limit=customers, force_close=per_request)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(
                customer(session, base, f"{run_id}-c{customers}-{i}", i, deadline, record, think_s)
                for i in range(customers)
            )
        )
        elapsed = time.perf_counter() - started
    latency = np.array(record["latency_ms"])
    return {
        "customers": customers,
        "seconds": elapsed,
        "messages": len(latency),
        "messages_per_second": len(latency) / elapsed,
        "p50_ms": float(np.percentile(latency, 50)),
        "p95_ms": float(np.percentile(latency, 95)),
        "p99_ms": float(np.percentile(latency, 99)),
        "errors": record["errors"],
        "sent": record["sent"],
    }


def check_store(db_url: str, sent: dict[str, list[str]]) -> dict:
    """Every message sent is in the tracker store exactly once, in the order it was sent."""
    from bot.storage.conversation_log import ConversationLog

    log = ConversationLog(db_url)
    problems = {"missing_or_extra": 0, "out_of_order": 0}
    for sender, texts in sent.items():
        stored = [d.get("text") for _, d in log.raw_events(sender) if d.get("event") == "user"]
        if sorted(stored) != sorted(texts):
            problems["missing_or_extra"] += 1
        elif stored != texts:
            problems["out_of_order"] += 1
    return {"conversations": len(sent), "messages": sum(map(len, sent.values())), **problems}


def diet_model(retrain: bool) -> Path:
    archive = ROOT / "bench" / ".models" / "diet-bot.tar.gz"
    if retrain or not archive.exists():
        subprocess.run(
            rasa_command(
                "train",
                "--config",
                str(ROOT / "bench" / "config_diet_bot.yml"),
                "--out",
                str(archive.parent),
                "--fixed-model-name",
                "diet-bot",
            ),
            cwd=ROOT,
            check=True,
        )
    return archive


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4))
    latency_axes, throughput_axes = figure.subplots(1, 2)
    for name, run in results["pipelines"].items():
        levels = [level["customers"] for level in run["levels"]]
        latency_axes.plot(levels, [lv["p50_ms"] for lv in run["levels"]], "o-", label=f"{name} p50")
        latency_axes.plot(
            levels, [lv["p95_ms"] for lv in run["levels"]], "s--", label=f"{name} p95"
        )
        throughput_axes.plot(
            levels, [lv["messages_per_second"] for lv in run["levels"]], "o-", label=name
        )
    latency_axes.axhline(300, color="grey", linestyle=":", linewidth=1)
    for axes in (latency_axes, throughput_axes):
        axes.set_xscale("log", base=2)
        axes.set_xticks(LEVELS, [str(level) for level in LEVELS])
        axes.set_xlabel("concurrent customers")
        axes.legend(fontsize=8)
    latency_axes.set_ylabel("ms per message")
    stack = results.get("stack", "sqlite")
    setup = f"{stack}, {results.get('rasa_workers', 1)} Rasa worker(s)"
    if results.get("think_ms"):
        setup += f", {results['think_ms']:g} ms pause"
    if results.get("connections") == "per-request":
        setup += ", a connection per message"
    latency_axes.set_title(f"Latency ({setup})", fontsize=10)
    throughput_axes.axhline(50, color="grey", linestyle=":", linewidth=1)
    throughput_axes.set_ylabel("messages per second")
    throughput_axes.set_title(f"Throughput, REST, {os.cpu_count()}-core CPU", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=list(LEVELS))
    parser.add_argument("--seconds", type=float, default=30.0, help="per level")
    parser.add_argument("--retrain-diet", action="store_true")
    parser.add_argument(
        "--ours-only", action="store_true", help="a quick look at settings: no DIET baseline"
    )
    parser.add_argument(
        "--stack",
        choices=("sqlite", "production"),
        default="production",
        help="production: PostgreSQL + Redis lock store + --workers Rasa workers (default); "
        "sqlite: one Rasa process on a SQLite file",
    )
    parser.add_argument("--workers", type=int, default=2, help="Rasa workers (production)")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="each customer's pause after an answer before the next message (default 0)",
    )
    parser.add_argument(
        "--connections",
        choices=("keep-alive", "per-request"),
        default="keep-alive",
        help="keep-alive: each customer holds one connection to one Rasa worker (default); "
        "per-request: a new connection per message, as a reverse proxy in front does",
    )
    parser.add_argument("--out", type=Path, help="default bench/results/load-STACK.json")
    args = parser.parse_args()
    suffix = f"-think{args.think_ms:g}ms" if args.think_ms else ""
    suffix += "-per-request" if args.connections == "per-request" else ""
    args.out = args.out or ROOT / "bench" / "results" / f"load-{args.stack}{suffix}.json"
    if max(args.levels) > 256 or args.seconds > 300:
        parser.error("keep it bounded: at most 256 customers and 300 s per level")

    models = {"bert (ours)": train_if_needed()}
    if not args.ours_only:
        models["diet (rasa default)"] = diet_model(args.retrain_diet)
    results = {
        "command": "python bench/load_benchmark.py "
        + f"--stack {args.stack} --workers {args.workers} --think-ms {args.think_ms:g} "
        + f"--connections {args.connections} "
        + f"--seconds {args.seconds:g} --levels {' '.join(map(str, args.levels))}",
        "stack": args.stack,
        "connections": args.connections,
        "rasa_workers": args.workers if args.stack == "production" else 1,
        "think_ms": args.think_ms,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "pipelines": {},
    }
    for name, model in models.items():
        with contextlib.ExitStack() as cleanup:
            folder = Path(cleanup.enter_context(tempfile.TemporaryDirectory()))
            if args.stack == "production":
                stack = cleanup.enter_context(local_stores(folder))
            else:
                stack = {"SHOPDESK_DB_URL": f"sqlite:///{folder}/tracker.db"}
            db_url = stack["SHOPDESK_DB_URL"]
            with running_bot(model, stack, args.workers, 5405, 5455) as base:
                levels = []
                asyncio.run(run_level(base, 2, 5, "warmup"))  # load caches, JIT, connections
                for customers in args.levels:
                    level = asyncio.run(
                        run_level(
                            base,
                            customers,
                            args.seconds,
                            f"run{customers}",
                            args.think_ms / 1000,
                            per_request=args.connections == "per-request",
                        )
                    )
                    sent = level.pop("sent")
                    level["store"] = check_store(db_url, sent)
                    levels.append(level)
                    print(
                        f"{name:20} {customers:3d} customers: {level['messages_per_second']:6.1f} "
                        f"msg/s, p50 {level['p50_ms']:6.0f} ms, p95 {level['p95_ms']:6.0f} ms, "
                        f"p99 {level['p99_ms']:6.0f} ms, errors {level['errors']}, "
                        f"store {level['store']}",
                        flush=True,
                    )
        results["pipelines"][name] = {"model": model.name, "levels": levels}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    plot(results, args.out.with_suffix(".png"))
    print(f"written to {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
