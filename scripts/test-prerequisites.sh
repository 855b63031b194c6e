#!/usr/bin/env bash
# `npm test` runs this first (npm's pretest): the system tools the tests drive, installed from Debian's
# packages when missing and this user may (root, or sudo without a password); otherwise it names the
# one command to run and stops.
#   chromium    the dashboard's browser test (test/dashboard.e2e-spec.ts, through playwright-core)
#   bubblewrap  every agent runs in a bwrap sandbox (test/sandbox.e2e-spec.ts and every agent e2e)
#   git         worktrees and checkpoints of sessions (libs/sessions/src/git and their e2e)
set -euo pipefail

declare -A needs=([chromium]=chromium [bwrap]=bubblewrap [git]=git)
missing=()
# A tool counts when it runs, not when a file of its name is there (a broken or masked one is missing).
for tool in "${!needs[@]}"; do
  "$tool" --version >/dev/null 2>&1 || missing+=("${needs[$tool]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

install="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need: ${missing[*]} (Debian package names). Install them with your package manager, then run npm test again." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo)
else
  echo "The tests need Debian packages that are not installed: ${missing[*]}. Run, as root:" >&2
  echo "  $install" >&2
  echo "then npm test again." >&2
  exit 1
fi
echo "Installing what the tests need: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
for tool in "${!needs[@]}"; do
  if ! "$tool" --version >/dev/null 2>&1; then
    echo "$tool still does not run after installing ${needs[$tool]}: repair it (apt-get install --reinstall ${needs[$tool]}), then npm test again." >&2
    exit 1
  fi
done
