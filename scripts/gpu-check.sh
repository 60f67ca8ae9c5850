#!/usr/bin/env bash
# CUDA check: does nclab (tch) use the GPU, and how fast is a training step there compared
# with the CPU? Run it on any machine with a CUDA GPU (it exits 0 with a message when there is
# none, so it is safe to call anywhere).
#
# 1. what nvidia-smi, tch and PyTorch see;
# 2. the training-step benchmark (crates/nclab/examples/bench_step.rs: forward + CE + backward +
#    SGD, batch 128) for mlp and resnet18 width 16, on the CPU (CPU_THREADS threads) and on
#    cuda:0, printed side by side as images/s, with PyTorch on the GPU as a reference;
# 3. if the `nclab train` command and the MNIST data are present, a 1-epoch MNIST training run
#    (TRAIN_CONFIG) with device = "cpu" and with device = "cuda": summary.json's device and
#    train_images_per_s side by side; the cuda run must report a cuda device.
# Exit status: 0 when everything that could run used CUDA as asked, 1 otherwise.
# Not yet run on a GPU (none was available while writing it).
#
# Knobs: CPU_THREADS (all cores), STEPS (20), PYTHON (.venv/bin/python),
# TRAIN_CONFIG (configs/mnist-mlp-ce-cpu.toml).
set -uo pipefail
cd "$(dirname "$0")/.."
export LIBTORCH=${LIBTORCH:-$PWD/.libtorch}
PYTHON=${PYTHON:-.venv/bin/python}
STEPS=${STEPS:-20}
CPU_THREADS=${CPU_THREADS:-$(nproc)}
TRAIN_CONFIG=${TRAIN_CONFIG:-configs/mnist-mlp-ce-cpu.toml}

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu-check: no NVIDIA GPU visible (nvidia-smi missing or failing); nothing to check."
    exit 0
fi
echo "== GPU"
nvidia-smi -L
if [[ -x "$PYTHON" ]]; then
    "$PYTHON" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "available:", torch.cuda.is_available())' || true
fi

cargo build --release --quiet -p nclab --example bench_step || { echo "gpu-check: build failed" >&2; exit 1; }
BIN="${CARGO_TARGET_DIR:-target}/release/examples/bench_step"

status=0
# images/s from a bench line: 128 images per step.
ips() { sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' | awk '{ if ($1 > 0) printf "%.0f", 128000 / $1; else print "-" }'; }

echo
echo "== Training step, batch 128 (images/s; CPU with $CPU_THREADS threads)"
printf '%-14s %12s %12s %14s %8s\n' model "nclab cpu" "nclab cuda" "pytorch cuda" speedup
for m in mlp r16; do
    case $m in
        mlp) args=(mlp); label="mlp 3x1024" ;;
        r16) args=(resnet18 --width 16); label="resnet18 w16" ;;
    esac
    cpu_line=$("$BIN" "${args[@]}" --device cpu --threads "$CPU_THREADS" --steps 5 --warmup 1 2>&1) || cpu_line=""
    gpu_line=$("$BIN" "${args[@]}" --device cuda --steps "$STEPS" --warmup 3 2>&1)
    if [[ $? -ne 0 || "$gpu_line" != *"device=Cuda"* ]]; then
        echo "gpu-check: nclab did NOT run on CUDA for $label: $gpu_line" >&2
        status=1
    fi
    torch_line=""
    [[ -x "$PYTHON" ]] && torch_line=$("$PYTHON" scripts/bench_train.py "${args[@]}" --device cuda --steps "$STEPS" --warmup 3 2>&1)
    a=$(ips <<<"$cpu_line"); b=$(ips <<<"$gpu_line"); c=$(ips <<<"$torch_line")
    speed=$(awk -v a="${a:-0}" -v b="${b:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.1fx", b / a; else print "-" }')
    printf '%-14s %12s %12s %14s %8s\n' "$label" "${a:--}" "${b:--}" "${c:--}" "$speed"
done
[[ $status -eq 0 ]] && echo "CUDA used by nclab: yes" || echo "CUDA used by nclab: NO"

echo
echo "== Short MNIST training, 1 epoch, CPU then CUDA"
NCLAB="${CARGO_TARGET_DIR:-target}/release/nclab"
# the value of a top-level key of summary.json
summary_field() { sed -n "s/.*\"$2\": *\"\{0,1\}\([^,\"}]*\).*/\1/p" "$1/summary.json" | head -1; }
if cargo build --release --quiet -p nclab --bin nclab 2>/dev/null && [[ -f "$TRAIN_CONFIG" ]] \
    && "$NCLAB" train --help >/dev/null 2>&1; then
    tmp=$(mktemp -d)
    declare -A IPS DEV
    for d in cpu cuda; do
        if "$NCLAB" train "$TRAIN_CONFIG" --set device=$d --set optim.epochs=1 --out "$tmp/$d" --quiet; then
            IPS[$d]=$(summary_field "$tmp/$d" train_images_per_s)
            DEV[$d]=$(summary_field "$tmp/$d" device)
        else
            echo "gpu-check: the $d training run failed" >&2
            status=1
        fi
    done
    printf '%-8s %-10s %16s\n' run device "train images/s"
    for d in cpu cuda; do printf '%-8s %-10s %16s\n' "$d" "${DEV[$d]:--}" "${IPS[$d]:--}"; done
    if [[ "${DEV[cuda]:-}" == cuda* ]]; then
        echo "training ran on CUDA: yes"
    else
        echo "gpu-check: summary.json of the cuda run does not report a cuda device" >&2
        status=1
    fi
else
    echo "skipped: needs the 'nclab train' command, $TRAIN_CONFIG and its data"
fi
exit $status
