#!/usr/bin/env bash
# Stops the sshd instances started by start-sshd.sh (their pid files only); sessions they serve end with them.
set -euo pipefail
DIR="${TENSORIFY_SSHD_DIR:-/tmp/tensorify-sshd}"
for name in cpu gpu; do
  pidfile="$DIR/sshd_$name.pid"
  if [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; then echo "sshd $name stopped"; fi
  rm -f "$pidfile"
done
