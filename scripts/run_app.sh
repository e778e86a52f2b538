#!/usr/bin/env bash
# Seed the demo data (idempotent), start the background worker, serve the app.
# Ctrl-C, a TERM signal or the app stopping also stops the worker.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
"$BIN/python" -m core demo
"$BIN/python" -m core worker &
WORKER=$!
"$BIN/streamlit" run app.py &
APP=$!
# bash runs traps only between commands; `wait` can be interrupted, a foreground job cannot
trap 'kill "$APP" "$WORKER" 2>/dev/null || true; wait 2>/dev/null || true' EXIT INT TERM
wait "$APP"
