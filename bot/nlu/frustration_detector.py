"""A per-message frustration signal, so that the dialogue can hand an angry customer to a person.

Use it in `config.yml` after the classifier; it never touches the intent:

    pipeline:
      - name: bot.nlu.frustration_detector.FrustrationDetector

Every message gets `sentiment: {"frustrated", "score", "compound"}` in its parse data. VADER
alone is the wrong signal for a shop: a calm "my parcel arrived damaged" scores as negative as
"you are useless", while "WHERE IS MY ORDER", "refund me NOW" and "I'll do a chargeback" score
0. So VADER's negativity only counts a little, and the cues angry customers actually use carry
the decision: insults aimed at the bot or the shop, swearing, threats to leave or charge back,
angry words, being ignored again, shouting in capitals, demands for "now", "!!!". The cues are
combined like independent pieces of evidence: score = 1 - prod(1 - weight).

The cues miss what has no word list (sarcasm, fatigue, anger at a courier), so a learned model
(bot/nlu/frustration_model.py: frozen sentence embeddings and a logistic regression, fitted on
`data/frustration.yml` at `rasa train`) votes too: a message is frustrated when the cues or the
model say so. `examples: null` keeps the cues alone.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.frustration_model import (
    FrustrationExamplesError,
    FrustrationModel,
    SentenceEncoder,
    load_examples,
)

logger = logging.getLogger(__name__)

SENTIMENT = "sentiment"

_AT_US = (
    r"(?:you|u|ya|you're|youre|ur|you guys|you people|you lot|this bot|the bot|"
    r"this chat ?bot|this chat|this "
    r"(?:shop|store|company|site|website|service|app|thing)|your (?:shop|store|company|site|"
    r"website|service|customer service|support|bot|staff|team)|larkspur|y'all)"
)
_INSULT_WORDS = (
    r"(?:useless|stupid|dumb|idiots?|idiotic|pathetic|incompetent|a joke|clowns?|rubbish|"
    r"garbage|trash|crap|crappy|shit|shite|worthless|hopeless|a scam|scammers|thieves|liars|"
    r"crooks|frauds?|a disgrace|morons?|brainless|clueless|a waste of (?:time|space)|"
    r"ridiculous|the worst|terrible|awful|horrible|a nightmare|not helping|no help|dense)"
)
CUES: dict[str, str] = {
    # "you are useless", "this bot is stupid", "useless bot", "you guys are a joke"
    "insult": (
        rf"\b{_AT_US}\s+(?:are|is|r|re|'re|s|'s)?\s*(?:so |such |really |fucking |completely "
        rf"|totally |absolutely |utterly |just |literally |a )*{_INSULT_WORDS}\b"
        r"|\b(?:useless|stupid|dumb|pathetic|idiotic|worthless|crap|shit|incompetent|brainless)"
        r"\s+(?:bot|robot|chat ?bot|machine|shop|store|company|service|website|site|app|people)"
        r"\b|\bscam(?:mers|ming)?\b|\bthieves\b|\bcrooks\b|\brip ?-?off\b|\bfraudsters?\b"
    ),
    "swearing": (
        r"\b(?:f+u+c+k\w*|fck\w*|fk|f\*+k\w*|sh[i1]t\w*|bullshit|crap|damn\w*|bloody|wtf|ffs|"
        r"omfg|piss\w*|arse\w*|asshole\w*|bastards?|bs|goddamn\w*|hell no|wth|bollocks|"
        r"shut up|swear to god)\b"
    ),
    "threat": (
        r"\bcharge ?-?back\b|\bdisput\w* (?:the|this|my)? ?(?:charge|payment|transaction)\b"
        r"|\b(?:contact\w*|call\w*|tell\w*|go to|going to) (?:my|the) (?:bank|lawyer|"
        r"solicitor|police|card company)\b|\bnever recommend\b|\b(?:post|write|tell everyone)"
        r" about (?:this|you)\b|\bsocial media\b"
        r"|\breport(?:ing)? (?:you|this|your)\b|\btrading standards\b|\bconsumer "
        r"(?:protection|rights|ombudsman)\b|\bsmall claims\b|\b(?:lawyer|solicitor|sue you|"
        r"legal action)\b|\b(?:bad|negative|1 ?-?star|one ?-?star|terrible) reviews?\b"
        r"|\btrustpilot\b|\bnever (?:order\w*|buy\w*|shop\w*|purchas\w*|com\w*)\b.{0,30}"
        r"\bagain\b|\b(?:take|taking) my (?:business|money) elsewhere\b|\blast time i "
        r"(?:order|buy|shop)\b|\b(?:close|delete) my account\b.{0,20}\bnow\b"
    ),
    "angry_words": (
        r"\b(?:ridiculous|unacceptable|disgrace\w*|pathetic|outrag\w*|appalling|disgust\w*|"
        r"fed up|sick (?:and tired )?of|had enough|furious|fuming|livid|pissed|angry|infuriat\w*|"
        r"unbelievable|absurd|shambles|joke of a|worst|hate(?! to\b)|terrible service|"
        r"awful service|horrible service|waste of (?:my )?(?:time|money)|incompetent|useless|"
        r"enough is enough|"
        r"are you (?:kidding|serious|joking)|what is wrong with you|annoying|frustrat\w*|ugh+|"
        r"not again|beyond a joke|thanks for nothing|oh (?:great|brilliant|wonderful|perfect|"
        r"fantastic|lovely)|yeah right|wasting my time|"
        r"(?:i'?m|i am) done with (?:you|this|your|it all)|"
        r"what'?s the point|what is the point|how hard (?:can it be|is it)|why is it so "
        r"(?:hard|difficult)|do your job)\b|\bseriously\?"
        r"|\b(?:this|that|it|what)(?: is|'s| was)? (?:a|an absolute|a complete) (?:joke|farce|"
        r"disgrace|scam|nightmare|shambles|circus)\b"
    ),
    "ignored": (
        r"\b(?:second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th|umpteenth|hundredth) time\b"
        r"|\bhow many (?:more )?times\b|\bagain and again\b|\bover and over\b|\bi (?:have )?"
        r"(?:already|just) (?:told|asked|said|explained|sent|gave)\b|\bkeep (?:asking|telling|"
        r"writing|getting|saying|sending)\b|\b(?:told you|said) (?:already|before|twice)\b"
        r"|\b(?:asked|told you|written|emailed|called|rang|chased)\w* (?:two|three|four|five|"
        r"\d+|several|many|multiple|so many) times\b|\b(?:are|r) (?:you|u) (?:even )?"
        r"(?:listening|reading)\b|\bnot listening\b|\b(?:you|u) (?:clearly |obviously )?"
        r"(?:don'?t|do not|never) (?:read|listen)\b|\btalking to a wall\b|\b(?:is )?anyone "
        r"(?:\w+ )?(?:there|home|reading)\b|\b(?:still )?no(?:body| one|one) (?:answers|replies|"
        r"responds|helps|gets back|is answering|has answered|has replied|has helped)\b"
        r"|\bstill (?:no|nothing|waiting for an? (?:answer|reply|response))\b.{0,40}"
        r"\b(?:weeks|days|emails|times|answer|reply|response)\b|\bignor(?:ed|ing) (?:me|my)\b"
        r"|\bread my message\b"
        r"|\blisten to me\b|\bnot what i asked\b|\bthat'?s not what i\b|\bstop (?:sending|"
        r"asking|repeating|giving)\b"
    ),
    "demand": (
        r"\b(?:i demand|i insist|sort it out|sort this out|fix (?:it|this) now|give me (?:my|a) "
        r"\w+ (?:back )?(?:now|immediately|today)|(?:refund|money back)\W+(?:me )?(?:now|"
        r"immediately)|give me my money back|"
        r"(?:want|need) (?:my|a|to speak|to talk) [\w ]{0,30}(?:now|immediately|right now))\b"
        r"|\b(?:a |an actual |a real |real )(?:human|person)\b.{0,15}\b(?:now|already)\b"
    ),
    # Capitals for emphasis in an otherwise calm-looking message: "you sent it AGAIN".
    "upper_emphasis": r"\b(?:NOW|ASAP|IMMEDIATELY|AGAIN|TWICE|TODAY|STILL|NEVER|NOBODY|ANSWER)\b",
    "exclamations": r"[!?]*![!?]*!|\?!|!\?|\?\?",
}
# Short upper-case words that are names, not shouting.
_ACRONYMS = frozenset(
    "I UK US USA EU DHL UPS DPD GLS TNT FAQ XS XL XXL XXXL ID PIN OK PDF VAT EUR USD GBP SMS "
    "PS NYC CEO TV".split()
)


def shouting(text: str, min_letters: int, min_share: float) -> bool:
    """Mostly capitals, with at least two upper-case words that are not acronyms."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) < min_letters:
        return False
    share = sum(c.isupper() for c in letters) / len(letters)
    loud = [w for w in re.findall(r"\b[A-Z][A-Z']+\b", text) if w not in _ACRONYMS]
    return share >= min_share and len(loud) >= 2


