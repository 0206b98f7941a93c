"""Production mode: the settings it needs from the environment, and local stores for one machine.

`shopdesk up --production` runs the standard Rasa production stack: PostgreSQL as the tracker
store, Redis as the lock store, several Rasa workers (SANIC_WORKERS), the action server as its
own process behind a shared secret, and the Rasa HTTP API behind a token. Every secret comes
from an environment variable (REQUIRED below); nothing secret is written to a file it reads.
With `--local-services`, PostgreSQL and Redis are this machine's own packages run on loopback
under `.shopdesk/production/`, with passwords generated once into a mode-600 file there (a
stand-in for a secret manager on a single machine).
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.settings import PROJECT_ROOT

ENDPOINTS = PROJECT_ROOT / "deploy" / "endpoints.production.yml"
LOCAL_DIR = PROJECT_ROOT / ".shopdesk" / "production"

# What production refuses to start without, and why each is needed.
REQUIRED = {
    "SHOPDESK_DB_URL": "PostgreSQL for the conversation log, e.g. postgresql://u:p@host/shopdesk",
    "SHOPDESK_REDIS_HOST": "Redis for the lock store (several Rasa workers)",
    "SHOPDESK_REDIS_PASSWORD": "Redis's password (requirepass)",
    "RASA_AUTH_TOKEN": "the token the Rasa HTTP API demands (?token=...)",
    "SHOPDESK_ACTION_SERVER_TOKEN": "the secret the Rasa server sends to the action server",
    "SHOPDESK_METRICS_TOKEN": "the bearer token Prometheus sends to /metrics",
}
DEFAULTS = {"SHOPDESK_REDIS_PORT": "6379", "SHOPDESK_REDIS_DB": "1"}


class ProductionConfigError(RuntimeError):
    pass


def production_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment production runs with: checked, with defaults filled in."""
    environ = dict(os.environ if environ is None else environ)
    missing = [f"  {name}: {why}" for name, why in REQUIRED.items() if not environ.get(name)]
    if missing:
        raise ProductionConfigError(
            "production mode needs these environment variables:\n" + "\n".join(missing)
        )
    if not environ["SHOPDESK_DB_URL"].startswith(("postgresql", "postgres")):
        raise ProductionConfigError(
            "SHOPDESK_DB_URL must be a PostgreSQL URL in production (SQLite serialises every "
            "write and cannot be shared between machines)."
        )
    for name, value in DEFAULTS.items():
        environ.setdefault(name, value)
    return environ


def threads_per_worker(workers: int, cpus: int | None = None) -> int:
    """The CPU cores each Rasa worker's PyTorch may use.

    torch starts as many threads as there are cores in every process; with several workers on
    a small machine their spinning threads fight over the cores, and throughput under load
    fell to a fifth (bench/results/load-production.json).
    """
    return max(1, (cpus or os.cpu_count() or 1) // max(1, workers))


def rasa_worker_environment(
    workers: int, actions_port: int, actions_host: str = "127.0.0.1"
) -> dict[str, str]:
    """What the Rasa server's processes need in production besides the secrets."""
    return {
        "SANIC_WORKERS": str(workers),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS") or str(threads_per_worker(workers)),
        "SHOPDESK_ACTION_SERVER_URL": f"http://{actions_host}:{actions_port}/webhook",
    }


LOCAL_SECRETS = (
    "SHOPDESK_POSTGRES_PASSWORD",
    "SHOPDESK_REDIS_PASSWORD",
    "RASA_AUTH_TOKEN",
    "SHOPDESK_METRICS_TOKEN",
    "SHOPDESK_ACTION_SERVER_TOKEN",
)


def local_secrets(directory: Path = LOCAL_DIR) -> dict[str, str]:
    """Passwords and tokens for the local stack, generated on first use and kept (mode 600);
    a file from before a secret was added gains it."""
    from bot.runtime.access import kept_secrets

    return kept_secrets(directory / "secrets.env", LOCAL_SECRETS)


def start_local_stores(
    directory: Path = LOCAL_DIR, postgres_port: int = 5433, redis_port: int = 6380
) -> tuple[dict[str, str], list]:
    """Start local PostgreSQL and Redis; the variables that point production at them."""
    from bot.runtime.local_services import LocalPostgres, LocalRedis

    values = local_secrets(directory)
    postgres = LocalPostgres(
        directory / "postgres", postgres_port, values["SHOPDESK_POSTGRES_PASSWORD"]
    )
    redis = LocalRedis(directory / "redis", redis_port, values["SHOPDESK_REDIS_PASSWORD"])
    postgres.start()
    try:
        redis.start()
    except Exception:
        postgres.stop()
        raise
    environ = {
        "SHOPDESK_DB_URL": postgres.url,
        "SHOPDESK_REDIS_HOST": "127.0.0.1",
        "SHOPDESK_REDIS_PORT": str(redis_port),
        "SHOPDESK_REDIS_PASSWORD": values["SHOPDESK_REDIS_PASSWORD"],
        "RASA_AUTH_TOKEN": values["RASA_AUTH_TOKEN"],
        "SHOPDESK_METRICS_TOKEN": values["SHOPDESK_METRICS_TOKEN"],
        "SHOPDESK_ACTION_SERVER_TOKEN": values["SHOPDESK_ACTION_SERVER_TOKEN"],
    }
    return environ, [postgres, redis]
