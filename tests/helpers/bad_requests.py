"""Bad and odd requests to the REST channel, with what each must get: the same cases go to the
channel in-process (tests/integration/test_bad_input.py) and to the running bot
(tests/e2e/test_bad_input.py)."""

from __future__ import annotations

import json

WEBHOOK = "/webhooks/rest/webhook"


JSON = {"Content-Type": "application/json"}


REFUSED = [
    (b'{"sender": "x", "mess', JSON, 400, "not valid JSON"),
    (b"[1, 2, 3]", JSON, 400, "JSON object"),
    (b'"just a string"', JSON, 400, "JSON object"),
    (b'{"sender": "x", "message": "hi \xff\xfe"}', JSON, 400, "UTF-8"),
    (b'{"sender": "x", "message": "hi"}', {"Content-Type": "text/plain"}, 415, "JSON"),
    (b"sender=x&message=hi", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "JSON"),
    (b'{"message": "hi"}', JSON, 400, "sender"),
    (b'{"sender": "", "message": "hi"}', JSON, 400, "sender"),
    (b'{"sender": 42, "message": "hi"}', JSON, 400, "sender"),
    (b'{"sender": "x"}', JSON, 400, "message"),
    (b'{"sender": "x", "message": ""}', JSON, 400, "empty"),
    (b'{"sender": "x", "message": " \\n\\t "}', JSON, 400, "empty"),
    (b'{"sender": "x", "message": ["hi"]}', JSON, 400, "string"),
    (b'{"sender": "x", "message": "hi\\u0000there"}', JSON, 400, "control"),
    (b'{"sender": "x", "message": "bell\\u0007"}', JSON, 400, "control"),
    (b'{"sender": "a\\u0000b", "message": "hi"}', JSON, 400, "control"),
    (json.dumps({"sender": "s" * 256, "message": "hi"}).encode(), JSON, 400, "255"),
    (json.dumps({"sender": "x", "message": "x" * 100_000}).encode(), JSON, 413, "longer"),
    (b'{"sender": "x", "message": "hi", "metadata": [1]}', JSON, 400, "metadata"),
    (b'{"sender": "x", "message": "hi", "input_channel": "facebook"}', JSON, 400, "input_channel"),
    (b'{"sender": "x", "message": "hi", "input_channel": 7}', JSON, 400, "input_channel"),
    (
        json.dumps({"sender": "x", "message": "hi", "metadata": {"k": "v" * 20_000}}).encode(),
        JSON,
        413,
        "metadata",
    ),
]


REFUSED_IDS = [f"{status}-{reason}-{n}" for n, (_, _, status, reason) in enumerate(REFUSED)]


ACCEPTED = [
    ("paths", "../../etc/passwd where is my order?"),
    ("sql", "x'; DROP TABLE events; -- refund please"),
    ("escapes", "%2e%2e%2f?# hello"),
    ("kunde-42", "我的订单在哪里"),
    ("rtl-user", "أين طلبي؟ \u202eevil"),
    ("emoji", "📦📦📦 👩‍👩‍👧 ???"),
    ("markup", "<script>alert(1)</script>{{ 7*7 }}"),
    ("tabs", "line one\nline two\ttabbed\r\n"),
    ("long", "where is my order " * 550),  # 9,900 characters: under the limit
]


# Conversation ids the review app could not show safely or Rasa's HTTP API could not address
# (bot/channels/sender_ids.py): refused before anything is stored, with the reason.
REFUSED_SENDERS = [
    "../../etc/passwd",
    "x'; DROP TABLE events; --",
    "%2e%2e%2f?#",
    "客户-42",
    "a\u202eb",
    "line\r\nforged",
    "tab\there",
    "zero\u200bwidth",
    "..",
]
