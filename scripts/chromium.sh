#!/usr/bin/env bash
# Debian's Chromium for the browser tests (test/browser/, driven by playwright-core with executablePath).
# `install`: apt-get install chromium when /usr/bin/chromium is missing (root, Debian), then print its version.
# `version`: print the version, or fail when it is missing. playwright-core never downloads a browser of its own.
set -euo pipefail
BIN=/usr/bin/chromium

case "${1:-version}" in
  install)
    if [ ! -x "$BIN" ]; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      # fonts-dejavu-core: readable screenshots with Cyrillic text; the package alone pulls only a minimal font set.
      apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
    fi
    "$BIN" --version
    ;;
  version)
    "$BIN" --version
    ;;
  *)
    echo "usage: $0 install|version" >&2
    exit 2
    ;;
esac
