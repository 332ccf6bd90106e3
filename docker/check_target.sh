#!/usr/bin/env bash
# Refuse to start Airflow when its AWS connection and the running services disagree.
#
#   check_target.sh TARGET [LOCAL_HOST]
#
# TARGET is what docker-compose.yaml loaded Airflow's environment for: "local" (docker/local.env: the AWS
# connection points at personalize-local and moto) or "aws" (docker/aws.env: real AWS). Both come from
# COMPOSE_PROFILES, which also switches the `local` profile on, so they agree unless that profile was
# switched on by other means (`--profile local`) or its services are down. LOCAL_HOST (default
# personalize-local) is the local profile's service that must be reachable by name exactly when TARGET=local.
set -euo pipefail
target="${1:?usage: check_target.sh local|aws [LOCAL_HOST]}"
host="${2:-personalize-local}"
if getent hosts "$host" > /dev/null; then running=local; else running=aws; fi
case "$target:$running" in
  local:local | aws:aws)
    echo "Airflow's AWS connection: $target (docker/$target.env)"
    ;;
  local:aws)
    echo "COMPOSE_PROFILES=local, but the local profile's $host is not running (see its logs:" \
      "docker compose logs $host); Airflow would talk to a service that is not there." >&2
    exit 1
    ;;
  aws:local)
    echo "The local profile's services are running, but Airflow's AWS connection is real AWS (docker/aws.env)." \
      "Switch the profile on with COMPOSE_PROFILES=local (in .env), not with --profile local, so that Airflow" \
      "uses docker/local.env; or stop them: docker compose --profile local down." >&2
    exit 1
    ;;
  *)
    echo "unknown target '$target' (COMPOSE_PROFILES is 'local' or unset; docker/$target.env)" >&2
    exit 1
    ;;
esac
