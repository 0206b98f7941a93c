"""Prometheus metrics of the action server and the review app, who may read them, and the alert
rules that use them: both apps run in-process (sanic-testing) on temporary SQLite databases."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sanic import Sanic

from bot.runtime.metrics_access import TOKEN_VARIABLE, refuse_metrics
from tests.helpers.action_calls import action_call
from tests.helpers.http import serve_in_tests
from tests.helpers.project import PROJECT_ROOT

# The action server's shared secret, as Rasa sends it (bot.runtime.access.ACTION_TOKEN).
ACTION_SECRET = "test-action-secret"
FROM_RASA = {"Authorization": f"Bearer {ACTION_SECRET}"}

ALERTS = PROJECT_ROOT / "deploy" / "prometheus" / "alerts.yml"
SCRAPE_CONFIG = PROJECT_ROOT / "deploy" / "prometheus" / "prometheus.yml"
STAFF = ("ana", "correct horse battery")


# ------------------------------------------------------------------------ helpers


def samples(page: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of a /metrics page."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


def value(page: str, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series has not appeared yet (a counter not yet used)."""
    return samples(page).get((name, frozenset(labels.items())), 0.0)


def exposed_names(page: str) -> set[str]:
    """Every name a PromQL expression may use for this page's metrics."""
    names = set()
    for family in text_string_to_metric_families(page):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}_{suffix}" for suffix in ("bucket", "count", "sum"))
    return names


# ------------------------------------------------------------------ action server


@pytest.fixture(scope="module")
def action_dbs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from bot.answers.orders import create_sample_orders

    folder = tmp_path_factory.mktemp("action-server-dbs")
    urls = {
        "SHOPDESK_ORDERS_DB_URL": f"sqlite:///{folder / 'orders.db'}",
        "SHOPDESK_DB_URL": f"sqlite:///{folder / 'shopdesk.db'}",
    }
    create_sample_orders(urls["SHOPDESK_ORDERS_DB_URL"], count=30)
    return urls


@pytest.fixture(scope="module")
def action_app(action_dbs: dict[str, str]) -> Iterator[Sanic]:
    """The action server app, its actions on temporary databases."""
    from actions.shared import resources
    from bot.runtime.action_server import create_action_app

    with pytest.MonkeyPatch.context() as patch:
        for name, url in action_dbs.items():
            patch.setenv(name, url)
        patch.delenv(TOKEN_VARIABLE, raising=False)
        patch.setenv("SHOPDESK_ACTION_SERVER_TOKEN", ACTION_SECRET)
        patch.setattr(Sanic, "test_mode", True)  # rasa-sdk names every app "rasa_sdk"
        resources.cache_clear()
        app = serve_in_tests(create_action_app())
        yield app
        resources().records.engine.dispose()
        resources.cache_clear()


def post_call(app: Sanic, call: dict[str, Any]) -> tuple[int, Any]:
    _, response = app.test_client.post("/webhook", json=call, headers=FROM_RASA)
    return response.status, response.json


def scrape(app: Sanic, **headers: str) -> str:
    _, response = app.test_client.get("/metrics", headers=headers)
    assert response.status == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return response.text


def test_the_webhook_is_counted_by_answer_source_fallback_handoff_and_error(
    action_app: Sanic,
) -> None:
    before = scrape(action_app)

    # A template answer; then the same message again (a second call for one message).
    template = action_call(
        "action_answer", "what can I pay with", "check_payment_methods", 0.95, "m-template"
    )
    status, body = post_call(action_app, template)
    assert status == 200 and body["responses"][0]["answer_source"]["kind"] == "template"
    assert post_call(action_app, template)[0] == 200
    # The classifier is unsure: a transcript answers, with a feedback question.
    status, body = post_call(
        action_app,
        action_call(
            "action_retrieve_answer",
            "how do I wash the linen duvet cover without it shrinking",
            "nlu_fallback",
            0.3,
            "m-retrieval",
            sender="customer-2",
        ),
    )
    assert [r["answer_source"]["kind"] for r in body["responses"]] == [
        "retrieval",
        "feedback_request",
    ]
    # The customer asks for a person.
    status, body = post_call(
        action_app,
        action_call(
            "action_handoff", "I want a real person", "contact_human_agent", 0.9, "m-handoff"
        ),
    )
    assert status == 200 and body["responses"][0]["answer_source"]["kind"] == "handoff"
    # An action the server does not have, and one that raises (a tracker without sender).
    unknown = action_call("action_no_such_thing", "hi", "greet", 0.99, "m-unknown")
    assert post_call(action_app, unknown)[0] == 404
    broken = action_call("action_answer", "hi", "greet", 0.99, "m-broken")
    del broken["tracker"]["sender_id"]
    assert post_call(action_app, broken)[0] == 500

    after = scrape(action_app)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("shopdesk_messages_handled_total") == 3  # the repeated call counts once
    assert grew("shopdesk_fallbacks_total") == 1
    assert grew("shopdesk_answers_total", source="template") == 2
    assert grew("shopdesk_answers_total", source="retrieval") == 1
    assert grew("shopdesk_answers_total", source="feedback_request") == 1
    assert grew("shopdesk_answers_total", source="handoff") == 1
    assert grew("shopdesk_handoffs_total", reason="asked_for_human") == 1
    assert grew("shopdesk_intent_confidence_count") == 3
    assert grew("shopdesk_intent_confidence_sum") == pytest.approx(0.95 + 0.3 + 0.9)
    assert grew("shopdesk_intent_confidence_bucket", le="0.5") == 1  # the unsure one
    assert grew("shopdesk_action_latency_seconds_count", action="action_answer") == 3
    assert grew("shopdesk_action_latency_seconds_count", action="action_handoff") == 1
    assert grew("shopdesk_action_latency_seconds_sum", action="action_answer") > 0
    # The unknown name is not a label of its own: callers cannot grow the series.
    assert grew("shopdesk_action_errors_total", action="unknown", status="404") == 1
    assert grew("shopdesk_action_errors_total", action="action_answer", status="500") == 1
    assert "action_no_such_thing" not in after


