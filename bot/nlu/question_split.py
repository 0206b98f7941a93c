"""Two questions in one message: "where is my order and can I still change the address?"

The classifier gives a message one intent, so the second question would go unanswered. Here a
message is cut into clauses where a new question plausibly starts (after a question mark, or at
"and" / "also" / "plus" followed by a question opener), each clause is classified as well, and
a clause confidently about another intent than the whole message is kept as an *other
question*: the answer offers it as a button (actions/answers.py). Nothing changes the message's
own intent.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

OTHER_QUESTIONS = "other_questions"

# Words that open a question or request: a clause after "and" that starts with one of these
# is a question of its own ("and can I ..."), not part of the first ("cancel and refund").
_OPENERS = (
    r"can|could|how|where|when|what|which|why|who|is|are|do|does|did|will|would|should|may|"
    r"i\s+(?:also\s+)?(?:want|need|would\s+like)|i'd\s+like|please"
)
_CUT = re.compile(
    rf"\?+\s+|[.!]\s+(?=(?:{_OPENERS})\b)|,?\s+(?:and|also|plus)\s+(?:also\s+)?(?=(?:{_OPENERS})\b)",
    re.IGNORECASE,
)
_LEADING_AND = re.compile(r"^(?:(?:and|also|plus)\s+)+", re.IGNORECASE)
MIN_WORDS = 3  # "and you?" is no second question


def clauses(text: str) -> list[str]:
    """The message cut where a new question plausibly starts; one clause when it does not."""
    parts = [_LEADING_AND.sub("", part.strip(" ,;")) for part in _CUT.split(text)]
    parts = [part for part in parts if len(part.split()) >= MIN_WORDS]
    return parts if len(parts) > 1 else [text]


def other_questions(
    text: str,
    intent: str,
    predict_proba: Callable[[list[str]], np.ndarray],
    labels: list[str],
    threshold: float,
) -> list[dict[str, object]]:
    """The clauses confidently about an intent other than `intent`, each intent once:
    `{"text", "intent", "confidence"}`."""
    parts = clauses(text)
    if len(parts) < 2:
        return []
    found: list[dict[str, object]] = []
    for part, row in zip(parts, predict_proba(parts), strict=True):
        best = int(np.argmax(row))
        name, confidence = labels[best], float(row[best])
        seen = {intent, *(q["intent"] for q in found)}
        if confidence >= threshold and name not in seen:
            found.append({"text": part, "intent": name, "confidence": confidence})
    return found
