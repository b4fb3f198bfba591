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
# shellcheck source=scripts/ci/docker/rootfs.sh
. "$(dirname "$0")/rootfs.sh"

if docker_cmd image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "image $IMAGE already present"
  exit 0
fi

ROOT="$(mktemp -d /tmp/tensorify-rootfs.XXXXXX)"
trap 'rm -rf "$ROOT"' EXIT

make_rootfs "$ROOT" python3-minimal,python3-venv,python3-pip
"$ROOT/usr/bin/python3" --version >/dev/null 2>&1 || chroot "$ROOT" python3 --version
import_rootfs "$ROOT" "$IMAGE" --change 'CMD ["python3"]'
docker_cmd run --rm --network none "$IMAGE" python3 -c 'import sys, venv, ensurepip; print("python", sys.version.split()[0], "ok")'
echo "image $IMAGE built"
