#!/usr/bin/env bash
# Runs the fuzz targets one after the other, each for FUZZ_SECONDS (default 600), at the
# lowest CPU priority, logging to $FUZZ_LOGS/<target>.log; a target that finds a crash stops
# early (its input is in fuzz/artifacts/<target>/) and the next one starts. Prints one line
# per target: runs, seconds, corpus entries and bytes, and the crash file if any.
# Usage (from the repository root): fuzz/campaign.sh [target...]
set -u
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-600}
logs=${FUZZ_LOGS:-fuzz/logs}
mkdir -p "$logs"
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(npy npz safetensors idx cifar pickle hierarchy config)
for t in "${targets[@]}"; do
    start=$(date +%s)
    nice -n 19 cargo +nightly fuzz run "$t" ${FUZZ_TARGET_DIR:+--target-dir "$FUZZ_TARGET_DIR"} -- \
        -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
        > "$logs/$t.log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$t.log" | grep -o '[0-9]*$' | tail -1)
    corpus=$(ls fuzz/corpus/"$t" 2>/dev/null | wc -l)
    bytes=$(du -sb --apparent-size fuzz/corpus/"$t" 2>/dev/null | cut -f1)
    crash=$(grep -o 'Test unit written to [^ ]*' "$logs/$t.log" | tail -1)
    echo "$t rc=$rc seconds=$took runs=${runs:-?} corpus=$corpus files/${bytes:-?} bytes ${crash}"
done
