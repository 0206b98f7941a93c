"""New intents staff name in the review app: their names, and how the export writes them into
a copy of the real project (domain.yml, data/faq.yml, the rules) without touching anything
else, so that Rasa and the action server accept the result."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
import yaml

from tests.helpers.logged_conversations import save, user
from tests.helpers.project import PROJECT_ROOT

NAME = "loyalty_points"


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """The files the export adds to, copied from the real project."""
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    shutil.copy2(PROJECT_ROOT / "domain.yml", root / "domain.yml")
    for name in ("faq.yml", "store.yml", "rules.yml"):
        shutil.copy2(PROJECT_ROOT / "data" / name, root / "data" / name)
    return root


def domain_intents(path: Path) -> list[str]:
    """The domain's intents as the action server reads them."""
    from bot.runtime.models import domain_intents

    return domain_intents(path.parent)


def rasa_intents(path: Path) -> list[str]:
    from rasa.shared.core.domain import Domain

    return Domain.load(path).intents


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Loyalty", "not a usable intent name"),
        ("loyalty points", "not a usable intent name"),
        ("loyalty__points", "not a usable intent name"),
        ("2fa_codes", "not a usable intent name"),
        ("x" * 49, "not a usable intent name"),
        ("track_order", "already an intent"),
        ("nlu_fallback", "Rasa or the pipeline"),
    ],
)
def test_unusable_names_are_refused(name, reason):
    from bot.storage.new_intents import NewIntentError, check_new_intent_name

    with pytest.raises(NewIntentError, match=reason):
        check_new_intent_name(name, ["track_order"])
    assert check_new_intent_name("  gift_wrapping ", ["track_order"]) == "gift_wrapping"


def test_naming_twice_keeps_one_record(db_url):
    from bot.storage.database import open_database
    from bot.storage.new_intents import add_new_intent, new_intent_names

    engine = open_database(db_url)
    add_new_intent(engine, NAME, "ana", ["track_order"])
    add_new_intent(engine, NAME, "ben", ["track_order"])
    assert new_intent_names(engine) == [NAME]


def test_domain_gains_one_line_and_keeps_every_other(project):
    from bot.learning.new_intent_files import add_to_domain

    path = project / "domain.yml"
    before = path.read_text().splitlines()

    assert add_to_domain(path, [NAME, "track_order"]) == [NAME]
    after = path.read_text().splitlines()
    assert len(after) == len(before) + 1
    assert [line for line in after if NAME not in line] == before
    assert domain_intents(path)[-1] == NAME and NAME in rasa_intents(path)
    assert add_to_domain(path, [NAME]) == []
    assert path.read_text().splitlines() == after


def test_a_domain_not_shaped_as_expected_is_left_alone(project):
    from bot.learning.new_intent_files import ProjectFileError, add_to_domain

    path = project / "domain.yml"
    path.write_text('version: "3.1"\nintents: [greet, goodbye]\n')
    with pytest.raises(ProjectFileError, match="add to"):
        add_to_domain(path, [NAME])
    assert path.read_text() == 'version: "3.1"\nintents: [greet, goodbye]\n'


def test_faq_stub_loads_but_is_never_said(project):
    from bot.answers.faq import FaqBook
    from bot.answers.faq_entries import FaqError
    from bot.learning.new_intent_files import add_faq_stubs, add_to_domain

    faq, domain = project / "data" / "faq.yml", project / "domain.yml"
    before = faq.read_text()
    add_to_domain(domain, [NAME])
    intents = domain_intents(domain)
    # The domain knows the intent, the answers do not: the action server refuses to start.
    with pytest.raises(FaqError, match=f"no answer for intent.*{NAME}"):
        FaqBook.load(faq, project / "data" / "store.yml", intents)

    assert add_faq_stubs(faq, [NAME]) == [NAME]
    assert add_faq_stubs(faq, [NAME]) == []
    changes = difflib.SequenceMatcher(None, before.splitlines(), faq.read_text().splitlines())
    assert {tag for tag, *_ in changes.get_opcodes()} == {"equal", "insert"}  # only added to
    book = FaqBook.load(faq, project / "data" / "store.yml", intents)
    assert book.unfilled == (NAME,)
    assert book.answer_for(NAME) is None
    assert book.answer_for("track_order") is not None

    # Filled in by a person (the `unfilled` line deleted): served like any other answer.
    filled = faq.read_text().replace(
        '    unfilled: true\n    template: ""', "    template: Collect points with every order."
    )
    faq.write_text(filled)
    book = FaqBook.load(faq, project / "data" / "store.yml", intents)
    assert book.unfilled == () and book.answer_for(NAME) is not None

    faq.write_text(
        filled.replace("    template: Collect", "    unfilled: no\n    template: Collect")
    )
    with pytest.raises(FaqError, match="'unfilled:' is true or the line is deleted"):
        FaqBook.load(faq, project / "data" / "store.yml", intents)


