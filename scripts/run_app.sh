#!/usr/bin/env bash
# Seed the demo data (idempotent), start the background worker, serve the app.
# Ctrl-C (or the app stopping) stops the worker too.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
"$BIN/python" -m core demo
"$BIN/python" -m core worker &
WORKER=$!
trap 'kill "$WORKER" 2>/dev/null; wait "$WORKER" 2>/dev/null' EXIT INT TERM
"$BIN/streamlit" run app.py --server.headless true --browser.gatherUsageStats false
