#!/usr/bin/env bash
# Stops the private Docker engine started by start-dockerd.sh (its containers die with it; its
# data root, with the images, stays for the next start). Does nothing when it is not running.
set -euo pipefail

DIR="${TENSORIFY_TEST_DOCKER_DIR:-/tmp/tensorify-docker}"
PIDFILE="$DIR/dockerd.pid"

pid="$(cat "$PIDFILE" 2>/dev/null || true)"
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
  echo "no dockerd running from $DIR"
  exit 0
fi
kill -TERM "$pid"
for _ in $(seq 1 30); do
  kill -0 "$pid" 2>/dev/null || { echo "dockerd $pid stopped"; exit 0; }
  sleep 1
done
echo "dockerd $pid still running after 30 s" >&2
exit 1
