#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine for the slurm executor's integration tests
# (plugins/slurm/test). Idempotent: packages, keys and the config are made once; a running daemon is
# left alone unless the config changed (then it is restarted, because the JWT plugin only loads on a
# daemon start, not on `scontrol reconfigure`).
#
#   partition "debug"  (default, UP)      the one node, for ordinary jobs
#   partition "closed" (State=DOWN)       the same node; jobs sent there stay PENDING (reason PartitionDown)
#   node $(hostname -s) at 127.0.0.1, CPUs=$TENSORIFY_SLURM_CPUS (default 4, more than the cores:
#   SlurmdParameters=config_overrides, so a few test jobs run side by side), no GPUs (no Gres)
#
# Facts about these machines that shape the config: there is no systemd, so munged and the Slurm
# daemons are started by hand; cgroups are unusable, so proctrack/linuxproc, task/none and
# jobacct_gather/none; there is no accounting database, so MinJobAge is high and finished jobs stay
# visible to `scontrol show job` for an hour.
#
# Everything but /etc/slurm/slurm.conf lives in $TENSORIFY_SLURM_DIR (default /tmp/tensorify-slurm):
#   state/ spool/ slurmctld.log slurmd.log *.pid   daemon state and logs
#   jwt_hs256.key                                  the JWT key (slurmrestd, `scontrol token`)
#   slurmrestd on 127.0.0.1:$TENSORIFY_SLURMRESTD_PORT (default 6820), as the slurm user, JWT auth
#   work/                                          a shared work dir for the tests' jobs
# Run as root (slurmd must). Needs apt-get the first time (Debian packages, ~10 s).
set -euo pipefail

DIR="${TENSORIFY_SLURM_DIR:-/tmp/tensorify-slurm}"
CPUS="${TENSORIFY_SLURM_CPUS:-4}"
RESTD_PORT="${TENSORIFY_SLURMRESTD_PORT:-6820}"
RESTD_API=v0.0.38
CONF=/etc/slurm/slurm.conf
NODE="$(hostname -s)"

need=()
for cmd in slurmctld slurmd sbatch munged slurmrestd; do
  command -v "$cmd" >/dev/null || need+=("$cmd")
done
[ -f /usr/lib/x86_64-linux-gnu/slurm-wlm/auth_jwt.so ] || [ -n "$(find /usr/lib -name auth_jwt.so -print -quit 2>/dev/null)" ] || need+=(jwt)
if [ "${#need[@]}" -gt 0 ]; then
  echo "start-slurm: installing Slurm (missing: ${need[*]})"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge slurmrestd slurm-wlm-jwt-plugin >/dev/null
fi

mkdir -p "$DIR/state" "$DIR/spool" "$DIR/work"
chmod 755 "$DIR"
chmod 777 "$DIR/work"

# munge: the key comes with the package; the daemon is started by hand (no systemd).
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
chmod 755 /run/munge
if [ ! -f /etc/munge/munge.key ]; then
  runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
fi
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- munged --force
  for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null
  echo "munged started"
else
  echo "munged already running"
fi

[ -f "$DIR/jwt_hs256.key" ] || dd if=/dev/urandom of="$DIR/jwt_hs256.key" bs=32 count=1 status=none
chmod 600 "$DIR/jwt_hs256.key"

MEM="$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')"
new_conf="$(
  cat <<CONF
# One-node test cluster for the Tensorify slurm executor (scripts/ci/slurm/start-slurm.sh).
ClusterName=tensorify-test
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$DIR/jwt_hs256.key
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=3600
KillWait=5
SchedulerParameters=sched_interval=2
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=closed Nodes=$NODE MaxTime=INFINITE State=DOWN
CONF
)"
changed=0
if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$new_conf" ]; then
  mkdir -p /etc/slurm
  printf '%s\n' "$new_conf" >"$CONF"
  changed=1
fi

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop() { # stop PIDFILE
  if running "$1"; then
    local pid
    pid="$(cat "$1")"
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}
if [ "$changed" = 1 ]; then
  stop "$DIR/slurmd.pid"
  stop "$DIR/slurmctld.pid"
fi
if running "$DIR/slurmctld.pid"; then
  echo "slurmctld already running (pid $(cat "$DIR/slurmctld.pid"))"
else
  slurmctld
  echo "slurmctld started"
fi
if running "$DIR/slurmd.pid"; then
  echo "slurmd already running (pid $(cat "$DIR/slurmd.pid"))"
else
  slurmd
  echo "slurmd started"
fi

# slurmrestd (the REST way in, with JWTs): it refuses to run as root, so it runs as the slurm user;
# only the Slurm API plugin is loaded (the accounting one needs slurmdbd, which this cluster has not).
restd_up() { (exec 3<>"/dev/tcp/127.0.0.1/$RESTD_PORT") 2>/dev/null; }
if [ "$changed" = 1 ]; then stop "$DIR/slurmrestd.pid"; fi
if running "$DIR/slurmrestd.pid" && restd_up; then
  echo "slurmrestd already running (pid $(cat "$DIR/slurmrestd.pid"), port $RESTD_PORT)"
else
  stop "$DIR/slurmrestd.pid"
  setsid runuser -u slurm -- env SLURM_JWT=daemon slurmrestd -a rest_auth/jwt -s "openapi/$RESTD_API" "127.0.0.1:$RESTD_PORT" >"$DIR/slurmrestd.log" 2>&1 </dev/null &
  for _ in $(seq 1 50); do restd_up && break; sleep 0.1; done
  if ! restd_up; then
    echo "start-slurm: slurmrestd did not start on port $RESTD_PORT; its log:" >&2
    tail -5 "$DIR/slurmrestd.log" >&2 || true
    exit 1
  fi
  pgrep -u slurm -x slurmrestd -n >"$DIR/slurmrestd.pid"
  echo "slurmrestd started (pid $(cat "$DIR/slurmrestd.pid"), port $RESTD_PORT)"
fi

# The node is up once sinfo shows it idle (or mixed/allocated, when jobs are left from a run).
for _ in $(seq 1 100); do
  state="$(sinfo -h -n "$NODE" -p debug -o %t 2>/dev/null || true)"
  case "$state" in idle | mix | alloc) break ;; esac
  sleep 0.2
done
state="$(sinfo -h -n "$NODE" -p debug -o %t 2>/dev/null || true)"
case "$state" in
  idle | mix | alloc) ;;
  *)
    scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true
    sleep 1
    state="$(sinfo -h -n "$NODE" -p debug -o %t 2>/dev/null || true)"
    case "$state" in
      idle | mix | alloc) ;;
      *)
        echo "start-slurm: node $NODE is '$state', not idle; slurmctld and slurmd logs:" >&2
        tail -5 "$DIR/slurmctld.log" "$DIR/slurmd.log" >&2 || true
        exit 1
        ;;
    esac
    ;;
esac

cat <<INFO
TENSORIFY_SLURM_DIR=$DIR
node:      $NODE (127.0.0.1), $CPUS CPUs, partitions debug (default, up) and closed (down)
work dir:  $DIR/work
jwt key:   $DIR/jwt_hs256.key
slurmrestd http://127.0.0.1:$RESTD_PORT/slurm/$RESTD_API (X-SLURM-USER-NAME, X-SLURM-USER-TOKEN from \`scontrol token username=\$USER\`)
check:     sbatch --wait -o /dev/stdout --wrap hostname
INFO
