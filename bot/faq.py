"""FAQ answer templates (data/faq.yml) filled from the store profile, slots and orders.

Loaded and checked once at start-up: a template that does not compile, uses a name that does
not exist, or an intent without an answer stops the action server with an error naming the
entry, instead of a half-loaded server that fails on a customer's question.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

from bot.intents import DETECTED, ORDER_NUMBER_REPAIRS, SMALL_TALK
from bot.orders import CANCELLED, DELIVERED, DISPATCHED, PROCESSING, RETURNED, OrderView

# What the bot says instead of an order answer when the customer could not show the order is
# theirs (`order_checks:` in data/faq.yml), and what it asks for to check (`asks:`).
ORDER_CHECKS = ("not_matched", "too_many_tries")
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
NOTHING_ASKED = {"country": None, "payment_method": None}


def example_questions(store: dict[str, Any]) -> list[dict[str, Any]]:
    """A question naming nothing, a country shipped to and one not, a payment method taken and
    one not: every template must render for each (checked at start-up)."""
    from bot.store_entities import StoreEntities

    entities = StoreEntities.from_store(store)
    countries = [entities.country(name) for name in ("Germany", "Canada")]
    methods = [entities.payment_method(name) for name in ("PayPal", "Bitcoin")]
    named = [{"country": c} for c in countries if c] + [{"payment_method": m} for m in methods if m]
    return [dict(NOTHING_ASKED), *({**NOTHING_ASKED, **n} for n in named)]


class FaqError(ValueError):
    """data/faq.yml (or the store profile) cannot be used; the message names the place."""


class FaqRenderError(FaqError):
    """A template could not be filled from this order's data (say, a shop's order marked
    dispatched without a carrier): the action hands the customer to a person instead."""


def _never_none(value: Any) -> Any:
    # An empty field of a shop's order would otherwise reach the customer as "None".
    if value is None:
        raise jinja2.UndefinedError("a value in this answer is empty (None)")
    return value


# `uses_order:` values: answer from the order's state when the customer named an order (and
# showed it is theirs), in general otherwise, never asking for a number just for this answer.
USES_ORDER = ("optional",)
# The days the start-up check renders every order answer on: within the example orders' return
# window and long after it, so both branches of a date comparison are checked.
EXAMPLE_DAYS = (dt.date(2025, 3, 10), dt.date(2030, 1, 1))


@dataclass(frozen=True)
class FaqAnswer:
    intent: str
    requires: tuple[str, ...]
    template: jinja2.Template
    uses_order: bool = False

    @property
    def source_id(self) -> str:
        return f"faq:{self.intent}"

    @property
    def about_orders(self) -> bool:
        """Whether `order` can be set when this answer is rendered (a required or optional one)."""
        return self.uses_order or "order_number" in self.requires


def _add_days(day: Any, days: Any) -> dt.date:
    """`{{ order.delivered_on | add_days(store.returns.window_days) }}`: a date N days later,
    so a deadline follows the store profile instead of being written into a template."""
    if not isinstance(day, dt.date):
        raise jinja2.UndefinedError(f"add_days needs a date, not {day!r}")
    try:
        return day + dt.timedelta(days=int(days))
    except (TypeError, ValueError, OverflowError) as error:
        raise jinja2.TemplateRuntimeError(f"add_days: not a number of days: {days!r}") from error


def _environment() -> SandboxedEnvironment:
    # Sandboxed: the file is edited by staff, not developers. No autoescape: plain text out.
    # StrictUndefined: a misspelt name is an error at start-up, never an empty placeholder.
    environment = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, finalize=_never_none
    )
    environment.filters["add_days"] = _add_days
    return environment


def _uses_order(entry: dict[str, Any], requires: tuple[str, ...], where: str) -> bool:
    """The entry's `uses_order:`; FaqError when it is not one of `USES_ORDER`."""
    value = entry.get("uses_order")
    if value is None:
        return False
    if value not in USES_ORDER:
        raise FaqError(f"{where}: uses_order: expected one of {', '.join(USES_ORDER)}")
    if "order_number" in requires:
        raise FaqError(f"{where}: uses_order: an answer that requires order_number always has one")
    return True


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise FaqError(f"{path}: file not found") from error
    except yaml.YAMLError as error:
        raise FaqError(f"{path}: not valid YAML: {error}") from error


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


