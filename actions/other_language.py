"""A message in a language the bot does not speak: say so in English and offer a person.

The NLU pipeline's LanguageDetector (bot/nlu/language_detector.py) turns such a message's
intent into `other_language` and keeps the language in `parse_data["language"]`; the review
app shows it. Answering the intent the classifier guessed from a language it was not trained
on would be a guess; a person who reads the language (or a translation) is the honest help.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.ownership import PERSON_BUTTON

OTHER_LANGUAGE_SOURCE_KIND = "other_language"
# English names of the languages the detector is asked to tell apart (ISO 639-1 codes).
LANGUAGE_NAMES = {
    "ar": "Arabic",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "es": "Spanish",
    "fi": "Finnish",
    "fr": "French",
    "hu": "Hungarian",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sv": "Swedish",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "zh": "Chinese",
}


def language_name(code: str | None) -> str | None:
    """The English name of an ISO 639-1 code, or None for codes we do not name."""
    return LANGUAGE_NAMES.get((code or "").lower())


class ActionOtherLanguage(Action):
    """Tell the customer, in English, that the bot speaks English, and offer a person."""

    def name(self) -> str:
        return "action_other_language"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        language = (tracker.latest_message or {}).get("language") or {}
        name = language_name(language.get("code"))
        source = {"kind": OTHER_LANGUAGE_SOURCE_KIND, "language": language.get("code")}
        if name:
            dispatcher.utter_message(
                response="utter_other_language",
                language=name,
                buttons=[PERSON_BUTTON],
                answer_source=source,
            )
        else:
            dispatcher.utter_message(
                response="utter_other_language_unnamed",
                buttons=[PERSON_BUTTON],
                answer_source=source,
            )
        return []
