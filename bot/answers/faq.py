"""FAQ answer templates (data/faq.yml) filled from the store profile, slots and orders.

Loaded and checked once at start-up: a template that does not compile, uses a name that does
not exist, or an intent without an answer stops the action server with an error naming the
entry, instead of a half-loaded server that fails on a customer's question.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2

from bot.answers.faq_entries import (
    ORDER_CHECKS,
    WINDOW_CASES,
    FaqAnswer,
    FaqError,
    FaqRenderError,
    compile_cases,
    compile_order_checks,
    compile_text,
    compile_topics,
    make_environment,
    read_yaml,
    uses_order,
)
from bot.answers.orders import CANCELLED, DELIVERED, DISPATCHED, PROCESSING, RETURNED, OrderView
from bot.nlu.intents import DETECTED, ORDER_NUMBER_REPAIRS, SMALL_TALK

logger = logging.getLogger(__name__)

# What the bot says instead of an order answer when the customer could not show the order is
# theirs (`order_checks:` in data/faq.yml), and what it asks for to check (`asks:`).
ORDER_CHECK_ASKS = ("order_number", "order_email")

# Intents the dialogue answers without a template: chit-chat and the way to a person.
NOT_TEMPLATED = {
    *SMALL_TALK,
    *ORDER_NUMBER_REPAIRS,
    *DETECTED,
    "out_of_scope",
    "contact_human_agent",
}


# What a question named, as templates see it when it named nothing.
NOTHING_ASKED = {
    "country": None,
    "payment_method": None,
    "shipping_option": None,
    "case": None,
    "days": None,
}


def example_questions(store: dict[str, Any]) -> list[dict[str, Any]]:
    """A question naming nothing, a country shipped to and one not, a payment method taken and
    one not, a shipping option with each country and none, the return cases by days: every
    template must render for each (checked at start-up)."""
    from bot.answers.store_entities import StoreEntities

    entities = StoreEntities.from_store(store)
    countries = [entities.country(name) for name in ("Germany", "Canada")]
    methods = [entities.payment_method(name) for name in ("PayPal", "Bitcoin")]
    named = [{"country": c} for c in countries if c] + [{"payment_method": m} for m in methods if m]
    named += [{"case": "within_window", "days": 21}, {"case": "past_window", "days": 35}]
    option = entities.shipping[0].get("words", [None])[0]
    named += [
        {"shipping_option": entities.shipping_option(option, country), "country": country}
        for country in [*countries, None]
        if entities.shipping_option(option, country)
    ]
    return [dict(NOTHING_ASKED), *({**NOTHING_ASKED, **n} for n in named)]


def known_cases(store: dict[str, Any]) -> set[str]:
    """The cases a template may branch on: store.yml's return cases and item problems."""
    return {*store.get("return_cases", {}), *store.get("item_problems", {}), *WINDOW_CASES}


# The days the start-up check renders every order answer on: within the example orders' return
# window and long after it, so both branches of a date comparison are checked.
EXAMPLE_DAYS = (dt.date(2025, 3, 10), dt.date(2030, 1, 1))


def example_orders() -> list[OrderView | None]:
    """One order in every state the templates must handle, and no order at all."""
    base = OrderView(
        number="123456",
        status=PROCESSING,
        placed_on=dt.date(2025, 3, 3),
        shipping_method="Standard",
        carrier="DHL",
        tracking_code="DH1234567890",
        estimated_delivery=dt.date(2025, 3, 7),
        delivered_on=dt.date(2025, 3, 7),
        total=Decimal("98.00"),
        currency="EUR",
        refund_status=None,
        refund_amount=Decimal("49.00"),
        refund_updated_on=dt.date(2025, 3, 20),
        items=("1 x Linen duvet cover, sage (double)",),
    )
    orders: list[OrderView | None] = [None]
    for status in (PROCESSING, DISPATCHED, DELIVERED, CANCELLED, RETURNED):
        for refund in (None, "requested", "received", "refunded"):
            orders.append(replace(base, status=status, refund_status=refund))
    return orders


