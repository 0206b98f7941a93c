"""The conversation list (filters, search, pages) and one conversation as a chat to review.

Reading and writing the database (the index's sync included) runs in a worker thread, off
Sanic's event loop, so a long query or an export elsewhere never stalls other staff. The
`outcome` filter (with `reason`, and `intent` as the session's question) lists the
conversations behind a dashboard figure: those with a session started in the date range that
the figure counts (`bot/review_app/stats/outcome_figures.py`). The `frustrated` and `language`
filters list the
conversations with such a message sent within the dates, as the dashboard's shares count them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from functools import partial
from typing import Any

from sanic import Blueprint, Request
from sanic.exceptions import NotFound
from sanic.response import redirect

from bot.review_app.pages.dashboard import DEFAULT_DAYS, EARLIEST, MAX_DAYS
from bot.review_app.rendering import page_url, render
from bot.review_app.stats.outcome_figures import ANY, conversations_with
from bot.review_app.stats.outcomes import (
    ABANDONED,
    ABANDONED_REASONS,
    HANDED_OFF,
    RESOLVED,
    UNRECORDED,
)
from bot.review_app.threads import in_thread
from bot.storage.conversation_index import (
    ANSWERED_BY,
    OTHER_LANGUAGES,
    ConversationFilter,
    channels,
    find_conversations,
    languages,
)
from bot.storage.handoffs_and_feedback import HANDOFF_REASONS
from bot.storage.reviews import NotAllowed, ReviewError

bp = Blueprint("conversations")
# The alerts a conversation page shows after a refused change, by the code in its URL: a
# fixed text per code, so a link cannot make the page say anything else.
ERRORS = {
    "unknown_intent": "That is not an intent of the domain; choose one from the list.",
    "wrong_conversation": "That message belongs to another conversation.",
    "unknown_action": "Unknown action.",
    "missing_tag": "Type a tag first.",
    "long_tag": "Tags are at most 64 characters.",
    "missing_note": "Type a note first.",
    "not_your_tag": "Only whoever added a tag, or an admin, may remove it.",
    "invalid": "That change could not be stored.",
}
# Beyond this the page's offset no longer fits the database's integers (a 500, not a page).
MAX_PAGE = 100_000
# The outcome filter's choices, and the reasons each outcome can be narrowed to.
OUTCOME_CHOICES = {
    ANY: "any session",
    RESOLVED: "resolved",
    HANDED_OFF: "handed off",
    ABANDONED: "abandoned",
}
OUTCOME_REASONS = {
    HANDED_OFF: (*HANDOFF_REASONS, UNRECORDED),
    ABANDONED: tuple(ABANDONED_REASONS),
}
# Every conversation in the date range is read before the outcome filter narrows them.
OUTCOME_SCAN_LIMIT = 1_000_000
# The language filter: OTHER_LANGUAGES (any but English) or one ISO code, like "de" or "zh-cn".
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?")


class FilterError(ValueError):
    pass


def _date(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as error:
        raise FilterError(f"{name} must be a date like 2026-11-26.") from error
    if day >= dt.date.max:  # the day after it, where "to" ends, does not exist
        raise FilterError(f"{name} must be a date like 2026-11-26.")
    return day


def parse_filter(args: Any) -> ConversationFilter:
    """The list's query string as a filter; anything malformed is a FilterError."""
    below = args.get("below") or None
    if below is not None:
        try:
            below = float(below)
        except ValueError as error:
            raise FilterError("confidence must be a number between 0 and 1.") from error
        if not 0 <= below <= 1:
            raise FilterError("confidence must be a number between 0 and 1.")
    answered_by = args.get("answered_by") or None
    if answered_by is not None and answered_by not in ANSWERED_BY:
        raise FilterError(f"answered by must be one of {', '.join(ANSWERED_BY)}.")
    reviewed = {"yes": True, "no": False, "": None, None: None}.get(args.get("reviewed"))
    if args.get("reviewed") not in ("yes", "no", "", None):
        raise FilterError("reviewed must be yes or no.")
    language = args.get("language") or None
    if language not in (None, OTHER_LANGUAGES) and not LANGUAGE_CODE.fullmatch(language):
        raise FilterError("language must be a language code like de, or other.")
    return ConversationFilter(
        since=_date(args.get("since"), "from"),
        until=_date(args.get("until"), "to"),
        channel=(args.get("channel") or None),
        intent=(args.get("intent") or None),
        confidence_below=below,
        answered_by=answered_by,
        negative_feedback=args.get("negative") == "1",
        reviewed=reviewed,
        search=(args.get("q") or "")[:200] or None,
        frustrated=args.get("frustrated") == "1",
        language=language,
    )


