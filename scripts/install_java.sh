#!/usr/bin/env bash
# Install Debian's headless Java runtime for the Spark engine (PySpark 4 needs Java 17 or later), only when
# missing. Prefers openjdk-17, then the newer LTS releases the Debian release carries.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/apt_install.sh"
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
if command -v java >/dev/null && [[ $(java_major) -ge 17 ]]; then
  echo "java present: $(java -version 2>&1 | head -1)"
  exit 0
fi
apt_setup "a Java runtime"
$SUDO apt-get update
for pkg in openjdk-17-jre-headless openjdk-21-jre-headless openjdk-25-jre-headless default-jre-headless; do
  if [[ -n $(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/ *Candidate: \(.*\)/\1/p' | grep -v '(none)') ]]; then
    $SUDO apt-get install -y --no-install-recommends "$pkg"
    break
  fi
done
command -v java >/dev/null && [[ $(java_major) -ge 17 ]] || { echo "no Java 17+ after apt-get install" >&2; exit 1; }
echo "installed: $(java -version 2>&1 | head -1)"
