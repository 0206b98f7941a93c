"""Development mode is safe on a shared network: every server listens on loopback only, the
Rasa HTTP API needs its token, Rasa's CORS allows only the web chat's page, and the action
server refuses calls without the secret Rasa sends (README, "Security").

The live tests run against the real `shopdesk up` of the session (`bot` in conftest.py); the
production stack is checked the same way in tests/e2e/test_production.py.
"""

from __future__ import annotations

import argparse
import stat
from pathlib import Path

import pytest

from tests.helpers.project import PROJECT_ROOT

# ------------------------------------------------------------------ settings, no servers


def test_secrets_are_generated_once_kept_private_and_completed(tmp_path: Path) -> None:
    from bot.runtime.access import kept_secrets

    path = tmp_path / "state" / "secrets.env"
    first = kept_secrets(path, ["A", "B"])
    assert set(first) == {"A", "B"} and len(first["A"]) >= 40 and first["A"] != first["B"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)  # a copied file: closed again, values kept
    again = kept_secrets(path, ["A", "B", "C"])
    assert {name: again[name] for name in ("A", "B")} == first and again["C"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(tmp_path.joinpath("state").iterdir()) == [path]  # no temporary left behind


def test_the_environment_wins_over_development_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.runtime.access import ACTION_TOKEN, RASA_TOKEN, development_secrets, read_secret

    path = tmp_path / "secrets.env"
    monkeypatch.delenv(RASA_TOKEN, raising=False)
    monkeypatch.delenv(ACTION_TOKEN, raising=False)
    assert read_secret(RASA_TOKEN, path=path) is None  # reading never creates the file
    kept = development_secrets(path)
    assert read_secret(RASA_TOKEN, path=path) == kept[RASA_TOKEN]
    monkeypatch.setenv(RASA_TOKEN, "from-the-environment")
    assert development_secrets(path)[RASA_TOKEN] == "from-the-environment"
    assert development_secrets(path)[ACTION_TOKEN] == kept[ACTION_TOKEN]


def test_web_chat_origins_are_exact_and_default_to_the_web_chat_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.runtime.access import WEBCHAT_ORIGINS, AccessConfigError, webchat_origins

    monkeypatch.delenv(WEBCHAT_ORIGINS, raising=False)
    assert webchat_origins(None, 5020) == ["http://localhost:5020", "http://127.0.0.1:5020"]
    assert webchat_origins(None, 5020, "192.0.2.7")[-1] == "http://192.0.2.7:5020"
    assert webchat_origins(None, 5020, "0.0.0.0") == webchat_origins(None, 5020)
    monkeypatch.setenv(WEBCHAT_ORIGINS, "https://shop.example, https://www.shop.example/")
    assert webchat_origins(None, 5020) == ["https://shop.example", "https://www.shop.example"]
    assert webchat_origins(["https://a.example"], 5020) == ["https://a.example"]
    # sanic-cors would read these as regular expressions, or they are no origin at all.
    for wrong in ("*", "https://*.shop.example", "https://shop.example/chat", "shop.example"):
        with pytest.raises(AccessConfigError):
            webchat_origins([wrong], 5020)


def test_the_rasa_server_defaults_to_loopback_and_always_has_a_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.runtime.access import ACTION_TOKEN, RASA_TOKEN
    from bot.runtime.rasa_server import server_arguments

    monkeypatch.setenv(RASA_TOKEN, "t0ken")
    monkeypatch.setenv(ACTION_TOKEN, "s3cret")  # both given: no development file is made
    argv = server_arguments(["run", "--enable-api", "--port", "5005"])
    assert argv[-3:] == ["--interface", "127.0.0.1", "--auth-token=t0ken"]
    given = ["run", "-i", "0.0.0.0", "--enable-api", "--auth-token", "other"]
    assert server_arguments(given) == given
    assert "--auth-token" not in server_arguments(["run", "--port", "5005"])  # no API
    assert server_arguments(["run", "actions"]) == ["run", "actions"]


def test_a_token_that_begins_with_a_dash_reaches_rasa_as_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """token_urlsafe gives a leading "-" one time in 64; rasa's argparse must not take it for
    an option (a CI run failed on exactly that)."""
    from rasa.cli.arguments.run import add_server_arguments

    from bot.runtime.access import ACTION_TOKEN, RASA_TOKEN
    from bot.runtime.rasa_server import server_arguments

    monkeypatch.setenv(RASA_TOKEN, "-Xy_dash-first")
    monkeypatch.setenv(ACTION_TOKEN, "s3cret")
    argv = server_arguments(["run", "--enable-api", "--port", "5005"])
    parser = argparse.ArgumentParser()
    add_server_arguments(parser)
    parsed, _ = parser.parse_known_args(argv[1:])
    assert parsed.auth_token == "-Xy_dash-first"


def test_the_rasa_server_will_not_start_without_sending_the_action_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.runtime.access import ACTION_TOKEN
    from bot.runtime.processes import endpoints_for_action_port
    from bot.runtime.rasa_server import StartupError, check_action_endpoint

    (tmp_path / "endpoints.yml").write_text((PROJECT_ROOT / "endpoints.yml").read_text())
    generated = endpoints_for_action_port(5055, project_dir=tmp_path)
    assert "${SHOPDESK_ACTION_SERVER_TOKEN}" in generated.read_text()  # the name, not the value
    monkeypatch.delenv(ACTION_TOKEN, raising=False)
    with pytest.raises(StartupError, match=ACTION_TOKEN):  # Rasa could not fill it in
        check_action_endpoint(str(generated))
    monkeypatch.setenv(ACTION_TOKEN, "s3cret")
    check_action_endpoint(str(generated))
    with pytest.raises(StartupError, match="must send the action server's secret"):
        check_action_endpoint(str(tmp_path / "endpoints.yml"))  # the plain developers' file


def test_production_endpoints_send_the_action_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.runtime.production import ENDPOINTS
    from bot.runtime.rasa_server import check_action_endpoint

    for name, value in {
        "SHOPDESK_ACTION_SERVER_URL": "http://127.0.0.1:5055/webhook",
        "SHOPDESK_ACTION_SERVER_TOKEN": "s3cret",
        "SHOPDESK_REDIS_HOST": "127.0.0.1",
        "SHOPDESK_REDIS_PORT": "6379",
        "SHOPDESK_REDIS_PASSWORD": "pw",
        "SHOPDESK_REDIS_DB": "1",
    }.items():
        monkeypatch.setenv(name, value)
    check_action_endpoint(str(ENDPOINTS))
