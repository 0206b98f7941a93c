"""Starts the action server and the Rasa server as child processes, and stops them."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.project import PROJECT_ROOT, rasa_command


def start_action_server(port: int, project_dir: Path = PROJECT_ROOT) -> subprocess.Popen:
    return subprocess.Popen(
        rasa_command("run", "actions", "--port", str(port), "--actions", "actions"),
        cwd=project_dir,
    )


def endpoints_for_action_port(port: int, project_dir: Path = PROJECT_ROOT) -> Path:
    """endpoints.yml as it is, but pointing at an action server on `port`.

    Written under .rasa/ so that `endpoints.yml` itself stays the developers' file.
    """
    import yaml

    endpoints = yaml.safe_load((project_dir / "endpoints.yml").read_text()) or {}
    endpoints["action_endpoint"] = {"url": f"http://localhost:{port}/webhook"}
    path = project_dir / ".rasa" / f"endpoints-actions-{port}.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False))
    return path


def start_rasa_server(
    port: int,
    model: Path,
    endpoints: Path,
    project_dir: Path = PROJECT_ROOT,
    extra_args: tuple[str, ...] = (),
) -> subprocess.Popen:
    """`rasa run` with the REST channel (credentials.yml) and the HTTP API enabled."""
    return subprocess.Popen(
        rasa_command(
            "run",
            "--model",
            str(model),
            "--port",
            str(port),
            "--enable-api",
            "--cors",
            "*",
            "--credentials",
            "credentials.yml",
            "--endpoints",
            str(endpoints),
            *extra_args,
        ),
        cwd=project_dir,
    )


def start_review_app(
    port: int, rasa_url: str, project_dir: Path = PROJECT_ROOT
) -> subprocess.Popen:
    """The support-staff review app, told where the Rasa server is (to release handoffs)."""
    import os
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "review-app", "--port", str(port)],
        cwd=project_dir,
        env={**os.environ, "SHOPDESK_RASA_URL": rasa_url},
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
