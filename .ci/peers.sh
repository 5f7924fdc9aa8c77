#!/usr/bin/env bash
# Install the real MCP peers the integration tests drive, into .cache/ of this checkout (git-ignored):
#   .cache/venv/                Python venv with the official `mcp` SDK (tests/peers/sdk_client.py)
#   .cache/npm/node_modules/    @modelcontextprotocol/server-everything and server-filesystem
# Pins (every transitive dependency too) live in .ci/peers/: requirements.txt (mcp==2.3.0 and its dependencies),
# package.json + package-lock.json (server-everything@2026.8.31, server-filesystem@2026.8.31), installed with
# `npm ci`. To bump the servers: edit package.json, then
#   npm install --prefix .ci/peers --package-lock-only --no-audit --no-fund && rm -rf .ci/peers/node_modules
# Idempotent: a stamp keyed on the pin files (and the interpreter versions) skips the work when installed.
# Quiet on success; on failure the installer's output is printed and the exit code is non-zero.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PINS=$ROOT/.ci/peers
CACHE=${THOTH_TEST_CACHE:-$ROOT/.cache}
PYTHON=${PYTHON:-python3}

mkdir -p "$CACHE"
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

# Run a step with its output captured; show it all (and fail) only when the step fails.
step() {
  local what=$1; shift
  if ! "$@" >"$LOG" 2>&1; then
    echo "peers.sh: $what failed: $*" >&2
    cat "$LOG" >&2
    exit 1
  fi
}

# --- Python: venv + mcp SDK ---
py_key="python $("$PYTHON" -c 'import sys; print(sys.version.split()[0])') $(sha256sum <"$PINS/requirements.txt")"
py_stamp="$CACHE/venv/.thoth-peers-stamp"
if [ ! -x "$CACHE/venv/bin/python" ] || [ "$(cat "$py_stamp" 2>/dev/null)" != "$py_key" ]; then
  rm -rf "$CACHE/venv"
  step "python venv" "$PYTHON" -m venv "$CACHE/venv"
  step "pip install" "$CACHE/venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
    -r "$PINS/requirements.txt"
  step "mcp import check" "$CACHE/venv/bin/python" -c 'import mcp, mcp.client.stdio, anyio'
  printf '%s' "$py_key" >"$py_stamp"
fi

# --- npm: server-everything + server-filesystem ---
npm_key="node $(node --version) $(cat "$PINS/package.json" "$PINS/package-lock.json" | sha256sum)"
npm_stamp="$CACHE/npm/.thoth-peers-stamp"
if [ ! -x "$CACHE/npm/node_modules/.bin/mcp-server-everything" ] \
  || [ ! -x "$CACHE/npm/node_modules/.bin/mcp-server-filesystem" ] \
  || [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_key" ]; then
  rm -rf "$CACHE/npm"
  mkdir -p "$CACHE/npm"
  cp "$PINS/package.json" "$PINS/package-lock.json" "$CACHE/npm/"
  step "npm ci" npm ci --prefix "$CACHE/npm" --no-audit --no-fund --loglevel=error
  for b in mcp-server-everything mcp-server-filesystem; do
    [ -x "$CACHE/npm/node_modules/.bin/$b" ] || { echo "peers.sh: npm installed no $b" >&2; exit 1; }
  done
  printf '%s' "$npm_key" >"$npm_stamp"
fi
