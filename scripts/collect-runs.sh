#!/usr/bin/env bash
# Copy the small files of every finished run under a sweep folder into results/, so that a
# study running for days is kept by commits as its runs finish (checkpoints stay behind), with
# each run's test predictions and final geometry while its final.safetensors is still there
# (scripts/keep_final.py, with the Python of `make setup`; PYTHON overrides it).
#   scripts/collect-runs.sh SWEEP_DIR RESULTS_DIR
set -euo pipefail
. "$(dirname "$0")/run-files.sh"
src=${1:?usage: collect-runs.sh SWEEP_DIR RESULTS_DIR}
dst=${2:?usage: collect-runs.sh SWEEP_DIR RESULTS_DIR}
copied=0
for run in "$src"/*/; do
  run=${run%/}
  [ -f "$run/summary.json" ] || continue
  grep -q '"status": "\(finished\|diverged\)"' "$run/summary.json" || continue
  out="$dst/$(basename "$run")"
  if [ -f "$out/summary.json" ] && cmp -s "$run/summary.json" "$out/summary.json"; then continue; fi
  copy_run_files "$run" "$out"
  copied=$((copied + 1))
  echo "collected $(basename "$run")"
done
echo "$copied new run(s) in $dst"
python=${PYTHON:-$(dirname "$0")/../.venv/bin/python}
if [ ! -x "$python" ]; then
  echo "collect-runs.sh: no Python at $python for scripts/keep_final.py: run \`make setup\` (or set PYTHON)" >&2
  exit 1
fi
"$python" "$(dirname "$0")/keep_final.py" "$src" "$dst"
