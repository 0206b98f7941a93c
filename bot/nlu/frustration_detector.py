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
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

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


# Registered like FallbackClassifier (non-trainable, inference only): as a featurizer it would
# sit in the training graph before the classifier, and a changed threshold would retrain BERT.
@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
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

    def __init__(self, config: dict[str, Any]) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

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
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn or to add to training examples."""
        return training_data

    def cues(self, text: str) -> list[str]:
        """The names of the cues found in `text`."""
        found = [name for name, pattern in self.patterns.items() if pattern.search(text)]
        config = self.component_config
        if shouting(text, int(config["shouting_min_letters"]), float(config["shouting_min_share"])):
            found.append("shouting")
        return found

    def score(self, text: str) -> dict[str, Any]:
        """`{"frustrated", "score", "compound"}` for one text."""
        config = self.component_config
        compound = float(self.analyzer.polarity_scores(text)["compound"])
        calm = 1.0 - float(config["vader_weight"]) * max(0.0, -compound)
        for cue in self.cues(text):
            calm *= 1.0 - float(config["cue_weights"].get(cue, 0.0))
        score = round(min(1.0, max(0.0, 1.0 - calm)), 4)
        return {"frustrated": score >= float(config["threshold"]), "score": score,
                "compound": compound}  # fmt: skip

    def process(self, messages: list[Message]) -> list[Message]:
        """Set `sentiment` on every message with text."""
        for message in messages:
            text = message.get(TEXT)
            if text:
                message.set(SENTIMENT, self.score(str(text)), add_to_output=True)
        return messages
