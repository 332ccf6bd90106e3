#!/usr/bin/env bash
# Install Debian's postgresql and redis-server for the deployment tier (tests/deployment), only when missing.
# The tests start their own throwaway servers from these binaries (tests/fixtures/services.py) on free ports;
# no system service is started here: while installing, a policy-rc.d denies service starts, and a service
# that a package started anyway is stopped again, so nothing listens on 5432/6379 because of this script.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/apt_install.sh"
have_postgres() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; }
have_redis() { command -v redis-server >/dev/null; }

packages=()
have_postgres || packages+=(postgresql)
have_redis || packages+=(redis-server)
if [[ ${#packages[@]} -eq 0 ]]; then
  echo "postgresql present: $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/postgres"
  echo "redis-server present: $(redis-server --version | cut -d' ' -f1-3)"
  exit 0
fi

apt_setup "${packages[*]}"
POLICY=/usr/sbin/policy-rc.d
own_policy=""
if [[ ! -e $POLICY ]]; then
  # invoke-rc.d and deb-systemd-invoke ask policy-rc.d; 101 = "action forbidden": packages start no service.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 755 "$POLICY"
  own_policy=1
fi
cleanup() { if [[ -n $own_policy ]]; then $SUDO rm -f "$POLICY"; fi; }
trap cleanup EXIT

$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${packages[@]}"

# Belt and braces for hosts where a package started its service regardless (e.g. without invoke-rc.d).
for pkg in "${packages[@]}"; do
  case $pkg in
    postgresql)
      if command -v pg_lsclusters >/dev/null; then
        pg_lsclusters -h | while read -r ver cluster _port status _rest; do
          if [[ $status == online ]]; then
            $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" stop || true
          fi
        done
      fi
      ;;
    redis-server)
      if [[ -d /run/systemd/system ]] && systemctl is-active --quiet redis-server 2>/dev/null; then
        $SUDO systemctl stop redis-server || true
      fi
      ;;
  esac
done
have_postgres && have_redis || { echo "postgresql/redis-server still missing after apt-get install" >&2; exit 1; }
echo "installed: ${packages[*]} (no service started; the tests start their own servers)"
