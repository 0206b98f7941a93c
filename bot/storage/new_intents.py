"""Intents staff name in the review app for a group of messages the bot does not know yet.

A new intent lives here until `shopdesk export` writes it into the project (NLU examples,
`domain.yml`, a rule and an unfilled answer stub in `data/faq.yml`, see
`bot/learning/new_intent_files.py`); from then on it is an intent like the others. Its name is
checked
once, when staff name it, so a typo cannot become a second spelling of an existing intent.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from sqlalchemy import Column, DateTime, String, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.nlu.intents import DETECTED, FALLBACK_INTENT
from bot.storage.database import Base
from bot.storage.times import utc_now

# Rasa accepts more, but an intent name is also a YAML key, a rule name and a template's
# name: lower-case words joined by underscores keep it one spelling everywhere.
INTENT_NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
MAX_NAME_LENGTH = 48
# Names the pipeline or Rasa give a meaning of their own.
RESERVED_NAMES = frozenset({FALLBACK_INTENT, *DETECTED, "session_start", "restart", "back"})


class NewIntentError(ValueError):
    """A name staff cannot give a new intent; the message says why, for the page to show."""


class NewIntentRow(Base):
    __tablename__ = "new_intents"

    name = Column(String(MAX_NAME_LENGTH), primary_key=True)
    created_by = Column(String(255), nullable=False)
    created_at = Column(DateTime, nullable=False)


def check_new_intent_name(name: str, domain_intents: Collection[str]) -> str:
    """The name as it will be stored, or NewIntentError saying what is wrong with it."""
    name = (name or "").strip()
    if not name:
        raise NewIntentError("Give the new intent a name, e.g. loyalty_points.")
    if len(name) > MAX_NAME_LENGTH or not INTENT_NAME.fullmatch(name):
        raise NewIntentError(
            f"'{name[:MAX_NAME_LENGTH]}' is not a usable intent name: use lower-case letters, "
            f"digits and single underscores, starting with a letter, at most {MAX_NAME_LENGTH} "
            "characters (e.g. loyalty_points)."
        )
    if name in domain_intents:
        raise NewIntentError(f"'{name}' is already an intent of the domain; label it as that.")
    if name in RESERVED_NAMES:
        raise NewIntentError(f"'{name}' is a name Rasa or the pipeline uses; choose another.")
    return name


def add_new_intent(engine: Engine, name: str, who: str, domain_intents: Collection[str]) -> str:
    """Record a new intent (idempotent: naming it twice keeps the first record)."""
    name = check_new_intent_name(name, domain_intents)
    with Session(engine) as session, session.begin():
        if session.get(NewIntentRow, name) is None:
            session.add(NewIntentRow(name=name, created_by=who, created_at=utc_now()))
    return name


def new_intent_names(engine: Engine) -> list[str]:
    """Every intent staff have named, in name order."""
    with Session(engine) as session:
        return list(session.scalars(select(NewIntentRow.name).order_by(NewIntentRow.name)))
