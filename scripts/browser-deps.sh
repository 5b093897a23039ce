#!/usr/bin/env bash
# Installs Debian's Chromium and chromedriver for the browser suite, unless
# both are already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
echo "Installing chromium and chromium-driver (Debian packages) for the browser tests..." >&2
sudo_if_needed=()
[[ $(id -u) -ne 0 ]] && sudo_if_needed=(sudo)
"${sudo_if_needed[@]}" apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive "${sudo_if_needed[@]}" apt-get install -y -qq chromium chromium-driver >&2
