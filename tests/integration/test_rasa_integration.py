"""The classifier inside Rasa's own training and loading machinery, on a tiny random BERT:
`rasa train nlu`, `--finetune` with `--epoch-fraction`, the training cache, `Agent` parsing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from rasa.engine.storage.local_model_storage import LocalModelStorage

from tests.helpers.tiny_bert import TOY_EXAMPLES

CLASSIFIER = "bot.nlu.bert_intent_classifier.BertIntentClassifier"


@pytest.fixture()
def tiny_project(tmp_path: Path, tiny_bert_dir: Path, monkeypatch) -> Path:
    monkeypatch.setenv("RASA_CACHE_DIRECTORY", str(tmp_path / "cache"))
    config = {
        "recipe": "default.v1",
        "language": "en",
        "assistant_id": "tiny",
        "pipeline": [
            {"name": "WhitespaceTokenizer"},
            {
                "name": CLASSIFIER,
                "model_name_or_path": str(tiny_bert_dir),
                "epochs": 30,
                "batch_size": 8,
                "learning_rate": 3e-3,
                "warmup_ratio": 0.0,
                "ranking_length": 2,
                "show_progress_bar": False,
            },
        ],
        "policies": [],
    }
    (tmp_path / "config.yml").write_text(yaml.safe_dump(config))
    nlu = {
        "version": "3.1",
        "nlu": [
            {"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)}
            for intent, texts in TOY_EXAMPLES.items()
        ],
    }
    (tmp_path / "nlu.yml").write_text(yaml.safe_dump(nlu, sort_keys=False))
    domain = {"version": "3.1", "intents": sorted(TOY_EXAMPLES)}
    (tmp_path / "domain.yml").write_text(yaml.safe_dump(domain))
    return tmp_path


def train(project: Path, name: str = "model", **kwargs) -> str:
    import rasa.model_training

    return rasa.model_training.train_nlu(
        str(project / "config.yml"),
        str(project / "nlu.yml"),
        str(project / "models"),
        fixed_model_name=name,
        **kwargs,
    )


def classifier_config(model: str) -> dict:
    _, metadata = LocalModelStorage.from_model_archive(
        Path(model).parent / "unpacked" / Path(model).name, Path(model)
    )
    for node in metadata.train_schema.nodes.values():
        if node.uses.__name__ == "BertIntentClassifier":
            return node.config
    raise AssertionError("no BertIntentClassifier in the train schema")


def parse(model: str, text: str) -> dict:
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage

    processor = Agent.load(model).processor
    return asyncio.run(processor.parse_message(UserMessage(text)))


def test_rasa_trains_loads_and_parses_with_our_classifier(tiny_project):
    model = train(tiny_project)
    result = parse(model, "where is my parcel")
    assert result["intent"]["name"] == "track_order"
    assert [entry["name"] for entry in result["intent_ranking"]][0] == "track_order"
    assert len(result["intent_ranking"]) == 2  # the user's ranking_length, not the default


def test_finetune_scales_epochs_by_the_epoch_fraction(tiny_project):
    base_model = train(tiny_project, "base")
    finetuned = train(
        tiny_project, "finetuned", model_to_finetune=base_model, finetuning_epoch_fraction=0.2
    )
    assert finetuned != base_model
    assert classifier_config(finetuned)["epochs"] == 6  # ceil(30 * 0.2)
    assert parse(finetuned, "refund please")["intent"]["name"] == "get_refund"


def test_unchanged_project_needs_no_retraining_and_changed_base_model_does(
    tiny_project, tiny_bert_dir, tmp_path
):
    import rasa.model_training
    from rasa.model_training import CODE_NEEDS_TO_BE_RETRAINED

    from tests.helpers.tiny_bert import write_tiny_bert

    def train_project(dry_run: bool = False) -> int:
        return rasa.model_training.train(
            domain=str(tiny_project / "domain.yml"),
            config=str(tiny_project / "config.yml"),
            training_files=[str(tiny_project / "nlu.yml")],
            output=str(tiny_project / "models"),
            dry_run=dry_run,
        ).code

    def dry_run() -> int:
        return train_project(dry_run=True)

    assert dry_run() & CODE_NEEDS_TO_BE_RETRAINED  # nothing trained yet
    train_project()
    assert dry_run() == 0

    # Same config, but the base model directory now holds other weights.
    other_base = write_tiny_bert(tmp_path / "other-base", hidden_size=16)
    config = yaml.safe_load((tiny_project / "config.yml").read_text())
    config["pipeline"][1]["model_name_or_path"] = str(other_base)
    (tiny_project / "config.yml").write_text(yaml.safe_dump(config))
    train_project()
    assert dry_run() == 0
    write_tiny_bert(other_base, hidden_size=32)
    assert dry_run() & CODE_NEEDS_TO_BE_RETRAINED


def test_a_typed_intent_message_reaches_the_classifier_unless_a_button_offered_it(
    tiny_project, monkeypatch
):
    """bot/runtime/rasa_patches.py's patch on Rasa's real NLU graph: a customer's
    `/intent{entities}` is classified as text; the bot's own button payload and the HTTP
    API's messages (no input channel) still go to RegexMessageHandler."""
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.events import BotUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    import bot.runtime.rasa_patches as server

    original = MessageProcessor._parse_message_with_graph
    monkeypatch.setattr(MessageProcessor, "_parse_message_with_graph", original)  # restored
    monkeypatch.setattr(server, "_rasa_parse_message_with_graph", None)
    server.install_intent_messages_only_from_buttons()
    processor = Agent.load(train(tiny_project)).processor

    def parse_in(tracker: DialogueStateTracker, text: str, channel: str | None = "rest"):
        message = UserMessage(text, sender_id="c", input_channel=channel)
        return asyncio.run(processor.parse_message(message, tracker))

    stranger = DialogueStateTracker.from_events("c", [])
    typed = parse_in(stranger, '/get_refund{"order_number": "538214"}')
    assert len(typed["intent_ranking"]) == 2  # the classifier's ranking, not a forced 1.0
    assert typed["entities"] == []
    assert typed["text"] == '/get_refund{"order_number": "538214"}'

    buttons = {"buttons": [{"title": "Hello", "payload": "/greet"}]}
    offered = DialogueStateTracker.from_events("c", [BotUttered("Say hi?", data=buttons)])
    assert parse_in(offered, "/greet")["intent"] == {"name": "greet", "confidence": 1.0}
    api = parse_in(stranger, '/get_refund{"order_number": "538214"}', channel=None)
    assert api["intent"] == {"name": "get_refund", "confidence": 1.0}
    # A later Rasa is refused at start-up instead of being patched blindly.
    monkeypatch.setattr(MessageProcessor, "_parse_message_with_graph", original)
    monkeypatch.setattr("rasa.__version__", "3.7.0")
    with pytest.raises(server.StartupError, match="3.6.x"):
        server.install_intent_messages_only_from_buttons()