def test_the_action_servers_other_routes_still_answer(action_app: Sanic) -> None:
    _, health = action_app.test_client.get("/health")
    assert health.status == 200 and health.json == {"status": "ok"}
    _, actions = action_app.test_client.get("/actions", headers=FROM_RASA)
    assert {"name": "action_answer"} in actions.json


def test_calls_without_the_secret_are_refused_and_counted_without_their_names(
    action_app: Sanic,
) -> None:
    before = scrape(action_app)
    call = action_call("action_named_by_a_stranger", "where is 482913", "track_order", 1.0, "m-x")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": ACTION_SECRET}):
        _, response = action_app.test_client.post("/webhook", json=call, headers=headers)
        assert response.status == 401 and "482913" not in response.text
    _, response = action_app.test_client.get("/actions")
    assert response.status == 401
    after = scrape(action_app)
    refused = {"action": "unknown", "status": "401"}
    assert (
        value(after, "shopdesk_action_errors_total", **refused)
        - value(before, "shopdesk_action_errors_total", **refused)
        == 3
    )
    assert "action_named_by_a_stranger" not in after
    assert value(after, "shopdesk_messages_handled_total") == value(
        before, "shopdesk_messages_handled_total"
    )


def test_an_unreadable_action_call_is_answered_as_rasa_sdk_does(action_app: Sanic) -> None:
    before = scrape(action_app)
    _, response = action_app.test_client.post(
        "/webhook", content=b"not json", headers={"Content-Type": "application/json", **FROM_RASA}
    )
    assert response.status in (400, 500)  # rasa-sdk's own answer, not the middleware's
    errors = value(
        scrape(action_app),
        "shopdesk_action_errors_total",
        action="unknown",
        status=str(response.status),
    )
    assert (
        errors
        - value(
            before, "shopdesk_action_errors_total", action="unknown", status=str(response.status)
        )
        == 1
    )


def test_a_deflated_action_call_is_read_like_rasa_sdk_reads_it(action_app: Sanic) -> None:
    call = action_call("action_answer", "can I pay by card", "check_payment_methods", 0.9, "m-z")
    before = scrape(action_app)
    _, response = action_app.test_client.post(
        "/webhook",
        content=zlib.compress(json.dumps(call).encode()),
        headers={"Content-Type": "application/json", "Content-Encoding": "deflate", **FROM_RASA},
    )
    assert response.status == 200
    after = scrape(action_app)
    for name in ("shopdesk_messages_handled_total", "shopdesk_intent_confidence_count"):
        assert value(after, name) - value(before, name) == 1


