"""The handoff queue: conversations waiting for a person, taken by one, and given back.

Giving a conversation back sends Rasa's `resume` through its HTTP API first and closes the
request only when that worked: with the Rasa server down, the request stays in the queue and
nothing is lost. The call is blocking urllib, so it runs in a worker thread.
"""

from __future__ import annotations

import urllib.error

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from bot.review_app.rendering import render
from bot.review_app.threads import in_thread
from bot.runtime.rasa_api import resume_conversation
from bot.storage.handoffs_and_feedback import TAKEN, Handoff
from bot.storage.staff import StaffMember

bp = Blueprint("handoffs")
QUEUE_LIMIT = 200  # requests shown; the page says how many more there are

NOTICES = {
    "taken": "You took the conversation: answer the customer, then give it back to the bot.",
    "released": "The conversation is back with the bot.",
}


async def _show(request: Request, error: str | None = None, status: int = 200) -> HTTPResponse:
    records = request.app.ctx.records
    rows = await in_thread(records.open_handoffs, True, QUEUE_LIMIT)
    total = await in_thread(records.count_open_handoffs)
    return render(
        request,
        "handoffs.html",
        status=status,
        handoffs=rows,
        total=total,
        error=error,
        notice=None if error else NOTICES.get(request.args.get("done") or ""),
    )


@bp.get("/handoffs")
async def queue(request: Request):
    return await _show(request)


@bp.post("/handoffs/take")
async def take(request: Request):
    """Mark a request as taken by the staff member who pressed "Take"."""
    try:
        request_id = int(request.form.get("request_id") or "")
    except ValueError:
        return await _show(request, "No such handoff request.", status=400)
    who = request.ctx.session.member.username
    try:
        await in_thread(request.app.ctx.records.take, request_id, who)
    except ValueError as error:
        message = str(error)
        return await _show(request, message[:1].upper() + message[1:] + ".", status=409)
    return redirect("/handoffs?done=taken")


def held_by_someone_else(requests: list[Handoff], member: StaffMember) -> str | None:
    """Who holds one of the conversation's requests, when it is not `member` and `member`
    is no admin: a reviewer must not end a colleague's conversation with a customer. A
    request nobody has taken may be given back by anyone."""
    if member.is_admin:
        return None
    holders = {r.taken_by for r in requests if r.status == TAKEN and r.taken_by}
    others = sorted(holders - {member.username})
    return others[0] if others else None


def _unreachable(rasa_url: str, error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        why = f"it answered HTTP {error.code}"
    else:
        why = str(getattr(error, "reason", None) or error) or type(error).__name__
    return (
        f"The Rasa server at {rasa_url} could not resume the conversation ({why}). "
        "The request stays open; check that the bot is running and try again."
    )


@bp.post("/handoffs/release")
async def release(request: Request):
    """Give the conversation back to the bot, then close its requests; both or neither."""
    ctx = request.app.ctx
    conversation_id = request.form.get("conversation_id") or ""
    waiting = await in_thread(ctx.records.open_handoffs)
    requests = [handoff for handoff in waiting if handoff.conversation_id == conversation_id]
    if not requests:
        return await _show(request, "That conversation has no open handoff request.", status=409)
    holder = held_by_someone_else(requests, request.ctx.session.member)
    if holder is not None:
        return await _show(
            request,
            f"{holder} has taken this conversation: only they or an admin may give it back.",
            status=403,
        )
    settings = ctx.settings
    try:
        await in_thread(
            resume_conversation, settings.rasa_url, conversation_id, settings.rasa_token
        )
    except (OSError, ValueError) as error:  # URLError, HTTPError, timeouts, a malformed URL
        return await _show(request, _unreachable(settings.rasa_url, error), status=502)
    await in_thread(ctx.records.release, conversation_id)
    return redirect("/handoffs?done=released")
