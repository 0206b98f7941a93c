"""Answers that address the question: specific customer questions through the real bot.

A template per intent answers what the intent is about, not what was asked ("do you ship to
Canada?" gets every shipping option and no "no"). `tests/answers_heldout.yml` holds questions
written by hand, each with the facts from `data/store.yml` its answer must state (each fact a
list of alternative wordings, any one counts, case-insensitive) and wordings that make it
wrong. For every model given with `--model NAME=ARCHIVE`, `shopdesk up --model ARCHIVE` starts
the real bot (action server, Rasa server, review app, web chat) on free ports with temporary
databases; each question is a new conversation over REST, the bot's replies are joined, and
the answer is right when every must-fact is found and no must-not wording is.

    .venv/bin/python bench/answer_benchmark.py --model before=models/s15.tar.gz \\
        --model after=models/<newest>.tar.gz   # -> bench/results/answers.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUESTIONS = ROOT / "tests" / "answers_heldout.yml"
for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):  # as the tests: the model is local
    os.environ.setdefault(_name, "1")
START_TIMEOUT_S = 900  # loading the BERT model on two shared cores takes minutes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_questions(path: Path) -> list[dict]:
    """The entries, checked for shape: a malformed fact would silently count as found."""
    entries = yaml.safe_load(path.read_text())["questions"]
    for entry in entries:
        assert isinstance(entry["text"], str) and entry["topic"], entry
        for fact in entry["must"]:
            assert isinstance(fact, list) and fact and all(isinstance(s, str) for s in fact), entry
        assert all(isinstance(s, str) for s in entry.get("must_not", [])), entry
    return entries


def check(answer: str, entry: dict) -> tuple[list[list[str]], list[str]]:
    """The must-facts none of whose wordings the answer has, and the forbidden wordings it has."""
    said = " ".join(answer.lower().replace("’", "'").split())
    missing = [fact for fact in entry["must"] if not any(alt.lower() in said for alt in fact)]
    forbidden = [bad for bad in entry.get("must_not", []) if bad.lower() in said]
    return missing, forbidden


@contextlib.contextmanager
def running_bot(archive: Path, root: Path = ROOT) -> Iterator[str]:
    """`python -m bot.cli up --model ARCHIVE` as the tests' `bot` fixture starts it: free ports,
    temporary orders and conversation databases; stopped with everything it started."""
    from bot.answers.orders import create_sample_orders

    ports = {name: free_port() for name in ("rasa", "actions", "review", "webchat")}
    with tempfile.TemporaryDirectory(prefix="answers-bench-") as folder:
        databases = {
            "SHOPDESK_ORDERS_DB_URL": f"sqlite:///{Path(folder) / 'orders.db'}",
            "SHOPDESK_DB_URL": f"sqlite:///{Path(folder) / 'shopdesk.db'}",
        }
        create_sample_orders(databases["SHOPDESK_ORDERS_DB_URL"])
        log_path = Path(folder) / "shopdesk-up.log"
        with log_path.open("w") as log:  # a file, not a pipe: nothing can block on it
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "bot.cli", "up", "--model", str(archive)),
                    *("--port", str(ports["rasa"]), "--actions-port", str(ports["actions"])),
                    *(
                        "--review-port",
                        str(ports["review"]),
                        "--webchat-port",
                        str(ports["webchat"]),
                    ),
                ],
                cwd=root,
                env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", **databases},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so nothing it started outlives us
            )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while "shopdesk is running." not in log_path.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace").splitlines()[-40:]
                    raise RuntimeError("the bot did not start:\n" + "\n".join(tail))
                time.sleep(1)
            yield f"http://127.0.0.1:{ports['rasa']}"
        finally:
            shut_down(process, log_path)
            left = [port for port in ports.values() if port_open(port)]
            if left:
                print(f"warning: ports {left} still open after shutdown", file=sys.stderr)


def shut_down(process: subprocess.Popen, log_path: Path) -> None:
    """SIGTERM to `up`, which stops its servers (not SIGINT: a job started in the background
    inherits SIGINT ignored); then whatever is left of its process group is terminated."""
    started = time.monotonic()
    process.terminate()
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    took = time.monotonic() - started
    print(f"shopdesk up exited with {process.returncode} after {took:.0f} s", file=sys.stderr)
    if process.returncode != 0:
        print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
    for group_signal in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, group_signal)
        except ProcessLookupError:
            return  # the group is empty: everything stopped
        print(f"leftover servers: {group_signal.name} to the process group", file=sys.stderr)
        time.sleep(20)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def ask(base: str, sender: str, text: str) -> str:
    """One message in a new conversation; the bot's text replies joined (buttons left out)."""
    request = urllib.request.Request(
        f"{base}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        replies = json.loads(response.read() or b"[]")
    return "\n".join(reply["text"] for reply in replies if reply.get("text"))


def share(rows: list[dict]) -> dict:
    right = sum(row["right"] for row in rows)
    return {"questions": len(rows), "right": right, "share": right / len(rows) if rows else 0.0}


def run_model(name: str, archive: Path, questions: list[dict], root: Path = ROOT) -> dict:
    rows = []
    started = time.perf_counter()
    with running_bot(archive.resolve(), root) as base:
        for number, entry in enumerate(questions):
            answer = ask(base, f"answers-{name}-{number}", entry["text"])
            missing, forbidden = check(answer, entry)
            rows.append(
                {
                    "topic": entry["topic"],
                    "text": entry["text"],
                    "answer": answer,
                    "missing": missing,
                    "forbidden": forbidden,
                    "right": not missing and not forbidden,
                }
            )
    topics = sorted({row["topic"] for row in rows})
    return {
        "archive": str(archive),
        "code": "this checkout" if root == ROOT else str(root),
        "seconds": round(time.perf_counter() - started, 1),
        "overall": share(rows),
        "by_topic": {t: share([r for r in rows if r["topic"] == t]) for t in topics},
        "answers": [
            {key: row[key] for key in ("topic", "text", "right", "answer")} for row in rows
        ],
        "failures": [
            {key: row[key] for key in ("topic", "text", "answer", "missing", "forbidden")}
            for row in rows
            if not row["right"]
        ],
    }


def print_table(results: dict) -> None:
    names = list(results["models"])
    topics = sorted({t for m in results["models"].values() for t in m["by_topic"]})
    print("| topic | questions | " + " | ".join(names) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in names) + " |")
    for topic in [*topics, "overall"]:
        cells = [
            m["overall"] if topic == "overall" else m["by_topic"][topic]
            for m in results["models"].values()
        ]
        shares = " | ".join(f"{100 * c['share']:.1f} % ({c['right']})" for c in cells)
        print(f"| {topic} | {cells[0]['questions']} | {shares} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        action="append",
        required=True,
        help="NAME=ARCHIVE, or NAME=ARCHIVE@DIR to run it with the code and data of another "
        "checkout (e.g. a `git worktree` of an earlier commit: today's answers vs the new ones)",
    )
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "answers.json")
    args = parser.parse_args()

    questions = load_questions(args.questions)
    results: dict = {"questions_file": str(args.questions), "models": {}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for spec in args.model:
        name, archive = spec.split("=", 1)
        archive, _, root = archive.partition("@")
        results["models"][name] = run_model(
            name, Path(archive), questions, Path(root).resolve() if root else ROOT
        )
        overall = results["models"][name]["overall"]
        print(f"{name}: {overall['right']}/{overall['questions']} right", flush=True)
        # after each model, so that a later one failing to start keeps the earlier figures
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print_table(results)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
