"""The review app's side of the review queue: the NLU inbox in the queue's order, the reviews
waiting for training, and "Retrain now" (admins), through real HTTP requests.

The retrain command is a stand-in script (the `retrain_command` setting, or
SHOPDESK_RETRAIN_COMMAND), so no model is trained: it prints what `shopdesk retrain` prints
and waits for the test to let it end with the exit status it chooses.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

from bot.learning import review_queue
from tests.helpers.logged_conversations import save, user
from tests.helpers.review_app import Browser, add_staff, group_form, groups, review_app

FAKE_RETRAIN = """\
import pathlib, sys, time
gate = pathlib.Path(sys.argv[1])
print("1. Export reviewed conversations", flush=True)
print("arguments:", " ".join(sys.argv[2:]) or "none", flush=True)
while not gate.exists():
    time.sleep(0.05)
code = int(gate.read_text() or 0)
if code == 0:
    print("Promoted: models/candidate-1.tar.gz is now the served model.")
elif code == 3:
    print("Not promoted: its mean accuracy over the sets is below the current model's.")
else:
    print("training failed", file=sys.stderr)
sys.exit(code)
"""


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """An empty project folder: no exported data, no model."""
    (tmp_path / "project" / "models").mkdir(parents=True)
    return tmp_path / "project"


@pytest.fixture()
def gate(tmp_path: Path):
    """The stand-in retrain ends when this file exists, with the status written in it; a
    test that fails half-way still lets its run end."""
    path = tmp_path / "let-it-end"
    yield path
    if not path.exists():
        path.write_text("1")


@pytest.fixture()
def make_app(db_url: str, project: Path, tmp_path: Path, gate: Path):
    from bot.learning.export import ExportPaths

    add_staff(db_url, ada="admin", rob="reviewer")
    script = tmp_path / "fake_retrain.py"
    script.write_text(FAKE_RETRAIN, encoding="utf-8")

    def build(**settings):
        defaults = {
            "db_url": db_url,
            "export_paths": ExportPaths.under(project),
            "models_dir": project / "models",
            "retrain_dir": tmp_path / "review-retrain",
            "retrain_command": (sys.executable, str(script), str(gate)),
        }
        return review_app(**{**defaults, **settings})

    return build


@pytest.fixture()
def app(make_app):
    return make_app()


@pytest.fixture()
def ada(app) -> Browser:
    return Browser(app, "ada")


@pytest.fixture()
def rob(app) -> Browser:
    return Browser(app, "rob")


# ----------------------------------------------------------------- the inbox's order


@pytest.fixture()
def queue_log(db_url: str) -> str:
    """Three groups whose orders differ: by frequency parcel, gift wrap, klarna; by margin
    gift wrap (.02), klarna (.15), parcel (.40); by confidence klarna (.20), gift wrap (.40),
    parcel (.50)."""
    save(
        db_url,
        "c-1",
        [
            user("where is my parcel", "track_order", 0.5, ranking=[("track_order", 0.5)]),
            user(
                "gift wrap please",
                "complaint",
                0.45,
                ranking=[("complaint", 0.45), ("review", 0.43)],
            ),
            user("hello", "greet", 0.95),
        ],
    )
    save(
        db_url,
        "c-2",
        [
            user("parcel where is it", "track_order", 0.55, ranking=[("track_order", 0.55)]),
            user("my parcel?", "track_order", 0.58, ranking=[("track_order", 0.58)]),
            user(
                "gift wrap please", "complaint", 0.4, ranking=[("complaint", 0.4), ("review", 0.3)]
            ),
            user(
                "can I pay with klarna",
                "check_payment_methods",
                0.2,
                ranking=[("check_payment_methods", 0.2), ("payment_issue", 0.05)],
            ),
        ],
    )
    return db_url


def _order_line(page: str) -> str:
    return re.sub(r"<[^>]+>", "", re.search(r'id="inbox-order">(.*?)</p>', page, re.S)[1])


def test_the_inbox_is_in_the_review_queues_order(queue_log, app, monkeypatch) -> None:
    rob = Browser(app, "rob")
    monkeypatch.setattr(review_queue, "DEFAULT_STRATEGY", "margin")
    page = rob.get("/inbox").text
    # A group comes where its best message does: frequency alone would put parcel first.
    assert groups(page) == [(2, "gift wrap"), (1, "klarna pay"), (3, "parcel")]
    assert _order_line(page).startswith("Order: margin, the closest calls first")

    monkeypatch.setattr(review_queue, "DEFAULT_STRATEGY", "lowest_confidence")
    page = rob.get("/inbox").text
    assert groups(page) == [(1, "klarna pay"), (2, "gift wrap"), (3, "parcel")]
    assert "Order: lowest_confidence" in _order_line(page)

    monkeypatch.setattr(review_queue, "DEFAULT_STRATEGY", "random")
    shuffled = groups(rob.get("/inbox").text)
    assert sorted(shuffled) == sorted(groups(page))
    assert groups(rob.get("/inbox").text) == shuffled  # the same on every view

    # The threshold still filters first: below 0.3 only the klarna question is left.
    assert groups(rob.get("/inbox?below=0.3").text) == [(1, "klarna pay")]
    assert "hello" not in page


def test_the_inbox_default_order_is_the_constant(queue_log, app) -> None:
    page = Browser(app, "rob").get("/inbox").text
    assert f"Order: {review_queue.DEFAULT_STRATEGY}," in _order_line(page)


# --------------------------------------------------------- waiting for training


def _waiting(page: str) -> int:
    return int(re.search(r'id="waiting-count">(\d+)<', page)[1])


def test_the_inbox_counts_reviews_waiting_for_training(queue_log, app, project: Path) -> None:
    ada = Browser(app, "ada")
    page = ada.get("/inbox").text
    assert _waiting(page) == 0
    assert "reviewed messages waiting for the next training" in page
    assert "after the earlier of the last export of reviewed messages and the served model" in page

    gift = group_form(page, "gift wrap")
    labelled = ada.post("/inbox/label", {"event_id": gift, "intent": "review", "action": "label"})
    assert labelled.status == 302
    assert _waiting(ada.get("/inbox").text) == 2

    # Exported and trained on since: nothing waits.
    later = time.time() + 60
    for path in (project / "data" / "nlu" / "reviewed.yml", project / "models" / "m.tar.gz"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
        os.utime(path, (later, later))
    page = ada.get("/inbox").text
    assert _waiting(page) == 0
    assert "reviewed after" in page


# ---------------------------------------------------------------------- retrain


def _wait_for(browser: Browser, text: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while True:
        page = browser.get("/retrain").text
        if text in page:
            return page
        assert time.monotonic() < deadline, f"{text!r} never showed:\n{page}"
        time.sleep(0.2)


def _outcome(page: str) -> str:
    return re.search(r'data-outcome="([^"]+)"', page)[1]


def test_an_admin_retrains_one_run_at_a_time(app, ada, gate: Path) -> None:
    inbox = ada.get("/inbox").text
    assert ">Retrain now</button>" in inbox
    started = ada.post("/retrain", {"finetune": "1"})
    assert started.status == 303 and started.headers["location"] == "/retrain"

    page = _wait_for(ada, "arguments: --finetune")  # the log's lines, as they come
    assert _outcome(page) == "running"
    assert "1. Export reviewed conversations" in page
    assert re.search(r'id="retrain-elapsed">\d+:\d\d<', page)
    assert "Started" in page and "by ada" in page
    response = ada.get("/retrain")
    assert response.headers["refresh"] == "5"  # reloads itself while it runs
    assert ">Retrain now</button>" not in response.text
    inbox = ada.get("/inbox").text
    assert "A retrain is running" in inbox and ">Retrain now</button>" not in inbox

    second = ada.post("/retrain", {})
    assert second.status == 409
    assert "A retrain is already running" in second.text
    assert _outcome(second.text) == "running"

    gate.write_text("0")
    page = _wait_for(ada, 'data-outcome="promoted"')
    assert "Finished: the new model was promoted" in page
    assert re.search(r'id="retrain-decision">Promoted: models/candidate-1.tar.gz is now', page)
    assert 'id="retrain-exit">0<' in page
    assert "refresh" not in ada.get("/retrain").headers

    # The lock went with the process: the next run starts, and its result is its own.
    gate.write_text("3")
    assert ada.post("/retrain", {}).status == 303
    page = _wait_for(ada, 'data-outcome="not promoted"')
    assert "arguments: none" in page
    assert 'id="retrain-decision">Not promoted: its mean accuracy' in page
    assert "kept aside" in page


def test_a_failed_retrain_shows_its_log(app, ada, gate: Path) -> None:
    gate.write_text("1")
    assert ada.post("/retrain", {}).status == 303
    page = _wait_for(ada, 'data-outcome="failed"')
    assert 'id="retrain-exit">1<' in page and "training failed" in page
    assert 'id="retrain-decision"' not in page


def test_only_admins_may_retrain(app, rob, tmp_path: Path) -> None:
    refused = rob.post("/retrain", {})
    assert refused.status == 403
    assert not (tmp_path / "review-retrain" / "run.json").exists()  # nothing was started
    page = rob.get("/retrain")
    assert page.status == 200
    assert "Only admins can start a retrain" in page.text and "Retrain now" not in page.text
    assert "No retrain has been started" in page.text
    assert ">Retrain now</button>" not in rob.get("/inbox").text


def test_the_retrain_command_comes_from_the_environment(
    make_app, monkeypatch, tmp_path: Path, gate: Path
) -> None:
    script = tmp_path / "fake_retrain.py"
    monkeypatch.setenv("SHOPDESK_RETRAIN_COMMAND", f"'{sys.executable}' '{script}' '{gate}' --env")
    from bot.review_app.settings import ReviewAppSettings

    assert ReviewAppSettings().retrain_command[-1] == "--env"
    app = make_app(retrain_command=ReviewAppSettings().retrain_command)
    ada = Browser(app, "ada")
    gate.write_text("0")
    assert ada.post("/retrain", {}).status == 303
    assert "arguments: --env" in _wait_for(ada, 'data-outcome="promoted"')
