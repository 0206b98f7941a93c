"""Review app page latency while an admin's export runs: blocking vs off the event loop.

Issue 14: the review app ran its database work (the session check on every request, the
conversation list's sync, the export) on Sanic's event loop, so one export stalled every
staff member's pages. Now that work runs in worker threads (bot/review_app/threads.py).

This starts the review app (its own process, real HTTP on loopback) on a SQLite log of a few
thousand customer messages written by Rasa's own tracker store, all reviewed, so that an
export has real work. A client exports again and again while another times GET
/conversations (p50/p95/max), first with nothing else running (idle), then during the
exports, in two modes:

- `blocking`: the loop's default executor runs each job at once in the loop's own thread, so
  every `in_thread` call blocks the event loop, as the session check, the list and the export
  did before issue 14;
- `off the loop`: the app as it is.

    .venv/bin/python bench/review_latency_benchmark.py            # about 3 minutes
    .venv/bin/python bench/review_latency_benchmark.py --conversations 100 --seconds 8

Writes bench/results/review_latency.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

RESULTS = ROOT / "bench" / "results" / "review_latency.json"
PAGE = "/conversations"
MODES = ("blocking", "off the loop")
ADMIN = ("bench-admin", "a long bench password 7")


# --------------------------------------------------------------------- the log


def write_log(url: str, conversations: int) -> dict[str, int]:
    """`conversations` realistic conversations (5 customer messages each, with personal data
    to mask) through Rasa's SQLTrackerStore, every message reviewed and its answer approved,
    and an admin; returns how much was written."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from sqlalchemy import func, select

    from bot.storage.conversation_index import MESSAGES, sync
    from bot.storage.conversation_log import EVENTS
    from bot.storage.reviews import ReviewStore
    from bot.storage.staff import StaffAccounts
    from bot.storage.tracker_store import ShopdeskTrackerStore
    from tests.helpers.logged_conversations import conversation_events

    domain = Domain.load(ROOT / "domain.yml")
    store = ShopdeskTrackerStore(domain, host=url)

    async def save_all() -> None:
        for number in range(conversations):
            events = conversation_events(order=str(400000 + number))
            tracker = DialogueStateTracker.from_events(f"bench-{number}", events, domain.slots)
            await store.save(tracker)

    asyncio.run(save_all())
    store.engine.dispose()
    reviews = ReviewStore(url)
    sync(reviews.engine)
    with reviews.engine.connect() as connection:
        messages = {
            event_id: conversation_id
            for event_id, conversation_id in connection.execute(
                select(MESSAGES.c.event_id, MESSAGES.c.conversation_id)
            )
        }
        events = connection.scalar(select(func.count()).select_from(EVENTS))
    reviews.review_messages(messages, "bench", answer_approved=True, corrected_answer="")
    reviews.engine.dispose()
    accounts = StaffAccounts(url)
    accounts.create(*ADMIN, role="admin")
    accounts.engine.dispose()
    return {"conversations": conversations, "messages": len(messages), "events": int(events)}


# ------------------------------------------------------------ the server process


