"""Talking to servers in tests: Sanic apps in-process or on a loopback port, free ports, and
a JSON request that returns the status and body whatever the status."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request


def serve_in_tests(app):
    """sanic-testing's client on `app`, waiting up to 60 s for an answer (httpx's default of
    5 s is too short for a first chart drawing on a busy 2-core CI machine)."""
    from sanic_testing import TestManager
    from sanic_testing.testing import SanicTestClient

    class PatientClient(SanicTestClient):
        def get_new_session(self, **kwargs):
            kwargs.setdefault("timeout", 60)
            return super().get_new_session(**kwargs)

    TestManager(app).test_client = PatientClient(app)  # what `app.test_client` returns
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(
    url: str,
    payload: object | None = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, object]:
    data = (
        raw if raw is not None else (json.dumps(payload).encode() if payload is not None else None)
    )
    req = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


class ServedInThread:
    """A Sanic app on a real loopback port, served from a thread of this process, so that a
    test can hold the app's blocking calls (monkeypatched) while it sends other requests.
    Use a fresh app: one served by sanic-testing's client replays its last request on start."""

    def __init__(self, app) -> None:
        import threading

        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.started = threading.Event()
        self.loop = None
        app.after_server_start(self._started)
        self.thread = threading.Thread(
            target=app.run,
            kwargs={
                "host": "127.0.0.1",
                "port": self.port,
                "access_log": False,
                "debug": False,
                "auto_reload": False,
                "register_sys_signals": False,  # not the main thread
            },
            daemon=True,
        )

    async def _started(self, _app, loop) -> None:
        self.loop = loop
        self.started.set()

    def __enter__(self) -> ServedInThread:
        self.thread.start()
        assert self.started.wait(60), "the app did not start"
        return self

    def __exit__(self, *_exc) -> None:
        self.loop.call_soon_threadsafe(self.app.stop)
        self.thread.join(60)
