"""Intent discovery end to end on the real bot: customers ask about something the bot has no
intent for, a group appears on the discovery page, staff name it as a new intent, the export
writes it into (a copy of) the project, `rasa train` trains on it, and the new model
recognises it."""

from __future__ import annotations

import asyncio
import html
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers.http import serve_in_tests
from tests.helpers.project import PROJECT_ROOT
from tests.helpers.review_app import PASSWORD, Browser

pytestmark = pytest.mark.slow

NEW_INTENT = "loyalty_points"
# A loyalty scheme: the shop has none, no intent, topic or template covers it.
ASKED = [
    "do you have a loyalty program where I collect points",
    "how do I earn reward points on my purchases",
    "how many loyalty points do I have",
    "do my reward points expire",
    "is there a rewards scheme for regular customers",
    "i never got the loyalty points for my last purchase",
    "how do I join your loyalty club",
    "can my loyalty points pay for part of an order",
]


def project_copy(root: Path, served: Path) -> Path:
    """What `rasa train` and the export need, with the served model (discovery's encoder)."""
    shutil.copy2(PROJECT_ROOT / "domain.yml", root / "domain.yml")
    shutil.copy2(PROJECT_ROOT / "config.yml", root / "config.yml")
    shutil.copytree(PROJECT_ROOT / "data", root / "data")
    (root / "models").mkdir()
    shutil.copy2(served, root / "models" / served.name)
    return root


def groups(page: str) -> list[list[int]]:
    """The ticked event ids of each group on the discovery page."""
    sections = page.split('<section class="inbox-group discovery-group"')[1:]
    return [
        [int(i) for i in re.findall(r'name="event_id" value="(\d+)" checked', section)]
        for section in sections
    ]


def parse(model: Path, texts: list[str]) -> list[str]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    async def intents() -> list[str]:
        return [(await agent.parse_message(text))["intent"]["name"] for text in texts]

    return asyncio.run(intents())


def forget_reviews(db_url: str, event_ids: list[int]) -> None:
    """The live bot's database is shared by the other live tests: this test's reviews and its
    new intent must not reach their exports."""
    from sqlalchemy import delete

    from bot.storage.database import open_database
    from bot.storage.new_intents import NewIntentRow
    from bot.storage.reviews import MessageReviewRow

    with open_database(db_url).begin() as connection:
        connection.execute(delete(MessageReviewRow).where(MessageReviewRow.event_id.in_(event_ids)))
        connection.execute(delete(NewIntentRow).where(NewIntentRow.name == NEW_INTENT))


def test_a_group_named_as_a_new_intent_is_learned(bot, databases, tmp_path, request):
    from bot.learning.discovery import discovery_candidates
    from bot.learning.export import ExportPaths
    from bot.review_app import create_app
    from bot.review_app.pages.discovery import find_clusters
    from bot.review_app.settings import ReviewAppSettings
    from bot.runtime.models import latest_model, rasa_command
    from bot.storage.staff import StaffAccounts

    db_url = databases["SHOPDESK_DB_URL"]
    for number, text in enumerate(ASKED):
        bot.say(f"loyal-{number}-{time.time_ns()}", text)
    ours = {c.event_id: c for c in discovery_candidates(db_url) if c.text in ASKED}
    # The bot has no answer for them: most fall back or are declined (the candidates).
    assert len(ours) >= 5, [c.text for c in discovery_candidates(db_url)]

    served = latest_model()
    assert served is not None
    (tmp_path / "project").mkdir()
    project = project_copy(tmp_path / "project", served)
    StaffAccounts(db_url).create("rita", PASSWORD, role="admin")
    settings = ReviewAppSettings(db_url=db_url, export_paths=ExportPaths.under(project))
    rita = Browser(serve_in_tests(create_app(settings)), "rita")

    # A group of them appears on the discovery page (with the served model's encoder, unpacked
    # and its intents embedded once per model: done here first, as a first visit would, so
    # that the page request itself stays within the test client's patience).
    find_clusters(rita.app)
    found = max(groups(rita.get("/discover").text), key=lambda ids: len(set(ids) & set(ours)))
    in_group = sorted(set(found) & set(ours))
    assert len(in_group) >= 3, found

    # Staff name it (ticking only the customers' loyalty questions), then an admin exports.
    request.addfinalizer(lambda: forget_reviews(db_url, in_group))
    named = rita.post(
        "/discover/label",
        {"event_id": [str(i) for i in in_group], "action": "new", "new_intent": NEW_INTENT},
    )
    assert named.status == 302, named.text
    exported = rita.post("/export", {})
    assert exported.status == 200, exported.text
    assert f"new intents: {NEW_INTENT}" in html.unescape(exported.text)
    domain = yaml.safe_load((project / "domain.yml").read_text())
    assert NEW_INTENT in domain["intents"]
    reviewed = yaml.safe_load((project / "data" / "nlu" / "reviewed.yml").read_text())
    [examples] = [block["examples"] for block in reviewed["nlu"] if block["intent"] == NEW_INTENT]
    trained = [line[2:] for line in examples.splitlines() if line.startswith("- ")]
    assert trained and set(trained) <= set(ASKED)

    # The next training (a full one: fine-tuning cannot add an intent) learns it.
    result = subprocess.run(
        rasa_command(
            "train", "--config", str(project / "config.yml"), "--domain",
            str(project / "domain.yml"), "--data", str(project / "data"), "--out",
            str(project / "models"), "--fixed-model-name", "with-new-intent",
        ),
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    model = project / "models" / "with-new-intent.tar.gz"
    assert parse(model, trained) == [NEW_INTENT] * len(trained)
    assert parse(served, trained) != [NEW_INTENT] * len(trained)  # the served one did not know it
