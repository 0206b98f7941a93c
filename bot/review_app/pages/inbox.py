"""The NLU inbox: customer messages the classifier was unsure about, grouped by similar text,
in the review queue's order (bot/learning/review_queue.py), with the reviews still waiting for
training
and, for admins, the "Retrain now" button (bot/review_app/pages/retrain.py).

Staff label a whole group at once (one intent for all its messages) or exclude it from the
training data; either way the messages are reviewed and leave the inbox. The grouping reads
the whole inbox, so it runs in a worker thread, off Sanic's event loop.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from bot.learning.review_queue import STRATEGIES
from bot.learning.training_backlog import DEFINITION, training_backlog
from bot.review_app.pages.retrain import jobs
from bot.review_app.rendering import page_url, render
from bot.review_app.stats.inbox_and_dashboard import (
    INBOX_SCAN_LIMIT,
    INBOX_THRESHOLD,
    InboxPage,
    inbox_conversations,
    inbox_page,
)
from bot.review_app.threads import in_thread
from bot.storage.reviews import ReviewError

bp = Blueprint("inbox")

ACTIONS = {"label": "labelled", "exclude": "excluded"}


class InboxError(ValueError):
    """A request the inbox cannot serve; the message is shown to staff as it is."""


def parse_threshold(value: str | None) -> float:
    if value in (None, ""):
        return INBOX_THRESHOLD
    try:
        threshold = float(value)
    except ValueError as error:
        raise InboxError("The confidence threshold must be a number above 0, at most 1.") from error
    if not math.isfinite(threshold) or not 0 < threshold <= 1:
        raise InboxError("The confidence threshold must be a number above 0, at most 1.")
    return threshold


def parse_page(value: str | None) -> int:
    try:
        page = int(value or 1)
    except ValueError as error:
        raise InboxError("The page must be a whole number.") from error
    if page < 1:
        raise InboxError("The page must be a whole number.")
    return page


def _notice(args: Any) -> str | None:
    """The confirmation after a bulk action (from the redirect's query; never free text)."""
    done, count = args.get("done"), args.get("count") or ""
    if done not in ACTIONS.values() or not count.isdigit():
        return None
    return f"{int(count)} message{'' if count == '1' else 's'} {done}."


async def _show(
    request: Request,
    threshold: float,
    page: int,
    error: str | None = None,
    status: int = 200,
) -> HTTPResponse:
    settings, engine = request.app.ctx.settings, request.app.ctx.engine
    inbox: InboxPage = await in_thread(inbox_page, engine, threshold, page, settings.page_size)
    backlog = await in_thread(
        training_backlog, engine, settings.export_paths.nlu, settings.models_dir
    )
    retrain_running = await in_thread(jobs(request).is_running)
    return render(
        request,
        "inbox.html",
        status=status,
        error=error,
        notice=None if error else _notice(request.args),
        inbox=inbox,
        threshold=f"{threshold:g}",
        page=inbox.page,
        pages=inbox.pages,
        scan_limit=INBOX_SCAN_LIMIT,
        intents=request.app.ctx.intents,
        order=STRATEGIES.get(inbox.strategy, inbox.strategy),
        backlog=backlog,
        backlog_definition=DEFINITION,
        retrain_running=retrain_running,
    )


@bp.get("/inbox")
async def inbox(request: Request):
    try:
        threshold = parse_threshold(request.args.get("below"))
        page = parse_page(request.args.get("page"))
    except InboxError as error:
        return await _show(request, INBOX_THRESHOLD, 1, str(error), status=400)
    return await _show(request, threshold, page)


def _event_ids(values: list[str]) -> list[int]:
    if not values:
        raise InboxError("Choose a group of messages to label.")
    if len(values) > INBOX_SCAN_LIMIT:
        raise InboxError(f"At most {INBOX_SCAN_LIMIT} messages can be labelled at once.")
    try:
        return sorted({int(value) for value in values})
    except ValueError as error:
        raise InboxError("Those are not inbox messages.") from error


def _changes(request: Request) -> dict[str, Any]:
    """The review to store for every message of the group, from the form."""
    action = request.form.get("action")
    if action == "exclude":
        return {"excluded": True}
    if action != "label":
        raise InboxError("Choose an intent and press Label, or press Exclude.")
    intent = request.form.get("intent") or ""
    if not intent:
        raise InboxError("Choose an intent for the group, or press Exclude.")
    if intent not in request.app.ctx.intents:
        raise InboxError(f"'{intent}' is not an intent of the domain; choose one from the list.")
    return {"corrected_intent": intent}


@bp.post("/inbox/label")
async def label_group(request: Request):
    """Label (or exclude) every message of a group; every id is checked before any is stored."""
    form = request.form
    threshold, page = INBOX_THRESHOLD, 1
    try:
        threshold = parse_threshold(form.get("below"))
        page = parse_page(form.get("page"))
        changes = _changes(request)
        wanted = _event_ids(form.getlist("event_id") or [])
    except InboxError as error:
        return await _show(request, threshold, page, str(error), status=400)
    found = await in_thread(inbox_conversations, request.app.ctx.engine, wanted, threshold)
    if len(found) != len(wanted):
        missing = len(wanted) - len(found)
        error = (
            f"{missing} of these {len(wanted)} messages are not in the inbox (already reviewed "
            "by someone, or not a customer message the classifier was unsure about). "
            "Nothing was stored; here is the inbox as it is now."
        )
        return await _show(request, threshold, page, error, status=409)
    try:
        who = request.ctx.session.member.username
        await in_thread(partial(request.app.ctx.reviews.review_messages, found, who, **changes))
    except ReviewError as error:
        return await _show(request, threshold, page, str(error), status=400)
    done = ACTIONS["exclude" if "excluded" in changes else "label"]
    return redirect(
        page_url(
            "/inbox", {"below": f"{threshold:g}", "page": page, "done": done, "count": len(found)}
        )
    )