def _order_checks(
    raw: Any, environment: SandboxedEnvironment, faq_path: Path
) -> dict[str, jinja2.Template]:
    """The `order_checks:` texts, compiled; FaqError naming the entry when one is unfit."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise FaqError(f"{faq_path}: order_checks: expected a mapping of texts")
    checks = {}
    for name, text in raw.items():
        if name not in ORDER_CHECKS or not isinstance(text, str):
            raise FaqError(
                f"{faq_path}: order_checks.{name}: expected one of {', '.join(ORDER_CHECKS)}"
                " with a text"
            )
        try:
            checks[name] = environment.from_string(text)
        except jinja2.TemplateSyntaxError as error:
            raise FaqError(
                f"{faq_path}: order_checks.{name}: line {error.lineno}: {error.message}"
            ) from error
    return checks


class FaqBook:
    """The checked answer templates, ready to render."""

    def __init__(
        self,
        answers: dict[str, FaqAnswer],
        asks: dict[str, str],
        store: dict[str, Any],
        handoff: jinja2.Template,
        order_checks: dict[str, jinja2.Template] | None = None,
    ) -> None:
        self.answers = answers
        self.asks = asks
        self.store = store
        self.handoff = handoff
        self.order_checks = order_checks or {}

    @classmethod
    def load(cls, faq_path: Path, store_path: Path, intents: list[str]) -> FaqBook:
        """Read and check data/faq.yml against the domain's intents; raise FaqError if unfit."""
        store = _read_yaml(store_path)
        if not isinstance(store, dict):
            raise FaqError(f"{store_path}: expected a mapping of store facts")
        raw = _read_yaml(faq_path)
        if not isinstance(raw, dict) or not isinstance(raw.get("answers"), dict):
            raise FaqError(f"{faq_path}: expected an 'answers:' mapping")
        asks = raw.get("asks") or {}
        environment = _environment()
        answers: dict[str, FaqAnswer] = {}
        for intent, entry in raw["answers"].items():
            where = f"{faq_path}: answers.{intent}"
            if intent not in intents:
                raise FaqError(f"{where}: '{intent}' is not an intent in domain.yml")
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
            uses_order = _uses_order(entry, requires, where)
            answers[intent] = FaqAnswer(intent, requires, template, uses_order)
        missing = sorted(set(intents) - NOT_TEMPLATED - set(answers))
        if missing:
            raise FaqError(f"{faq_path}: no answer for intent(s) {', '.join(missing)}")
        if not isinstance(raw.get("handoff"), str):
            raise FaqError(f"{faq_path}: needs a 'handoff:' text (said when a person takes over)")
        try:
            handoff = environment.from_string(raw["handoff"])
        except jinja2.TemplateSyntaxError as error:
            raise FaqError(f"{faq_path}: handoff: line {error.lineno}: {error.message}") from error
        order_checks = _order_checks(raw.get("order_checks"), environment, faq_path)
        book = cls(answers, asks, store, handoff, order_checks)
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
        for answer in self.answers.values():
            orders = example_orders() if answer.about_orders else [None]
            for order, today, asked in itertools.product(orders, EXAMPLE_DAYS, questions):
                try:
                    self._render(answer, slots, order, today, asked)
                except jinja2.TemplateError as error:
                    state = f" (order {order.status}/{order.refund_status})" if order else ""
                    raise FaqError(
                        f"{faq_path}: answers.{answer.intent}{state}: {error}"
                    ) from error

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

        `asked` holds the facts the question named (`country`, `payment_method`: see
        bot/store_entities.py), None where it named none.
        """
        try:
            return self._render(answer, slots, order, today or dt.date.today(), asked)
        except jinja2.TemplateError as error:
            state = f" (order {order.number}: {order.status})" if order else ""
            raise FaqRenderError(f"answers.{answer.intent}{state}: {error}") from error

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
        text = answer.template.render(
            store=self.store, slots=slots, order=order, today=today, asked=asked
        )
        return " ".join(text.split())
