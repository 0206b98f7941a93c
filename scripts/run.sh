#!/usr/bin/env bash
# One command to chat with the bot: sets up, trains when needed, starts the action server
# and the Rasa server (REST channel + HTTP API). Ctrl+C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export RASA_TELEMETRY_ENABLED=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/shopdesk up "$@"
