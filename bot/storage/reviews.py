"""Review state that support staff add to logged conversations.

Per user message: reviewed, a corrected intent, excluded from training data, and whether
the bot's answer to it is approved as a question -> answer pair (optionally rewritten). Per
conversation: reviewed, chosen as a test story, tags and notes. Every change records who made
it and when. The export (`bot/learning/export.py`) turns this into training data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Session

from bot.storage.database import Base, open_database
from bot.storage.new_intents import new_intent_names
from bot.storage.times import utc_now


class ReviewError(ValueError):
    """A review change that cannot be stored (unknown intent, empty tag, ...).

    `code` names the reason for pages that show a fixed text for it: a message may contain
    what someone typed, and the review app never puts typed text into a URL it displays.
    """

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


class NotAllowed(ReviewError):
    """The change is someone else's to make (a colleague's tag)."""


class MessageReviewRow(Base):
    __tablename__ = "message_reviews"

    id = Column(Integer, primary_key=True)
    # The user message: its row in Rasa's `events` table.
    event_id = Column(Integer, nullable=False, unique=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    corrected_intent = Column(String(255))
    excluded = Column(Boolean, nullable=False, default=False)
    answer_approved = Column(Boolean, nullable=False, default=False)
    corrected_answer = Column(Text)
    reviewed_by = Column(String(255), nullable=False)
    reviewed_at = Column(DateTime, nullable=False, default=utc_now)


class ConversationReviewRow(Base):
    __tablename__ = "conversation_reviews"

    conversation_id = Column(String(255), primary_key=True)
    reviewed = Column(Boolean, nullable=False, default=False)
    export_as_story = Column(Boolean, nullable=False, default=False)
    updated_by = Column(String(255), nullable=False)
    updated_at = Column(DateTime, nullable=False, default=utc_now)


class ConversationTagRow(Base):
    __tablename__ = "conversation_tags"
    __table_args__ = (UniqueConstraint("conversation_id", "tag", name="uq_conversation_tag"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    tag = Column(String(64), nullable=False)
    created_by = Column(String(255), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utc_now)


class ConversationNoteRow(Base):
    __tablename__ = "conversation_notes"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    text = Column(Text, nullable=False)
    created_by = Column(String(255), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utc_now)


@dataclass(frozen=True)
class MessageReview:
    event_id: int
    conversation_id: str
    corrected_intent: str | None
    excluded: bool
    answer_approved: bool
    corrected_answer: str | None
    reviewed_by: str
    reviewed_at: dt.datetime


@dataclass(frozen=True)
class ConversationReview:
    conversation_id: str
    reviewed: bool
    export_as_story: bool
    tags: tuple[str, ...]
    notes: tuple[tuple[str, str, dt.datetime], ...]  # (text, author, when)
    updated_by: str | None
    updated_at: dt.datetime | None
    tag_authors: tuple[tuple[str, str], ...] = ()  # (tag, who added it), in tag order

    def tag_author(self, tag: str) -> str | None:
        return dict(self.tag_authors).get(tag)


def _message_review(row: MessageReviewRow) -> MessageReview:
    return MessageReview(
        row.event_id,
        row.conversation_id,
        row.corrected_intent,
        row.excluded,
        row.answer_approved,
        row.corrected_answer,
        row.reviewed_by,
        row.reviewed_at,
    )


class ReviewStore:
    """Reads and writes review state; `intents` (the domain's) and the new intents staff
    named (bot/storage/new_intents.py) limit intent corrections."""

    def __init__(self, url: str | None = None, intents: Collection[str] | None = None) -> None:
        self.engine = open_database(url)
        self.intents = frozenset(intents) if intents is not None else None

    # ------------------------------------------------------------------ messages

    def review_message(
        self,
        event_id: int,
        conversation_id: str,
        reviewer: str,
        *,
        corrected_intent: str | None = None,
        excluded: bool | None = None,
        answer_approved: bool | None = None,
        corrected_answer: str | None = None,
    ) -> MessageReview:
        """Mark a user message reviewed; arguments left at None keep their stored value."""
        [review] = self.review_messages(
            {event_id: conversation_id},
            reviewer,
            corrected_intent=corrected_intent,
            excluded=excluded,
            answer_approved=answer_approved,
            corrected_answer=corrected_answer,
        )
        return review

    def review_messages(
        self,
        messages: dict[int, str],
        reviewer: str,
        *,
        corrected_intent: str | None = None,
        excluded: bool | None = None,
        answer_approved: bool | None = None,
        corrected_answer: str | None = None,
    ) -> list[MessageReview]:
        """The same review for several messages (event id -> conversation): all or none."""
        reviewer = _required(reviewer, "reviewer")
        if corrected_intent is not None and self.intents is not None:
            known = corrected_intent in self.intents
            if not known and corrected_intent not in new_intent_names(self.engine):
                raise ReviewError(
                    f"'{corrected_intent}' is not an intent of the domain.", "unknown_intent"
                )
        reviews = []
        with Session(self.engine) as session, session.begin():
            for event_id, conversation_id in sorted(messages.items()):
                row = session.scalar(
                    select(MessageReviewRow).where(MessageReviewRow.event_id == event_id)
                )
                if row is None:
                    row = MessageReviewRow(
                        event_id=event_id,
                        conversation_id=conversation_id,
                        excluded=False,
                        answer_approved=False,
                    )
                    session.add(row)
                elif row.conversation_id != conversation_id:
                    raise ReviewError(
                        f"message {event_id} belongs to conversation {row.conversation_id!r}.",
                        "wrong_conversation",
                    )
                if corrected_intent is not None:
                    row.corrected_intent = corrected_intent
                if excluded is not None:
                    row.excluded = excluded
                if answer_approved is not None:
                    row.answer_approved = answer_approved
                if corrected_answer is not None:
                    row.corrected_answer = corrected_answer.strip() or None
                row.reviewed_by, row.reviewed_at = reviewer, utc_now()
                session.flush()
                reviews.append(_message_review(row))
        return reviews

    def message_reviews(self, conversation_id: str | None = None) -> dict[int, MessageReview]:
        """Reviews by event id: of one conversation, or all of them."""
        query = select(MessageReviewRow).order_by(MessageReviewRow.event_id)
        if conversation_id is not None:
            query = query.where(MessageReviewRow.conversation_id == conversation_id)
        with Session(self.engine) as session:
            return {row.event_id: _message_review(row) for row in session.scalars(query)}

    # ------------------------------------------------------------- conversations

    def review_conversation(
        self,
        conversation_id: str,
        reviewer: str,
        *,
        reviewed: bool | None = None,
        export_as_story: bool | None = None,
    ) -> ConversationReview:
        reviewer = _required(reviewer, "reviewer")
        with Session(self.engine) as session, session.begin():
            row = session.get(ConversationReviewRow, conversation_id)
            if row is None:
                row = ConversationReviewRow(
                    conversation_id=conversation_id, reviewed=False, export_as_story=False
                )
                session.add(row)
            if reviewed is not None:
                row.reviewed = reviewed
            if export_as_story is not None:
                row.export_as_story = export_as_story
            row.updated_by, row.updated_at = reviewer, utc_now()
        return self.conversation_review(conversation_id)

    def add_tag(self, conversation_id: str, tag: str, reviewer: str) -> None:
        tag = _required(tag, "tag").lower()
        if len(tag) > 64:
            raise ReviewError("tags are at most 64 characters.", "long_tag")
        with Session(self.engine) as session, session.begin():
            exists = session.scalar(
                select(ConversationTagRow.id).where(
                    ConversationTagRow.conversation_id == conversation_id,
                    ConversationTagRow.tag == tag,
                )
            )
            if exists is None:
                session.add(
                    ConversationTagRow(
                        conversation_id=conversation_id,
                        tag=tag,
                        created_by=_required(reviewer, "reviewer"),
                    )
                )

    def remove_tag(
        self, conversation_id: str, tag: str, by: str | None = None, admin: bool = False
    ) -> None:
        """Remove a tag; with `by`, only its author or an admin may (else NotAllowed), so a
        reviewer cannot erase how a colleague sorted a conversation. `by=None` is the
        command line's, which runs with the database's own rights."""
        with Session(self.engine) as session, session.begin():
            row = session.scalar(
                select(ConversationTagRow).where(
                    ConversationTagRow.conversation_id == conversation_id,
                    ConversationTagRow.tag == tag.strip().lower(),
                )
            )
            if row is None:
                return
            if by is not None and not admin and row.created_by != by:
                raise NotAllowed(
                    f"only {row.created_by} or an admin may remove this tag.", "not_your_tag"
                )
            session.delete(row)

    def add_note(self, conversation_id: str, text: str, reviewer: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.add(
                ConversationNoteRow(
                    conversation_id=conversation_id,
                    text=_required(text, "note"),
                    created_by=_required(reviewer, "reviewer"),
                )
            )

    def conversation_review(self, conversation_id: str) -> ConversationReview:
        with Session(self.engine) as session:
            row = session.get(ConversationReviewRow, conversation_id)
            tags = session.execute(
                select(ConversationTagRow.tag, ConversationTagRow.created_by)
                .where(ConversationTagRow.conversation_id == conversation_id)
                .order_by(ConversationTagRow.tag)
            ).all()
            notes = session.execute(
                select(
                    ConversationNoteRow.text,
                    ConversationNoteRow.created_by,
                    ConversationNoteRow.created_at,
                )
                .where(ConversationNoteRow.conversation_id == conversation_id)
                .order_by(ConversationNoteRow.id)
            ).all()
            return ConversationReview(
                conversation_id,
                bool(row and row.reviewed),
                bool(row and row.export_as_story),
                tuple(tag for tag, _ in tags),
                tuple((text, author, when) for text, author, when in notes),
                row.updated_by if row else None,
                row.updated_at if row else None,
                tuple((tag, author) for tag, author in tags),
            )

    def conversations_for_stories(self) -> list[str]:
        """Conversations staff chose to keep as test stories."""
        with Session(self.engine) as session:
            return list(
                session.scalars(
                    select(ConversationReviewRow.conversation_id)
                    .where(ConversationReviewRow.export_as_story.is_(True))
                    .order_by(ConversationReviewRow.conversation_id)
                )
            )


def _required(value: str | None, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ReviewError(f"a {what} is required.", f"missing_{what}")
    return value
