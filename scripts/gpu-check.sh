#!/usr/bin/env bash
# CUDA check from prebuilt release binaries: does nclab train on the GPU, and does a GPU run
# give the CPU run's numbers?
#
#   scripts/gpu-check.sh            (run on a machine with an NVIDIA GPU and PyTorch 2.11)
#
# Needs no Rust toolchain: the binaries `nclab` and `nclab-train` come from NCLAB_BIN
# (default target/release), libtorch from the machine's own PyTorch (found through PYTHON,
# default python3, and put on LD_LIBRARY_PATH), MNIST from $NCLAB_DATA/mnist.
#
# 1. what the machine is: GPU, driver, PyTorch and its CUDA;
# 2. configs/mnist-mlp-ce.toml (MNIST, MLP 3 x 1024, batch 128, lr 0.0679 held constant,
#    analysed at the end) trained with device = "cpu" and with device = "cuda" from the same
#    initial network (nclab initialises on the CPU) on the same batches (drawn by nclab's own
#    generator), twice:
#    a. SHORT: one epoch of 10 steps (128 images per class). Rounding differences have not
#       grown yet, so every metric must agree to float32 tolerance: RTOL_SHORT (1e-4)
#       relative + 1e-6. This is the test that CUDA computes the same function.
#    b. FULL: one epoch of the whole training set (468 steps), shown beside a second CPU run
#       with half the threads: the spread that rounding alone makes after 468 steps (SGD
#       multiplies a 1e-7 difference, of summation order, into percents: 1 against 2 CPU
#       threads differ by 5e-3 in NC1 and 5e-2 in the training loss). The CUDA run must agree
#       within RTOL_FULL (0.1 relative + 1e-3), which catches real faults (other data, other
#       steps), not rounding.
#    The CUDA runs' summary.json must say they ran on cuda.
# Exit status: 0 when all holds (or there is no GPU: nothing to check), 1 otherwise.
#
# Knobs: NCLAB_BIN, PYTHON, NCLAB_DATA (data), RTOL_SHORT, RTOL_FULL, KEEP (a folder for the runs).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${NCLAB_BIN:-target/release}
PYTHON=${PYTHON:-python3}
export NCLAB_DATA=${NCLAB_DATA:-data}
RTOL_SHORT=${RTOL_SHORT:-1e-4}
RTOL_FULL=${RTOL_FULL:-0.1}

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu-check: no NVIDIA GPU visible (nvidia-smi missing or failing); nothing to check."
    exit 0
fi
for b in nclab nclab-train; do
    [[ -x "$BIN/$b" ]] || { echo "gpu-check: $BIN/$b not found (set NCLAB_BIN)" >&2; exit 1; }
done
torch_lib=$("$PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') \
    || { echo "gpu-check: $PYTHON cannot import torch" >&2; exit 1; }
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$PYTHON" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version())'
echo "libtorch from $torch_lib"

tmp=${KEEP:-$(mktemp -d)}
mkdir -p "$tmp"
status=0
threads=$(nproc)
# train NAME DEVICE THREADS [--set ...]: one epoch of the MNIST config into $tmp/NAME.
train() {
    local name=$1 dev=$2 t=$3 start
    shift 3
    rm -rf "${tmp:?}/$name"
    start=$(date +%s.%N)
    if ! "$BIN/nclab" train configs/mnist-mlp-ce.toml --out "$tmp/$name" --quiet \
        --set device="$dev" --set optim.epochs=1 --set optim.schedule=constant \
        --set analysis.epochs=all --set threads="$t" "$@" >"$tmp/$name.log" 2>&1; then
        echo "gpu-check: the $name run failed:" >&2
        tail -5 "$tmp/$name.log" >&2
        exit 1
    fi
    echo "$name: $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}') s"
    if [[ $dev == cuda ]]; then
        local d
        d=$(sed -n 's/.*"device": *"\([^"]*\)".*/\1/p' "$tmp/$name/summary.json" | head -1)
        [[ $d == cuda* ]] || { echo "gpu-check: $name ran on \"$d\", not cuda" >&2; status=1; }
    fi
}
short=(--set data.per_class=128 --set data.test_per_class=100)
train short-cpu cpu "$threads" "${short[@]}"
train short-cuda cuda "$threads" "${short[@]}"
train full-cpu cpu "$threads"
train full-cpu-half cpu $(( (threads + 1) / 2 ))
train full-cuda cuda "$threads"

echo
echo "== a. 10 steps (1,280 images), CPU against CUDA: must agree to $RTOL_SHORT"
"$PYTHON" scripts/compare_runs.py "$tmp/short-cpu" "$tmp/short-cuda" --labels cpu,cuda \
    --rtol "$RTOL_SHORT" --atol 1e-6 || status=1
echo
echo "== b. one full epoch (468 steps), CPU against CUDA, beside CPU with half the threads"
"$PYTHON" scripts/compare_runs.py "$tmp/full-cpu" "$tmp/full-cuda" --noise "$tmp/full-cpu-half" \
    --labels cpu,cuda,cpu-half --rtol "$RTOL_FULL" --atol 1e-3 || status=1
echo
if [[ $status -eq 0 ]]; then echo "gpu-check: OK"; else echo "gpu-check: FAILED"; fi
exit $status
