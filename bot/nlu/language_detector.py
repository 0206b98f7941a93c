"""Which language a customer wrote in, so that the bot can say it answers in English only.

Use it in `config.yml` after the FallbackClassifier:

    pipeline:
      - name: bot.nlu.language_detector.LanguageDetector

Every message gets `language: {"code", "score", "supported"}` in its parse data. A message in
a language the bot does not speak gets the intent `other_language` in front of the
classifier's ranking, the way FallbackClassifier puts `nlu_fallback` there. It uses py3langid
(langid.py's model, shipped in the wheel, no network), which guesses wildly on a word or two,
so a message counts as another language only when it has enough words, the detector is sure,
and the supported languages are clearly unlikely: a wrong "we only speak English" to an
English customer costs more than answering a German one in English.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

LANGUAGE = "language"
OTHER_LANGUAGE_INTENT = "other_language"

# Languages customers of a European web shop plausibly write in (actions/other_language.py
# names each). Restricting langid.py's 97
# to these removes its favourite false alarms on short English (Breton, Galician, Latin,
# Tagalog...): bench/signals_benchmark.py measures both.
DEFAULT_CANDIDATES = [
    "en", "de", "fr", "es", "it", "nl", "pl", "pt", "sv", "da", "no", "fi",
    "cs", "tr", "ru", "uk", "ro", "hu", "el", "ar", "zh", "ja", "ko",
]  # fmt: skip

# Removed before counting words and classifying: they carry no language.
_NOISE = re.compile(
    r"\S+@\S+"  # e-mail addresses
    r"|https?://\S+|www\.\S+"  # links
    r"|#?\d[\d\s\-/.,:]*"  # order numbers, prices, dates, phone numbers
)
_WORD = re.compile(r"[^\W\d_]{2,}")
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# English function words that are rare as words of the other candidate languages ("i" is
# Italian and Polish, "to" Polish, "is" and "of" Dutch, "me" Romance, "was" and "will"
# German: left out). A short English question with one of these is English whatever the
# n-gram model says: "Can I exchange currencies?" came out Spanish at 0.96.
ENGLISH_MARKERS = frozenset(
    "the my you your what where why how can can't cant not it it's this that with have has "
    "and please would could should does doesn't don't dont isn't are did been there when "
    "which who they our from about any just still some for "
    # The shop's own words, and chat English: "do u deliver to germany" came out Spanish.
    "deliver delivery ship shipping shipped refund parcel pls plz "
    # "do u do student discount" came out Polish (answer benchmark, tests/answers_fresh.yml).
    "discount discounts student students order orders return returns exchange voucher".split()
)
# Scripts written without spaces: two characters count as a word.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def content_of(text: str) -> tuple[str, int]:
    """The text without addresses and numbers, and how many words of letters it has."""
    cleaned = _NOISE.sub(" ", text)
    words = len(_WORD.findall(cleaned)) + len(_UNSPACED.findall(cleaned)) // 2
    return " ".join(cleaned.split()), words


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LanguageDetector(GraphComponent, IntentClassifier):
    """Tags each message with its language; unsupported ones become `other_language`."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    @staticmethod
    def required_packages() -> list[str]:
        return ["py3langid"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Languages the bot answers in; the first is assumed when a message is too short
            # or too ambiguous to tell.
            "supported_languages": ["en"],
            # The detector's choices (ISO 639-1 codes langid.py knows); None = all 97.
            "candidate_languages": DEFAULT_CANDIDATES,
            # Below this many words of letters (numbers, e-mails, links removed) a message
            # is never called another language: "ok", "thx", "PayPal?", "482913".
            "min_words": 3,
            # The detector's probability for its top language must reach this (pt vs es
            # and no vs sv split it without making English any likelier)...
            "min_confidence": 0.5,
            # ...all supported languages together must stay below this...
            "max_supported_probability": 0.05,
            # ...and English function words must be under this share of the words (only
            # when English is supported; 1.0 turns the check off).
            "max_english_word_share": 0.1,
            # The intent given to a message in an unsupported language.
            "intent_name": OTHER_LANGUAGE_INTENT,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if not config["supported_languages"]:
            raise InvalidConfigException("LanguageDetector: 'supported_languages' is empty.")
        for key in ("min_confidence", "max_supported_probability", "max_english_word_share"):
            if not 0 <= float(config[key]) <= 1:
                raise InvalidConfigException(f"LanguageDetector: '{key}' must be in [0, 1].")
        if int(config["min_words"]) < 1:
            raise InvalidConfigException("LanguageDetector: 'min_words' must be at least 1.")

    def __init__(self, config: dict[str, Any]) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self.component_config = {**self.get_default_config(), **config}
        self.validate_config(self.component_config)
        self.supported = [str(code) for code in self.component_config["supported_languages"]]
        share = float(self.component_config["max_english_word_share"])
        self.max_english_share = share if "en" in self.supported and share < 1 else 2.0
        # Our own identifier, not py3langid's module-level one that others may restrict.
        self.identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
        candidates = self.component_config["candidate_languages"]
        if candidates:
            unknown = set(candidates) - set(self.identifier.nb_classes)
            if unknown:
                raise InvalidConfigException(
                    f"LanguageDetector: langid.py does not know {sorted(unknown)}."
                )
            self.identifier.set_languages(sorted(set(candidates) | set(self.supported)))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training data are the bot's own language: left as they are."""
        return training_data

    def english_word_share(self, text: str) -> float:
        """Share of the words that are English function words."""
        words = [word.lower() for word in _TOKEN.findall(text)]
        return sum(word in ENGLISH_MARKERS for word in words) / max(1, len(words))

    def detect(self, text: str) -> dict[str, Any]:
        """`{"code", "score", "supported"}` for one text, with the guards applied."""
        cleaned, words = content_of(text)
        default = self.supported[0]
        if words < int(self.component_config["min_words"]):
            return {"code": default, "score": 1.0, "supported": True}
        ranking = self.identifier.rank(cleaned)
        code, probability = ranking[0]
        supported_probability = sum(p for c, p in ranking if c in self.supported)
        if code in self.supported:
            return {"code": code, "score": round(probability, 4), "supported": True}
        if (
            probability < float(self.component_config["min_confidence"])
            or supported_probability >= float(self.component_config["max_supported_probability"])
            or self.english_word_share(cleaned) >= self.max_english_share
        ):
            # Not sure enough to refuse the customer: answer in the default language.
            return {"code": default, "score": round(supported_probability, 4), "supported": True}
        return {"code": code, "score": round(probability, 4), "supported": False}

    def process(self, messages: list[Message]) -> list[Message]:
        """Set `language`; put the configured intent first for unsupported languages."""
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            language = self.detect(str(text))
            message.set(LANGUAGE, language, add_to_output=True)
            if language["supported"]:
                continue
            intent = {
                INTENT_NAME_KEY: self.component_config["intent_name"],
                PREDICTED_CONFIDENCE_KEY: language["score"],
            }
            logger.debug("LanguageDetector: '%s' message, intent %s.", language["code"], intent)
            message.set(INTENT, intent, add_to_output=True)
            ranking = list(message.get(INTENT_RANKING_KEY) or [])
            message.set(INTENT_RANKING_KEY, [dict(intent), *ranking], add_to_output=True)
        return messages
