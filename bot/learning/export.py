"""Turns reviewed conversations into training data for the next `rasa train`.

Four files, each written only by this module (a file without our header is never touched):

- reviewed user messages as Rasa NLU YAML (`data/nlu/reviewed.yml`), with the staff's
  corrected intent and order numbers kept as annotated entities; one in `HELD_BACK_SHARE`
  goes to the retrain gate's held-back test file instead (`bot.learning.held_back`), never to
  training;
- approved question -> answer pairs as transcripts JSON Lines for the BM25 index
  (`data/transcripts/reviewed.jsonl`);
- conversations chosen by staff as Rasa test stories (`tests/reviewed_stories.yml`).
- intents staff named, with their reviewed messages: into `domain.yml`, `data/reviewed_rules.yml`
  and, as unfilled answers, `data/faq.yml` (`bot/learning/new_intent_files.py`).

Personal data is masked in everything written (`bot.learning.privacy`). Exporting again merges
with what is there: nothing is added twice; entries of conversations no longer logged stay.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.learning.held_back import HELD_BACK_FILE, HELD_BACK_HEADER, ReviewedSides, other_test_sets
from bot.learning.new_intent_files import ProjectFileError, export_new_intents
from bot.learning.nlu_files import HELD_OUT_FILES, hand_written_examples, held_out_texts
from bot.learning.nlu_files import atomic_write as _atomic_write
from bot.learning.privacy import MaskedText, map_span, mask_personal_data
from bot.nlu.text import normalise
from bot.settings import PROJECT_ROOT
from bot.storage.conversation_log import PIPELINE_INTENTS, Conversation, ConversationLog, UserTurn
from bot.storage.new_intents import new_intent_names
from bot.storage.reviews import MessageReview, ReviewStore

NLU_HEADER = "# Written by `shopdesk export` from reviewed conversations. Re-export merges.\n"
STORIES_HEADER = "# Written by `shopdesk export`: conversations staff chose as test stories.\n"
TRANSCRIPT_ID_PREFIX = "reviewed-"
# Entities that say nothing about a person and help the classifier; all others are dropped.
KEPT_ENTITIES = frozenset({"order_number"})
# Answers worth reusing: not questions back, handoffs or feedback prompts.
REUSABLE_SOURCES = frozenset({"template", "retrieval"})


class ExportError(RuntimeError):
    """An output file that is not ours, or unreadable; nothing was written."""


@dataclass(frozen=True)
class ExportPaths:
    nlu: Path = PROJECT_ROOT / "data" / "nlu" / "reviewed.yml"
    transcripts: Path = PROJECT_ROOT / "data" / "transcripts" / "reviewed.jsonl"
    stories: Path = PROJECT_ROOT / "tests" / "reviewed_stories.yml"
    # Hand-written NLU data: reviewed messages already there are not exported again.
    training_data: Path = PROJECT_ROOT / "data"
    # The test sets the retrain gate scores on: reviewed messages there are never exported.
    held_out: tuple[Path, ...] = HELD_OUT_FILES
    held_back: Path = HELD_BACK_FILE  # a gate test set, never training data
    # Where intents staff named in the review app are added (bot/learning/new_intent_files.py).
    domain: Path = PROJECT_ROOT / "domain.yml"
    faq: Path = PROJECT_ROOT / "data" / "faq.yml"
    rules: Path = PROJECT_ROOT / "data" / "reviewed_rules.yml"

    @classmethod
    def under(cls, root: Path) -> ExportPaths:
        """The standard places inside another project folder."""
        return cls(
            nlu=root / "data" / "nlu" / "reviewed.yml",
            transcripts=root / "data" / "transcripts" / "reviewed.jsonl",
            stories=root / "tests" / "reviewed_stories.yml",
            training_data=root / "data",
            held_out=tuple(root / "tests" / path.name for path in HELD_OUT_FILES),
            held_back=root / "tests" / HELD_BACK_FILE.name,
            domain=root / "domain.yml",
            faq=root / "data" / "faq.yml",
            rules=root / "data" / "reviewed_rules.yml",
        )


@dataclass
class ExportReport:
    paths: ExportPaths
    nlu_added: int = 0
    nlu_total: int = 0
    transcripts_added: int = 0
    transcripts_total: int = 0
    stories_added: int = 0
    stories_total: int = 0
    held_out_skipped: int = 0
    held_back_added: int = 0
    held_back_total: int = 0
    new_intents: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"{self.paths.nlu}: {self.nlu_added} new, {self.nlu_total} in all",
            f"{self.paths.transcripts}: {self.transcripts_added} new, "
            f"{self.transcripts_total} in all",
            f"{self.paths.stories}: {self.stories_added} new, {self.stories_total} in all",
            f"{self.paths.held_back}: {self.held_back_added} new, {self.held_back_total} in all "
            "(reviewed messages held back from training, scored by the retrain gate)",
        ]
        if self.held_out_skipped:
            lines.append(
                f"held out: {self.held_out_skipped} reviewed message(s) not written, "
                "they are in the test sets the retrain gate scores on"
            )
        if self.new_intents:
            lines.append(
                f"new intents: {', '.join(self.new_intents)} added to {self.paths.domain.name}, "
                f"{self.paths.rules.name} and (unfilled answers) {self.paths.faq.name}"
            )
        lines += [f"skipped: {reason}" for reason in self.skipped]
        return "\n".join(lines)


def masked_example(turn: UserTurn) -> tuple[str, list[dict[str, Any]]]:
    """The message with personal data masked and only the kept entities, re-positioned."""
    masked = mask_personal_data(turn.text)
    return masked.text, _kept_entities(masked, turn.entities)


def _kept_entities(masked: MaskedText, entities: Iterable[dict[str, Any]]) -> list[dict]:
    kept = []
    for entity in entities:
        if entity.get("entity") not in KEPT_ENTITIES:
            continue
        span = map_span(masked, int(entity["start"]), int(entity["end"]))
        if span is None:
            continue
        start, end = span
        kept.append(
            {
                "start": start,
                "end": end,
                "value": masked.text[start:end],
                "entity": entity["entity"],
            }
        )
    return kept


def _require_ours(path: Path, header: str) -> None:
    if path.exists() and not path.read_text(encoding="utf-8").startswith(header):
        raise ExportError(
            f"{path} exists and was not written by `shopdesk export`; refusing to overwrite "
            "hand-written data. Choose another output path."
        )


# --------------------------------------------------------------------------- NLU data


def export_nlu(
    conversations: dict[str, Conversation],
    reviews: dict[int, MessageReview],
    paths: ExportPaths,
    report: ExportReport,
) -> None:
    from rasa.shared.nlu.training_data.message import Message

    _require_ours(paths.nlu, NLU_HEADER)
    _require_ours(paths.held_back, HELD_BACK_HEADER)
    sides = ReviewedSides.read(paths.nlu, paths.held_back)
    hand_written = hand_written_examples(paths.training_data, skip=paths.nlu)
    held_out = held_out_texts(other_test_sets(paths.held_out, paths.held_back))
    for review in reviews.values():
        turn = _user_turn(conversations, review)
        if turn is None:
            continue  # the conversation is gone from the log; keep what was exported
        text, entities = masked_example(turn)
        key = normalise(text)
        where = f"message {review.event_id} of {review.conversation_id}"
        if review.excluded:
            sides.drop(key)
            continue
        intent = review.corrected_intent or turn.intent
        if not key or text.lstrip().startswith("/"):
            continue  # empty, or a button payload rather than the customer's words
        if intent is None or intent in PIPELINE_INTENTS:
            report.skipped.append(f"{where}: no intent (correct it to export it)")
            continue
        if key in held_out or normalise(turn.text) in held_out:
            report.held_out_skipped += 1
            sides.drop(key)  # also when an earlier export wrote it
            continue
        if key in hand_written:
            if hand_written[key] != intent:
                report.skipped.append(
                    f"{where}: hand-written data has it as '{hand_written[key]}', not '{intent}'"
                )
            continue
        sides.put(key, Message(data={"text": text, "intent": intent, "entities": entities}))
    report.held_out_skipped += sides.drop_test_messages(held_out, hand_written)  # sets grew
    report.nlu_added, report.held_back_added = sides.training_added, sides.held_back_added
    report.nlu_total, report.held_back_total = sides.write(paths.nlu, NLU_HEADER, paths.held_back)


def _user_turn(conversations: dict[str, Conversation], review: MessageReview) -> UserTurn | None:
    conversation = conversations.get(review.conversation_id)
    if conversation is None:
        return None
    return next((t for t in conversation.user_turns if t.event_id == review.event_id), None)


# ------------------------------------------------------------------- transcripts


def transcript_id(conversation_id: str, turn: UserTurn) -> str:
    """Stable across exports and databases: the conversation and Rasa's message id."""
    key = f"{conversation_id}\x00{turn.message_id or turn.event_id}"
    return TRANSCRIPT_ID_PREFIX + hashlib.sha1(key.encode()).hexdigest()[:12]


