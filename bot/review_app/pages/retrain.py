"""Retrain: start `shopdesk retrain` from the review app (admins) and watch it run.

The run is a background process (bot/learning/retrain_job.py), one at a time across all workers;
this
page shows its latest lines and elapsed time, reloading itself while it runs (an HTTP
`Refresh` header: no script needed), then the result and the promotion decision.
"""

from __future__ import annotations

import time

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from bot.learning.retrain_job import RetrainBusy, RetrainJobs, RetrainRun
from bot.review_app.rendering import render
from bot.review_app.security import require_admin
from bot.review_app.threads import in_thread

bp = Blueprint("retrain")

REFRESH_SECONDS = 5
OUTCOME_TEXT = {
    "running": "Running",
    "promoted": "Finished: the new model was promoted and is now served",
    "not promoted": "Finished: the new model was not better, so it was kept aside",
    "failed": "Failed",
    "interrupted": "Ended without a result (the process was stopped)",
}


def jobs(request: Request) -> RetrainJobs:
    settings = request.app.ctx.settings
    return RetrainJobs(settings.retrain_dir, settings.retrain_command)


def duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _page(request: Request, run: RetrainRun | None, error: str | None, status: int = 200):
    response: HTTPResponse = render(
        request,
        "retrain.html",
        status=status,
        run=run,
        error=error,
        outcome=OUTCOME_TEXT.get(run.outcome, run.outcome) if run else None,
        elapsed=duration(run.elapsed(time.time())) if run else None,
        started=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(run.started_at))
        if run
        else None,
        refresh=REFRESH_SECONDS,
    )
    if run is not None and run.running:
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response


@bp.get("/retrain")
async def retrain_page(request: Request):
    return _page(request, await in_thread(jobs(request).latest), None)


@bp.post("/retrain")
async def start_retrain(request: Request):
    """Start a run (admins); a second one while one runs is refused with 409."""
    require_admin(request)
    extra = ["--finetune"] if request.form.get("finetune") else []
    who = request.ctx.session.member.username
    runner = jobs(request)
    try:
        await in_thread(runner.start, who, extra)
    except RetrainBusy as error:
        return _page(request, await in_thread(runner.latest), str(error), status=409)
    return redirect("/retrain", status=303)
