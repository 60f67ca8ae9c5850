#!/usr/bin/env bash
# The study of issue 7 (docs/study.md, docs/results.md): run the five CPU-scale grids of
# configs/study/ with `nclab sweep`, copy each finished run's small text files into results/,
# and rebuild the reports that docs/results.md quotes.
#
#   scripts/study.sh run [GRID ...]     train the grids (default: all five), JOBS cells at a time
#   scripts/study.sh collect            runs/<grid>/<cell>/{config.toml,metrics.csv,summary.json}
#                                       -> results/<grid>/<cell>/
#   scripts/study.sh report             results/ -> report/study/<grid>/ (nclab report), and its
#                                       tables and key figures -> docs/results/<grid>/; the wall
#                                       time of each grid -> docs/results/wall-times.md
#
# Stopping and rerunning `run` continues where it stopped (finished cells are skipped,
# killed ones resume). Environment: JOBS (default 2), NCLAB (default target/release/nclab),
# NCLAB_DATA (default ./data), REPORT_OUT (default report/study).
set -euo pipefail
cd "$(dirname "$0")/.."

nclab="${NCLAB:-${CARGO_TARGET_DIR:-target}/release/nclab}"
export NCLAB_DATA="${NCLAB_DATA:-data}"
jobs="${JOBS:-2}"
report_out="${REPORT_OUT:-report/study}"
grids=(replication-mnist-mlp replication-fashion-mnist-mlp hierarchy-fashion-mnist-mlp
       replication-cifar10-resnet18 hierarchy-cifar10-resnet18)

[ -x "$nclab" ] || { echo "study: $nclab not found; run 'cargo build --release'" >&2; exit 1; }

run() {
    local todo=("$@")
    [ ${#todo[@]} -gt 0 ] || todo=("${grids[@]}")
    for g in "${todo[@]}"; do
        local start=$SECONDS
        echo "study: $g started $(date -u +%FT%TZ)"
        "$nclab" sweep "configs/study/$g.toml" --jobs "$jobs"
        echo "study: $g took $((SECONDS - start)) s ($(date -u +%FT%TZ))"
        mkdir -p results
        printf '%s\t%s\t%s\t%s\n' "$g" "$((SECONDS - start))" "$jobs" "$(date -u +%FT%TZ)" \
            >> results/wall-times.tsv
    done
}

collect() {
    local n=0
    for g in "${grids[@]}"; do
        [ -d "runs/$g" ] || continue
        for cell in "runs/$g"/*/; do
            cell="${cell%/}"
            grep -q '"status": "finished"' "$cell/summary.json" 2>/dev/null || continue
            local dest="results/$g/$(basename "$cell")"
            mkdir -p "$dest"
            cp "$cell/config.toml" "$cell/metrics.csv" "$cell/summary.json" "$dest/"
            n=$((n + 1))
        done
    done
    echo "study: $n finished runs copied into results/"
}

# The figures docs/results.md shows (SVG), beside each grid's tables.
doc_figures=(nc1 nc2 nc3 nc4 nc2_tree mean_tree_correlation nc1_coarse test_acc train_acc
             mistake_severity hdist-at-1 hdist-at-5 lnc1 lnc23 lperp)

# The grids docs/results.md quotes: the five above, the full-data protocol grids and the GPU
# runs, as far as results/ holds them.
report_grids=("${grids[@]}" protocol-fashion-mnist-mlp protocol-mnist-mlp gpu-hierarchy-cifar10-resnet18)

report() {
    for g in "${report_grids[@]}"; do
        [ -d "results/$g" ] || continue
        rm -rf "${report_out:?}/$g" "docs/results/$g"
        # The full-data grids' 350 epochs on a linear axis: their terminal phase (epochs 234 on)
        # is a third of the width instead of a sliver at the right of a log axis.
        local x_axis=()
        [[ $g == protocol-* ]] && x_axis=(--linear-x)
        # Each label-smoothing control against the soft labels of its mass, once both have runs
        # (scripts/results_doc.py decides, for this script and the tests alike).
        local contrasts=()
        mapfile -t contrasts < <(python3 scripts/results_doc.py --contrast-args "$g")
        "$nclab" report "results/$g" --out "$report_out/$g" "${x_axis[@]}" "${contrasts[@]}"
        mkdir -p "docs/results/$g"
        cp "$report_out/$g"/{summary.md,summary.csv,comparisons.csv,folds.csv} "docs/results/$g/"
        for f in tradeoff effects "${doc_figures[@]/#/curve-}"; do
            [ -f "$report_out/$g/$f.svg" ] && cp "$report_out/$g/$f.svg" "docs/results/$g/"
        done
        # The final class-mean geometry of each condition that kept it (scripts/keep_final.py).
        for f in "$report_out/$g"/gram-*.svg; do
            [ -f "$f" ] && cp "$f" "docs/results/$g/"
        done
    done
    wall_times > docs/results/wall-times.md
    python3 scripts/results_doc.py
    echo "study: full reports in $report_out/, tables and figures for docs/results.md in docs/results/"
}

# results/wall-times.tsv (grid, seconds, cells side by side, date) as a Markdown table.
wall_times() {
    echo "<!-- made by scripts/study.sh report from results/wall-times.tsv; do not edit -->"
    echo
    echo "| grid | cells | wall time | cells side by side |"
    echo "|---|---|---|---|"
    [ -f results/wall-times.tsv ] || return 0
    while IFS=$'\t' read -r name seconds jobs _; do
        local cells=0
        [ -d "results/$name" ] && cells=$(find "results/$name" -mindepth 1 -maxdepth 1 -type d | wc -l)
        awk -v n="$name" -v c="$cells" -v s="$seconds" -v j="$jobs" \
            'BEGIN { printf "| `%s` | %d | %.1f min | %s |\n", n, c, s / 60, j }'
    done < results/wall-times.tsv
}

case "${1:-}" in
    run) shift; run "$@" ;;
    collect) collect ;;
    report) report ;;
    *) sed -n 2,13p "$0" >&2; exit 2 ;;
esac
