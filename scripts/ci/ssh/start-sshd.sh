#!/usr/bin/env bash
# Starts the two sshd instances the ssh executor's integration tests use (plugins/ssh/test), on
# 127.0.0.1 only. Idempotent: keys and configs are made once; a running instance is left alone.
#
#   host "cpu": 127.0.0.1:$TENSORIFY_SSHD_PORT      (default 2222), an ordinary host
#   host "gpu": 127.0.0.1:$TENSORIFY_SSHD_GPU_PORT  (default 2223), the same machine playing a GPU
#               host: its sessions get PATH=$DIR/gpu-bin:… where `nvidia-smi` is a stand-in script
#               (there is no GPU here, and its output says so)
#
# Everything lives in $TENSORIFY_SSHD_DIR (default /tmp/tensorify-sshd):
#   host_cpu_ed25519, host_gpu_ed25519      host keys (one per instance, so that a pinned key can be wrong)
#   client_ed25519                          client key, no passphrase, authorized
#   client_pass_ed25519                     client key with the passphrase in client_pass.passphrase, authorized
#   stranger_ed25519                        client key that is NOT authorized (auth failure tests)
#   known_hosts, known_hosts_hashed         both hosts' keys as [127.0.0.1]:port entries (plain and `ssh-keygen -H`)
#   sshd_cpu.config, sshd_gpu.config, *.pid, *.log
# Needs openssh-server (/usr/sbin/sshd) and ssh-keygen; run it as the user the tests run as
# (root in CI: PermitRootLogin prohibit-password).
set -euo pipefail

DIR="${TENSORIFY_SSHD_DIR:-/tmp/tensorify-sshd}"
CPU_PORT="${TENSORIFY_SSHD_PORT:-2222}"
GPU_PORT="${TENSORIFY_SSHD_GPU_PORT:-2223}"
SSHD="${SSHD:-/usr/sbin/sshd}"
PASSPHRASE="tensorify-test-passphrase"

if [ ! -x "$SSHD" ]; then
  echo "start-sshd: $SSHD not found (apt-get install openssh-server)" >&2
  exit 1
fi

mkdir -p "$DIR" "$DIR/gpu-bin" /run/sshd
chmod 700 "$DIR"

key() { # key FILE [PASSPHRASE]
  [ -f "$1" ] || ssh-keygen -q -t ed25519 -N "${2:-}" -C "tensorify-test-$(basename "$1")" -f "$1"
}
key "$DIR/host_cpu_ed25519"
key "$DIR/host_gpu_ed25519"
key "$DIR/client_ed25519"
key "$DIR/client_pass_ed25519" "$PASSPHRASE"
key "$DIR/stranger_ed25519"
printf '%s\n' "$PASSPHRASE" >"$DIR/client_pass.passphrase"
cat "$DIR/client_ed25519.pub" "$DIR/client_pass_ed25519.pub" >"$DIR/authorized_keys"
chmod 600 "$DIR/authorized_keys" "$DIR/client_pass.passphrase"

{
  echo "[127.0.0.1]:$CPU_PORT $(cut -d' ' -f1,2 "$DIR/host_cpu_ed25519.pub")"
  echo "[127.0.0.1]:$GPU_PORT $(cut -d' ' -f1,2 "$DIR/host_gpu_ed25519.pub")"
} >"$DIR/known_hosts"
cp "$DIR/known_hosts" "$DIR/known_hosts_hashed"
ssh-keygen -q -H -f "$DIR/known_hosts_hashed" >/dev/null 2>&1
rm -f "$DIR/known_hosts_hashed.old"

cat >"$DIR/gpu-bin/nvidia-smi" <<'SH'
#!/bin/sh
# Stand-in for nvidia-smi on the test "GPU host": there is NO real GPU on this machine.
case "$*" in
  *--query-gpu=*) echo "NVIDIA Stand-in GPU (no real GPU here), 24576" ;;
  *) echo "nvidia-smi stand-in for the Tensorify ssh executor tests: no real GPU on this machine" ;;
esac
SH
chmod 755 "$DIR/gpu-bin/nvidia-smi"

config() { # config NAME PORT [EXTRA LINE]
  cat >"$DIR/sshd_$1.config" <<CONF
# Test sshd "$1" for the Tensorify ssh executor (scripts/ci/ssh/start-sshd.sh). Loopback only.
ListenAddress 127.0.0.1
Port $2
HostKey $DIR/host_$1_ed25519
PidFile $DIR/sshd_$1.pid
AuthorizedKeysFile $DIR/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding yes
MaxSessions 64
MaxStartups 64:30:128
LoginGraceTime 20
Subsystem sftp internal-sftp
$3
CONF
}
config cpu "$CPU_PORT" ""
config gpu "$GPU_PORT" "SetEnv PATH=$DIR/gpu-bin:/usr/local/bin:/usr/bin:/bin"

start() { # start NAME PORT
  local pidfile="$DIR/sshd_$1.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "sshd $1 already running (pid $(cat "$pidfile"), port $2)"
    return
  fi
  "$SSHD" -t -f "$DIR/sshd_$1.config"
  "$SSHD" -f "$DIR/sshd_$1.config" -E "$DIR/sshd_$1.log"
  for _ in $(seq 1 50); do
    [ -f "$pidfile" ] && (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && break
    sleep 0.1
  done
  if ! { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
    echo "start-sshd: sshd $1 did not start on port $2; its log ($DIR/sshd_$1.log):" >&2
    tail -5 "$DIR/sshd_$1.log" >&2 || true
    exit 1
  fi
  echo "sshd $1 started (pid $(cat "$pidfile"), port $2)"
}
start cpu "$CPU_PORT"
start gpu "$GPU_PORT"

cat <<INFO
TENSORIFY_SSHD_DIR=$DIR
TENSORIFY_SSHD_PORT=$CPU_PORT
TENSORIFY_SSHD_GPU_PORT=$GPU_PORT
user:        $(id -un)
client keys: $DIR/client_ed25519 (no passphrase), $DIR/client_pass_ed25519 (passphrase in $DIR/client_pass.passphrase)
known_hosts: $DIR/known_hosts ($DIR/known_hosts_hashed hashed)
check:       ssh -i $DIR/client_ed25519 -o UserKnownHostsFile=$DIR/known_hosts -p $GPU_PORT $(id -un)@127.0.0.1 nvidia-smi
INFO
