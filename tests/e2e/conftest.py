"""The real bot: `shopdesk up` on free ports with its own databases, started once for the whole
session and shared by every end-to-end test (a test that changes its data cleans up after it)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.helpers.http import free_port
from tests.helpers.live_bot import Bot, FakeGraphApi, messenger_settings, served_model_arguments
from tests.helpers.project import (
    ORDER_TOKEN_TEST_SECRET,
    PROJECT_ROOT,
    TRUSTED_TEST_PROXY,
)


@pytest.fixture(scope="session")
def fake_graph_api() -> Iterator[FakeGraphApi]:
    api = FakeGraphApi()
    yield api
    api.server.shutdown()


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> dict[str, str]:
    from bot.answers.orders import create_sample_orders

    folder = tmp_path_factory.mktemp("live-dbs")
    urls = {
        "SHOPDESK_ORDERS_DB_URL": f"sqlite:///{folder / 'orders.db'}",
        "SHOPDESK_DB_URL": f"sqlite:///{folder / 'shopdesk.db'}",
    }
    create_sample_orders(urls["SHOPDESK_ORDERS_DB_URL"])
    return urls


# Package scope: stopped when the last end-to-end test is done, not at the end of the session.
@pytest.fixture(scope="package")
def bot(databases, fake_graph_api) -> Iterator[Bot]:
    from bot.runtime.access import RASA_TOKEN, read_secret

    ports = {name: free_port() for name in ("rasa", "actions", "review", "webchat")}
    messenger = messenger_settings(fake_graph_api)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "up",
            "--port",
            str(ports["rasa"]),
            "--actions-port",
            str(ports["actions"]),
            "--review-port",
            str(ports["review"]),
            "--webchat-port",
            str(ports["webchat"]),
            *served_model_arguments(),
        ],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "RASA_TELEMETRY_ENABLED": "false",
            **databases,
            **messenger,
            "SHOPDESK_TRUSTED_PROXIES": TRUSTED_TEST_PROXY,
            "SHOPDESK_ORDER_TOKEN_SECRET": ORDER_TOKEN_TEST_SECRET,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + 1500  # training from scratch takes minutes on 2 cores
    for line in process.stdout:
        lines.append(line)
        if "shopdesk is running." in line:
            break
        if time.monotonic() > deadline:
            break
    assert "shopdesk is running." in "".join(lines), "".join(lines[-50:])
    # Keep draining output so the child never blocks on a full pipe.
    drain = subprocess.Popen(["cat"], stdin=process.stdout, stdout=subprocess.DEVNULL)
    try:
        yield Bot(ports, read_secret(RASA_TOKEN))  # what `shopdesk up` used
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        drain.wait(timeout=10)
        for used in ports.values():  # every server is gone
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", used)) != 0
