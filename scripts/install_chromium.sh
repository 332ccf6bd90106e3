#!/usr/bin/env bash
# Install Debian's chromium for the headless UI test (tests/ui), only when it is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/apt_install.sh"
if [[ -x /usr/bin/chromium ]]; then
  echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
apt_setup chromium
$SUDO apt-get update
$SUDO apt-get install -y chromium
/usr/bin/chromium --version
