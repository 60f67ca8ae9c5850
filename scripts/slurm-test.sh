#!/bin/bash
# scripts/slurm-test.sh: nclab's Slurm job array (`nclab sweep --emit slurm`) on a real,
# one-node Slurm cluster started on this machine.
#
# NOT PART OF CI: it installs system packages (Debian's slurm-wlm and munge, with apt-get)
# and starts munged, slurmctld and slurmd as root. Run it as root in a disposable Debian
# container or VM, after building nclab (`cargo build`, or `cargo build --release`):
#
#   scripts/slurm-test.sh              # NCLAB=/path/to/nclab to choose the binary
#
# What it does: emits a 3-cell grid (synthetic data, 100 epochs, about 30 s per cell),
# submits the array (A); while A runs, submits the same script again (B: it must wait for A,
# `--dependency=singleton`, then find every cell done) and once more under another job name
# (C: no singleton, so its tasks run beside A's and must fail at once on the run directories'
# locks, touching nothing); sends task 0 Slurm's warning signal (SIGUSR1 to the batch shell:
# it stops the trainer and requeues itself) and requeues task 1 from outside (`scontrol
# requeue`: Slurm stops the task with SIGTERM). When the queue has drained, every cell must
# be finished, with each epoch's row once, and equal, row for row (but the elapsed time), to
# a local `nclab train` of the same cell config. It prints PASS or FAIL and exits non-zero
# on failure. The cluster's daemons are stopped at the end; the work folder is kept.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/nclab-slurm-test.XXXXXX)
CLUSTER="$WORK/cluster"
SWEEP="$WORK/runs/slurmtest"
FAILED=0
STARTED_MUNGE=""

say() { echo "[$(date +%T)] $*"; }
ok() { echo "  ok    $*"; }
bad() {
  echo "  FAIL  $*"
  FAILED=$((FAILED + 1))
}
die() {
  echo "FAIL: $*"
  exit 1
}

# The nclab binaries: $NCLAB, else the release build, else the debug build.
find_nclab() {
  local target="${CARGO_TARGET_DIR:-$ROOT/target}" d
  if [ -n "${NCLAB:-}" ]; then
    [ -x "$NCLAB" ] || die "NCLAB=$NCLAB is not an executable"
    return
  fi
  for d in "$target/release" "$target/debug"; do
    if [ -x "$d/nclab" ] && [ -x "$d/nclab-train" ]; then
      NCLAB="$d/nclab"
      return
    fi
  done
  die "no nclab and nclab-train under $target/{release,debug}: build them first (cargo build)"
}

install_slurm() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null &&
    command -v munged >/dev/null && command -v sbatch >/dev/null; then
    say "slurm-wlm and munge are installed: $(dpkg-query -W -f='${Version}' slurm-wlm 2>/dev/null)"
    return
  fi
  say "installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq slurm-wlm munge >"$WORK/apt.log" 2>&1 ||
    die "apt-get install slurm-wlm munge failed (see $WORK/apt.log)"
}

# A minimal one-node cluster: 4 CPUs declared (config_overrides: more than this machine may
# have) so that two arrays' tasks can run side by side; accounting off.
write_conf() {
  mkdir -p "$CLUSTER/state" "$CLUSTER/spool"
  cat >"$CLUSTER/slurm.conf" <<EOF
ClusterName=nclabtest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$CLUSTER/state
SlurmdSpoolDir=$CLUSTER/spool
SlurmctldPidFile=$CLUSTER/slurmctld.pid
SlurmdPidFile=$CLUSTER/slurmd.pid
SlurmctldLogFile=$CLUSTER/slurmctld.log
SlurmdLogFile=$CLUSTER/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
KillWait=30
MinJobAge=3600
NodeName=localhost CPUs=4 RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$CLUSTER/slurm.conf"
}

start_cluster() {
  mkdir -p /run/munge
  if ! pgrep -x munged >/dev/null; then
    munged --force || die "munged did not start"
    STARTED_MUNGE=1
  fi
  slurmctld -f "$SLURM_CONF" || die "slurmctld did not start (see $CLUSTER/slurmctld.log)"
  slurmd -N localhost -f "$SLURM_CONF" || die "slurmd did not start (see $CLUSTER/slurmd.log)"
  local i
  for i in $(seq 30); do
    if sinfo -h -o %t 2>/dev/null | grep -qx idle; then
      say "cluster up: $(sinfo -h -o '%P %D node(s), %c CPUs, %t')"
      return
    fi
    sleep 1
  done
  die "the node did not become idle: $(sinfo 2>&1)"
}

