#!/usr/bin/env bash
# The reverse of collect-runs.sh, for a new machine: put the committed runs of a grid back into
# an empty sweep folder, so that `nclab sweep` counts them done (its plan finds each cell's
# config.toml, the same config, and a summary.json that says finished or diverged) and trains
# only the cells that have no committed run. Checkpoints and final.safetensors are not in
# results/, so a restored run cannot be resumed or measured again; it is only skipped.
# A run's config.toml records the data folder it read (data.root, from NCLAB_DATA): run the
# sweep with the same NCLAB_DATA (the committed protocol runs: /work/main/data), or the restored
# cells differ from the sweep's and are "blocked" (left alone, not trained again either).
#   scripts/restore-runs.sh RESULTS_DIR SWEEP_DIR
set -euo pipefail
. "$(dirname "$0")/run-files.sh"
src=${1:?usage: restore-runs.sh RESULTS_DIR SWEEP_DIR}
dst=${2:?usage: restore-runs.sh RESULTS_DIR SWEEP_DIR}
restored=0
for run in "$src"/*/; do
  run=${run%/}
  [ -f "$run/summary.json" ] && [ -f "$run/config.toml" ] || continue
  out="$dst/$(basename "$run")"
  if [ -e "$out" ]; then
    echo "restore-runs: $out exists; left as it is" >&2
    continue
  fi
  copy_run_files "$run" "$out"
  restored=$((restored + 1))
done
echo "$restored run(s) restored into $dst"
