"""The running demo bot as the end-to-end tests see it, and a stand-in for Meta's Graph API."""

from __future__ import annotations

import json
import os

from tests.helpers.http import request


class Bot:
    """The running bot: its Rasa server, and the action server, review app and web chat
    beside it; `token` is the Rasa HTTP API's (development's, from .shopdesk/secrets.env)."""

    def __init__(self, ports: dict[str, int], token: str) -> None:
        self.ports = ports
        self.base = f"http://localhost:{ports['rasa']}"
        self.actions = f"http://localhost:{ports['actions']}"
        self.review = f"http://localhost:{ports['review']}"
        self.webchat = f"http://localhost:{ports['webchat']}"
        self.token = token

    def api(self, path: str) -> str:
        """An HTTP API URL with the token."""
        return f"{self.base}{path}{'&' if '?' in path else '?'}token={self.token}"

    def parse(self, text: str) -> dict:
        status, body = request(self.api("/model/parse"), {"text": text})
        assert status == 200, body
        return body

    def replies(self, sender: str, message: str) -> list[dict]:
        status, body = request(
            f"{self.base}/webhooks/rest/webhook", {"sender": sender, "message": message}
        )
        assert status == 200, body
        return body

    def say(self, sender: str, message: str) -> list[str]:
        return [reply.get("text", "") for reply in self.replies(sender, message)]

    def tracker(self, sender: str) -> dict:
        status, body = request(self.api(f"/conversations/{sender}/tracker"))
        assert status == 200, body
        return body

    def sources(self, sender: str) -> list[dict]:
        """Why each bot message was said (answer_source metadata, from the action server)."""
        return [
            event["metadata"]["answer_source"]
            for event in self.tracker(sender)["events"]
            if event["event"] == "bot" and "answer_source" in (event.get("metadata") or {})
        ]


class FakeGraphApi:
    """Stands in for Meta's Graph API on loopback and keeps what the bot sent to it."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from threading import Thread

        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append((self.path, json.loads(body or b"null")))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"recipient_id": "1", "message_id": "m"}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v19.0"
        Thread(target=self.server.serve_forever, daemon=True).start()


def served_model_arguments() -> list[str]:
    """`--model PATH` when SHOPDESK_TEST_MODEL names an archive: the live tests then serve it
    instead of training on the full data (e.g. a small model on a small machine)."""
    model = os.environ.get("SHOPDESK_TEST_MODEL")
    return ["--model", model] if model else []


def messenger_settings(graph_api: FakeGraphApi) -> dict[str, str]:
    """The Messenger channel's environment for a test bot, its Graph API being `graph_api`."""
    from tests.helpers.project import MESSENGER_APP_SECRET

    return {
        "FACEBOOK_VERIFY_TOKEN": "larkspur-verify",
        "FACEBOOK_APP_SECRET": MESSENGER_APP_SECRET,
        "FACEBOOK_PAGE_ACCESS_TOKEN": "test-page-token",
        "FACEBOOK_GRAPH_API_URL": graph_api.url,
    }