# Stops what this script started, by the pids it recorded.
stop_cluster() {
  local f
  if ! queue_empty; then
    scancel --user=root 2>/dev/null
    wait_for 60 queue_empty
  fi
  for f in "$CLUSTER/slurmd.pid" "$CLUSTER/slurmctld.pid"; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
  done
  if [ -n "$STARTED_MUNGE" ] && [ -f /run/munge/munged.pid ]; then
    kill "$(cat /run/munge/munged.pid)" 2>/dev/null
  fi
}

# The grid: 3 seeds of a small MLP on synthetic data, one thread each.
write_grid() {
  cat >"$WORK/slurmtest.toml" <<'EOF'
device = "cpu"
threads = 1
hierarchy = "flat"
[data]
name = "synthetic"
classes = 4
dim = 32
per_class = 1500
test_per_class = 50
[model]
kind = "mlp"
widths = [128, 128]
[optim]
lr = 0.05
batch_size = 16
epochs = 100
[analysis]
epochs = "all"
[axes]
seed = [0, 1, 2]
EOF
}

# The state of one job (array task), e.g. RUNNING, PENDING, COMPLETED; empty when gone.
job_state() { scontrol show job -o "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2; }
job_field() { scontrol show job -o "$1" 2>/dev/null | grep -o " $2=[^ ]*" | head -n 1 | cut -d= -f2; }
rows() { [ -f "$1/metrics.csv" ] && echo $(($(wc -l <"$1/metrics.csv") - 1)) || echo 0; }
queue_has() { squeue -h -j "$1" 2>/dev/null | grep -q .; }

# `wait_for SECONDS COMMAND...`: waits (at most SECONDS) until COMMAND succeeds.
wait_for() {
  local i n="$1"
  shift
  for i in $(seq "$n"); do
    "$@" && return 0
    sleep 1
  done
  return 1
}

# Every task of A is running and each cell has at least 3 epochs' rows: mid-run.
a_mid_run() {
  local t
  for t in 0 1 2; do
    [ "$(job_state "${A}_$t")" = RUNNING ] || return 1
    [ "$(rows "$SWEEP/seed=$t")" -ge 3 ] || return 1
  done
}
is_pending() { [ "$(job_state "$1")" = PENDING ]; }
gone() { ! queue_has "$1"; }
queue_empty() { ! squeue -h | grep -q .; }

# Emits, submits A, B and C, signals task 0 and requeues task 1 (see the top of the file).
submit_and_disturb() {
  say "emitting the grid: nclab sweep slurmtest.toml --emit slurm --cpus-per-task 1 --grace 60"
  (cd "$WORK" && "$NCLAB" sweep slurmtest.toml --emit slurm --out "$SWEEP" \
    --cpus-per-task 1 --grace 60) || die "the emission failed"
  grep '^#SBATCH' "$SWEEP/sweep.sbatch" | sed 's/^/    /'
  A=$(sbatch --parsable "$SWEEP/sweep.sbatch") || die "sbatch failed"
  say "submitted the array: job $A (tasks ${A}_0, ${A}_1, ${A}_2)"
  wait_for 300 a_mid_run || die "A's tasks were not all running mid-run: $(squeue)"
  say "A mid-run: epochs written $(rows "$SWEEP/seed=0"), $(rows "$SWEEP/seed=1"), $(rows "$SWEEP/seed=2") of 100"
  B=$(sbatch --parsable "$SWEEP/sweep.sbatch") || die "the second sbatch failed"
  sleep 2
  B_REASON=$(job_field "${B}_0" Reason)
  [ -n "$B_REASON" ] || B_REASON=$(squeue -h -j "$B" -o %r | head -n 1)
  say "submitted the same script again: job $B, $(job_state "${B}_0") ($B_REASON)"
  C=$(sbatch --parsable --job-name=nclab-slurmtest-duplicate "$SWEEP/sweep.sbatch") ||
    die "the third sbatch failed"
  say "submitted it under another job name (no singleton): job $C, duplicates of A's tasks"
  wait_for 300 gone "$C" || die "C's tasks did not end: $(squeue)"
  C_EXIT=()
  local t
  for t in 0 1 2; do C_EXIT[t]=$(job_field "${C}_$t" ExitCode); done
  A_AFTER_C="$(job_state "${A}_0") $(job_state "${A}_1") $(job_state "${A}_2")"
  say "C ended (exit codes ${C_EXIT[*]}); A's tasks: $A_AFTER_C"
  disturb
}

# SIGUSR1 to task 0's batch shell (it requeues itself), `scontrol requeue` of task 1; the
# requeued tasks' start is brought forward over Slurm's delay of about two minutes.
disturb() {
  A0_AT=$(rows "$SWEEP/seed=0")
  scancel --signal=USR1 --batch "${A}_0" || die "scancel --signal=USR1 failed"
  say "sent SIGUSR1 to ${A}_0's batch shell at epoch $A0_AT"
  wait_for 120 is_pending "${A}_0" || die "${A}_0 did not requeue itself: $(squeue)"
  say "${A}_0 is pending again, $(rows "$SWEEP/seed=0") epochs kept"
  A1_AT=$(rows "$SWEEP/seed=1")
  scontrol requeue "${A}_1" || die "scontrol requeue ${A}_1 failed"
  say "requeued ${A}_1 with scontrol at epoch $A1_AT"
  wait_for 120 is_pending "${A}_1" || die "${A}_1 was not requeued: $(squeue)"
  say "${A}_1 is pending again, $(rows "$SWEEP/seed=1") epochs kept"
  scontrol update JobId="${A}_0" StartTime=now
  scontrol update JobId="${A}_1" StartTime=now
  say "brought both requeued tasks' start forward to now (Slurm delays a requeued job ~2 min)"
}

# A metrics.csv without its elapsed_s column (the only one that depends on timing).
untimed() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "elapsed_s") skip = i }
    { line = ""; first = 1
      for (i = 1; i <= NF; i++) if (i != skip) { line = line (first ? "" : ",") $i; first = 0 }
      print line }' "$1"
}
# `column FILE NAME`: the last row's value of a column of a CSV file.
column() { awk -F, -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i } END { print $c }' "$1"; }

