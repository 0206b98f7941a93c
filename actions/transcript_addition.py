"""A past answer added to a template's when it fits the very question (issue 16, item 6).

A template answers the intent and the facts the shop's profile knows; a past agent reply can
answer the exact situation ("got the boots as a gift and the sole is lifting"). It is added
after the template's answer when the transcript search scores it at least
STRONG_MATCH_SCORE and every fact the message named (a country, a payment method, a return
case, an item problem, a shipping option, as typed) appears in that transcript, recorded with
its provenance like a retrieved answer.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.question import entity_values, question_message
from actions.shared import resources
from bot.answers.retrieval.index import Hit
from bot.answers.retrieval.search import STRONG_MATCH_SCORE

FACT_ENTITIES = ("country", "payment_method", "return_case", "item_problem", "shipping_option")


def fitting_transcript(tracker: Tracker) -> Hit | None:
    """The past exchange that fits the question and every fact it named, if one does."""
    message = question_message(tracker)
    facts = [value.casefold() for e in FACT_ENTITIES for value in entity_values(message, e)]
    if not facts:
        return None  # nothing specific asked: the template's answer is the whole answer
    hits = resources().search.search(str(message.get("text") or ""), k=1)
    if not hits or hits[0].score < STRONG_MATCH_SCORE:
        return None
    said = f"{hits[0].transcript.question} {hits[0].transcript.answer}".casefold()
    return hits[0] if all(fact in said for fact in facts) else None


def add_fitting_transcript(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    hit = fitting_transcript(tracker)
    if hit is None:
        return
    dispatcher.utter_message(
        text=f"A colleague answered the same question before: {hit.transcript.answer}",
        answer_source={
            "kind": "transcript_added",
            "id": f"transcript:{hit.transcript.id}",
            "score": round(hit.score, 3),
        },
    )
