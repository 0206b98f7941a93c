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