@dataclass(frozen=True)
class OutcomeFilter:
    """Sessions started from `since` to `until` (UTC days) that a dashboard figure counts."""

    outcome: str  # a key of OUTCOME_CHOICES
    reason: str | None
    since: dt.date
    until: dt.date


def parse_outcome(
    args: Any, flt: ConversationFilter, today: dt.date
) -> tuple[ConversationFilter, OutcomeFilter | None]:
    """The query's outcome filter, with the list's dates; without dates, the dashboard's
    default range (the last 30 days), which the returned filter then also carries."""
    outcome, reason = args.get("outcome") or None, args.get("reason") or None
    if outcome is None:
        if reason is not None:
            raise FilterError("a reason needs an outcome (handed off or abandoned).")
        return flt, None
    if outcome not in OUTCOME_CHOICES:
        raise FilterError(f"outcome must be one of {', '.join(OUTCOME_CHOICES)}.")
    if reason is not None and reason not in OUTCOME_REASONS.get(outcome, ()):
        raise FilterError(f"that is not a reason a session is {OUTCOME_CHOICES[outcome]}.")
    until = flt.until or today
    since = flt.since or until - dt.timedelta(days=DEFAULT_DAYS - 1)
    latest = today + dt.timedelta(days=MAX_DAYS)
    if not EARLIEST <= since <= until <= latest:  # far dates overflow the time arithmetic
        raise FilterError(f"with an outcome, choose dates from {EARLIEST} to {latest}.")
    if (until - since).days >= MAX_DAYS:
        raise FilterError(f"with an outcome, choose from 1 to {MAX_DAYS} days.")
    narrowed = dataclasses.replace(flt, since=since, until=until)
    return narrowed, OutcomeFilter(outcome, reason, since, until)


@bp.get("/conversations")
async def conversation_list(request: Request):
    ctx = request.app.ctx
    params = {key: request.args.get(key) for key in request.args}
    try:
        today = dt.datetime.now(dt.timezone.utc).date()
        flt, by_outcome = parse_outcome(request.args, parse_filter(request.args), today)
        page = max(1, int(request.args.get("page") or 1))
        if page > MAX_PAGE:
            raise FilterError(f"page must be a number from 1 to {MAX_PAGE}.")
    except (FilterError, ValueError) as error:
        return render(
            request,
            "conversations.html",
            status=400,
            error=str(error) if isinstance(error, FilterError) else "page must be a number.",
            rows=[],
            total=0,
            page=1,
            pages=1,
            params=params,
            channels=await in_thread(channels, ctx.engine),
            languages=await in_thread(languages, ctx.engine),
            intents=ctx.intents,
            answered_by=ANSWERED_BY,
            outcomes=OUTCOME_CHOICES,
            outcome_reasons=OUTCOME_REASONS,
            by_outcome=None,
        )
    if by_outcome is not None:  # the dates it used, shown in the form and kept by the pages
        params.update(since=flt.since.isoformat(), until=flt.until.isoformat())
    size = ctx.settings.page_size
    rows, total, known_channels, known_languages = await in_thread(
        _list_page, ctx.engine, flt, size, page, by_outcome
    )
    return render(
        request,
        "conversations.html",
        error=None,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // size)),
        params=params,
        channels=known_channels,
        languages=known_languages,
        intents=ctx.intents,
        answered_by=ANSWERED_BY,
        outcomes=OUTCOME_CHOICES,
        outcome_reasons=OUTCOME_REASONS,
        by_outcome=by_outcome,
    )


def _list_page(
    engine: Any, flt: ConversationFilter, size: int, page: int, by_outcome: OutcomeFilter | None
) -> tuple:
    """One page of the list, how many match, and the channels and languages to filter by
    (blocking)."""
    offset = (page - 1) * size
    if by_outcome is None:
        rows, total = find_conversations(engine, flt, limit=size, offset=offset)
        return rows, total, channels(engine), languages(engine)
    wanted = conversations_with(
        engine,
        by_outcome.since,
        by_outcome.until,
        by_outcome.outcome,
        by_outcome.reason,
        flt.intent,
    )
    # The SQL filters (dates, channel, search, ...) narrow further; newest first as always.
    rows, _ = find_conversations(engine, flt, limit=OUTCOME_SCAN_LIMIT)
    matching = [row for row in rows if row.id in wanted]
    return matching[offset : offset + size], len(matching), channels(engine), languages(engine)


