"""The entries of data/faq.yml, compiled and checked one by one: the answer templates, their
`cases:` and `before_asking:`, the order checks' texts, and the sandboxed Jinja2 environment
they render in. bot/answers/faq.py puts them together into the FaqBook the actions answer from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

# What the bot says instead of an order answer when the customer could not show the order is
# theirs (`order_checks:` in data/faq.yml).
ORDER_CHECKS = ("not_matched", "too_many_tries")
# Cases the actions derive from a number of days named in a return question ("3 weeks ago").
WINDOW_CASES = ("within_window", "past_window")


class FaqError(ValueError):
    """data/faq.yml (or the store profile) cannot be used; the message names the place."""


class FaqRenderError(FaqError):
    """A template could not be filled from this order's data (say, a shop's order marked
    dispatched without a carrier): the action hands the customer to a person instead."""


def never_none(value: Any) -> Any:
    # An empty field of a shop's order would otherwise reach the customer as "None".
    if value is None:
        raise jinja2.UndefinedError("a value in this answer is empty (None)")
    return value


# `uses_order:` values: answer from the order's state when the customer named an order (and
# showed it is theirs), in general otherwise, never asking for a number just for this answer.
USES_ORDER = ("optional",)


@dataclass(frozen=True)
class FaqAnswer:
    intent: str
    requires: tuple[str, ...]
    template: jinja2.Template
    uses_order: bool = False
    # `cases:` templates that replace `template` when the question names that case.
    cases: dict[str, jinja2.Template] = field(default_factory=dict)
    # `before_asking:` said in front of the order number question this answer needs.
    before_asking: jinja2.Template | None = None

    @property
    def source_id(self) -> str:
        return f"faq:{self.intent}"

    @property
    def about_orders(self) -> bool:
        """Whether `order` can be set when this answer is rendered (a required or optional one)."""
        return self.uses_order or "order_number" in self.requires


def add_days(day: Any, days: Any) -> dt.date:
    """`{{ order.delivered_on | add_days(store.returns.window_days) }}`: a date N days later,
    so a deadline follows the store profile instead of being written into a template."""
    if not isinstance(day, dt.date):
        raise jinja2.UndefinedError(f"add_days needs a date, not {day!r}")
    try:
        return day + dt.timedelta(days=int(days))
    except (TypeError, ValueError, OverflowError) as error:
        raise jinja2.TemplateRuntimeError(f"add_days: not a number of days: {days!r}") from error


def make_environment() -> SandboxedEnvironment:
    # Sandboxed: the file is edited by staff, not developers. No autoescape: plain text out.
    # StrictUndefined: a misspelt name is an error at start-up, never an empty placeholder.
    environment = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, finalize=never_none
    )
    environment.filters["add_days"] = add_days
    return environment


def uses_order(entry: dict[str, Any], requires: tuple[str, ...], where: str) -> bool:
    """The entry's `uses_order:`; FaqError when it is not one of `USES_ORDER`."""
    value = entry.get("uses_order")
    if value is None:
        return False
    if value not in USES_ORDER:
        raise FaqError(f"{where}: uses_order: expected one of {', '.join(USES_ORDER)}")
    if "order_number" in requires:
        raise FaqError(f"{where}: uses_order: an answer that requires order_number always has one")
    return True


def compile_text(
    text: Any, environment: SandboxedEnvironment, where: str
) -> jinja2.Template | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise FaqError(f"{where}: expected a text")
    try:
        return environment.from_string(text)
    except jinja2.TemplateSyntaxError as error:
        raise FaqError(f"{where}: line {error.lineno}: {error.message}") from error


def compile_cases(
    entry: dict[str, Any], environment: SandboxedEnvironment, known: set[str], where: str
) -> dict[str, jinja2.Template]:
    """An entry's `cases:`, compiled; each key must be a case the store profile defines."""
    raw = entry.get("cases") or {}
    if not isinstance(raw, dict):
        raise FaqError(f"{where}.cases: expected a mapping of case -> text")
    unknown = sorted(set(raw) - known)
    if unknown:
        raise FaqError(
            f"{where}.cases: {', '.join(unknown)} not in store.yml's return_cases, "
            f"item_problems or {', '.join(WINDOW_CASES)}"
        )
    return {
        case: compile_text(text, environment, f"{where}.cases.{case}") for case, text in raw.items()
    }


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise FaqError(f"{path}: file not found") from error
    except yaml.YAMLError as error:
        raise FaqError(f"{path}: not valid YAML: {error}") from error


def compile_order_checks(
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


def compile_topics(
    raw: Any, environment: SandboxedEnvironment, known: set[str], faq_path: Path | str
) -> dict[str, jinja2.Template]:
    """The `topics:` answers, compiled; each key must be a topic of store.yml's `topics`."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise FaqError(f"{faq_path}: topics: expected a mapping of topic -> text")
    unknown = sorted(set(raw) - known)
    if unknown:
        raise FaqError(f"{faq_path}: topics: {', '.join(unknown)} not in store.yml's topics")
    return {
        topic: compile_text(text, environment, f"{faq_path}: topics.{topic}")
        for topic, text in raw.items()
    }
