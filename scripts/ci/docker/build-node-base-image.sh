#!/usr/bin/env bash
# Builds a stand-in for the official node:20-bookworm-slim image, for building the product's
# Dockerfile where no registry is reachable (idempotent):
#   docker build --network host --build-arg NODE_IMAGE=tensorify-node-base:20-bookworm-slim .
#
# It has the official image's layout, which the Dockerfile relies on: Debian bookworm (minbase),
# this machine's Node.js at /usr/local/bin/node with its headers under /usr/local/include/node,
# npm under /usr/local/lib/node_modules/npm, and a user `node` with uid and gid 1000.
# This machine's node must be a Node 20 built for glibc (Debian's, NodeSource's or nodejs.org's).
# The certificate authorities this machine adds (/usr/local/share/ca-certificates, e.g. a proxy's
# that intercepts TLS) are trusted in the image too, by the system and by Node
# (NODE_EXTRA_CA_CERTS), as in a base image that a company mirrors with its own CA: without
# them, npm inside `docker build` cannot reach the registry through such a proxy.
#
# Environment:
#   TENSORIFY_TEST_DOCKER_SOCKET  the engine's socket (default /tmp/tensorify-docker/docker.sock)
#   TENSORIFY_NODE_BASE_IMAGE     the image to make (default tensorify-node-base:20-bookworm-slim)
#   TENSORIFY_TEST_DEBIAN_MIRROR  the Debian mirror (default http://deb.debian.org/debian)
set -euo pipefail

SOCKET="${TENSORIFY_TEST_DOCKER_SOCKET:-/tmp/tensorify-docker/docker.sock}"
IMAGE="${TENSORIFY_NODE_BASE_IMAGE:-tensorify-node-base:20-bookworm-slim}"
MIRROR="${TENSORIFY_TEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# shellcheck source=scripts/ci/docker/rootfs.sh
. "$(dirname "$0")/rootfs.sh"

if docker_cmd image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "image $IMAGE already present"
  exit 0
fi

NODE="$(readlink -f "$(command -v node)")"
VERSION="$("$NODE" --version)"
case "$VERSION" in v20.*) ;; *) echo "this machine's node is $VERSION, not Node 20" >&2; exit 1 ;; esac
NODE_PREFIX="$(dirname "$(dirname "$NODE")")"
NPM_DIR="$NODE_PREFIX/lib/node_modules/npm"
HEADERS="$NODE_PREFIX/include/node"
[ -f "$NPM_DIR/bin/npm-cli.js" ] || { echo "npm is not at $NPM_DIR" >&2; exit 1; }
[ -f "$HEADERS/node_api.h" ] || { echo "Node's headers are not at $HEADERS (native addons could not be built)" >&2; exit 1; }

ROOT="$(mktemp -d /tmp/tensorify-rootfs.XXXXXX)"
trap 'rm -rf "$ROOT"' EXIT

make_rootfs "$ROOT" ca-certificates
install -D -m 0755 "$NODE" "$ROOT/usr/local/bin/node"
mkdir -p "$ROOT/usr/local/lib/node_modules" "$ROOT/usr/local/include"
cp -a "$NPM_DIR" "$ROOT/usr/local/lib/node_modules/npm"
cp -a "$HEADERS" "$ROOT/usr/local/include/node"
shopt -s nullglob
extra_cas=(/usr/local/share/ca-certificates/*.crt)
if [ "${#extra_cas[@]}" -gt 0 ]; then
  cp "${extra_cas[@]}" "$ROOT/usr/local/share/ca-certificates/"
  chroot "$ROOT" update-ca-certificates >/dev/null
  echo "trusting this machine's extra certificate authorities: ${extra_cas[*]##*/}"
fi
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"
chroot "$ROOT" groupadd --gid 1000 node
chroot "$ROOT" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

import_rootfs "$ROOT" "$IMAGE" --change "ENV NODE_VERSION=${VERSION#v}" \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' --change 'CMD ["node"]'
docker_cmd run --rm --network none "$IMAGE" sh -c 'echo "node $(node --version), npm $(npm --version), user node: $(id -u node):$(id -g node)"'
echo "image $IMAGE built"
