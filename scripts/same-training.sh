#!/usr/bin/env bash
# Does a new nclab-train train as an old one did? For a study whose runs span two builds (a
# grid that gains a condition half-way): each config is trained for 3 epochs on 100 images per
# class (50 test) by both binaries; their final.safetensors (network, features, logits) must
# be byte-identical, and the last metrics.csv rows equal (scripts/compare_runs.py; extra
# arguments go to it, e.g. `--tol hdist@5=1e-14` for a metric whose summation changed).
#   scripts/same-training.sh OLD_NCLAB_TRAIN NEW_NCLAB_TRAIN CONFIG.toml... [-- COMPARE_ARGS]
# Exits 1 when a pair differs. Scratch runs go to a temporary folder, removed at the end.
set -uo pipefail
old=${1:?usage: same-training.sh OLD_NCLAB_TRAIN NEW_NCLAB_TRAIN CONFIG.toml... [-- COMPARE_ARGS]}
new=${2:?usage: same-training.sh OLD_NCLAB_TRAIN NEW_NCLAB_TRAIN CONFIG.toml... [-- COMPARE_ARGS]}
shift 2
configs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do configs+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#configs[@]} -gt 0 ] || { echo "same-training.sh: no config given" >&2; exit 2; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for cfg in "${configs[@]}"; do
  name=$(basename "$cfg" .toml)
  for who in old new; do
    "${!who}" "$cfg" --quiet --out "$scratch/$name-$who" --set data.per_class=100 \
      --set data.test_per_class=50 --set optim.epochs=3 --set 'analysis.epochs="all"' \
      > "$scratch/$name-$who.log" 2>&1 || { echo "$name: the $who binary failed:"; tail -3 "$scratch/$name-$who.log"; status=1; continue 2; }
  done
  if ! cmp -s "$scratch/$name-old/final.safetensors" "$scratch/$name-new/final.safetensors"; then
    echo "$name: final.safetensors differ"; status=1
  elif python3 "$(dirname "$0")/compare_runs.py" "$scratch/$name-old" "$scratch/$name-new" \
       --rtol 0 --atol 0 "$@" > "$scratch/$name.compare"; then
    echo "$name: same network (final.safetensors byte-identical), same last metrics"
  else
    echo "$name: same network, last metrics differ:"; grep -i "mismatch" "$scratch/$name.compare"; status=1
  fi
done
exit $status
