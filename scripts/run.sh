#!/usr/bin/env bash
# One command to chat with the bot: sets up, trains when needed, starts the action server
# and the Rasa server (REST channel + HTTP API). Ctrl+C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export RASA_TELEMETRY_ENABLED=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# Dependencies (TensorFlow, SQLAlchemy 1.4, pkg_resources) flood the output with deprecation
# warnings that are not ours to fix; Rasa's own warnings still show.
export PYTHONWARNINGS="ignore::DeprecationWarning,ignore::FutureWarning" SQLALCHEMY_SILENCE_UBER_WARNING=1
exec .venv/bin/shopdesk up "$@"
