#!/usr/bin/env bash
# One command to run every check: lint, Rasa data validation, training, `rasa test`
# (core fails on any prediction error) and pytest (unit tests and the live-bot test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export RASA_TELEMETRY_ENABLED=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# Dependencies (TensorFlow, SQLAlchemy 1.4, pkg_resources) flood the output with deprecation
# warnings that are not ours to fix; Rasa's own warnings still show.
export PYTHONWARNINGS="ignore::DeprecationWarning,ignore::FutureWarning" SQLALCHEMY_SILENCE_UBER_WARNING=1
export PATH="$PWD/.venv/bin:$PATH"

# The review app's browser test drives Debian's chromium with Playwright (from the test extra);
# CI starts on a fresh machine, so install it here, early, rather than fail after training.
echo "==> chromium (for the review app's browser test)"
if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    else
        echo "scripts/test.sh: chromium is missing and installing it needs root." >&2
        echo "Run 'sudo apt-get install chromium' (Debian's package), then run this again." >&2
        exit 1
    fi
fi

echo "==> ruff"
ruff check bot actions tests bench
echo "==> rasa data validate"
rasa data validate --quiet
echo "==> training (skipped when the model is up to date)"
shopdesk train
echo "==> rasa test (end-to-end test stories and held-out NLU data)"
rasa test --model models --stories tests/test_stories.yml --nlu tests/nlu_heldout.yml \
    --fail-on-prediction-errors --out results --quiet
echo "==> pytest"
python -m pytest "$@"
