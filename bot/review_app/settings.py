"""The review app's settings, with their defaults in one place (environment variables)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bot.access import RASA_TOKEN, read_secret
from bot.database import db_url
from bot.export import ExportPaths


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


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
            Path(os.environ.get("SHOPDESK_PROJECT_DIR") or Path(__file__).resolve().parents[2])
        )
    )
    domain_path: Path = field(
        default_factory=lambda: Path(__file__).resolve().parents[2] / "domain.yml"
    )
    page_size: int = 25