# The duplicates (C) failed at once on the locks and left A's cells alone; A's task 0
# requeued itself on SIGUSR1, task 1 was requeued by Slurm; B found every cell done.
check_tasks() {
  local t log
  for t in 0 1 2; do
    log="$SWEEP/logs/seed=$t.${C}_$t.log"
    if [ "${C_EXIT[t]}" = "1:0" ] && grep -q "is in use by nclab train" "$log" 2>/dev/null; then
      ok "duplicate ${C}_$t failed at once (exit 1): $(grep -o 'is in use by nclab train, pid [0-9]*' "$log")"
    else
      bad "duplicate ${C}_$t: exit ${C_EXIT[t]:-?}, log: $(cat "$log" 2>/dev/null | tail -n 2)"
    fi
  done
  [ "$A_AFTER_C" = "RUNNING RUNNING RUNNING" ] && ok "A's tasks ran on beside the duplicates" ||
    bad "A's tasks after the duplicates: $A_AFTER_C"
  [ "$B_REASON" = Dependency ] && ok "the second submission $B waited for A (Reason=Dependency)" ||
    bad "the second submission $B was not held by singleton (Reason=$B_REASON)"
  local out0="$SWEEP/slurm-${A}_0.out" out1="$SWEEP/slurm-${A}_1.out"
  if grep -q "SIGUSR1: stopping the trainer" "$out0" && grep -q "requeueing job" "$out0" &&
    grep -q "stopped by SIGTERM" "$SWEEP/logs/seed=0.${A}_0.log"; then
    ok "${A}_0 stopped its trainer on SIGUSR1 and requeued itself (Restarts=$(job_field "${A}_0" Restarts))"
  else
    bad "${A}_0 did not stop and requeue on SIGUSR1: $(cat "$out0")"
  fi
  if [ "$(job_field "${A}_1" Restarts)" -ge 1 ] && [ "$(grep -c '^cell seed=1 (task' "$out1")" -eq 2 ]; then
    ok "${A}_1 was requeued by scontrol and started again (Restarts=$(job_field "${A}_1" Restarts))"
  else
    bad "${A}_1 was not requeued: $(cat "$out1")"
  fi
  for t in 0 1; do
    if grep "^cell seed=$t (task" "$SWEEP/slurm-${A}_$t.out" | tail -n 1 | grep -q -- "--resume"; then
      ok "${A}_$t, requeued, resumed its cell with --resume ($(grep -o 'stopped by SIGTERM in epoch [0-9]*; the checkpoint of epoch [0-9]* is kept' "$SWEEP/logs/seed=$t.${A}_$t.log" | head -n 1))"
    else
      bad "${A}_$t did not resume with --resume"
    fi
  done
  for t in 0 1 2; do
    grep -q "already done" "$SWEEP/slurm-${B}_$t.out" 2>/dev/null && ok "${B}_$t: cell seed=$t already done" ||
      bad "${B}_$t: $(cat "$SWEEP/slurm-${B}_$t.out" 2>/dev/null)"
  done
}

