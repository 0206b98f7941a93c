"""GET /metrics: the review app's Prometheus metrics.

Requests, their latency, login outcomes and saved reviews are counted by middleware from each
request's route and response, so the pages themselves stay as they are; open handoffs are
read from the database when Prometheus scrapes. Who may read the page: `bot.runtime.metrics_access`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, raw

from bot.review_app.threads import in_thread
from bot.runtime.metrics_access import refuse_metrics
from bot.storage.handoffs_and_feedback import Records

logger = logging.getLogger(__name__)

bp = Blueprint("metrics")

LOGIN_ROUTE = "auth.login"  # POST /login
LOGIN_OUTCOMES = {302: "success", 303: "success", 401: "failure", 429: "throttled"}
# The forms that store a review, by route; they redirect without `error=` when it was saved.
REVIEW_ROUTES = {
    "conversations.review_message": "message",
    "conversations.review_conversation": "conversation",
    "inbox.label_group": "inbox_group",
}
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OPEN_HANDOFFS = "shopdesk_review_open_handoffs"


class OpenHandoffs:
    """Handoff requests not yet given back to the bot, counted at scrape time."""

    help = "Handoff requests waiting for or taken by a person (not yet released), right now."

    def __init__(self, records: Records) -> None:
        self.records = records

    def describe(self) -> list[GaugeMetricFamily]:
        # Without describe(), registering would call collect() and query the database.
        return [GaugeMetricFamily(OPEN_HANDOFFS, self.help)]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(OPEN_HANDOFFS, self.help, value=self.records.count_open_handoffs())


class ReviewAppMetrics:
    """The review app's metrics, in a registry of their own (one per app)."""

    def __init__(self, records: Records) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "shopdesk_review_http_requests",
            "HTTP requests answered by the review app, by route name and status class (2xx..).",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "shopdesk_review_http_request_duration_seconds",
            "Time to answer a review app request, by route name.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.logins = Counter(
            "shopdesk_review_logins",
            "Staff login attempts (POST /login with a valid form) by outcome: success, "
            "failure (wrong user name or password), throttled (too many failures).",
            ["outcome"],
            registry=self.registry,
        )
        self.reviews_saved = Counter(
            "shopdesk_review_reviews_saved",
            "Review forms saved, by form: message (one message corrected, confirmed, "
            "excluded or approved), conversation (marked, tagged, noted), inbox_group "
            "(a group of inbox messages labelled or excluded at once).",
            ["form"],
            registry=self.registry,
        )
        # Known label values start at 0, so that rate() sees their first increase too.
        for outcome in set(LOGIN_OUTCOMES.values()):
            self.logins.labels(outcome)
        for form in REVIEW_ROUTES.values():
            self.reviews_saved.labels(form)
        self.registry.register(OpenHandoffs(records))

    def observe(self, app_name: str, request: Request, response: HTTPResponse) -> None:
        started = getattr(request.ctx, "metrics_started", None)
        route = _route_name(app_name, request)
        status = response.status
        self.requests.labels(route, f"{status // 100}xx").inc()
        if started is not None:
            self.latency.labels(route).observe(time.perf_counter() - started)
        if route == LOGIN_ROUTE and status in LOGIN_OUTCOMES:
            self.logins.labels(LOGIN_OUTCOMES[status]).inc()
        location = response.headers.get("location") or ""
        if route in REVIEW_ROUTES and 300 <= status < 400 and "error=" not in location:
            self.reviews_saved.labels(REVIEW_ROUTES[route]).inc()


def _route_name(app_name: str, request: Request) -> str:
    """`auth.login`, without the per-app prefix; `unmatched` when no route matched (404)."""
    name = request.route.name if request.route is not None else None
    if not name:
        return "unmatched"
    return name[len(app_name) + 1 :] if name.startswith(f"{app_name}.") else name


def instrument(app: Sanic) -> None:
    """Count every request of `app` and serve /metrics; call before other middleware, so
    that requests turned away by `authenticate` are timed too."""
    metrics = app.ctx.metrics = ReviewAppMetrics(app.ctx.records)

    async def start_timer(request: Request) -> None:
        request.ctx.metrics_started = time.perf_counter()

    async def observe(request: Request, response: HTTPResponse) -> None:
        try:
            metrics.observe(app.name, request, response)
        except Exception:  # counting must never break a page
            logger.exception("Could not record metrics for a review app request.")

    app.register_middleware(start_timer, "request")
    app.register_middleware(observe, "response")
    app.blueprint(bp)


@bp.get("/metrics")
async def metrics_page(request: Request) -> HTTPResponse:
    refusal = refuse_metrics(request)
    if refusal is not None:
        return refusal
    page = await in_thread(generate_latest, request.app.ctx.metrics.registry)  # reads the db
    return raw(page, content_type=CONTENT_TYPE_LATEST)
