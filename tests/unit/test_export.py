"""`bot.learning.export` on a conversation logged by Rasa's SQLTrackerStore: what is written,
masked,
merged, skipped and refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers.logged_conversations import conversation_events, save
from tests.helpers.project import PROJECT_ROOT


@pytest.fixture()
def paths(tmp_path: Path):
    from bot.learning.export import ExportPaths

    return ExportPaths(
        nlu=tmp_path / "data" / "nlu" / "reviewed.yml",
        transcripts=tmp_path / "transcripts" / "reviewed.jsonl",
        stories=tmp_path / "tests" / "reviewed_stories.yml",
        training_data=PROJECT_ROOT / "data",
        held_back=tmp_path / "tests" / "reviewed_heldout.yml",
    )


@pytest.fixture()
def reviewed(logged):
    """Staff reviewed the logged conversation: what the tests below export."""
    from bot.storage.conversation_log import ConversationLog
    from bot.storage.reviews import ReviewStore

    log = ConversationLog(logged)
    turns = log.read("customer-1").user_turns
    store = ReviewStore(logged)
    store.review_message(turns[0].event_id, "customer-1", "ana")  # track_order, confirmed
    store.review_message(
        turns[1].event_id, "customer-1", "ana", corrected_intent="out_of_scope",
        answer_approved=True,
    )  # fmt: skip
    store.review_message(turns[3].event_id, "customer-1", "ana")  # contact_human_agent
    store.review_conversation("customer-1", "ana", reviewed=True, export_as_story=True)
    store.add_tag("customer-1", "care", "ana")
    return log, store, turns


def read_nlu(path: Path) -> dict[str, str]:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    return {m.get("text"): m.get("intent") for m in RasaYAMLReader().read(path).intent_examples}


def test_export_writes_masked_corrected_training_data(reviewed, paths):
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    from bot.answers.retrieval.transcripts import load_transcripts
    from bot.learning.export import export_reviewed

    log, store, _ = reviewed
    report = export_reviewed(log, store, paths)
    assert (report.nlu_added, report.transcripts_added, report.stories_added) == (3, 1, 1)
    # None of the three falls in the held-back share: no empty test set for the gate.
    assert report.held_back_total == 0 and not paths.held_back.exists()

    examples = read_nlu(paths.nlu)
    assert examples == {
        "hi, where is my order 482913? it's for <NAME>, <EMAIL>": "track_order",
        "how do I wash a linen duvet cover": "out_of_scope",
        "actually I want a person": "contact_human_agent",
    }
    [order_message] = [
        m for m in RasaYAMLReader().read(paths.nlu).intent_examples if "482913" in m.get("text")
    ]
    assert order_message.get("entities") == [
        {"start": 22, "end": 28, "value": "482913", "entity": "order_number"}
    ]

    [transcript] = load_transcripts(paths.transcripts.parent)
    assert transcript.id.startswith("reviewed-")
    assert (transcript.question, transcript.answer) == (
        "how do I wash a linen duvet cover",
        "Wash linen at 40 degrees.",
    )
    assert transcript.tags == ("care", "out_of_scope", "reviewed")

    written = paths.stories.read_text()
    assert "tom.baker" not in written and "Tom" not in written
    story = yaml.safe_load(written)["stories"][0]
    intents = [step["intent"] for step in story["steps"] if "intent" in step]
    # Corrected, and cut where the person took over (the "hello?" after it is not the bot's).
    assert intents == ["track_order", "out_of_scope", "affirm", "contact_human_agent"]
    assert {"slot_was_set": [{"email": "<EMAIL>"}]} in story["steps"]
    domain = Domain.load(PROJECT_ROOT / "domain.yml")
    assert len(YAMLStoryReader(domain).read_from_file(paths.stories)) == 1


def test_export_again_adds_nothing_and_keeps_what_it_wrote(reviewed, paths):
    from bot.learning.export import export_reviewed

    log, store, turns = reviewed
    export_reviewed(log, store, paths)
    before = {path: path.read_text() for path in (paths.nlu, paths.transcripts, paths.stories)}
    again = export_reviewed(log, store, paths)
    assert (again.nlu_added, again.transcripts_added, again.stories_added) == (0, 0, 0)
    assert {path: path.read_text() for path in before} == before

    # Staff change their minds: excluded and unapproved entries leave the files.
    store.review_message(turns[3].event_id, "customer-1", "ben", excluded=True)
    store.review_message(turns[1].event_id, "customer-1", "ben", answer_approved=False)
    changed = export_reviewed(log, store, paths)
    assert "actually I want a person" not in read_nlu(paths.nlu)
    assert changed.nlu_total == 2 and changed.transcripts_total == 0


def test_entries_of_conversations_gone_from_the_log_stay(reviewed, paths, tmp_path):
    from bot.learning.export import export_reviewed
    from bot.storage.conversation_log import ConversationLog
    from bot.storage.reviews import ReviewStore

    log, store, _ = reviewed
    export_reviewed(log, store, paths)
    other = f"sqlite:///{tmp_path / 'other.db'}"  # a fresh log with one new conversation
    save(other, "customer-9", conversation_events(order="604731"))
    new_log, new_store = ConversationLog(other), ReviewStore(other)
    first = new_log.read("customer-9").user_turns[0]
    new_store.review_message(first.event_id, "customer-9", "ana")
    report = export_reviewed(new_log, new_store, paths)
    assert report.nlu_added == 1 and report.nlu_total == 4
    assert report.stories_total == 1  # the earlier story is still there


def test_hand_written_data_wins_and_is_never_overwritten(reviewed, paths):
    from bot.learning.export import ExportError, ExportPaths, export_reviewed

    log, store, turns = reviewed
    # "actually I want a person" is not hand-written; a message that is gets skipped.
    hand_written = paths.nlu.parent / "hand_written.yml"
    hand_written.parent.mkdir(parents=True)
    hand_written.write_text(
        'version: "3.1"\nnlu:\n- intent: complaint\n  examples: |\n    - actually I want a person\n'
    )
    report = export_reviewed(
        log, store, ExportPaths(**{**paths.__dict__, "training_data": paths.nlu.parent})
    )
    assert "actually I want a person" not in read_nlu(paths.nlu)
    assert any("hand-written data has it as 'complaint'" in reason for reason in report.skipped)

    with pytest.raises(ExportError, match="hand-written"):
        export_reviewed(log, store, ExportPaths(**{**paths.__dict__, "nlu": hand_written}))
    assert "complaint" in hand_written.read_text()


def test_a_fallback_without_a_correction_is_not_exported(logged, paths):
    from bot.learning.export import export_reviewed
    from bot.storage.conversation_log import ConversationLog
    from bot.storage.reviews import ReviewStore

    log, store = ConversationLog(logged), ReviewStore(logged)
    unsure = log.read("customer-1").user_turns[1]
    store.review_message(unsure.event_id, "customer-1", "ana")
    report = export_reviewed(log, store, paths)
    assert report.nlu_total == 0
    assert any("no intent" in reason for reason in report.skipped)


def test_a_reviewed_message_in_a_held_out_test_set_is_never_exported(reviewed, paths, tmp_path):
    """The retrain gate scores on the held-out sets: a reviewed message found there would be
    trained on and then scored on, and the gate would see a better model than there is."""
    from bot.learning.export import ExportPaths, export_reviewed

    log, store, turns = reviewed
    export_reviewed(log, store, paths)
    assert "actually I want a person" in read_nlu(paths.nlu)  # exported while not held out

    held_out = tmp_path / "gate.yml"
    held_out.write_text(
        'version: "3.1"\nnlu:\n- intent: contact_human_agent\n  examples: |\n'
        "    - Actually I want a   PERSON\n"  # the same message, as normalise() compares
    )
    guarded = ExportPaths(**{**paths.__dict__, "held_out": (held_out,)})
    report = export_reviewed(log, store, guarded)
    assert "actually I want a person" not in read_nlu(paths.nlu)  # and the old copy is gone
    assert report.held_out_skipped == 1
    assert "held out: 1 reviewed message(s) not written" in report.summary()
    assert len(read_nlu(paths.nlu)) == report.nlu_total  # the other reviewed messages stay


def test_the_default_guard_covers_every_set_the_gate_and_test_script_score_on():
    from bot.learning.export import ExportPaths

    names = {path.name for path in ExportPaths().held_out}
    assert {"nlu_heldout.yml", "nlu_robustness.yml", "offtopic_heldout.yml"} <= names
    assert all(path.is_file() for path in ExportPaths().held_out)
    under = ExportPaths.under(Path("/elsewhere"))
    assert all(str(path).startswith("/elsewhere/tests/") for path in under.held_out)
    # The held-back share is a gate set export writes to, never one it skips messages of.
    assert under.held_back == Path("/elsewhere/tests/reviewed_heldout.yml")
    assert ExportPaths().held_back not in ExportPaths().held_out
