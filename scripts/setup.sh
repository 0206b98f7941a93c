#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs shopdesk at the exact versions we test with
# (constraints.txt). Safe to run again: it reinstalls only when pyproject.toml or
# constraints.txt changed. Usage: scripts/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--test" ] && extras="[test]"

python_is_310() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; }

find_python() {
    # Rasa 3.6 runs on Python 3.8-3.10 only; we test with 3.10.
    local candidate
    for candidate in "${SHOPDESK_PYTHON:-}" python3.10 \
        "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /root/.pyenv/versions/3.10*/bin/python3.10 \
        /usr/local/bin/python3.10 /usr/bin/python3.10; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 && python_is_310 "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    if command -v pyenv >/dev/null 2>&1; then
        for version in $(pyenv versions --bare 2>/dev/null | grep '^3\.10'); do
            candidate=$(PYENV_VERSION=$version pyenv which python3.10 2>/dev/null) || continue
            python_is_310 "$candidate" && { echo "$candidate"; return 0; }
        done
    fi
    return 1
}

if [ ! -x .venv/bin/python ] || ! python_is_310 .venv/bin/python; then
    python=$(find_python) || {
        echo "shopdesk needs Python 3.10 (Rasa 3.6 supports 3.8-3.10). Install it (e.g." >&2
        echo "'pyenv install 3.10.13') or point SHOPDESK_PYTHON at a python3.10 binary." >&2
        exit 1
    }
    echo "==> Creating .venv with $python"
    rm -rf .venv
    "$python" -m venv .venv
fi

stamp=".venv/.shopdesk-installed"
wanted="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1) $extras"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "==> Installing shopdesk$extras and its pinned dependencies (first time: several minutes)"
    .venv/bin/python -m pip install --quiet --upgrade "pip==26.3"
    .venv/bin/python -m pip install --quiet --constraint constraints.txt --editable ".$extras"
    echo "$wanted" > "$stamp"
fi

# The web chat widget's socket.io client, from the npm registry (never a CDN at run time).
widget_stamp="bot/channels/webchat/node_modules/.shopdesk-installed"
widget_wanted="$(sha256sum bot/channels/webchat/package-lock.json | cut -d' ' -f1)"
if [ "$(cat "$widget_stamp" 2>/dev/null)" != "$widget_wanted" ]; then
    command -v npm >/dev/null 2>&1 || {
        echo "The web chat needs npm (Node.js) to install its socket.io client:" >&2
        echo "install Node.js 18 or later (e.g. 'apt-get install nodejs npm')." >&2
        exit 1
    }
    echo "==> Installing the web chat's socket.io client (npm ci)"
    npm ci --prefix bot/channels/webchat --no-audit --no-fund --loglevel=error
    echo "$widget_wanted" > "$widget_stamp"
fi

# The demo store's sample orders, unless a real orders database is configured.
if [ -z "${SHOPDESK_ORDERS_DB_URL:-}" ]; then
    .venv/bin/shopdesk orders init --if-missing
fi