def _read_transcripts(path: Path) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return rows
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ExportError(f"{path}:{number}: not valid JSON ({error.msg})") from error
        if not str(row.get("id", "")).startswith(TRANSCRIPT_ID_PREFIX):
            raise ExportError(
                f"{path}:{number}: not written by `shopdesk export` (id {row.get('id')!r}); "
                "refusing to overwrite hand-written transcripts."
            )
        rows[row["id"]] = row
    return rows


def export_transcripts(
    conversations: dict[str, Conversation],
    reviews: dict[int, MessageReview],
    tags: dict[str, tuple[str, ...]],
    paths: ExportPaths,
    report: ExportReport,
) -> None:
    rows = _read_transcripts(paths.transcripts)
    for review in reviews.values():
        turn = _user_turn(conversations, review)
        if turn is None:
            continue
        conversation = conversations[review.conversation_id]
        row_id = transcript_id(conversation.id, turn)
        if review.excluded or not review.answer_approved:
            rows.pop(row_id, None)
            continue
        answer = review.corrected_answer or "\n".join(
            bot.text
            for bot in conversation.answers_to(turn)
            if bot.text and bot.source.get("kind") in REUSABLE_SOURCES
        )
        question = mask_personal_data(turn.text).text.strip()
        answer = mask_personal_data(answer).text.strip()
        if not question or not answer:
            report.skipped.append(
                f"message {review.event_id} of {conversation.id}: approved, but there is no "
                "answer to reuse (write a corrected answer)"
            )
            continue
        intent = review.corrected_intent or turn.intent
        if row_id not in rows:
            report.transcripts_added += 1
        rows[row_id] = {
            "id": row_id,
            "question": question,
            "answer": answer,
            "date": turn.at.date().isoformat(),
            "tags": sorted(
                {"reviewed", *tags.get(conversation.id, ()), *([intent] if intent else [])}
            ),
            "source": conversation.channel or "chat",
        }
    report.transcripts_total = len(rows)
    lines = [json.dumps(rows[key], ensure_ascii=False) for key in sorted(rows)]
    if lines or paths.transcripts.exists():
        _atomic_write(paths.transcripts, "".join(line + "\n" for line in lines))


