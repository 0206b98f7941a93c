"""The review app's settings, with their defaults in one place (environment variables)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bot.learning.discovery import DEFAULT_DISTANCE_THRESHOLD
from bot.learning.export import ExportPaths
from bot.runtime.access import RASA_TOKEN, read_secret
from bot.settings import MODELS_DIR, PROJECT_ROOT, db_url


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def _list(name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


def _retrain_command() -> tuple[str, ...]:
    """`shopdesk retrain` with this interpreter; SHOPDESK_RETRAIN_COMMAND (split as a shell
    would) runs another, e.g. a stand-in in tests."""
    given = os.environ.get("SHOPDESK_RETRAIN_COMMAND")
    return tuple(shlex.split(given)) if given else (sys.executable, "-m", "bot.cli", "retrain")


def _login_secret() -> bytes:
    """Signs the login form's token. SHOPDESK_REVIEW_SECRET, else derived from the Rasa API
    token (the same in every worker and after restarts, and never the token itself), else
    random per process (workers forked from it share it)."""
    given = os.environ.get("SHOPDESK_REVIEW_SECRET")
    if given:
        return given.encode()
    token = os.environ.get("SHOPDESK_RASA_TOKEN") or read_secret(RASA_TOKEN)
    if token:
        return hmac.new(token.encode(), b"shopdesk review login form", hashlib.sha256).digest()
    return secrets.token_bytes(32)


@dataclass(frozen=True)
class ReviewAppSettings:
    db_url: str = field(default_factory=db_url)
    # The Rasa server, to give handed-off conversations back to the bot.
    rasa_url: str = field(
        default_factory=lambda: os.environ.get("SHOPDESK_RASA_URL", "http://localhost:5005")
    )
    # Its HTTP API's token: SHOPDESK_RASA_TOKEN, else RASA_AUTH_TOKEN, else development's.
    rasa_token: str | None = field(
        default_factory=lambda: os.environ.get("SHOPDESK_RASA_TOKEN") or read_secret(RASA_TOKEN)
    )
    # Behind HTTPS (production), cookies must only travel over it.
    secure_cookies: bool = field(default_factory=lambda: _flag("SHOPDESK_SECURE_COOKIES", False))
    # The project whose data/ and tests/ the export writes to (this checkout by default).
    export_paths: ExportPaths = field(
        default_factory=lambda: ExportPaths.under(
            Path(os.environ.get("SHOPDESK_PROJECT_DIR") or PROJECT_ROOT)
        )
    )
    domain_path: Path = field(default_factory=lambda: PROJECT_ROOT / "domain.yml")
    # The encoder discovery embeds with when the project has no model archive yet (tests);
    # with one, the served model's own encoder is used (bot/review_app/pages/discovery.py).
    discovery_encoder: Path | None = None
    # Discovery's largest average cosine distance within a group (bot/learning/discovery.py).
    discovery_distance: float = DEFAULT_DISTANCE_THRESHOLD
    page_size: int = 25
    # Reverse proxies (addresses or networks) whose X-Forwarded-For is believed; any other
    # peer's header is ignored, so a client cannot choose the address its logins count under.
    trusted_proxies: tuple[str, ...] = field(
        default_factory=lambda: _list("SHOPDESK_TRUSTED_PROXIES")
    )
    login_secret: bytes = field(default_factory=_login_secret, repr=False)
    # The "Retrain now" button's command, the folder of its log and state, and the served
    # models (whose newest archive says which reviews are still waiting for training).
    retrain_command: tuple[str, ...] = field(default_factory=_retrain_command)
    retrain_dir: Path = PROJECT_ROOT / ".shopdesk" / "review-retrain"
    models_dir: Path = MODELS_DIR
