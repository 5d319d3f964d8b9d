#!/usr/bin/env bash
# A real one-node Slurm on this machine (Debian slurm-wlm + munge; no systemd, no cgroups), for the
# hydra-submitit-launcher (conf/hydra/launcher/slurm.yaml) and its requeue demo (experiments/slurm/demo.py).
#
#   experiments/slurm/cluster.sh start  [STATE_DIR]   install if missing, start munged/slurmctld/slurmd, wait for idle
#   experiments/slurm/cluster.sh stop   [STATE_DIR]   kill the daemons by their pid files
#   experiments/slurm/cluster.sh status [STATE_DIR]   sinfo + squeue
#
# STATE_DIR (default /tmp/ganlab-slurm, or $GANLAB_SLURM_DIR) holds slurm.conf, state, spool, pid and log files.
# Clients find the configuration through SLURM_CONF (start prints the export line); when /etc/slurm/slurm.conf is
# free, start also links it there so that plain `sinfo` / `sbatch` work without the variable. stop removes that link.
set -euo pipefail

CMD="${1:-}"
STATE_DIR="${2:-${GANLAB_SLURM_DIR:-/tmp/ganlab-slurm}}"
CONF="$STATE_DIR/slurm.conf"
ETC_CONF=/etc/slurm/slurm.conf
MARKER="# written by ganlab experiments/slurm/cluster.sh"
export SLURM_CONF="$CONF"

log() { echo "[cluster] $*"; }
die() {
  echo "cluster.sh: error: $*" >&2
  exit 1
}

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null &&
    command -v sbatch >/dev/null; then
    return
  fi
  [[ $EUID -eq 0 ]] || die "slurm-wlm/munge are not installed and installing them needs root: apt-get install slurm-wlm munge"
  log "installing slurm-wlm and munge with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm munge >/dev/null
}

start_munge() {
  if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating a munge key"
    install -d -o munge -g munge -m 0700 /etc/munge
    runuser -u munge -- /usr/sbin/mungekey --create --keyfile=/etc/munge/munge.key
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    return # a munged is already answering
  fi
  rm -f /run/munge/munge.socket.2.lock
  runuser -u munge -- /usr/sbin/munged
  mkdir -p "$STATE_DIR/run"
  touch "$STATE_DIR/run/munged.ours" # stop ends munged only when this script started it
  for _ in $(seq 50); do
    munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && return
    sleep 0.1
  done
  die "munged did not come up"
}

write_conf() {
  local host cpus mem_mb
  host="$(hostname -s)"
  cpus="$(nproc)"
  mem_mb=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024)) # leave 1 GiB to the system
  mkdir -p "$STATE_DIR"/{state,spool,log,run}
  cat >"$CONF" <<EOF
$MARKER
ClusterName=ganlab
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=cred_expire=10
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
ReturnToService=2
# scontrol requeue / scancel: SIGTERM first, SIGKILL KillWait seconds later
KillWait=30
SchedulerParameters=sched_interval=2,bf_interval=2
StateSaveLocation=$STATE_DIR/state
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$STATE_DIR/run/slurmctld.pid
SlurmdPidFile=$STATE_DIR/run/slurmd.pid
SlurmctldLogFile=$STATE_DIR/log/slurmctld.log
SlurmdLogFile=$STATE_DIR/log/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

link_etc_conf() {
  [[ $EUID -eq 0 ]] || return 0
  if [[ -L $ETC_CONF || ! -e $ETC_CONF ]]; then
    mkdir -p "$(dirname "$ETC_CONF")"
    ln -sfn "$CONF" "$ETC_CONF"
  fi
}

node_idle() { sinfo -h -N -o '%t' 2>/dev/null | grep -qx 'idle'; }

start() {
  install_packages
  if pid_alive "$STATE_DIR/run/slurmctld.pid" && pid_alive "$STATE_DIR/run/slurmd.pid"; then
    log "already running ($STATE_DIR)"
  else
    [[ $EUID -eq 0 ]] || die "starting slurmctld/slurmd needs root"
    local t0=$SECONDS
    start_munge
    write_conf
    link_etc_conf
    pid_alive "$STATE_DIR/run/slurmctld.pid" || slurmctld -f "$CONF"
    pid_alive "$STATE_DIR/run/slurmd.pid" || slurmd -f "$CONF"
    for _ in $(seq 300); do
      node_idle && break
      sleep 0.2
    done
    node_idle || die "the node did not become idle; see $STATE_DIR/log/"
    log "up in $((SECONDS - t0)) s ($STATE_DIR)"
  fi
  echo "export SLURM_CONF=$CONF"
}

stop() {
  local name pidfile pid
  for name in slurmd slurmctld; do
    pidfile="$STATE_DIR/run/$name.pid"
    if pid_alive "$pidfile"; then
      pid="$(cat "$pidfile")"
      kill "$pid"
      for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      log "stopped $name ($pid)"
    fi
    rm -f "$pidfile"
  done
  if [[ -f $STATE_DIR/run/munged.ours ]] && pid_alive /run/munge/munged.pid; then
    pid="$(cat /run/munge/munged.pid)"
    kill "$pid" && log "stopped munged ($pid)"
  fi
  rm -f "$STATE_DIR/run/munged.ours"
  if [[ -L $ETC_CONF && "$(readlink "$ETC_CONF")" == "$CONF" ]]; then
    rm -f "$ETC_CONF"
  fi
}

status() {
  if ! pid_alive "$STATE_DIR/run/slurmctld.pid"; then
    log "not running ($STATE_DIR)"
    return 1
  fi
  sinfo
  squeue
}

case "$CMD" in
start) start ;;
stop) stop ;;
status) status ;;
*)
  echo "usage: $0 start|stop|status [STATE_DIR]" >&2
  exit 2
  ;;
esac
