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

# Debian packages the tests need, installed here on a fresh machine (CI) rather than failing
# after training: chromium for the browser tests (Playwright drives it), PostgreSQL and Redis
# for the production-mode tests (started on loopback in a temporary folder, never as services).
missing=()
command -v chromium >/dev/null || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null \
    || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing ${missing[*]} (Debian packages)"
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
        echo "scripts/test.sh: ${missing[*]} missing and installing needs root." >&2
        echo "Run 'sudo apt-get install ${missing[*]}' (Debian's packages), then run this again." >&2
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
# --stories takes one path: the folder's story files are tests/test_stories.yml,
# tests/test_conversations_recover.yml and tests/test_order_state_stories.yml (its NLU files are
# not stories and are left out).
rasa test --model models --stories tests --nlu tests/nlu_heldout.yml \
    --fail-on-prediction-errors --out results --quiet
echo "==> NLU robustness and off-topic sets (reported, never a CI failure: results/unseen)"
# One run over both files: `rasa test nlu` skips intent evaluation for a file with one intent.
rm -rf results/unseen-data && mkdir -p results/unseen-data
cp tests/nlu_robustness.yml tests/offtopic_heldout.yml results/unseen-data/
rasa test nlu --model models --nlu results/unseen-data --out results/unseen --quiet >/dev/null 2>&1 \
    || echo "   (rasa test nlu on the robustness and off-topic sets failed; see results/unseen)"
python scripts/nlu_report.py results
echo "==> pytest"
python -m pytest "$@"
