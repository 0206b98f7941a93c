"""shopdesk's action server: rasa-sdk's own app for `actions/`, plus Prometheus metrics.

Started as `python -m bot.runtime.action_server --port 5055` instead of `rasa run actions`, so that
the
webhook can be observed (GET `/metrics`) without touching the actions. The observing is done
by middleware around `/webhook`, from the action call Rasa sends and the JSON rasa-sdk answers
with; whatever goes wrong while observing is logged and never changes the answer.

Only the Rasa server may call the actions: they read orders and write handoffs and feedback
for whichever conversation a call names. Every route but `/health` (and `/metrics`, which has
its own rule) needs `Authorization: Bearer <SHOPDESK_ACTION_SERVER_TOKEN>`, which Rasa sends
from its endpoints file (bot/runtime/processes.py, deploy/endpoints.production.yml); anything else
gets 401. The server binds 127.0.0.1 unless `--host` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from sanic import Request, Sanic
from sanic.response import HTTPResponse, raw, text

from bot.nlu.intents import FALLBACK_INTENT
from bot.runtime.access import ACTION_TOKEN, LOOPBACK, development_secrets, secret_matches
from bot.runtime.metrics_access import bearer_token, refuse_metrics
from bot.storage.handoffs_and_feedback import HANDOFF_REASONS

logger = logging.getLogger(__name__)

ACTIONS_PACKAGE = "actions"
DEFAULT_PORT = 5055
# Routes anyone who can connect may call: liveness for supervisors, and metrics (own rule).
OPEN_ROUTES = ("/health", "/metrics")
# Every `answer_source` kind the actions write (actions/*.py); anything else is "other", so a
# typo cannot grow the label set.
ANSWER_SOURCES = (
    "template",
    "retrieval",
    "handoff",
    "ask",
    "feedback_request",
    "feedback_thanks",
    "out_of_scope",
    "rephrase",
    "order_check",
    "other_question",
    "transcript_added",
)
# Answers that mean no FAQ template fitted the message.
FALLBACK_SOURCES = ("retrieval", "rephrase")
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Customer messages remembered to count each once, however many action calls answer it.
REMEMBERED_MESSAGES = 10_000


class ActionServerMetrics:
    """The action server's metrics, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_handled = Counter(
            "shopdesk_messages_handled",
            "Customer messages the action server answered: each user message (by message id) "
            "counted once, at the first action call for it that sent the customer at least one "
            "response. Small talk Rasa answers from domain.yml alone never reaches it.",
            registry=self.registry,
        )
        self.answers = Counter(
            "shopdesk_answers",
            "Responses sent by the actions, by their answer_source kind (template, retrieval, "
            "handoff, ask, feedback_request, feedback_thanks, out_of_scope, rephrase; other "
            "for an unknown kind). Responses without an answer_source are not counted.",
            ["source"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "shopdesk_fallbacks",
            "Handled customer messages (counted as in shopdesk_messages_handled) that no FAQ "
            "template answered: the classifier said nlu_fallback, or an answer came from "
            "transcript retrieval or asked the customer to rephrase.",
            registry=self.registry,
        )
        self.handoffs = Counter(
            "shopdesk_handoffs",
            "Conversations handed to a person, by the reason the action recorded.",
            ["reason"],
            registry=self.registry,
        )
        self.confidence = Histogram(
            "shopdesk_intent_confidence",
            "The intent classifier's confidence for each handled customer message.",
            buckets=CONFIDENCE_BUCKETS,
            registry=self.registry,
        )
        self.latency = Histogram(
            "shopdesk_action_latency_seconds",
            "Time to answer an action call on /webhook, by action (unknown: not registered).",
            ["action"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "shopdesk_action_errors",
            "Action calls answered with an HTTP error (400 rejected, 401 without the shared "
            "secret, 404 unknown action, 500 the action raised), by action and status code.",
            ["action", "status"],
            registry=self.registry,
        )
        # Known label values start at 0, so that rate() sees their first increase too.
        for kind in ANSWER_SOURCES:
            self.answers.labels(kind)
        for reason in HANDOFF_REASONS:
            self.handoffs.labels(reason)
        self.errors.labels("unknown", "404")
        self.errors.labels("unknown", "401")
        self._handled: OrderedDict[tuple[str, str | None], None] = OrderedDict()
        self._fallbacks: OrderedDict[tuple[str, str | None], None] = OrderedDict()

    def observe(
        self, call: dict[str, Any] | None, status: int, body: dict[str, Any] | None, seconds: float
    ) -> None:
        """Count one answered action call: the call Rasa sent, and rasa-sdk's answer."""
        call = call or {}
        name = call.get("next_action")
        # Unknown names, and any name in a refused call, come from the caller: never a label.
        action = "unknown" if status in (401, 404) or not isinstance(name, str) else name
        self.latency.labels(action).observe(seconds)
        if status >= 400:
            self.errors.labels(action, str(status)).inc()
            return
        responses = [r for r in (body or {}).get("responses") or [] if isinstance(r, dict)]
        sources = [r.get("answer_source") for r in responses]
        sources = [s for s in sources if isinstance(s, dict) and s.get("kind")]
        for source in sources:
            kind = source["kind"]
            self.answers.labels(kind if kind in ANSWER_SOURCES else "other").inc()
            if kind == "handoff":
                reason = source.get("reason")
                self.handoffs.labels(reason if reason in HANDOFF_REASONS else "other").inc()
        message = (call.get("tracker") or {}).get("latest_message") or {}
        if not responses or not (message.get("text") or message.get("intent")):
            return
        key = ((call.get("tracker") or {}).get("sender_id") or "", message.get("message_id"))
        intent = message.get("intent") or {}
        if _first_time(self._handled, key):
            self.messages_handled.inc()
            confidence = intent.get("confidence")
            if isinstance(confidence, (int, float)):
                self.confidence.observe(float(confidence))
        fallback = intent.get("name") == FALLBACK_INTENT or any(
            source["kind"] in FALLBACK_SOURCES for source in sources
        )
        if fallback and _first_time(self._fallbacks, key):
            self.fallbacks.inc()


def _first_time(
    seen: OrderedDict[tuple[str, str | None], None], key: tuple[str, str | None]
) -> bool:
    """Whether `key` is new (a call without a message id always is); remember the newest."""
    if key[1] is None:
        return True
    if key in seen:
        return False
    seen[key] = None
    if len(seen) > REMEMBERED_MESSAGES:
        seen.popitem(last=False)
    return True


def _action_call(request: Request) -> dict[str, Any] | None:
    """The action call as rasa-sdk reads it (Rasa may deflate large ones)."""
    if request.headers.get("Content-Encoding") == "deflate":
        return json.loads(zlib.decompress(request.body))
    return request.json


def instrument(app: Sanic) -> ActionServerMetrics:
    """Observe `/webhook` and serve GET `/metrics` on rasa-sdk's `app`."""
    metrics = ActionServerMetrics()
    webhook = f"{app.name}.webhook"

    async def start_timer(request: Request) -> None:
        request.ctx.metrics_started = time.perf_counter()

    async def observe(request: Request, response: HTTPResponse) -> None:
        try:
            started = getattr(request.ctx, "metrics_started", None)
            seconds = time.perf_counter() - started if started is not None else 0.0
            try:
                call = _action_call(request)
            except Exception:  # an unreadable body: rasa-sdk has answered it with an error
                call = None
            try:
                body = json.loads(response.body or b"null")
            except ValueError:
                body = None
            metrics.observe(
                call if isinstance(call, dict) else None,
                response.status,
                body if isinstance(body, dict) else None,
                seconds,
            )
        except Exception:  # observing must never break the webhook
            logger.exception("Could not record metrics for an action call.")

    app.register_named_middleware(start_timer, [webhook], "request")
    app.register_named_middleware(observe, [webhook], "response")

    async def metrics_page(request: Request) -> HTTPResponse:
        refusal = refuse_metrics(request)
        if refusal is not None:
            return refusal
        return raw(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST)

    app.add_route(metrics_page, "/metrics", methods=["GET"], name="metrics")
    app.ctx.metrics = metrics
    return metrics


def action_server_token() -> str:
    """SHOPDESK_ACTION_SERVER_TOKEN from the environment (production, `shopdesk up`), else
    development's, generated once into .shopdesk/secrets.env: never no secret at all."""
    return development_secrets()[ACTION_TOKEN]


def require_token(app: Sanic, token: str) -> None:
    """Answer 401 to any call but OPEN_ROUTES that lacks `Authorization: Bearer <token>`."""
    if not token:
        raise ValueError("the action server needs a non-empty shared secret")

    async def check_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_ROUTES or secret_matches(bearer_token(request), token):
            return None
        return text(
            f"Only the Rasa server may call the actions: send its {ACTION_TOKEN} as "
            "Authorization: Bearer <token>.\n",
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="shopdesk actions"'},
        )

    app.register_middleware(check_token, "request")


def create_action_app(
    cors_origins: str | list[str] | None = None, token: str | None = None
) -> Sanic:
    """rasa-sdk's app for `actions/` with metrics, closed to calls without the shared secret
    (`token`, default `action_server_token()`); exits with 1 if `actions` cannot load."""
    from rasa_sdk.endpoint import create_app
    from rasa_sdk.plugin import plugin_manager

    app = create_app(ACTIONS_PACKAGE, cors_origins=cors_origins, auto_reload=False)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)  # as rasa-sdk's run() does
    instrument(app)  # first, so that refused calls are counted too
    require_token(app, token or action_server_token())
    return app


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    from rasa_sdk.utils import add_logging_level_option_arguments

    parser = argparse.ArgumentParser(
        prog="python -m bot.runtime.action_server",
        description="Serve shopdesk's custom actions (rasa-sdk) with Prometheus metrics.",
    )
    parser.add_argument("-p", "--port", type=int, default=DEFAULT_PORT, help="port to listen on")
    parser.add_argument(
        "--host",
        default=os.environ.get("SANIC_HOST") or LOOPBACK,
        help="address to bind (default $SANIC_HOST, else 127.0.0.1: only this machine's Rasa "
        "server needs it; 0.0.0.0 in a container)",
    )
    parser.add_argument(
        "--cors", nargs="*", default=None, help="allowed CORS origins (* for any); none by default"
    )
    add_logging_level_option_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the action server until interrupted; one worker, so the metrics are all in one
    process (prometheus-client counts per process)."""
    from rasa_sdk import utils

    args = parse_args(argv)
    utils.configure_colored_logging(args.loglevel)
    utils.update_sanic_log_level()
    app = create_action_app(args.cors)
    logger.info(f"Action endpoint is up and running on http://{args.host}:{args.port}")
    app.run(args.host, args.port, workers=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
