"""FAQ answer templates: checked at load, rendered from the store profile, slots and orders."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.answers.faq import FaqBook, FaqError, example_orders
from tests.helpers.project import PROJECT_ROOT

INTENTS = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["intents"]
FAQ = PROJECT_ROOT / "data" / "faq.yml"
STORE = PROJECT_ROOT / "data" / "store.yml"


def load(faq_text: str, tmp_path: Path) -> FaqBook:
    path = tmp_path / "faq.yml"
    path.write_text(faq_text)
    return FaqBook.load(path, STORE, INTENTS)


@pytest.fixture(scope="module")
def book() -> FaqBook:
    return FaqBook.load(FAQ, STORE, INTENTS)


def test_the_project_faq_loads_and_covers_every_store_intent(book):
    assert "track_order" in book.answers and "contact_human_agent" not in book.answers
    assert len(book.answers) == 26


def test_answers_quote_the_store_profile(book):
    store = yaml.safe_load(STORE.read_text())
    text = book.render(book.answer_for("check_refund_policy"), {})
    assert f"{store['returns']['window_days']} days" in text
    methods = book.render(book.answer_for("check_payment_methods"), {})
    assert all(method in methods for method in store["payment_methods"])
    assert "{{" not in methods and "  " not in methods


def test_order_answers_follow_the_orders_real_state(book):
    orders = {(o.status, o.refund_status): o for o in example_orders() if o is not None}
    cancel = book.answer_for("cancel_order")
    shipped = book.render(cancel, {"order_number": "123456"}, orders[("dispatched", None)])
    assert "can't be cancelled" in shipped and "DHL" in shipped
    processing = book.render(cancel, {"order_number": "123456"}, orders[("processing", None)])
    assert "free of charge" in processing
    unknown = book.render(book.answer_for("track_order"), {"order_number": "999999"}, None)
    assert "can't find an order with the number 999999" in unknown


def test_missing_slot_is_asked_for_not_left_empty(book):
    answer = book.answer_for("track_order")
    assert book.missing_slot(answer, {}) == "order_number"
    assert book.missing_slot(answer, {"order_number": "482913"}) is None
    assert "order number" in book.asks["order_number"]
    assert book.missing_slot(book.answer_for("delivery_options"), {}) is None


def faq_with(intent: str, template: str, requires: str = "") -> str:
    entries = {i: {"template": "ok"} for i in INTENTS if i not in ("greet",)}
    document = {"asks": {"order_number": "Which order?"}, "answers": entries, "handoff": "Hi"}
    return yaml.safe_dump(document).replace(
        f"  {intent}:\n    template: ok\n",
        f"  {intent}:\n{requires}    template: {template!r}\n",
    )


def test_a_misspelt_store_field_is_an_error_naming_the_entry(tmp_path):
    bad = faq_with("delivery_options", "Ships in {{ store.shiping }}")
    with pytest.raises(FaqError, match=r"answers\.delivery_options.*shiping"):
        load(bad, tmp_path)


def test_a_syntax_error_is_an_error_naming_the_entry(tmp_path):
    bad = faq_with("get_invoice", "{% if %}")
    with pytest.raises(FaqError, match=r"answers\.get_invoice: line 1"):
        load(bad, tmp_path)


def test_an_order_template_must_handle_every_order_state(tmp_path):
    bad = faq_with(
        "track_order", "Arrives {{ order.estimated_delivery }}", "    requires: [order_number]\n"
    )
    with pytest.raises(FaqError, match=r"answers\.track_order"):
        load(bad, tmp_path)  # order is none for an unknown number: must be handled


def test_an_intent_without_answer_is_an_error(tmp_path):
    text = yaml.safe_load(FAQ.read_text())
    del text["answers"]["get_refund"]
    with pytest.raises(FaqError, match="no answer for intent.*get_refund"):
        load(yaml.safe_dump(text), tmp_path)


def test_an_unknown_intent_and_malformed_yaml_are_errors(tmp_path):
    text = yaml.safe_load(FAQ.read_text())
    text["answers"]["track_parcel"] = {"template": "hi"}
    with pytest.raises(FaqError, match="'track_parcel' is not an intent"):
        load(yaml.safe_dump(text), tmp_path)
    with pytest.raises(FaqError, match="not valid YAML"):
        load("answers: [unclosed", tmp_path)


def test_templates_are_sandboxed(tmp_path):
    bad = faq_with("review", "{{ store.__class__.__mro__ }}")
    with pytest.raises(FaqError, match="answers.review"):
        load(bad, tmp_path)


def test_handoff_text_names_the_support_hours(book, tmp_path):
    store = yaml.safe_load(STORE.read_text())
    assert store["contact"]["chat_hours"] in book.handoff_text()
    text = yaml.safe_load(FAQ.read_text())
    del text["handoff"]
    with pytest.raises(FaqError, match="handoff"):
        load(yaml.safe_dump(text), tmp_path)


def test_a_named_case_replaces_the_template_and_unknown_cases_are_errors(book, tmp_path):
    policy = book.answer_for("check_refund_policy")
    general = book.render(policy, {})
    worn = book.render(policy, {}, asked={"case": "worn"})
    assert worn != general and "can't be returned" in worn
    # A case the answer has no words for keeps the general answer.
    assert book.render(book.answer_for("review"), {}, asked={"case": "worn"}) == book.render(
        book.answer_for("review"), {}
    )
    faq = yaml.safe_load(FAQ.read_text())
    faq["answers"]["check_refund_policy"]["cases"] = {"wron": "Sorry."}
    with pytest.raises(FaqError, match=r"check_refund_policy.cases: wron not in store.yml"):
        load(yaml.safe_dump(faq), tmp_path)


def test_a_case_template_broken_for_one_order_state_stops_start_up(tmp_path):
    faq = yaml.safe_load(FAQ.read_text())
    faq["answers"]["complaint"]["cases"] = {
        "faulty": "{% if order is none %}Sorry.{% else %}{{ order.numbr }}{% endif %}"
    }
    with pytest.raises(FaqError, match="answers.complaint"):
        load(yaml.safe_dump(faq), tmp_path)


def test_topics_must_be_the_store_profiles_and_render(tmp_path):
    faq = yaml.safe_load(FAQ.read_text())
    faq["topics"]["gift_card"] = "Typo."
    with pytest.raises(FaqError, match="topics: gift_card not in store.yml's topics"):
        load(yaml.safe_dump(faq), tmp_path)
    faq = yaml.safe_load(FAQ.read_text())
    faq["topics"]["sizes"] = "{{ store.sizes.shoe }}"
    with pytest.raises(FaqError, match="topics.sizes"):
        load(yaml.safe_dump(faq), tmp_path)


def test_a_broken_topic_template_names_the_file(tmp_path):
    """Found by the fuzzed-FAQ test: a topic's syntax error said only `topics.<name>`."""
    import yaml

    from bot.answers.faq import FaqBook, FaqError

    faq = yaml.safe_load((PROJECT_ROOT / "data" / "faq.yml").read_text())
    topic = next(iter(faq["topics"]))
    faq["topics"][topic] = "{{ broken {"
    path = tmp_path / "faq.yml"
    path.write_text(yaml.safe_dump(faq, allow_unicode=True))
    intents = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["intents"]
    with pytest.raises(FaqError) as raised:
        FaqBook.load(path, PROJECT_ROOT / "data" / "store.yml", intents)
    assert str(path) in str(raised.value) and f"topics.{topic}" in str(raised.value)
