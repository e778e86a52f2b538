#!/usr/bin/env bash
# Seed the demo data (idempotent), then serve the app. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
"$BIN/python" -m core demo
exec "$BIN/streamlit" run app.py --server.headless true --browser.gatherUsageStats false
