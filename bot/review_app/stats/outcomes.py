"""How each session of a conversation ended: resolved by the bot, handed off, or abandoned.

The rules live here, apart from the database (`bot/review_app/stats/outcome_figures.py` reads the
log and counts),
so that each one can be read, and tested, on its own. The dashboard writes the same
definitions next to its figures:

- A **session** is one visit: a conversation's customer messages until the customer stays
  away for more than 60 minutes, where Rasa itself starts a new session (`session_config` in
  domain.yml). Outcomes count sessions, not conversation ids: a web chat's or a Messenger
  user's id lives for months and holds every visit.
- An **answer** is a bot message with an `answer_source` other than the "Did this help?"
  question: a template, a retrieved transcript, a handoff, a question for a missing detail
  (`ask`), a request to rephrase, an out-of-scope reply, an order check's refusal, the thanks
  after positive feedback. Small talk ("Hi!", "Anything else?") is not an answer.
- The session's **question** is the customer message its last answer answered, counted back
  over a click on the feedback buttons (to the message of the retrieved answer) and over the
  details the bot asked for (to the message that started the order form). When a message
  that is not small talk came after the last answer (or there was no answer), it is the
  first such message; with only small talk, the session's first message.
- **Handed off**: the bot handed the session to a person (a handoff answer, or a handoff
  request recorded during the session), whatever came after. Its reason is the request's.
- **Resolved**: not handed off; the last answer was a template, a retrieved transcript or the
  thanks after "Yes, that helped"; no question of the customer after it went unanswered; no
  "not helpful" came after it; and the customer did not **come back with the same question**:
  a later session of the same conversation, begun within 24 hours of this one's last message,
  whose first question (a message that is not small talk) has the same intent as this
  session's question. In that comparison, and in telling small talk (SMALL_TALK: greetings,
  thanks, goodbyes, yes/no, "ok") from questions, a message the FallbackClassifier sent to
  nlu_fallback counts with the classifier's best guess; the per-intent table keeps
  nlu_fallback as an intent of its own.
- **Abandoned**: every other session, with the first reason that applies, in ABANDONED_REASONS'
  order.

So each session is exactly one of resolved, handed off and abandoned. A session of the last
24 hours can still turn from resolved to abandoned when its customer comes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.nlu.intents import SMALL_TALK
from bot.storage.conversation_log import FALLBACK_INTENT

# Rasa's session_expiration_time (domain.yml, 60 minutes): a new session starts when the
# customer writes more than this long after their previous message.
SESSION_GAP_SECONDS = 60 * 60
CAME_BACK_SECONDS = 24 * 60 * 60

RESOLVED, HANDED_OFF, ABANDONED = "resolved", "handed_off", "abandoned"
OUTCOMES = (RESOLVED, HANDED_OFF, ABANDONED)

# Why a session counts as abandoned, the first that applies; each with the words the
# dashboard shows.
NO_ANSWER = "no_answer"
REPHRASE = "rephrase"
DECLINED = "declined"
LEFT_QUESTION = "left_question"
NOT_HELPFUL = "not_helpful"
CAME_BACK = "came_back"
ABANDONED_REASONS = {
    NO_ANSWER: "the customer's last question got no answer, or there was only small talk",
    REPHRASE: "the last answer asked the customer to rephrase (a fallback)",
    DECLINED: "the last answer declined: off-topic, or an order not shown to be theirs",
    LEFT_QUESTION: "the last answer asked for a detail (order number, e-mail) never given",
    NOT_HELPFUL: 'the customer pressed "No, it didn\'t" after the last answer',
    CAME_BACK: "the customer came back with the same question within 24 hours",
}
# A handoff answer without a recorded request (the action server could not store it).
UNRECORDED = "unrecorded"

RESOLVING_ANSWERS = frozenset({"template", "retrieval", "feedback_thanks"})
ASK, REPHRASE_ANSWER, HANDOFF_ANSWER, RETRIEVAL = "ask", "rephrase", "handoff", "retrieval"
# The feedback buttons' payloads, and the intents of domain.yml that ask nothing the bot
# answers from the FAQ, transcripts or a person.
FEEDBACK_INTENTS = frozenset({"affirm", "deny"})


@dataclass(frozen=True)
class Message:
    """A customer message as the message index keeps it, with the kind of its answer."""

    event_id: int
    at: float
    intent: str | None
    classifier_intent: str | None  # the classifier's own top intent, also under a fallback
    confidence: float | None
    answer_kind: str | None  # None: no answer (small talk, or nothing was said)

    @property
    def topic(self) -> str | None:
        """What the message asks about: its intent, or under nlu_fallback the best guess."""
        return self.classifier_intent if self.intent == FALLBACK_INTENT else self.intent

    @property
    def is_small_talk(self) -> bool:
        return self.topic is None or self.topic in SMALL_TALK


@dataclass(frozen=True)
class Session:
    """One visit of a conversation, with the records the action server kept during it."""

    conversation_id: str
    messages: tuple[Message, ...]  # oldest first, never empty
    handoff_reasons: tuple[str, ...] = ()  # requests recorded during it, oldest first
    not_helpful_at: tuple[float, ...] = ()  # when "No, it didn't" was recorded

    @property
    def started_at(self) -> float:
        return self.messages[0].at

    @property
    def ended_at(self) -> float:
        return self.messages[-1].at


@dataclass(frozen=True)
class SessionOutcome:
    conversation_id: str
    started_at: float
    outcome: str  # one of OUTCOMES
    reason: str | None  # a handoff reason, or a key of ABANDONED_REASONS; None if resolved
    question: Message | None

    @property
    def intent(self) -> str | None:
        return self.question.intent if self.question else None


def split_sessions(messages: Sequence[Message]) -> list[tuple[Message, ...]]:
    """One conversation's messages (oldest first) cut where the customer was away too long."""
    sessions: list[list[Message]] = []
    for message in messages:
        if not sessions or message.at - sessions[-1][-1].at > SESSION_GAP_SECONDS:
            sessions.append([])
        sessions[-1].append(message)
    return [tuple(session) for session in sessions]