def test_rules_are_ours_merged_and_read_by_rasa(project):
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

    from bot.learning.new_intent_files import ProjectFileError, write_rules

    rules = project / "data" / "reviewed_rules.yml"
    assert write_rules(rules, [NAME]) == [NAME]
    assert write_rules(rules, [NAME, "gift_wrapping"]) == ["gift_wrapping"]
    content = yaml.safe_load(rules.read_text())
    assert [rule["rule"] for rule in content["rules"]] == [
        f"answer {NAME}",
        f"{NAME} in the middle of the order form",
        "answer gift_wrapping",
        "gift_wrapping in the middle of the order form",
    ]
    steps = YAMLStoryReader().read_from_file(rules)
    assert len(steps) == 4

    with pytest.raises(ProjectFileError, match="not written by `shopdesk export`"):
        write_rules(project / "data" / "rules.yml", ["other"])


def test_export_writes_a_named_intent_into_the_project_once(project, db_url):
    from rasa.shared.importers.rasa import RasaFileImporter

    from bot.answers.faq import FaqBook
    from bot.learning.export import ExportPaths, export_reviewed
    from bot.storage.conversation_log import ConversationLog
    from bot.storage.database import open_database
    from bot.storage.new_intents import add_new_intent
    from bot.storage.reviews import ReviewStore

    texts = [
        "how do loyalty points work",
        "do my reward points expire",
        "can I pay with my loyalty points",
        "how many points do I get per euro",
        "i didn't get points for my last order",
        "is there a rewards club",
        "where do I see my points balance",
        "do points work on sale items",
    ]
    save(db_url, "loyal", [user(text, "nlu_fallback", 0.3) for text in texts])
    log = ConversationLog(db_url)
    turns = log.read("loyal").user_turns
    store = ReviewStore(db_url, intents=domain_intents(project / "domain.yml"))
    add_new_intent(open_database(db_url), NAME, "ana", store.intents)
    store.review_messages({t.event_id: "loyal" for t in turns}, "ana", corrected_intent=NAME)
    paths = ExportPaths.under(project)

    report = export_reviewed(log, store, paths)

    assert report.new_intents == [NAME]
    assert f"new intents: {NAME}" in report.summary()
    assert NAME in rasa_intents(project / "domain.yml")
    book = FaqBook.load(project / "data" / "faq.yml", project / "data" / "store.yml",
                        domain_intents(project / "domain.yml"))  # fmt: skip
    assert book.unfilled == (NAME,)
    importer = RasaFileImporter(
        config_file=str(PROJECT_ROOT / "config.yml"),
        domain_path=str(project / "domain.yml"),
        training_data_paths=[str(project / "data")],
    )
    trained = [m.get("text") for m in importer.get_nlu_data().intent_examples
               if m.get("intent") == NAME]  # fmt: skip
    from bot.learning.nlu_files import examples_of

    held_back = examples_of(paths.held_back) if paths.held_back.exists() else {}
    # Every reviewed message went to exactly one side: training or the held-back share.
    assert trained and len(trained) + list(held_back.values()).count(NAME) == len(texts)
    rules = importer.get_stories().story_steps
    assert any(getattr(e, "intent_name", None) == NAME for step in rules for e in step.events)

    files = {p: p.read_text() for p in (paths.domain, paths.faq, paths.rules)}
    again = export_reviewed(log, store, paths)
    assert again.new_intents == []
    assert {p: p.read_text() for p in files} == files
