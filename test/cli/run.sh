#!/usr/bin/env bash
# npm run test:cli — the real Codex, Claude Code and Gemini CLIs against local Keyfleet and local fakes.
# The CLIs (exact versions, not project dependencies) are installed into .cache/cli from the npm
# registry; then the whole suite runs inside a new network namespace that has nothing but loopback,
# so no attempt of theirs can leave the machine. Needs root (or user namespaces) for unshare.
set -euo pipefail
cd "$(dirname "$0")/../.."

CLI_DIR=.cache/cli
VERSIONS=("@openai/codex@0.169.0" "@anthropic-ai/claude-code@2.1.330" "@google/gemini-cli@0.61.0")
marker="$CLI_DIR/.installed-$(printf '%s ' "${VERSIONS[@]}" | sha256sum | cut -c1-16)"
if [ ! -f "$marker" ]; then
  rm -rf "$CLI_DIR" && mkdir -p "$CLI_DIR"
  echo '{"name":"keyfleet-cli-fixtures","private":true}' > "$CLI_DIR/package.json"
  echo "installing ${VERSIONS[*]} into $CLI_DIR"
  if ! (cd "$CLI_DIR" && npm install --no-save --no-audit --no-fund --loglevel=warn "${VERSIONS[@]}" > install.log 2>&1); then
    cat "$CLI_DIR/install.log" >&2
    exit 1
  fi
  touch "$marker"
fi

if ! unshare --net -- true 2>/dev/null; then
  echo "test:cli needs to create a network namespace (unshare --net); run as root" >&2
  exit 1
fi
exec unshare --net -- bash -c 'ip link set lo up && exec npx vitest run --config vitest.cli.config.ts "$@"' bash "$@"