def last_answered(messages: Sequence[Message]) -> int | None:
    """The position of the message that got the session's last answer."""
    return next((i for i in range(len(messages) - 1, -1, -1) if messages[i].answer_kind), None)


def question_of(messages: Sequence[Message]) -> Message | None:
    """The session's question (see the module's docstring)."""
    index = last_answered(messages)
    unanswered = [m for m in messages[0 if index is None else index + 1 :] if not m.is_small_talk]
    if index is None or unanswered:
        return unanswered[0] if unanswered else (messages[0] if messages else None)
    previous = messages[index - 1] if index else None
    if (
        previous is not None
        and messages[index].intent in FEEDBACK_INTENTS
        and previous.answer_kind == RETRIEVAL
    ):
        index -= 1  # a click on "Yes, that helped" / "No, it didn't" rates the retrieved answer
    while index and messages[index - 1].answer_kind == ASK:
        index -= 1  # an order number or e-mail the bot asked for: the question came before
    return messages[index]


def first_question_topic(session: Session) -> str | None:
    return next((m.topic for m in session.messages if not m.is_small_talk), None)


def came_back(session: Session, later: Session | None, question: Message | None) -> bool:
    """The same conversation's next session began within 24 h, about the same intent."""
    if later is None or question is None or question.topic is None:
        return False
    if later.started_at - session.ended_at > CAME_BACK_SECONDS:
        return False
    return first_question_topic(later) == question.topic


def _why_abandoned(session: Session, later: Session | None, question: Message | None) -> str | None:
    """The first reason in ABANDONED_REASONS that applies; None when the session resolved."""
    messages = session.messages
    index = last_answered(messages)
    if index is None or any(not m.is_small_talk for m in messages[index + 1 :]):
        return NO_ANSWER
    kind = messages[index].answer_kind
    if kind == REPHRASE_ANSWER:
        return REPHRASE
    if kind == ASK:
        return LEFT_QUESTION
    if kind not in RESOLVING_ANSWERS:
        return DECLINED  # out_of_scope, order_check, and kinds this code does not know yet
    if any(at >= messages[index].at for at in session.not_helpful_at):
        return NOT_HELPFUL
    if came_back(session, later, question):
        return CAME_BACK
    return None


def classify(session: Session, later: Session | None = None) -> SessionOutcome:
    """The session's outcome; `later` is the same conversation's next session, if any."""
    question = question_of(session.messages)
    handed = session.handoff_reasons or any(
        m.answer_kind == HANDOFF_ANSWER for m in session.messages
    )
    if handed:
        reason = session.handoff_reasons[0] if session.handoff_reasons else UNRECORDED
        outcome, why = HANDED_OFF, reason
    else:
        why = _why_abandoned(session, later, question)
        outcome = ABANDONED if why else RESOLVED
    return SessionOutcome(session.conversation_id, session.started_at, outcome, why, question)


def shares(counts: Sequence[int]) -> tuple[int, ...]:
    """Whole percentages of `counts` that add up to exactly 100 (largest remainders first),
    so that resolved, handed off and abandoned never show 33 + 33 + 33."""
    total = sum(counts)
    if not total:
        return tuple(0 for _ in counts)
    exact = [100 * count / total for count in counts]
    floors = [int(value) for value in exact]
    order = sorted(range(len(counts)), key=lambda i: (floors[i] - exact[i], i))
    for i in order[: 100 - sum(floors)]:
        floors[i] += 1
    return tuple(floors)
