# Sourced by collect-runs.sh and restore-runs.sh: the small files of a run directory that
# results/ keeps (checkpoints and final.safetensors stay behind), and their copy.
#   copy_run_files FROM_RUN_DIR TO_RUN_DIR   (creates TO; skips the files FROM lacks)
copy_run_files() {
  mkdir -p "$2"
  local f
  for f in config.toml metrics.csv metrics.jsonl metrics_layers.csv summary.json test_predictions.csv train.log; do
    if [ -f "$1/$f" ]; then cp "$1/$f" "$2/$f"; fi
  done
}
