#!/usr/bin/env bash
# The browser tests of `translate serve` drive Debian's Chromium (Playwright never downloads its
# own browser here). Install it with apt-get when it is absent; a no-op when it is there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure_chromium: chromium is missing and installing it needs root: sudo apt-get install chromium" >&2
  exit 1
fi
echo "ensure_chromium: installing Debian's chromium (browser tests of translate serve)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
command -v chromium >/dev/null
