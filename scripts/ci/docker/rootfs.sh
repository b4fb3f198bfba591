# Shared by the image scripts (sourced, not run): a Debian bookworm root filesystem made with
# debootstrap and loaded into the engine with `docker import`, because no registry is reachable.
#
# Expects: SOCKET (the engine's socket) and MIRROR (a Debian mirror) to be set by the caller.

docker_cmd() { docker -H "unix://$SOCKET" "$@"; }

# make_rootfs DIR PACKAGES: debootstrap --variant=minbase with the comma-separated PACKAGES into
# DIR, then drops package lists, apt caches and docs. Prints the tail of the log on failure.
make_rootfs() {
  local root="$1" include="$2"
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; return 1; }
  echo "debootstrap bookworm into $root (from $MIRROR, with $include)"
  debootstrap --variant=minbase --include="$include" bookworm "$root" "$MIRROR" >"$root.log" 2>&1 \
    || { tail -n 40 "$root.log" >&2; rm -f "$root.log"; return 1; }
  rm -f "$root.log"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
}

# import_rootfs DIR IMAGE [--change …]…: loads DIR as IMAGE.
import_rootfs() {
  local root="$1" image="$2"
  shift 2
  echo "importing $image"
  tar -C "$root" -c . | docker_cmd import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    "$@" - "$image" >/dev/null
}
