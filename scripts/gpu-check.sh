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
# 2. one epoch of configs/mnist-mlp-ce.toml (full MNIST, MLP 3 x 1024, batch 128, lr 0.0679
#    held constant for the epoch, analysed at its end) with device = "cpu" and with
#    device = "cuda": the same initial network (nclab initialises on the CPU) and the same
#    batches (drawn by nclab's own generator);
# 3. both runs' final metrics side by side with their relative differences
#    (scripts/compare_runs.py): every metric must agree within 1e-3 relative (+1e-4 absolute),
#    NC1 included; and the CUDA run's summary.json must say it ran on cuda.
# Exit status: 0 when all holds (or there is no GPU: nothing to check), 1 otherwise.
#
# Knobs: NCLAB_BIN, PYTHON, NCLAB_DATA (data), RTOL (1e-3), KEEP (a folder to keep the runs in).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${NCLAB_BIN:-target/release}
PYTHON=${PYTHON:-python3}
export NCLAB_DATA=${NCLAB_DATA:-data}
RTOL=${RTOL:-1e-3}

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
for d in cpu cuda; do
    rm -rf "${tmp:?}/$d"
    start=$(date +%s.%N)
    if ! "$BIN/nclab" train configs/mnist-mlp-ce.toml --out "$tmp/$d" --quiet \
        --set device="$d" --set optim.epochs=1 --set optim.schedule=constant \
        --set analysis.epochs=all --set threads="$(nproc)"; then
        echo "gpu-check: the $d run failed" >&2
        exit 1
    fi
    echo "$d run: $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}') s"
done
device=$(sed -n 's/.*"device": *"\([^"]*\)".*/\1/p' "$tmp/cuda/summary.json" | head -1)
if [[ "$device" != cuda* ]]; then
    echo "gpu-check: the cuda run's summary.json says device \"$device\"" >&2
    status=1
fi
echo
echo "== one MNIST epoch, CPU against CUDA (last analysis row)"
"$PYTHON" scripts/compare_runs.py "$tmp/cpu" "$tmp/cuda" --labels cpu,cuda --rtol "$RTOL" || status=1
echo
if [[ $status -eq 0 ]]; then echo "gpu-check: OK (trained on $device, equal to the CPU run)"; else echo "gpu-check: FAILED"; fi
exit $status