class FaqBook:
    """The checked answer templates, ready to render."""

    def __init__(
        self,
        answers: dict[str, FaqAnswer],
        asks: dict[str, str],
        store: dict[str, Any],
        handoff: jinja2.Template,
        order_checks: dict[str, jinja2.Template] | None = None,
        topics: dict[str, jinja2.Template] | None = None,
    ) -> None:
        self.answers = answers
        self.asks = asks
        self.store = store
        self.handoff = handoff
        self.order_checks = order_checks or {}
        self.topics = topics or {}
        # Intents whose answer is an `unfilled: true` stub: `answer_for` gives None for them.
        self.unfilled: tuple[str, ...] = ()

    @classmethod
    def load(cls, faq_path: Path, store_path: Path, intents: list[str]) -> FaqBook:
        """Read and check data/faq.yml against the domain's intents; raise FaqError if unfit."""
        store = read_yaml(store_path)
        if not isinstance(store, dict):
            raise FaqError(f"{store_path}: expected a mapping of store facts")
        raw = read_yaml(faq_path)
        if not isinstance(raw, dict) or not isinstance(raw.get("answers"), dict):
            raise FaqError(f"{faq_path}: expected an 'answers:' mapping")
        asks = raw.get("asks") or {}
        environment = make_environment()
        answers: dict[str, FaqAnswer] = {}
        unfilled = []
        for intent, entry in raw["answers"].items():
            where = f"{faq_path}: answers.{intent}"
            if intent not in intents:
                raise FaqError(f"{where}: '{intent}' is not an intent in domain.yml")
            if isinstance(entry, dict) and "unfilled" in entry:
                if entry["unfilled"] is not True:
                    raise FaqError(f"{where}: 'unfilled:' is true or the line is deleted")
                unfilled.append(intent)  # a stub `shopdesk export` added: never said
                continue
            if not isinstance(entry, dict) or not isinstance(entry.get("template"), str):
                raise FaqError(f"{where}: needs a 'template:' text")
            requires = tuple(entry.get("requires") or ())
            for slot in requires:
                if slot not in asks:
                    raise FaqError(f"{where}: requires '{slot}' but asks.{slot} is missing")
            try:
                template = environment.from_string(entry["template"])
            except jinja2.TemplateSyntaxError as error:
                raise FaqError(f"{where}: line {error.lineno}: {error.message}") from error
            optional_order = uses_order(entry, requires, where)
            cases = compile_cases(entry, environment, known_cases(store), where)
            before = compile_text(entry.get("before_asking"), environment, f"{where}.before_asking")
            answers[intent] = FaqAnswer(intent, requires, template, optional_order, cases, before)
        missing = sorted(set(intents) - NOT_TEMPLATED - set(answers) - set(unfilled))
        if missing:
            raise FaqError(f"{faq_path}: no answer for intent(s) {', '.join(missing)}")
        if not isinstance(raw.get("handoff"), str):
            raise FaqError(f"{faq_path}: needs a 'handoff:' text (said when a person takes over)")
        try:
            handoff = environment.from_string(raw["handoff"])
        except jinja2.TemplateSyntaxError as error:
            raise FaqError(f"{faq_path}: handoff: line {error.lineno}: {error.message}") from error
        order_checks = compile_order_checks(raw.get("order_checks"), environment, faq_path)
        known_topics = set(store.get("topics", {}))
        topics = compile_topics(raw.get("topics"), environment, known_topics, faq_path)
        book = cls(answers, asks, store, handoff, order_checks, topics)
        book.unfilled = tuple(unfilled)
        if unfilled:
            logger.warning(
                "%s: answers of %s are unfilled stubs; these questions are answered as unsure "
                "ones until someone writes the answer.",
                faq_path,
                ", ".join(unfilled),
            )
        book._check_every_template_renders(faq_path)
        book._check_order_checks(faq_path)
        return book

    def _check_order_checks(self, faq_path: Path) -> None:
        """Order answers need the texts of the ownership check, and they must render."""
        if not any(answer.about_orders for answer in self.answers.values()):
            return
        asks = self.asks if isinstance(self.asks, dict) else {}
        for slot in ORDER_CHECK_ASKS:
            if not isinstance(asks.get(slot), str):
                raise FaqError(f"{faq_path}: order answers need an 'asks.{slot}' text")
        for name in ORDER_CHECKS:
            if name not in self.order_checks:
                raise FaqError(f"{faq_path}: order answers need an 'order_checks.{name}' text")
            try:
                self.order_check_text(name, {"order_number": "123456"})
            except jinja2.TemplateError as error:
                raise FaqError(f"{faq_path}: order_checks.{name}: {error}") from error

    def order_check_text(self, name: str, slots: dict[str, Any], wait_minutes: int = 15) -> str:
        """One of the ownership check's texts (`ORDER_CHECKS`), filled in."""
        text = self.order_checks[name].render(
            store=self.store, slots=slots, wait_minutes=wait_minutes
        )
        return " ".join(text.split())

    def _check_every_template_renders(self, faq_path: Path) -> None:
        try:
            self.handoff_text()
        except jinja2.TemplateError as error:
            raise FaqError(f"{faq_path}: handoff: {error}") from error
        slots = {slot: "123456" for slot in self.asks} | {"email": "someone@example.org"}
        questions = example_questions(self.store)
        for topic in self.topics:
            for asked in questions:
                try:
                    self.topic_text(topic, asked)
                except jinja2.TemplateError as error:
                    raise FaqError(f"{faq_path}: topics.{topic}: {error}") from error
        for answer in self.answers.values():
            orders = example_orders() if answer.about_orders else [None]
            asked_cases = [{**NOTHING_ASKED, "case": case, "days": 3} for case in answer.cases]
            variants = itertools.product(orders, EXAMPLE_DAYS, [*questions, *asked_cases])
            for order, today, asked in variants:
                try:
                    self._render(answer, slots, order, today, asked)
                    self.before_asking_text(answer, slots, asked)
                except jinja2.TemplateError as error:
                    state = f" (order {order.status}/{order.refund_status})" if order else ""
                    raise FaqError(
                        f"{faq_path}: answers.{answer.intent}{state}: {error}"
                    ) from error

    def topic_text(self, topic: str, asked: dict[str, Any] | None = None) -> str | None:
        """The answer to a shop question with no intent (`topics:` in data/faq.yml), if any."""
        if topic not in self.topics:
            return None
        asked = {**NOTHING_ASKED, **(asked or {})}
        return " ".join(self.topics[topic].render(store=self.store, asked=asked).split())

    def answer_for(self, intent: str) -> FaqAnswer | None:
        return self.answers.get(intent)

    def missing_slot(self, answer: FaqAnswer, slots: dict[str, Any]) -> str | None:
        """The first slot the answer needs that the conversation has not given yet."""
        return next((slot for slot in answer.requires if not slots.get(slot)), None)

    def render(
        self,
        answer: FaqAnswer,
        slots: dict[str, Any],
        order: OrderView | None = None,
        today: dt.date | None = None,
        asked: dict[str, Any] | None = None,
    ) -> str:
        """The answer's text; FaqRenderError when this order's data cannot fill it.

        `asked` holds the facts the question named (`country`, `payment_method`, the return
        `case` and `days`: see bot/answers/store_entities.py), None where it named none; a named
        case
        with a `cases:` template of its own is answered from that template.
        """
        try:
            return self._render(answer, slots, order, today or dt.date.today(), asked)
        except jinja2.TemplateError as error:
            state = f" (order {order.number}: {order.status})" if order else ""
            raise FaqRenderError(f"answers.{answer.intent}{state}: {error}") from error

    def before_asking_text(
        self, answer: FaqAnswer, slots: dict[str, Any], asked: dict[str, Any] | None = None
    ) -> str | None:
        """What the answer says in front of the order number question, if it says anything."""
        if answer.before_asking is None:
            return None
        asked = {**NOTHING_ASKED, **(asked or {})}
        text = answer.before_asking.render(store=self.store, slots=slots, asked=asked)
        return " ".join(text.split())

    def handoff_text(self) -> str:
        return " ".join(self.handoff.render(store=self.store).split())

    def _render(
        self,
        answer: FaqAnswer,
        slots: dict[str, Any],
        order: OrderView | None,
        today: dt.date,
        asked: dict[str, Any] | None = None,
    ) -> str:
        asked = {**NOTHING_ASKED, **(asked or {})}
        template = answer.cases.get(asked["case"], answer.template)
        text = template.render(store=self.store, slots=slots, order=order, today=today, asked=asked)
        return " ".join(text.split())