# ----------------------------------------------------------------------- stories


def story_name(conversation_id: str) -> str:
    return f"reviewed conversation {conversation_id}"


def conversation_events(
    raw_events: list[tuple[int, dict[str, Any]]], reviews: dict[int, MessageReview]
) -> list[Any]:
    """Rasa events of the bot's part of a conversation, corrected and masked.

    It ends where a person took over (`pause`): what follows is not the bot's to repeat.
    """
    from rasa.shared.core.events import Event

    events = []
    for event_id, data in raw_events:
        kind = data.get("event")
        if kind == "pause":
            break
        if kind == "bot":
            continue  # custom actions' messages are not part of a story
        data = json.loads(json.dumps(data))  # a private copy to correct and mask
        if kind == "user":
            masked = mask_personal_data(data.get("text") or "")
            parse = data.setdefault("parse_data", {})
            parse["entities"] = _kept_entities(masked, parse.get("entities") or [])
            data["text"] = parse["text"] = masked.text
            review = reviews.get(event_id)
            if review and review.corrected_intent:
                parse["intent"] = {"name": review.corrected_intent, "confidence": 1.0}
        elif kind == "slot" and isinstance(data.get("value"), str):
            data["value"] = mask_personal_data(data["value"]).text
        events.append(Event.from_parameters(data))
    return events


