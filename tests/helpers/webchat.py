"""The web chat as tests see it: its session ids, the script URLs on a page, and chatting in the
widget in a real browser (Playwright)."""

from __future__ import annotations

import re


def bot_messages(page) -> list[str]:
    return page.locator(".sd-bot .sd-bubble").all_inner_texts()


def ask(page, text: str, expect_more_than: int) -> list[str]:
    """Type a message, check the typing indicator, wait for the bot's answer."""
    page.fill(".sd-input", text)
    page.press(".sd-input", "Enter")
    page.wait_for_selector(".sd-typing:not([hidden])", timeout=10_000)
    page.wait_for_function(
        "n => document.querySelectorAll('.sd-bot .sd-bubble').length > n",
        arg=expect_more_than,
        timeout=60_000,
    )
    page.wait_for_selector(".sd-typing", state="hidden", timeout=10_000)
    return bot_messages(page)


FORGED_HOST = "evil.example"


def script_sources(page: str) -> list[str]:
    return re.findall(r'<script src="([^"]+)"', page)


# The web chat's session ids as the server signs them (bot/channels/socketio.py).
SIGNED_ID = re.compile(r"[0-9a-f]{32}\.[A-Za-z0-9_-]{43}")
