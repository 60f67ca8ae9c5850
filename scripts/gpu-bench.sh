#!/usr/bin/env bash
# GPU training speed, nclab against plain PyTorch eager, in one call:
#
#   scripts/gpu-bench.sh          (run on a machine with an NVIDIA GPU and PyTorch 2.11)
#
# ResNet18 (width WIDTH, default 64; CIFAR variant) on IMAGES (50,000: the size of
# CIFAR-10's training set) random 32 x 32 u8 images resident on the GPU, batch 128, SGD with
# momentum 0.9 and weight decay 5e-4, no augmentation: whole epochs, each batch gathered by a
# shuffled index and normalised on the device. nclab: crates/nclab-train/examples/bench_step.rs in
# epoch mode (the trainer's own epoch loop); PyTorch: scripts/bench_train.py --epoch (eager
# mode, torch.optim.SGD's multi-tensor default, torch.autocast for bf16). Both with cuDNN
# benchmark mode and channels-last memory format, at
#   f32   float32 (cuDNN's convolutions use TF32, PyTorch's default)
#   bf16  the forward pass in bfloat16, f32 weights and loss.
# Each setting runs alone, then as JOBS (4) processes at once on the one GPU. A run times its
# second to EPOCHS-th epoch (the first warms up cuDNN and the allocator); the table gives
# ms per step and seconds per epoch (median over the timed epochs; for JOBS at once, the
# median over the processes), the ratio nclab / PyTorch, and for JOBS at once the total
# images per second of the GPU.
#
# Needs no Rust toolchain: BENCH_BIN (default target/release/examples/bench_step) is prebuilt,
# libtorch comes from the machine's PyTorch (PYTHON, default python3).
# Knobs: WIDTH, IMAGES, JOBS, EPOCHS (3), PRECISIONS ("f32 bf16").
set -uo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH_BIN:-target/release/examples/bench_step}
PYTHON=${PYTHON:-python3}
WIDTH=${WIDTH:-64}
IMAGES=${IMAGES:-50000}
JOBS=${JOBS:-4}
EPOCHS=${EPOCHS:-3}
PRECISIONS=${PRECISIONS:-"f32 bf16"}

[[ -x "$BENCH" ]] || { echo "gpu-bench: $BENCH not found (set BENCH_BIN)" >&2; exit 1; }
torch_lib=$("$PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') \
    || { echo "gpu-bench: $PYTHON cannot import torch" >&2; exit 1; }
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
"$PYTHON" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda)'

common=(resnet18 --width "$WIDTH" --epoch "$IMAGES" --epochs "$EPOCHS" --batch 128 --device cuda --channels-last)
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# run_set TOOL PREC N: N processes of TOOL at once; prints "ms_per_step epoch_s" (medians).
run_set() {
    local tool=$1 prec=$2 n=$3 dir pids=() i
    dir=$(mktemp -d)
    for ((i = 0; i < n; i++)); do
        if [[ $tool == nclab ]]; then
            "$BENCH" "${common[@]}" --precision "$prec" >"$dir/$i" 2>&1 &
        else
            "$PYTHON" scripts/bench_train.py "${common[@]}" --precision "$prec" >"$dir/$i" 2>&1 &
        fi
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || echo "gpu-bench: a $tool run failed: $(tail -3 "$dir"/*)" >&2; done
    sed 's/^/    /' "$dir"/* >&2
    echo "$(cat "$dir"/* | field ms_per_step | median) $(cat "$dir"/* | field epoch_s | median)"
    rm -rf "$dir"
}

rows=()
for prec in $PRECISIONS; do
    for n in 1 "$JOBS"; do
        read -r a_ms a_ep < <(run_set nclab "$prec" "$n")
        read -r b_ms b_ep < <(run_set pytorch "$prec" "$n")
        rows+=("$(awk -v p="$prec" -v n="$n" -v am="$a_ms" -v ae="$a_ep" -v bm="$b_ms" -v be="$b_ep" -v imgs="$IMAGES" 'BEGIN {
            tot_a = (ae > 0) ? n * imgs / ae : 0; tot_b = (be > 0) ? n * imgs / be : 0
            printf "| %-5s | %2d | %8.2f | %8.2f | %7.2f | %7.2f | %5.3f | %8.0f | %8.0f |", p, n, am, bm, ae, be, (be > 0 ? ae / be : 0), tot_a, tot_b }')")
    done
done
echo
echo "ResNet18 width $WIDTH, batch 128, $IMAGES images an epoch, channels-last, cuDNN benchmark"
echo "| prec  | runs | nclab ms/step | torch ms/step | nclab s/epoch | torch s/epoch | ratio | nclab img/s (GPU) | torch img/s (GPU) |"
echo "|-------|----:|--------:|--------:|-------:|-------:|------:|--------:|--------:|"
printf '%s\n' "${rows[@]}"
echo "(ratio: nclab s/epoch / PyTorch s/epoch, below 1 = nclab faster; img/s: all runs together)"
