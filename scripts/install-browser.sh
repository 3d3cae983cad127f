#!/usr/bin/env bash
# Install Debian's Chromium for the dashboard's Playwright tests (tests/integration/test_dashboard.py).
# Playwright's own browser download is not used: the tests launch /usr/bin/chromium directly.
# Does nothing when Chromium is already there; needs root (or sudo) otherwise.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-browser.sh: $CHROMIUM is missing and this is not root; the dashboard tests will be skipped" >&2
    exit 0
fi
echo "installing chromium (apt-get) for the dashboard tests"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq chromium >/dev/null
