#!/usr/bin/env bash
# Starts (or stops) a one-node SLURM cluster on localhost — slurmctld, slurmd and munged —
# for testing the batch scripts in cluster/. Works as root in a container without systemd.
# Exit status 77 means SLURM cannot run here (the caller skips, printing the reason).
#   bash scripts/slurm-local.sh start|stop
set -euo pipefail
STATE="${SLURM_LOCAL_DIR:-/tmp/flyvis-slurm}"
action="${1:-start}"

# Stops the daemons this script started, by the PIDs recorded in $STATE, never by name: a
# SLURM or munge that the host runs itself is left alone. A PID is only signalled while it
# still belongs to a process of that name (a stale file's number may have been reused).
stop_ours() {
  local name f pid
  for name in slurmd slurmctld munged; do
    f="$STATE/$name.pid"
    [[ -s "$f" ]] || continue
    pid=$(cat "$f")
    if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name" ]]; then kill "$pid" 2>/dev/null || true; fi
    rm -f "$f"
  done
}

if [[ "$action" == stop ]]; then
  stop_ours
  exit 0
fi

if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null; then
  echo "slurm-local: needs root (or sudo) to run slurmd and munged" >&2; exit 77
fi
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "slurm-local: installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null || true
  if ! $SUDO apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null; then
    echo "slurm-local: could not install slurm-wlm and munge" >&2; exit 77
  fi
fi

host=$(hostname -s)
mem=$(awk '/MemTotal/ {print int($2/1024) - 512}' /proc/meminfo)
mkdir -p "$STATE"/{ctld,d} /etc/slurm /run/munge /var/log/munge /var/lib/munge
if [[ ! -s /etc/munge/munge.key ]]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
stop_ours
if [[ ! -S /run/munge/munge.socket.2 ]]; then
  $SUDO -u munge /usr/sbin/munged 2>/dev/null || /usr/sbin/munged --force
  # munged writes its PID file itself; keep a copy as the record that this script started it.
  for _ in $(seq 20); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.1; done
  cp /run/munge/munged.pid "$STATE/munged.pid" 2>/dev/null || true
fi

cat > /etc/slurm/slurm.conf <<CONF
ClusterName=flyvis
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobRequeue=1
ReturnToService=2
KillWait=30
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE
CONF
cp /etc/slurm/slurm.conf /etc/slurm-llnl/slurm.conf 2>/dev/null || true

if ! slurmctld -c -i 2>"$STATE/slurmctld.err"; then
  echo "slurm-local: slurmctld cannot run here: $(cat "$STATE/slurmctld.err")" >&2; exit 77
fi
if ! slurmd -c 2>"$STATE/slurmd.err"; then
  echo "slurm-local: slurmd cannot run here: $(cat "$STATE/slurmd.err")" >&2; exit 77
fi
for _ in $(seq 60); do
  state=$(sinfo -h -o %T 2>/dev/null | head -1 || true)
  if [[ "$state" == idle* || "$state" == mixed* ]]; then echo "slurm-local: node $host is $state"; exit 0; fi
  sleep 1
done
echo "slurm-local: the node did not become idle: $(sinfo 2>&1 | tail -2) $(tail -5 "$STATE/slurmctld.log" 2>/dev/null)" >&2
exit 77
