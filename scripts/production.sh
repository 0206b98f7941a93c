#!/usr/bin/env bash
# Production mode on one machine: this machine's PostgreSQL and Redis (Debian packages,
# installed when missing) on loopback under .shopdesk/production/, two Rasa workers on the
# Redis lock store, the action server, the review app and the web chat; the Rasa HTTP API and
# /metrics need their tokens. Secrets are generated once into .shopdesk/production/secrets.env
# (mode 600). With your own PostgreSQL and Redis, run instead (see the README, "Production"):
#   SHOPDESK_DB_URL=... SHOPDESK_REDIS_HOST=... ... .venv/bin/shopdesk up --production
# Usage: scripts/production.sh [--workers N] [--port 5005] ...   Ctrl+C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null \
    || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing ${missing[*]} (Debian packages)"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
export RASA_TELEMETRY_ENABLED=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export PYTHONWARNINGS="ignore::DeprecationWarning,ignore::FutureWarning" SQLALCHEMY_SILENCE_UBER_WARNING=1
exec .venv/bin/shopdesk up --production --local-services "$@"