# A trainable classifier after the BERT classifier, not a featurizer: its training node is its
# own, so new examples or thresholds retrain its head in seconds and never BERT.
@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FrustrationDetector(GraphComponent):
    """Scores how frustrated each message sounds; sets `sentiment`, never the intent."""

    @staticmethod
    def required_packages() -> list[str]:
        return ["vaderSentiment"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # A message is frustrated at or above this score (tuned on the development list
            # in bench/signals_benchmark.py, not on tests/frustration_heldout.yml).
            "threshold": 0.5,
            # How much VADER's negativity counts: 0.35 * -compound. A calm report of a
            # broken zipper (-0.42) stays near 0.15 on its own.
            "vader_weight": 0.35,
            # Weight of each cue; 0 switches one off.
            "cue_weights": {
                "insult": 0.9,
                "swearing": 0.75,
                "threat": 0.75,
                "angry_words": 0.6,
                "ignored": 0.6,
                "demand": 0.6,
                "shouting": 0.6,
                "upper_emphasis": 0.5,
                "exclamations": 0.3,
            },
            # Shouting: at least this many letters, this share of them capitals.
            "shouting_min_letters": 8,
            "shouting_min_share": 0.6,
            # The learned model's examples (relative to where `rasa train` runs); null: cues only.
            "examples": "data/frustration.yml",
            # Its frozen sentence encoder; null is the packaged all-MiniLM-L6-v2.
            "model_name_or_path": None,
            # Frustrated when the model's probability reaches this. It and the regression's
            # C were chosen by 5-fold cross-validation on the examples
            # (bench/frustration_benchmark.py).
            "model_threshold": 0.8,
            "regularization": 4.0,
            # The intents' own examples count as calm messages too (everyday questions, greetings,
            # thanks: without them the model took "hi" for anger), except these intents' and
            # any the cues call frustrated.
            "intent_examples_as_calm": True,
            "not_calm_intents": ["complaint", "insult"],
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if not 0 < float(config["threshold"]) <= 1:
            raise InvalidConfigException("FrustrationDetector: 'threshold' must be in (0, 1].")
        for name, weight in config["cue_weights"].items():
            if name != "shouting" and name not in CUES:
                raise InvalidConfigException(f"FrustrationDetector: unknown cue '{name}'.")
            if not 0 <= float(weight) <= 1:
                raise InvalidConfigException(
                    f"FrustrationDetector: the weight of '{name}' must be in [0, 1]."
                )

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain when the examples file's content changes, not only its name."""
        examples = {**cls.get_default_config(), **config}["examples"]
        if not examples or not Path(examples).is_file():
            return None
        return hashlib.sha256(Path(examples).read_bytes()).hexdigest()

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage | None = None,
        resource: Resource | None = None,
        model: FrustrationModel | None = None,
    ) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.model_storage = model_storage
        self.resource = resource
        self.model = model

        defaults = self.get_default_config()
        self.component_config = {**defaults, **config}
        self.component_config["cue_weights"] = {
            **defaults["cue_weights"],
            **(config.get("cue_weights") or {}),
        }
        self.validate_config(self.component_config)
        self.analyzer = SentimentIntensityAnalyzer()
        self.patterns = {
            name: re.compile(pattern, 0 if name == "upper_emphasis" else re.IGNORECASE)
            for name, pattern in CUES.items()
        }

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> FrustrationDetector:
        return cls(config, model_storage, resource)

    def _encoder(self) -> SentenceEncoder:
        from bot.nlu.base_model import resolve_base_model

        return SentenceEncoder(resolve_base_model(self.component_config["model_name_or_path"]))

    def train(self, training_data: TrainingData) -> Resource:
        """Fit the learned model on the examples file (the intents' data is not used)."""
        examples = self.component_config["examples"]
        if not examples:
            return self.resource
        try:
            texts, labels = load_examples(examples)
        except FrustrationExamplesError as error:
            raise InvalidConfigException(f"FrustrationDetector: {error}") from error
        if self.component_config["intent_examples_as_calm"]:
            calm = self.calm_intent_examples(training_data)
            texts, labels = texts + calm, labels + [False] * len(calm)
        self.model = FrustrationModel.fit(
            self._encoder(), texts, labels, float(self.component_config["regularization"])
        )
        with self.model_storage.write_to(self.resource) as directory:
            self.model.save(directory)
        logger.info("FrustrationDetector trained on %d examples from %s", len(texts), examples)
        return self.resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> FrustrationDetector:
        """The trained model, or the cues alone when it was trained with `examples: null`."""
        detector = cls(config, model_storage, resource)
        if not detector.component_config["examples"]:
            return detector
        with model_storage.read_from(resource) as directory:
            detector.model = FrustrationModel.load(Path(directory), detector._encoder())
        return detector

    def calm_intent_examples(self, training_data: TrainingData) -> list[str]:
        """The intents' examples that count as calm messages (see `intent_examples_as_calm`)."""
        excluded = set(self.component_config["not_calm_intents"])
        texts = {
            str(example.get(TEXT))
            for example in training_data.intent_examples
            if example.get(TEXT) and example.get("intent") not in excluded
        }
        return sorted(text for text in texts if not self.score(text)["frustrated"])

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to the intents' training examples."""
        return training_data

    def cues(self, text: str) -> list[str]:
        """The names of the cues found in `text`."""
        found = [name for name, pattern in self.patterns.items() if pattern.search(text)]
        config = self.component_config
        if shouting(text, int(config["shouting_min_letters"]), float(config["shouting_min_share"])):
            found.append("shouting")
        return found

    def score(self, text: str, model_probability: float | None = None) -> dict[str, Any]:
        """`{"frustrated", "score", "compound"}` for one text from the cues (and the model's
        probability, when given: then also `cues` and `model`)."""
        config = self.component_config
        compound = float(self.analyzer.polarity_scores(text)["compound"])
        calm = 1.0 - float(config["vader_weight"]) * max(0.0, -compound)
        for cue in self.cues(text):
            calm *= 1.0 - float(config["cue_weights"].get(cue, 0.0))
        cue_score = round(min(1.0, max(0.0, 1.0 - calm)), 4)
        frustrated = cue_score >= float(config["threshold"])
        if model_probability is None:
            return {"frustrated": frustrated, "score": cue_score, "compound": compound}
        model = round(float(model_probability), 4)
        return {
            "frustrated": frustrated or model >= float(config["model_threshold"]),
            "score": max(cue_score, model),
            "compound": compound,
            "cues": cue_score,
            "model": model,
        }

    def score_texts(self, texts: list[str]) -> list[dict[str, Any]]:
        """`score` for several texts, the model's encoder run once over all of them."""
        if self.model is None:
            return [self.score(text) for text in texts]
        probabilities = self.model.probabilities(texts)
        return [self.score(t, p) for t, p in zip(texts, probabilities, strict=True)]

    def process(self, messages: list[Message]) -> list[Message]:
        """Set `sentiment` on every message with text."""
        with_text = [message for message in messages if message.get(TEXT)]
        scores = self.score_texts([str(message.get(TEXT)) for message in with_text])
        for message, sentiment in zip(with_text, scores, strict=True):
            message.set(SENTIMENT, sentiment, add_to_output=True)
        return messages
