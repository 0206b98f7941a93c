"""Starts the action server and the Rasa server as child processes, and stops them."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.runtime.access import ACTION_TOKEN, LOOPBACK, url_host, webchat_origins
from bot.settings import PROJECT_ROOT


def rasa_server_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.runtime.rasa_server", *args]


def start_action_server(
    port: int, host: str = LOOPBACK, project_dir: Path = PROJECT_ROOT
) -> subprocess.Popen:
    """rasa-sdk's action server with our `/metrics` (bot/runtime/action_server.py); its shared
    secret
    comes from the environment (SHOPDESK_ACTION_SERVER_TOKEN)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot.runtime.action_server", "--port", str(port), "--host", host],
        cwd=project_dir,
    )


# What Rasa sends with every action call: the secret itself stays in the environment, and
# Rasa substitutes it when it reads the file (it refuses to start if the variable is unset).
ACTION_AUTHORIZATION = {"Authorization": f"Bearer ${{{ACTION_TOKEN}}}"}


def endpoints_for_action_port(
    port: int, host: str = LOOPBACK, project_dir: Path = PROJECT_ROOT
) -> Path:
    """endpoints.yml as it is, but pointing at an action server on `port`, with its secret.

    Written under .rasa/ so that `endpoints.yml` itself stays the developers' file.
    """
    import yaml

    endpoints = yaml.safe_load((project_dir / "endpoints.yml").read_text()) or {}
    endpoints["action_endpoint"] = {
        "url": f"http://{url_host(host)}:{port}/webhook",
        "headers": dict(ACTION_AUTHORIZATION),
    }
    path = project_dir / ".rasa" / f"endpoints-actions-{port}.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False))
    return path


# Channels configured from the environment: (credentials key, {field: variable}, optional).
ENVIRONMENT_CHANNELS = (
    (
        "bot.channels.messenger.MessengerInput",
        {
            "verify": "FACEBOOK_VERIFY_TOKEN",
            "secret": "FACEBOOK_APP_SECRET",
            "page-access-token": "FACEBOOK_PAGE_ACCESS_TOKEN",
        },
        {"graph-api-url": "FACEBOOK_GRAPH_API_URL"},
    ),
    (
        "telegram",
        {
            "access_token": "TELEGRAM_ACCESS_TOKEN",
            "verify": "TELEGRAM_BOT_NAME",
            "webhook_url": "TELEGRAM_WEBHOOK_URL",
        },
        {},
    ),
)


def credentials_for_environment(
    port: int, environ: dict[str, str] | None = None, project_dir: Path = PROJECT_ROOT
) -> Path:
    """credentials.yml plus Messenger and Telegram when their variables are set.

    A channel with only some of its variables set is a configuration mistake, said at start.
    """
    import os

    import yaml

    environ = os.environ if environ is None else environ
    credentials = yaml.safe_load((project_dir / "credentials.yml").read_text()) or {}
    for key, required, optional in ENVIRONMENT_CHANNELS:
        present = {field: environ.get(var) for field, var in required.items() if environ.get(var)}
        if not present:
            continue
        missing = [var for field, var in required.items() if field not in present]
        if missing:
            raise RuntimeError(f"{key}: set {', '.join(missing)} too, or none of its variables.")
        present.update({f: environ[v] for f, v in optional.items() if environ.get(v)})
        # Settings written in credentials.yml (e.g. Messenger's `rate_limit`) are kept.
        credentials[key] = {**(credentials.get(key) or {}), **present}
    path = project_dir / ".rasa" / f"credentials-{port}.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(credentials, sort_keys=False))
    path.chmod(0o600)  # it holds secrets
    return path


def start_rasa_server(
    port: int,
    model: Path,
    endpoints: Path,
    cors_origins: list[str] | None = None,
    host: str = LOOPBACK,
    project_dir: Path = PROJECT_ROOT,
    extra_args: tuple[str, ...] = (),
) -> subprocess.Popen:
    """`rasa run` with credentials.yml's channels (and the environment's) and the HTTP API,
    through bot.runtime.rasa_server (checks before start, an apology when the action server fails).

    The API's token is not on the command line, which every user of the machine can read:
    bot.runtime.rasa_server takes it from RASA_AUTH_TOKEN in the environment. CORS: `cors_origins`,
    by default the web chat's (SHOPDESK_WEBCHAT_ORIGINS, else its page on port 5020).
    """
    cors_origins = cors_origins or webchat_origins(None, 5020)
    return subprocess.Popen(
        rasa_server_command(
            "run",
            "--model",
            str(model),
            "--interface",
            host,
            "--port",
            str(port),
            "--enable-api",
            "--cors",
            *cors_origins,
            "--credentials",
            str(credentials_for_environment(port, project_dir=project_dir)),
            "--endpoints",
            str(endpoints),
            *extra_args,
        ),
        cwd=project_dir,
    )


def start_review_app(
    port: int, rasa_url: str, host: str = LOOPBACK, project_dir: Path = PROJECT_ROOT
) -> subprocess.Popen:
    """The support-staff review app, told where the Rasa server is (to release handoffs);
    it finds the API's token in the environment (SHOPDESK_RASA_TOKEN or RASA_AUTH_TOKEN)."""
    import os

    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "review-app", "--port", str(port), "--host", host],
        cwd=project_dir,
        env={**os.environ, "SHOPDESK_RASA_URL": rasa_url},
    )


def start_webchat(
    port: int, socket_url: str, host: str = LOOPBACK, project_dir: Path = PROJECT_ROOT
) -> subprocess.Popen:
    """The web chat widget's files and demo page, pointing at the Rasa server's socket.io."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "webchat",
            "--port",
            str(port),
            "--host",
            host,
            "--socket-url",
            socket_url,
        ],
        cwd=project_dir,
    )


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 300.0) -> None:
    """Poll `url` until it answers 200; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{' '.join(process.args)} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1.0)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def stop(processes: list[subprocess.Popen], grace: float = 15.0) -> None:
    """Terminate children politely, then kill whatever is still running."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Service:
    """One of shopdesk's server processes, as `shopdesk up` starts and restarts it."""

    name: str
    start: Callable[[], subprocess.Popen]
    health_url: str
    process: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)


# A service that dies more often than this is broken, not unlucky: stop everything.
RESTARTS_ALLOWED, RESTART_WINDOW_S = 5, 300.0


def start_all(services: list[Service]) -> None:
    """Start the services in order, each healthy before the next (they depend on each other)."""
    for service in services:
        service.process = service.start()
        wait_until_healthy(service.health_url, service.process)


def supervise(services: list[Service], poll_s: float = 1.0) -> str:
    """Restart services that exit, until one exits too often; returns that one's name."""
    while True:
        for service in services:
            if service.process is None or service.process.poll() is None:
                continue
            now = time.monotonic()
            service.restarts = [t for t in service.restarts if now - t < RESTART_WINDOW_S]
            if len(service.restarts) >= RESTARTS_ALLOWED:
                return service.name
            service.restarts.append(now)
            print(
                f"shopdesk: the {service.name} exited with code {service.process.returncode}; "
                "restarting it.",
                file=sys.stderr,
                flush=True,
            )
            service.process = service.start()
        time.sleep(poll_s)
