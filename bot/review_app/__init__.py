"""The support-staff review app: a Sanic app with Jinja2 templates over shopdesk's database.

`create_app()` builds it; `shopdesk review-app` serves it on its own, `shopdesk up` beside the
bot. Each page lives in a small blueprint under `pages/`.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from sanic import Sanic
from sanic.response import HTTPResponse, text

from bot.review_app.settings import ReviewAppSettings

STATIC = Path(__file__).resolve().parent / "static"
_app_numbers = itertools.count()


def create_app(settings: ReviewAppSettings | None = None) -> Sanic:
    from bot.review_app.pages import (
        auth,
        conversations,
        dashboard,
        discovery,
        export,
        handoffs,
        inbox,
        metrics,
        retrain,
    )
    from bot.review_app.security import authenticate, security_headers
    from bot.runtime.models import domain_intents
    from bot.runtime.proxies import proxy_networks
    from bot.storage.conversation_log import ConversationLog
    from bot.storage.handoffs_and_feedback import Records
    from bot.storage.reviews import ReviewStore
    from bot.storage.staff import StaffAccounts

    settings = settings or ReviewAppSettings()
    # Sanic keeps a registry of app names; tests build several apps in one process.
    app = Sanic(f"shopdesk_review_{next(_app_numbers)}")
    app.config.REQUEST_MAX_SIZE = 2_000_000
    app.ctx.settings = settings
    app.ctx.trusted_proxies = proxy_networks(settings.trusted_proxies)
    app.ctx.staff = StaffAccounts(settings.db_url)
    app.ctx.log = ConversationLog(settings.db_url)
    app.ctx.intents = domain_intents(settings.domain_path.parent)
    app.ctx.reviews = ReviewStore(settings.db_url, intents=app.ctx.intents)
    app.ctx.records = Records(settings.db_url)
    app.ctx.engine = app.ctx.log.engine

    metrics.instrument(app)  # first, so that it also times requests `authenticate` turns away
    app.register_middleware(authenticate, "request")
    app.register_middleware(security_headers, "response")
    app.static("/static", str(STATIC), name="static")
    for blueprint in (
        auth.bp,
        conversations.bp,
        inbox.bp,
        discovery.bp,
        handoffs.bp,
        dashboard.bp,
        export.bp,
        retrain.bp,
    ):
        app.blueprint(blueprint)

    @app.exception(IsADirectoryError)
    async def no_directory_listing(_request, _error) -> HTTPResponse:
        """`GET /static/` names the folder itself: not a file, so 404 rather than a 500."""
        return text("Not Found", status=404)

    @app.get("/health")
    async def health(_request):
        return text("ok")

    return app
