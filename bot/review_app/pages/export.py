"""Export: run the learning loop's export and show what was written (admins only).

The export reads every reviewed conversation and rewrites three files: seconds on a large
log. It runs in a worker thread, so the other staff's pages keep answering meanwhile, and one
at a time in each process, as it did when it ran on the event loop (two at once would race
for the same files).
"""

from __future__ import annotations

import asyncio

from sanic import Blueprint, Request

from bot.learning.export import ExportError, export_reviewed
from bot.review_app.rendering import render
from bot.review_app.security import require_admin
from bot.review_app.threads import in_thread

bp = Blueprint("export")


def _export_lock(app) -> asyncio.Lock:
    """One per app, made on the running loop (an asyncio.Lock binds to the loop it first
    waits on)."""
    lock = getattr(app.ctx, "export_lock", None)
    if lock is None:
        lock = app.ctx.export_lock = asyncio.Lock()
    return lock


@bp.get("/export")
async def export_page(request: Request):
    return render(
        request, "export.html", report=None, error=None, paths=request.app.ctx.settings.export_paths
    )


@bp.post("/export")
async def run_export(request: Request):
    require_admin(request)
    ctx = request.app.ctx
    try:
        async with _export_lock(request.app):
            report = await in_thread(
                export_reviewed, ctx.log, ctx.reviews, ctx.settings.export_paths
            )
    except (ExportError, OSError) as error:
        return render(
            request,
            "export.html",
            status=409,
            report=None,
            error=str(error),
            paths=ctx.settings.export_paths,
        )
    return render(
        request, "export.html", report=report, error=None, paths=ctx.settings.export_paths
    )