def test_a_failure_while_counting_never_changes_the_answer(
    action_app: Sanic, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("metrics are broken")

    monkeypatch.setattr(action_app.ctx.metrics, "observe", broken)
    call = action_call("action_answer", "what can I pay with", "check_payment_methods", 0.9, "m-f")
    status, body = post_call(action_app, call)
    assert status == 200 and "PayPal" in body["responses"][0]["text"]


def test_the_entry_point_serves_actions_and_metrics_until_interrupted(
    action_dbs: dict[str, str],
) -> None:
    """`python -m bot.runtime.action_server --port N`, as `shopdesk up` starts it."""
    from tests.helpers.http import free_port, request

    port = free_port()
    environment = {**os.environ, **action_dbs, "SHOPDESK_ACTION_SERVER_TOKEN": ACTION_SECRET}
    environment.pop(TOKEN_VARIABLE, None)
    environment.pop("SANIC_HOST", None)  # 127.0.0.1 by default
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.runtime.action_server", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 50
        while True:
            try:
                if request(f"{base}/health")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "did not start"
            time.sleep(0.2)
        call = action_call(
            "action_answer", "what can I pay with", "check_payment_methods", 0.9, "m-e"
        )
        assert request(f"{base}/webhook", call)[0] == 401  # only Rasa, with the secret
        status, body = request(f"{base}/webhook", call, headers=FROM_RASA)
        assert status == 200 and body["responses"][0]["answer_source"]["kind"] == "template"
        with urllib.request.urlopen(f"{base}/metrics", timeout=30) as response:
            page = response.read().decode()
        assert value(page, "shopdesk_answers_total", source="template") == 1
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output


def test_an_actions_package_that_cannot_load_stops_the_server_with_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.runtime.action_server

    monkeypatch.setattr(Sanic, "test_mode", True)
    monkeypatch.setattr(bot.runtime.action_server, "ACTIONS_PACKAGE", "no_such_actions_package")
    with pytest.raises(SystemExit) as stopped:
        bot.runtime.action_server.create_action_app()
    assert stopped.value.code == 1


# ------------------------------------------------------------------ who may read


def test_with_a_token_metrics_need_the_bearer_token(
    action_app: Sanic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_VARIABLE, "s3cret-metrics-token")
    _, missing = action_app.test_client.get("/metrics")
    assert missing.status == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    for wrong in ("Bearer nope", "Basic s3cret-metrics-token", "s3cret-metrics-token"):
        _, response = action_app.test_client.get("/metrics", headers={"Authorization": wrong})
        assert response.status == 401, wrong
        assert "shopdesk_" not in response.text
    page = scrape(action_app, Authorization="Bearer s3cret-metrics-token")
    assert "shopdesk_messages_handled_total" in page


def _stub_request(ip: str, **headers: str) -> Any:
    return SimpleNamespace(ip=ip, headers={k.lower(): v for k, v in headers.items()})


def test_without_a_token_only_this_machine_may_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_VARIABLE, raising=False)
    for local in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert refuse_metrics(_stub_request(local)) is None, local
    for remote in ("10.0.0.7", "203.0.113.9", "2001:db8::1", ""):
        refusal = refuse_metrics(_stub_request(remote))
        assert refusal is not None and refusal.status == 403, remote
        assert TOKEN_VARIABLE in refusal.body.decode()
    # A reverse proxy on this machine relays anyone's request from loopback.
    relayed = refuse_metrics(_stub_request("127.0.0.1", **{"X-Forwarded-For": "203.0.113.9"}))
    assert relayed is not None and relayed.status == 403


def test_an_empty_token_variable_does_not_open_metrics_to_everyone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TOKEN_VARIABLE, "  ")
    assert refuse_metrics(_stub_request("203.0.113.9", Authorization="Bearer ")).status == 403


# ------------------------------------------------------------------ review app


@pytest.fixture()
def review_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sanic]:
    from bot.learning.export import ExportPaths
    from bot.review_app import create_app
    from bot.review_app.settings import ReviewAppSettings
    from bot.storage.staff import StaffAccounts

    monkeypatch.delenv(TOKEN_VARIABLE, raising=False)
    url = f"sqlite:///{tmp_path / 'shopdesk.db'}"
    accounts = StaffAccounts(url)
    accounts.create(STAFF[0], STAFF[1], "admin")
    accounts.engine.dispose()
    app = create_app(ReviewAppSettings(db_url=url, export_paths=ExportPaths.under(tmp_path)))
    serve_in_tests(app)
    yield app
    for holder in (app.ctx.staff, app.ctx.log, app.ctx.reviews, app.ctx.records):
        holder.engine.dispose()


def log_in(app: Sanic, username: str, password: str) -> Any:
    """The real login form: its token in the field and the cookie."""
    from bot.review_app.security import LOGIN_CSRF_COOKIE

    _, page = app.test_client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)
    _, response = app.test_client.post(
        "/login",
        data={"login_token": token, "username": username, "password": password},
        cookies={LOGIN_CSRF_COOKIE: token},
        allow_redirects=False,
    )
    return response


