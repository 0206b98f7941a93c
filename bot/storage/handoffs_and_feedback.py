"""What the action server records for support staff: handoff requests and answer feedback.

Stored through SQLAlchemy in shopdesk's database (`SHOPDESK_DB_URL`, a SQLite file by
default), beside the dialog that Rasa's tracker store keeps there. The tables are created by
the migrations in `bot/storage/migrations/`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Boolean, Column, DateTime, Float, Integer, String, Text, and_, or_, update
from sqlalchemy.orm import Session

from bot.storage.database import Base, open_database
from bot.storage.times import utc_now

# Why a conversation went to a person.
ASKED_FOR_HUMAN = "asked_for_human"
NOTHING_FOUND = "nothing_found"
REPEATED_FALLBACK = "repeated_fallback"
COMPLAINT = "complaint"
# The customer was frustrated twice, or once after the bot did not understand them.
FRUSTRATION = "frustration"
# The customer wrote in a language the bot does not speak and accepted a person.
OTHER_LANGUAGE = "other_language"
HANDOFF_REASONS = (
    ASKED_FOR_HUMAN,
    NOTHING_FOUND,
    REPEATED_FALLBACK,
    COMPLAINT,
    FRUSTRATION,
    OTHER_LANGUAGE,
)

OPEN, TAKEN, RELEASED = "open", "taken", "released"


class HandoffRequest(Base):
    __tablename__ = "handoff_requests"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    reason = Column(String(32), nullable=False)
    last_message = Column(Text)
    status = Column(String(16), nullable=False, default=OPEN)
    created_at = Column(DateTime, nullable=False, default=dt.datetime.utcnow)
    taken_by = Column(String(255))
    closed_at = Column(DateTime)


class AnswerFeedback(Base):
    __tablename__ = "answer_feedback"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    answer_source = Column(String(255), nullable=False)  # e.g. transcript:t-delivery-0012
    score = Column(Float)
    helpful = Column(Boolean, nullable=False)
    created_at = Column(DateTime, nullable=False, default=dt.datetime.utcnow)


@dataclass(frozen=True)
class Handoff:
    id: int
    conversation_id: str
    reason: str
    last_message: str | None
    status: str
    created_at: dt.datetime
    taken_by: str | None = None


class Records:
    """Writes and reads handoffs and feedback; migrates the database on first use."""

    def __init__(self, url: str | None = None) -> None:
        self.engine = open_database(url)

    def request_handoff(self, conversation_id: str, reason: str, last_message: str | None) -> int:
        if reason not in HANDOFF_REASONS:
            raise ValueError(f"unknown handoff reason '{reason}'")
        with Session(self.engine) as session, session.begin():
            request = HandoffRequest(
                conversation_id=conversation_id,
                reason=reason,
                last_message=(last_message or "")[:2000],
            )
            session.add(request)
            session.flush()
            return request.id

    def open_handoffs(self, newest_first: bool = False, limit: int | None = None) -> list[Handoff]:
        """Requests not yet released (open or taken by someone)."""
        with Session(self.engine) as session:
            order = HandoffRequest.created_at.desc() if newest_first else HandoffRequest.created_at
            rows = (
                session.query(HandoffRequest)
                .filter(HandoffRequest.status != RELEASED)
                .order_by(order, HandoffRequest.id.desc() if newest_first else HandoffRequest.id)
                .limit(limit)
                .all()
            )
            return [
                Handoff(
                    r.id,
                    r.conversation_id,
                    r.reason,
                    r.last_message,
                    r.status,
                    r.created_at,
                    r.taken_by,
                )
                for r in rows
            ]

    def count_open_handoffs(self) -> int:
        with Session(self.engine) as session:
            return session.query(HandoffRequest).filter(HandoffRequest.status != RELEASED).count()

    def take(self, request_id: int, staff: str) -> None:
        """Mark a request as taken by `staff`, so colleagues see that someone is on it.

        Taking one's own request again changes nothing; a request a colleague took, or a
        closed one, is refused with a ValueError saying why. One conditional UPDATE, so two
        people pressing "Take" at once cannot both get it.
        """
        staff = (staff or "").strip()
        if not staff:
            raise ValueError("a staff member is required to take a handoff")
        with Session(self.engine) as session, session.begin():
            claimed = session.execute(
                update(HandoffRequest)
                .where(
                    HandoffRequest.id == request_id,
                    or_(
                        HandoffRequest.status == OPEN,
                        and_(HandoffRequest.status == TAKEN, HandoffRequest.taken_by == staff),
                    ),
                )
                .values(status=TAKEN, taken_by=staff)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount == 1:
                return
            row = session.get(HandoffRequest, request_id)
            if row is None or row.status == RELEASED:
                raise ValueError(f"handoff request {request_id} is not open")
            raise ValueError(f"handoff request {request_id} is already taken by {row.taken_by}")

    def release(self, conversation_id: str) -> int:
        """Close every open request of a conversation; returns how many were open."""
        with Session(self.engine) as session, session.begin():
            rows = (
                session.query(HandoffRequest)
                .filter(
                    HandoffRequest.conversation_id == conversation_id,
                    HandoffRequest.status != RELEASED,
                )
                .all()
            )
            for row in rows:
                row.status, row.closed_at = RELEASED, utc_now()
            return len(rows)

    def record_feedback(
        self, conversation_id: str, answer_source: str, helpful: bool, score: float | None
    ) -> None:
        with Session(self.engine) as session, session.begin():
            session.add(
                AnswerFeedback(
                    conversation_id=conversation_id,
                    answer_source=answer_source,
                    helpful=helpful,
                    score=score,
                )
            )

    def feedback_for(self, conversation_id: str) -> list[tuple[str, bool]]:
        with Session(self.engine) as session:
            rows = (
                session.query(AnswerFeedback)
                .filter(AnswerFeedback.conversation_id == conversation_id)
                .order_by(AnswerFeedback.id)
                .all()
            )
            return [(row.answer_source, row.helpful) for row in rows]