# Each cell finished once, its rows equal to a local run of the same config.
check_cell() {
  local cell="$SWEEP/seed=$1" local="$WORK/local/seed=$1" dups
  grep -q '"status": "finished"' "$cell/summary.json" 2>/dev/null && ok "seed=$1: status finished" ||
    bad "seed=$1: not finished: $(cat "$cell/summary.json" 2>/dev/null | grep status)"
  dups=$(tail -n +2 "$cell/metrics.csv" | cut -d, -f1 | sort | uniq -d | tr '\n' ' ')
  [ -z "$dups" ] && ok "seed=$1: $(rows "$cell") rows in metrics.csv, no epoch twice" ||
    bad "seed=$1: epochs written twice: $dups"
  [ "$(wc -l <"$cell/metrics.jsonl")" -eq "$(rows "$cell")" ] && ok "seed=$1: metrics.jsonl has as many rows" ||
    bad "seed=$1: metrics.jsonl has $(wc -l <"$cell/metrics.jsonl") rows"
  "$NCLAB" train "$SWEEP/seed=$1.toml" --out "$local" --quiet >"$WORK/local-seed=$1.log" 2>&1 ||
    bad "seed=$1: the local run failed: $(tail -n 3 "$WORK/local-seed=$1.log")"
  if cmp -s <(untimed "$cell/metrics.csv") <(untimed "$local/metrics.csv"); then
    ok "seed=$1: metrics.csv equals the local run's, row for row (elapsed_s aside);" \
      "final epoch $(column "$cell/metrics.csv" epoch): test_acc $(column "$cell/metrics.csv" test_acc)" \
      "= $(column "$local/metrics.csv" test_acc), nc1 $(column "$cell/metrics.csv" nc1) = $(column "$local/metrics.csv" nc1)"
  else
    bad "seed=$1: metrics.csv differs from the local run's:"
    diff <(untimed "$cell/metrics.csv") <(untimed "$local/metrics.csv") | head -n 6
  fi
}

# Slurm's output of the disturbed tasks and of one duplicate, for the record.
show_outputs() {
  local f
  for f in "slurm-${A}_0.out" "slurm-${A}_1.out" "slurm-${C}_0.out" "slurm-${B}_0.out"; do
    say "$f:"
    sed 's/^/    /' "$SWEEP/$f"
  done
  say "logs/seed=0.${A}_0.log, without its epoch rows:"
  grep -v '^ *[0-9]' "$SWEEP/logs/seed=0.${A}_0.log" | sed 's/^/    /'
}

check_all() {
  show_outputs
  say "checks"
  check_tasks
  local t
  for t in 0 1 2; do check_cell "$t"; done
  [ -z "$(ls "$SWEEP"/*.log 2>/dev/null)" ] && ok "no shared <cell>.log in the sweep folder" ||
    bad "shared logs left: $(ls "$SWEEP"/*.log)"
  say "task logs: $(ls "$SWEEP/logs" | tr '\n' ' ')"
  if [ "$FAILED" -eq 0 ]; then
    echo "PASS: every cell finished once and equals a local run (requeued: ${A}_0 by SIGUSR1," \
      "${A}_1 by scontrol; duplicates $C refused; resubmission $B waited and skipped)"
  else
    echo "FAIL: $FAILED check(s) failed; the work folder: $WORK"
    exit 1
  fi
}

main() {
  [ "$(id -u)" = 0 ] || die "run as root (it starts Slurm's daemons)"
  find_nclab
  local lib="$ROOT/.libtorch/lib"
  if [ -d "$lib" ]; then export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
  say "nclab: $NCLAB; work folder: $WORK"
  install_slurm
  write_conf
  trap stop_cluster EXIT
  start_cluster
  write_grid
  submit_and_disturb
  say "waiting for the queue to drain"
  wait_for 900 queue_empty || die "the queue did not drain in 15 minutes: $(squeue)"
  check_all
}

main "$@"
