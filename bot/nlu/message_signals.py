"""What the NLU pipeline found about a customer message besides its intent: frustration and
language, read from the `sentiment` and `language` keys of its parse data.

The index, the conversation view and the dashboard all read them through here, so "frustrated"
and "in another language" mean the same everywhere. Messages logged before those components
existed have neither key: they count as not frustrated, in an unknown language (None), never
as errors. The bot speaks English, so any other detected language is "another language".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ENGLISH = "en"
# Longest language code stored: ISO 639 codes with a region ("zh-cn") fit easily.
CODE_LENGTH = 16


@dataclass(frozen=True)
class MessageSignals:
    frustrated: bool | None  # None: logged before sentiment was detected
    language: str | None  # ISO code; None: unknown


def is_other_language(code: str | None) -> bool:
    """A known language that is not the bot's; unknown is not "other"."""
    return code is not None and code != ENGLISH


def _frustrated(sentiment: Any) -> bool | None:
    if not isinstance(sentiment, dict) or "frustrated" not in sentiment:
        return None
    return bool(sentiment["frustrated"])


def _language(language: Any) -> str | None:
    code = language.get("code") if isinstance(language, dict) else None
    if not isinstance(code, str) or not code.strip():
        return None
    return code.strip().lower()[:CODE_LENGTH]


def signals_of(parse_data: dict[str, Any] | None) -> MessageSignals:
    """The signals in one user event's `parse_data`; malformed values count as unknown, since
    the log outlives any one version of the components that wrote it."""
    parse = parse_data if isinstance(parse_data, dict) else {}
    return MessageSignals(_frustrated(parse.get("sentiment")), _language(parse.get("language")))