def test_review_metrics_need_no_session_and_count_logins_and_handoffs(review_app: Sanic) -> None:
    records = review_app.ctx.records
    records.request_handoff("customer-1", "asked_for_human", "a person please")
    records.request_handoff("customer-2", "complaint", "this is a disgrace")
    released = records.request_handoff("customer-3", "nothing_found", "??")
    records.take(released, "ana")
    records.release("customer-3")

    assert log_in(review_app, STAFF[0], "wrong password").status == 401
    assert log_in(review_app, *STAFF).status == 302
    _, page = review_app.test_client.get("/conversations", allow_redirects=False)
    assert page.status == 302  # every other page still wants a session

    page = scrape(review_app)
    assert value(page, "shopdesk_review_open_handoffs") == 2
    assert value(page, "shopdesk_review_logins_total", outcome="failure") == 1
    assert value(page, "shopdesk_review_logins_total", outcome="success") == 1
    assert value(page, "shopdesk_review_http_requests_total", route="auth.login", status="4xx") == 1
    assert value(page, "shopdesk_review_http_requests_total", route="auth.login", status="3xx") == 1
    assert (
        value(
            page,
            "shopdesk_review_http_requests_total",
            route="conversations.conversation_list",
            status="3xx",
        )
        == 1
    )  # turned away by `authenticate`, and still counted
    assert (
        value(page, "shopdesk_review_http_request_duration_seconds_count", route="auth.login_form")
        == 2
    )

    records.request_handoff("customer-4", "asked_for_human", "hello?")
    assert value(scrape(review_app), "shopdesk_review_open_handoffs") == 3  # read at scrape time


def test_review_metrics_count_saved_reviews(review_app: Sanic) -> None:
    from bot.review_app.security import SESSION_COOKIE
    from tests.helpers.logged_conversations import bot_says, save, user

    save(
        review_app.ctx.settings.db_url,
        "customer-1",
        [user("refund please", "get_refund", 0.9), bot_says("Refunds take 5 days.")],
    )
    login = log_in(review_app, *STAFF)
    cookies = {SESSION_COOKIE: login.cookies[SESSION_COOKIE]}
    _, page = review_app.test_client.get("/conversations", cookies=cookies)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = {"csrf_token": csrf, "conversation_id": "customer-1"}
    for action, expected in (("reviewed", 302), ("no-such-action", 302)):  # saved, refused
        _, response = review_app.test_client.post(
            "/conversation/review",
            data={**form, "action": action, "value": "1"},
            cookies=cookies,
            allow_redirects=False,
        )
        assert response.status == expected
    assert (
        value(scrape(review_app), "shopdesk_review_reviews_saved_total", form="conversation") == 1
    )


def test_review_metrics_take_the_token_too(
    review_app: Sanic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_VARIABLE, "review-token")
    _, response = review_app.test_client.get("/metrics", allow_redirects=False)
    assert response.status == 401
    assert "shopdesk_review_open_handoffs" in scrape(
        review_app, Authorization="Bearer review-token"
    )


# ------------------------------------------------------------------ alert rules


def test_alert_rules_are_well_formed_and_use_only_exposed_metrics(
    action_app: Sanic, review_app: Sanic
) -> None:
    post_call(
        action_app,
        action_call("action_handoff", "a person please", "complaint", 0.8, "m-alerts"),
    )
    post_call(action_app, action_call("action_nope", "x", "greet", 0.9, "m-alerts-404"))
    log_in(review_app, STAFF[0], "wrong password")
    exposed = exposed_names(scrape(action_app)) | exposed_names(scrape(review_app))

    rules = [
        rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]
    assert len(rules) >= 5
    used = set()
    for rule in rules:
        assert set(rule) >= {"alert", "expr", "for", "labels", "annotations"}, rule.get("alert")
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        used.update(re.findall(r"\bshopdesk_[a-z0-9_]+", rule["expr"]))
    assert used - exposed == set()
    alerts = {rule["alert"]: rule["expr"] for rule in rules}
    assert 'up{job="shopdesk-actions"} == 0' in alerts["ShopdeskActionServerDown"]
    for metric in (
        "shopdesk_fallbacks_total",
        "shopdesk_handoffs_total",
        "shopdesk_action_errors_total",
        "shopdesk_action_latency_seconds_bucket",
    ):
        assert metric in used


def test_the_scrape_config_reads_both_apps_with_a_token_file() -> None:
    config = yaml.safe_load(SCRAPE_CONFIG.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"shopdesk-actions", "shopdesk-review"}
    for name, port in (("shopdesk-actions", 5055), ("shopdesk-review", 5010)):
        assert jobs[name]["authorization"]["credentials_file"]
        assert jobs[name]["static_configs"][0]["targets"][0].endswith(f":{port}")
    assert config["rule_files"] == ["alerts.yml"]
