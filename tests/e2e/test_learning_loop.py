"""The learning loop on the real bot: customers talk to it, the SQLite tracker store logs it,
staff review it, `shopdesk export` writes training data that Rasa accepts, and `shopdesk
retrain` refuses to promote a model that got worse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers.project import PROJECT_ROOT
from tests.helpers.tiny_bert import write_tiny_bert

pytestmark = pytest.mark.slow

CUSTOMER_EMAIL = "anna.berg@example.org"  # the e-mail on order 482913: its owner asks
CUSTOMER_PHONE = "+49 30 12345678"


def shopdesk(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=check,
        timeout=1200,
    )


@pytest.fixture(scope="module")
def talked(bot, databases) -> dict[str, str]:
    """Two customers talk to the running bot; returns their conversation ids."""
    order_customer = f"loop-order-{time.time_ns()}"
    bot.say(order_customer, "hello")
    bot.say(
        order_customer,
        f"Hi, this is Anna Schmidt, where is my order 482913? reach me at {CUSTOMER_EMAIL} "
        f"or {CUSTOMER_PHONE}",
    )
    bot.say(order_customer, "thanks, bye")

    care_customer = f"loop-care-{time.time_ns()}"
    bot.say(care_customer, "is the candle wax soy or paraffin")
    bot.say(care_customer, "/affirm")
    return {"order": order_customer, "care": care_customer}


def test_conversations_read_back_as_the_bot_logged_them(bot, databases, talked):
    from bot.storage.conversation_log import ConversationLog

    log = ConversationLog(databases["SHOPDESK_DB_URL"])
    assert {talked["order"], talked["care"]} <= {s.id for s in log.list(limit=500)}

    conversation = log.read(talked["order"])
    served = [e for e in bot.tracker(talked["order"])["events"] if e["event"] == "user"]
    assert [t.text for t in conversation.user_turns] == [e["text"] for e in served]
    assert [t.intent for t in conversation.user_turns] == [
        e["parse_data"]["intent"]["name"] for e in served
    ]
    assert conversation.channel == "rest"
    asked = conversation.user_turns[1]
    assert asked.intent == "track_order" and 0.4 < asked.confidence <= 1.0
    assert len(asked.ranking) >= 3 and asked.ranking[0].name == "track_order"
    assert {e["entity"]: e["value"] for e in asked.entities}["order_number"] == "482913"
    answer = conversation.answers_to(asked)[0]
    assert answer.source == {"kind": "template", "id": "faq:track_order", "intent": "track_order"}
    assert "482913" in answer.text

    care = log.read(talked["care"])
    retrieved = next(
        t for t in care.turns if t.kind == "bot" and t.source.get("kind") == "retrieval"
    )
    assert retrieved.feedback is True  # the customer's "/affirm" stored by the action server


def test_review_export_is_valid_masked_and_idempotent(bot, databases, talked, tmp_path):
    from bot.answers.retrieval.transcripts import load_transcripts
    from bot.storage.conversation_log import ConversationLog

    env = dict(databases)
    log = ConversationLog(databases["SHOPDESK_DB_URL"])
    order_turns = log.read(talked["order"]).user_turns
    care_turns = log.read(talked["care"]).user_turns
    # Staff: the order question is right; the candle question becomes training data for
    # out_of_scope with its approved answer; "/affirm" is a button, "hello" is excluded.
    shopdesk("review", "message", str(order_turns[1].event_id), "--by", "ana", env=env)
    shopdesk("review", "message", str(order_turns[0].event_id), "--by", "ana", "--exclude", env=env)
    shopdesk(
        "review", "message", str(care_turns[0].event_id), "--by", "ben",
        "--intent", "out_of_scope", "--approve-answer", env=env,
    )  # fmt: skip
    refused = shopdesk(
        "review", "message", str(care_turns[0].event_id), "--by", "ben", "--intent", "wash",
        env=env, check=False,
    )  # fmt: skip
    assert refused.returncode != 0 and "not an intent" in refused.stderr
    shopdesk(
        "review", "conversation", talked["order"], "--by", "ana", "--reviewed", "--story",
        "--tag", "orders", "--note", "Good answer.", env=env,
    )  # fmt: skip

    outputs = {
        "nlu": tmp_path / "data" / "reviewed.yml",
        "transcripts": tmp_path / "transcripts" / "reviewed.jsonl",
        "stories": tmp_path / "reviewed_stories.yml",
    }
    flags = [f"--{name}={path}" for name, path in outputs.items()]
    flags.append(f"--held-back={tmp_path / 'reviewed_heldout.yml'}")  # not the project's
    first = shopdesk("export", *flags, env=env).stdout
    assert first.splitlines()[0].endswith("2 new, 2 in all"), first
    assert first.splitlines()[1].endswith("1 new, 1 in all"), first
    assert first.splitlines()[2].endswith("1 new, 1 in all"), first

    written = {name: path.read_text() for name, path in outputs.items()}
    everything = "\n".join(written.values())
    for personal in (CUSTOMER_EMAIL, "Anna", "Schmidt", "12345678"):
        assert personal not in everything
    assert "<EMAIL>" in written["nlu"] and "<NAME>" in written["nlu"]
    assert "[482913](order_number)" in written["nlu"]  # order numbers stay annotated
    assert "hello" not in written["nlu"]  # excluded
    assert "- intent: out_of_scope" in written["nlu"]

    [transcript] = load_transcripts(outputs["transcripts"].parent)
    assert transcript.question == "is the candle wax soy or paraffin"
    assert "wax" in transcript.answer.lower()
    assert "reviewed" in transcript.tags and "out_of_scope" in transcript.tags

    stories = yaml.safe_load(written["stories"])["stories"]
    assert [story["story"] for story in stories] == [f"reviewed conversation {talked['order']}"]
    steps = stories[0]["steps"]
    served = [e for e in bot.tracker(talked["order"])["events"] if e["event"] == "user"]
    assert [s["intent"] for s in steps if "intent" in s] == [
        e["parse_data"]["intent"]["name"] for e in served
    ]
    assert {"action": "action_answer"} in steps

    # Rasa accepts the exported NLU data beside the hand-written data, and reads the stories.
    validate = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate", "--data", "data", str(outputs["nlu"])],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert validate.returncode == 0, validate.stdout[-3000:] + validate.stderr[-3000:]
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

    domain = Domain.load(PROJECT_ROOT / "domain.yml")
    [story_step] = YAMLStoryReader(domain).read_from_file(outputs["stories"])
    assert story_step.block_name == f"reviewed conversation {talked['order']}"

    # Exporting again adds nothing and changes nothing.
    second = shopdesk("export", *flags, env=env).stdout
    assert all(" 0 new" in line for line in second.splitlines()[:3]), second
    assert {name: path.read_text() for name, path in outputs.items()} == written

    # Hand-written data is never overwritten.
    refused = shopdesk(
        "export", f"--nlu={PROJECT_ROOT / 'data' / 'nlu' / 'orders.yml'}", env=env, check=False
    )
    assert refused.returncode != 0 and "hand-written" in refused.stderr


@pytest.fixture(scope="module")
def served_model(bot) -> Path:
    from bot.runtime.models import latest_model

    model = latest_model()
    assert model is not None
    return model


def test_a_worse_model_is_not_promoted_and_a_better_one_is(served_model, tmp_path):
    from bot.learning.retrain import WORK_DIR, promote_if_not_worse
    from bot.runtime.models import latest_model

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy2(served_model, models / served_model.name)
    tiny = write_tiny_bert(tmp_path / "tiny-bert")
    config = tmp_path / "bad-config.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "recipe": "default.v1",
                "language": "en",
                "assistant_id": "shopdesk-test-worse",
                "pipeline": [
                    {"name": "WhitespaceTokenizer"},
                    {
                        "name": "bot.nlu.bert_intent_classifier.BertIntentClassifier",
                        "model_name_or_path": str(tiny),
                        "epochs": 1,
                        "show_progress_bar": False,
                    },
                ],
                "policies": [{"name": "RulePolicy"}],
            }
        )
    )
    result = shopdesk(
        "retrain", "--no-export", "--config", str(config), "--models", str(models), env={},
        check=False,
    )  # fmt: skip
    output = result.stdout
    assert result.returncode == 3, output + result.stderr
    assert "Not promoted" in output
    assert "candidate" in output and "current" in output  # both scores are printed
    assert [path.name for path in models.iterdir()] == [served_model.name]

    # The rejected candidate is kept; against it as the served model, the real one wins.
    rejected = latest_model(WORK_DIR / "candidates")
    assert rejected is not None and rejected.name.startswith("candidate-")
    worse_models = tmp_path / "worse-models"
    worse_models.mkdir()
    shutil.move(str(rejected), worse_models / rejected.name)
    candidate = tmp_path / "candidate.tar.gz"
    shutil.copy2(served_model, candidate)
    decision = promote_if_not_worse(candidate, worse_models)
    assert decision.promoted
    assert decision.candidate.accuracy > decision.current.accuracy + 0.3
    # Each set is scored on its own (the off-topic one too, though it has a single intent).
    assert set(decision.candidate.by_set) == {
        "nlu_heldout.yml",
        "nlu_robustness.yml",
        "offtopic_heldout.yml",
    }
    assert min(decision.candidate.by_set.values()) > 0.8
    assert (worse_models / "candidate.tar.gz").is_file() and not candidate.exists()
