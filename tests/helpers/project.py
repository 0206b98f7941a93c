"""Where the project is, and the secrets the test bot is started with."""

from __future__ import annotations

# The tests' project is the package's own (re-exported).
from bot.settings import PROJECT_ROOT as PROJECT_ROOT

MESSENGER_APP_SECRET = "test-app-secret-0b7f"


# The `bot` fixture's one trusted reverse proxy (SHOPDESK_TRUSTED_PROXIES): tests connect from
# it (any 127.0.0.x reaches loopback) to show X-Forwarded-For believed from it alone.
TRUSTED_TEST_PROXY = "127.0.0.9"


# The shop's secret for signed order tokens (bot/answers/order_tokens.py) in the live bot.
ORDER_TOKEN_TEST_SECRET = "order-tokens-of-the-test-shop"
