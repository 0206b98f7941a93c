"""Export: run the learning loop's export and show what was written (admins only)."""

from __future__ import annotations

from sanic import Blueprint, Request

from bot.export import ExportError, export_reviewed
from bot.review_app.rendering import render
from bot.review_app.security import require_admin

bp = Blueprint("export")


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
        report = export_reviewed(ctx.log, ctx.reviews, ctx.settings.export_paths)
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