class InlineExecutor(ThreadPoolExecutor):
    """Runs each job at once in the calling thread: `loop.run_in_executor` then blocks the
    event loop (a ThreadPoolExecutor subclass, as asyncio wants for a default executor)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the awaiting handler
            future.set_exception(error)
        return future


def serve(mode: str, url: str, port: int, project: Path) -> None:
    """Run the review app in this process (the benchmark starts it as a subprocess)."""
    from bot.learning.export import ExportPaths
    from bot.review_app import create_app
    from bot.review_app.settings import ReviewAppSettings

    app = create_app(ReviewAppSettings(db_url=url, export_paths=ExportPaths.under(project)))
    if mode == "blocking":

        @app.listener("before_server_start")
        async def block(_app, loop) -> None:
            loop.set_default_executor(InlineExecutor())

    app.run(host="127.0.0.1", port=port, access_log=False, debug=False, workers=1)


@contextlib.contextmanager
def review_app(mode: str, url: str, project: Path) -> Iterator[str]:
    from tests.helpers.http import free_port

    port = free_port()
    command = [sys.executable, __file__, "--serve", mode, "--db", url, "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--project", str(project)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while get(f"{base}/health", {})[0] != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the review app ({mode}) did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(30)


# ------------------------------------------------------------------ the client


def get(url: str, cookies: dict, data: dict | None = None) -> tuple[int, float]:
    """(status, seconds) of one request; status 0 when it failed."""
    from urllib.parse import urlencode

    body = urlencode(data).encode() if data is not None else None
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    request = urllib.request.Request(url, data=body, headers={"Cookie": cookie})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0
    return status, time.perf_counter() - started


def stats(seconds: list[float]) -> dict[str, float | int]:
    ordered = sorted(seconds)
    if not ordered:
        return {"requests": 0}
    return {
        "requests": len(ordered),
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def time_pages(base: str, cookies: dict, seconds: float) -> list[float]:
    timings, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, took = get(f"{base}{PAGE}", cookies)
        if status != 200:
            raise RuntimeError(f"GET {PAGE} answered {status}")
        timings.append(took)
        time.sleep(0.05)  # a person clicking, not a flood
    return timings


def measure(mode: str, url: str, project: Path, seconds: float) -> dict:
    from bot.review_app.security import SESSION_COOKIE
    from bot.storage.staff import StaffAccounts

    accounts = StaffAccounts(url)
    session = accounts.log_in(*ADMIN, "127.0.0.1")
    accounts.engine.dispose()
    cookies = {SESSION_COOKIE: session.token}
    with review_app(mode, url, project) as base:
        get(f"{base}{PAGE}", cookies)  # warm-up: the first list builds the index
        idle = time_pages(base, cookies, min(5.0, seconds / 2))
        stop, exports = threading.Event(), []

        def export_again_and_again() -> None:
            while not stop.is_set():
                status, took = get(f"{base}/export", cookies, {"csrf_token": session.csrf_token})
                if status != 200:
                    raise RuntimeError(f"POST /export answered {status}")
                exports.append(took)

        with ThreadPoolExecutor(1) as pool:
            exporting = pool.submit(export_again_and_again)
            time.sleep(0.2)  # let the first export start
            during = time_pages(base, cookies, seconds)
            stop.set()
            exporting.result()
    return {
        "idle": stats(idle),
        "during_export": stats(during),
        "exports": {"count": len(exports), "p50_s": round(statistics.median(exports), 2)},
    }


def table(results: dict) -> str:
    lines = [
        f"GET {PAGE} while an admin exports again and again "
        f"({results['log']['messages']} reviewed messages, SQLite):",
        "",
        "| mode | idle p50 | during export p50 | p95 | max | exports (p50 each) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for mode, found in results["modes"].items():
        idle, during, exports = found["idle"], found["during_export"], found["exports"]
        lines.append(
            f"| {mode} | {idle['p50_ms']} ms | {during['p50_ms']} ms | {during['p95_ms']} ms "
            f"| {during['max_ms']} ms | {exports['count']} ({exports['p50_s']} s) |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=400, help="5 messages each")
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="timed during exports, per mode"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--serve", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.db, args.port, args.project)
        return 0

    folder = Path(tempfile.mkdtemp(prefix="shopdesk-review-latency-"))
    try:
        started = time.monotonic()
        template = folder / "template.db"
        log = write_log(f"sqlite:///{template}", args.conversations)
        print(f"log written in {time.monotonic() - started:.0f} s: {log}", flush=True)
        results = {
            "what": "review app page latency during exports, blocking vs off the event loop",
            "page": PAGE,
            "log": log,
            "seconds_per_mode": args.seconds,
            "machine": {
                "cpus": os.cpu_count(),
                "load_average_1min": round(os.getloadavg()[0], 2),  # others running here
                "python": platform.python_version(),
            },
            "modes": {},
        }
        for mode in MODES:
            copy = folder / f"{mode.replace(' ', '-')}.db"
            shutil.copy(template, copy)
            results["modes"][mode] = measure(mode, f"sqlite:///{copy}", folder / mode, args.seconds)
            print(f"{mode}: {results['modes'][mode]}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