def story_yaml(conversation_id: str, events: list[Any]) -> dict[str, Any]:
    """One Rasa test story (user text included) as YAML data."""
    from rasa.shared.core.training_data.story_writer.yaml_story_writer import YAMLStoryWriter
    from rasa.shared.core.training_data.structures import Story

    story = Story.from_events(events, story_name(conversation_id))
    written = yaml.safe_load(YAMLStoryWriter().dumps(story.story_steps, is_test_story=True))
    steps = [step for item in written.get("stories", []) for step in item.get("steps", [])]
    return {"story": story_name(conversation_id), "steps": steps}


def export_stories(
    log: ConversationLog,
    chosen: list[str],
    reviews: dict[int, MessageReview],
    paths: ExportPaths,
    report: ExportReport,
) -> None:
    from rasa.shared.utils.io import write_yaml

    _require_ours(paths.stories, STORIES_HEADER)
    existing = {}
    if paths.stories.exists():
        content = yaml.safe_load(paths.stories.read_text(encoding="utf-8")) or {}
        existing = {story["story"]: story for story in content.get("stories") or []}
    for conversation_id in chosen:
        raw = log.raw_events(conversation_id)
        story = story_yaml(conversation_id, conversation_events(raw, reviews)) if raw else None
        if story is None or not any("user" in step for step in story["steps"]):
            report.skipped.append(f"conversation {conversation_id}: no messages for a story")
            continue
        if story["story"] not in existing:
            report.stories_added += 1
        existing[story["story"]] = story
    report.stories_total = len(existing)
    if not existing:
        return
    from io import StringIO

    stream = StringIO()
    write_yaml({"version": "3.1", "stories": [existing[k] for k in sorted(existing)]}, stream)
    _atomic_write(paths.stories, STORIES_HEADER + stream.getvalue())


# -------------------------------------------------------------------------- all


def export_reviewed(
    log: ConversationLog, reviews: ReviewStore, paths: ExportPaths | None = None
) -> ExportReport:
    """Write all three files from the current review state; returns what changed."""
    paths = paths or ExportPaths()
    report = ExportReport(paths)
    message_reviews = reviews.message_reviews()
    conversation_ids = {review.conversation_id for review in message_reviews.values()}
    conversations = {
        conversation_id: conversation
        for conversation_id in sorted(conversation_ids)
        if (conversation := log.read(conversation_id)) is not None
    }
    tags = {
        conversation_id: reviews.conversation_review(conversation_id).tags
        for conversation_id in conversations
    }
    export_nlu(conversations, message_reviews, paths, report)
    named, files = new_intent_names(reviews.engine), (paths.domain, paths.faq, paths.rules)
    try:
        report.new_intents = export_new_intents(named, paths.nlu, *files)
    except ProjectFileError as error:
        raise ExportError(str(error)) from error
    export_transcripts(conversations, message_reviews, tags, paths, report)
    export_stories(log, reviews.conversations_for_stories(), message_reviews, paths, report)
    return report
