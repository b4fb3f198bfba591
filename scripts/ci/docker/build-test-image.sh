#!/usr/bin/env bash
# Builds the docker executor's test image, tensorify-test-python:bookworm (idempotent).
#
# No registry is reachable from CI, and BuildKit is not available: the image is a Debian bookworm
# root filesystem made with debootstrap (minbase + python3, venv and pip) and loaded with
# `docker import`. Debian's mirror must be reachable (or set TENSORIFY_TEST_DEBIAN_MIRROR).
#
# Environment:
#   TENSORIFY_TEST_DOCKER_SOCKET  the engine's socket (default /tmp/tensorify-docker/docker.sock)
#   TENSORIFY_TEST_IMAGE          the image to make (default tensorify-test-python:bookworm)
#   TENSORIFY_TEST_DEBIAN_MIRROR  the Debian mirror (default http://deb.debian.org/debian)
set -euo pipefail

SOCKET="${TENSORIFY_TEST_DOCKER_SOCKET:-/tmp/tensorify-docker/docker.sock}"
IMAGE="${TENSORIFY_TEST_IMAGE:-tensorify-test-python:bookworm}"
MIRROR="${TENSORIFY_TEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
docker=(docker -H "unix://$SOCKET")

if "${docker[@]}" image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "image $IMAGE already present"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }

ROOT="$(mktemp -d /tmp/tensorify-rootfs.XXXXXX)"
cleanup() { rm -rf "$ROOT"; }
trap cleanup EXIT

echo "debootstrap bookworm into $ROOT (from $MIRROR)"
debootstrap --variant=minbase --include=python3-minimal,python3-venv,python3-pip bookworm "$ROOT" "$MIRROR" \
  >"$ROOT.log" 2>&1 || { tail -n 40 "$ROOT.log" >&2; rm -f "$ROOT.log"; exit 1; }
rm -f "$ROOT.log"

# Smaller image: package lists, apt caches, docs.
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/*
"$ROOT/usr/bin/python3" --version >/dev/null 2>&1 || chroot "$ROOT" python3 --version

echo "importing $IMAGE"
tar -C "$ROOT" -c . | "${docker[@]}" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  - "$IMAGE" >/dev/null
"${docker[@]}" run --rm --network none "$IMAGE" python3 -c 'import sys, venv, ensurepip; print("python", sys.version.split()[0], "ok")'
echo "image $IMAGE built"
