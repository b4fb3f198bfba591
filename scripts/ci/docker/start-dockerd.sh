#!/usr/bin/env bash
# Starts a private Docker engine for the docker executor's integration tests (idempotent).
#
#   scripts/ci/docker/start-dockerd.sh            # then: docker -H unix:///tmp/tensorify-docker/docker.sock info
#
# The engine keeps everything under $TENSORIFY_TEST_DOCKER_DIR (default /tmp/tensorify-docker):
# its socket, data root, exec root, pid file and log. It never touches a system engine's
# /var/run/docker.sock or /var/lib/docker. If the socket already answers, nothing is started.
#
# Environment:
#   TENSORIFY_TEST_DOCKER_SOCKET  the socket path (default $TENSORIFY_TEST_DOCKER_DIR/docker.sock)
#   TENSORIFY_TEST_DOCKER_DIR     the engine's directory (default /tmp/tensorify-docker)
#   TENSORIFY_TEST_DOCKERD_ARGS   extra dockerd arguments (default: see below)
#   TENSORIFY_TEST_DOCKER_WAIT    seconds to wait for the engine to answer (default 60)
set -euo pipefail

DIR="${TENSORIFY_TEST_DOCKER_DIR:-/tmp/tensorify-docker}"
SOCKET="${TENSORIFY_TEST_DOCKER_SOCKET:-$DIR/docker.sock}"
HOST="unix://$SOCKET"
LOG="$DIR/dockerd.log"
PIDFILE="$DIR/dockerd.pid"
WAIT="${TENSORIFY_TEST_DOCKER_WAIT:-60}"

answers() { timeout 5 docker -H "$HOST" info >/dev/null 2>&1; }

if answers; then
  echo "docker engine already answering at $HOST"
  exit 0
fi

command -v dockerd >/dev/null || { echo "dockerd is not installed (apt-get install docker.io)" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then echo "dockerd needs root here (no rootless setup)" >&2; exit 1; fi

mkdir -p "$DIR/data" "$DIR/exec" "$(dirname "$SOCKET")"

# A pid file left by an engine that died would make dockerd refuse to start.
if [ -f "$PIDFILE" ]; then
  old="$(cat "$PIDFILE" 2>/dev/null || true)"
  if [ -n "$old" ] && kill -0 "$old" 2>/dev/null; then
    echo "dockerd $old is running but $HOST does not answer yet; waiting for it"
  else
    rm -f "$PIDFILE" "$SOCKET"
  fi
fi

if ! [ -f "$PIDFILE" ]; then
  # The default bridge (docker0) is kept, so the executor's default network mode "bridge" works,
  # but the engine leaves the host's firewall alone (no iptables rules, no NAT): containers get
  # no route out, which the tests do not need. Where no bridge can be made, set
  # TENSORIFY_TEST_DOCKERD_ARGS="--iptables=false --bridge=none" (then only network mode "none" works).
  # shellcheck disable=SC2206
  EXTRA=(${TENSORIFY_TEST_DOCKERD_ARGS:---iptables=false --ip6tables=false --ip-masq=false})
  echo "starting dockerd: $HOST, data root $DIR/data, log $LOG"
  nohup dockerd \
    --host "$HOST" \
    --data-root "$DIR/data" \
    --exec-root "$DIR/exec" \
    --pidfile "$PIDFILE" \
    --containerd-namespace tensorify-test \
    --containerd-plugins-namespace tensorify-test-plugins \
    "${EXTRA[@]}" \
    >"$LOG" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$WAIT"); do
  if answers; then
    echo "docker engine answering at $HOST ($(docker -H "$HOST" version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
  fi
  sleep 1
done

echo "the docker engine did not answer at $HOST within ${WAIT}s; last lines of $LOG:" >&2
tail -n 40 "$LOG" >&2 || true
exit 1
