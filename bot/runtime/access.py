"""Who may reach shopdesk's servers, and with what.

- Every server binds loopback (`LOOPBACK`) unless told otherwise (`shopdesk up --host`).
- The Rasa HTTP API always has a token (`RASA_TOKEN`), and Rasa's calls to the action server
  carry a shared secret (`ACTION_TOKEN`). Production takes both from the environment; in
  development they are generated once into `.shopdesk/secrets.env` (mode 600), so a
  developer's machine on a shared network is not an open door. The environment wins in both.
- Rasa's CORS allows only the web chat's origins (`WEBCHAT_ORIGINS`; by default the page
  `shopdesk up` serves), never `*`: a page elsewhere cannot read the API's answers.
"""

from __future__ import annotations

import fcntl
import hmac
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from bot.settings import PROJECT_ROOT

LOOPBACK = "127.0.0.1"
WILDCARD_HOSTS = ("", "0.0.0.0", "::")
SECRETS_FILE = PROJECT_ROOT / ".shopdesk" / "secrets.env"
RASA_TOKEN = "RASA_AUTH_TOKEN"
ACTION_TOKEN = "SHOPDESK_ACTION_SERVER_TOKEN"
WEBCHAT_ORIGINS = "SHOPDESK_WEBCHAT_ORIGINS"
DEVELOPMENT_SECRETS = (RASA_TOKEN, ACTION_TOKEN)
# sanic-cors reads an origin with one of these as a regular expression matched at the start
# (`http://shop.example` would then also allow `http://shop.example.evil.test`).
REGEX_CHARACTERS = "*\\?[]"


class AccessConfigError(ValueError):
    """A host or origin setting that would open more than it says."""


def read_env_file(path: Path) -> dict[str, str]:
    """NAME=value lines, as `secrets.env` files hold them."""
    if not path.is_file():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def kept_secrets(path: Path, names: Iterable[str]) -> dict[str, str]:
    """The secrets in `path`, with any of `names` it lacks generated and added (mode 600).

    Locked, so that processes starting at once agree on one value; a file from an older
    version gains the new names and keeps its old values.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        values = read_env_file(path)
        missing = [name for name in names if not values.get(name)]
        if missing:
            values.update({name: secrets.token_urlsafe(32) for name in missing})
            fresh = path.with_name(path.name + ".new")
            handle = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write("".join(f"{name}={value}\n" for name, value in values.items()))
            os.chmod(fresh, 0o600)  # a leftover of a crash may have had other bits
            os.replace(fresh, path)
        os.chmod(path, 0o600)  # a copied or hand-made file may be readable by others
    finally:
        os.close(folder)  # releases the lock
    return values


def development_secrets(path: Path = SECRETS_FILE) -> dict[str, str]:
    """The API token and the action server's secret: the environment's (production), else
    development's, generated into `path` the first time."""
    given = {name: os.environ.get(name) or "" for name in DEVELOPMENT_SECRETS}
    if all(given.values()):
        return given
    kept = kept_secrets(path, DEVELOPMENT_SECRETS)
    return {name: given[name] or kept[name] for name in DEVELOPMENT_SECRETS}


def read_secret(
    name: str, environ: Mapping[str, str] | None = None, path: Path = SECRETS_FILE
) -> str | None:
    """`name` from the environment, else from development's secrets file; never creates it."""
    environ = os.environ if environ is None else environ
    return environ.get(name) or read_env_file(path).get(name) or None


def secret_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison: the time taken says nothing about how much was right."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def url_host(host: str) -> str:
    """How this machine's own clients reach a server bound to `host`."""
    if host in WILDCARD_HOSTS:
        return LOOPBACK
    return f"[{host}]" if ":" in host else host


def is_loopback_host(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def check_origin(origin: str) -> str:
    """`scheme://host[:port]`, exactly; anything a browser would never send is refused."""
    origin = origin.strip().rstrip("/")
    parts = urlsplit(origin)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.path
        or parts.query
        or parts.fragment
        or any(character in origin for character in REGEX_CHARACTERS)
    ):
        raise AccessConfigError(
            f"web chat origin {origin!r} must be scheme://host[:port], e.g. "
            "https://shop.example, with no path and no wildcard"
        )
    return origin


def webchat_origins(
    configured: str | Iterable[str] | None, webchat_port: int, host: str = LOOPBACK
) -> list[str]:
    """The origins Rasa's CORS allows: those configured (`--webchat-origin`, else
    SHOPDESK_WEBCHAT_ORIGINS, comma- or space-separated), else the page `shopdesk up` serves."""
    if configured is None:
        configured = os.environ.get(WEBCHAT_ORIGINS) or None
    if isinstance(configured, str):
        configured = configured.replace(",", " ").split()
    if configured:
        return list(dict.fromkeys(check_origin(origin) for origin in configured))
    origins = [f"http://localhost:{webchat_port}", f"http://{LOOPBACK}:{webchat_port}"]
    # An IPv6 literal would read as a regular expression (its brackets): name it by host name.
    if host not in WILDCARD_HOSTS and not is_loopback_host(host) and ":" not in host:
        origins.append(check_origin(f"http://{host}:{webchat_port}"))
    return origins