async def _conversation_or_404(request: Request, conversation_id: str | None):
    log = request.app.ctx.log
    conversation = await in_thread(log.read, conversation_id) if conversation_id else None
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation


def _reviews_of(reviews: Any, conversation_id: str) -> tuple:
    return reviews.message_reviews(conversation_id), reviews.conversation_review(conversation_id)


async def _page(request: Request, conversation: Any, error: str | None = None, status: int = 200):
    ctx = request.app.ctx
    message_reviews, review = await in_thread(_reviews_of, ctx.reviews, conversation.id)
    return render(
        request,
        "conversation.html",
        status=status,
        conversation=conversation,
        message_reviews=message_reviews,
        review=review,
        intents=ctx.intents,
        error=ERRORS.get(error or ""),
    )


@bp.get("/conversation")
async def conversation_page(request: Request):
    conversation = await _conversation_or_404(request, request.args.get("id"))
    return await _page(request, conversation, request.args.get("error"))


def _back(conversation_id: str, error: str | None = None, anchor: str = ""):
    """Back to the conversation, with an error code (a key of ERRORS) when refused."""
    return redirect(page_url("/conversation", {"id": conversation_id, "error": error}) + anchor)


@bp.post("/conversation/message")
async def review_message(request: Request):
    """Correct, confirm, exclude or approve one customer message."""
    ctx, form = request.app.ctx, request.form
    conversation = await _conversation_or_404(request, form.get("conversation_id"))
    try:
        event_id = int(form.get("event_id") or "")
    except ValueError as error:
        raise NotFound("No such message.") from error
    if event_id not in {turn.event_id for turn in conversation.user_turns}:
        raise NotFound("No such message in this conversation.")
    action = form.get("action")
    changes: dict[str, Any] = {}
    if action == "correct":
        changes["corrected_intent"] = form.get("intent") or None
    elif action == "exclude":
        changes["excluded"] = True
    elif action == "include":
        changes["excluded"] = False
    elif action == "approve":
        changes["answer_approved"] = True
        changes["corrected_answer"] = form.get("answer") or ""
    elif action == "unapprove":
        changes["answer_approved"] = False
    elif action != "confirm":
        return _back(conversation.id, "unknown_action")
    try:
        await in_thread(
            partial(
                ctx.reviews.review_message,
                event_id,
                conversation.id,
                request.ctx.session.member.username,
                **changes,
            )
        )
    except ReviewError as error:
        return _back(conversation.id, error.code if error.code in ERRORS else "invalid")
    return _back(conversation.id, anchor=f"#m{event_id}")


def _change_conversation(reviews: Any, conversation_id: str, form: Any, member: Any) -> bool:
    """Apply the form's change to the conversation's review (blocking); False: no such action."""
    who, action = member.username, form.get("action")
    if action == "reviewed":
        reviews.review_conversation(conversation_id, who, reviewed=form.get("value") == "1")
    elif action == "story":
        reviews.review_conversation(conversation_id, who, export_as_story=form.get("value") == "1")
    elif action == "tag":
        reviews.add_tag(conversation_id, form.get("tag") or "", who)
    elif action == "untag":
        reviews.remove_tag(conversation_id, form.get("tag") or "", by=who, admin=member.is_admin)
    elif action == "note":
        reviews.add_note(conversation_id, (form.get("note") or "")[:5000], who)
    else:
        return False
    return True


@bp.post("/conversation/review")
async def review_conversation(request: Request):
    ctx, form = request.app.ctx, request.form
    conversation = await _conversation_or_404(request, form.get("conversation_id"))
    member = request.ctx.session.member
    try:
        known = await in_thread(_change_conversation, ctx.reviews, conversation.id, form, member)
    except NotAllowed as refused:
        return await _page(request, conversation, refused.code, status=403)
    except ReviewError as error:
        return _back(conversation.id, error.code if error.code in ERRORS else "invalid")
    return _back(conversation.id) if known else _back(conversation.id, "unknown_action")
