#!/usr/bin/env bash
# The Python package's test suite on a CUDA machine, with that machine's own PyTorch: the
# tests that skip on a CPU-only machine (CUDA tensors into nclab.measure, a Tracker whose model
# and data live on the GPU) run there, and every other test runs against CUDA-enabled PyTorch.
#
#   make wheel                                   (here: builds dist/nclab-*.whl, abi3)
#   scripts/gpu-python-check.sh [PYTEST ARGS]    (there: needs no Rust toolchain)
#
# The wheel is installed into a temporary folder (nothing is installed into the machine's
# Python); numpy, torch and pytest come from PYTHON. The CLI tests use the release binaries
# under NCLAB_BIN_DIR (default target/release; `nclab train` needs libtorch, taken from the
# machine's PyTorch as scripts/gpu-check.sh does), the example loop MNIST under NCLAB_DATA.
# Exit status: pytest's; 1 when there is no GPU (this script is for CUDA machines) or a
# prerequisite is missing.
#
# Knobs: PYTHON (default python3), NCLAB_BIN_DIR, NCLAB_DATA (default data), WHEEL (default the
# newest dist/nclab-*.whl).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
BIN_DIR=${NCLAB_BIN_DIR:-target/release}
export NCLAB_DATA=${NCLAB_DATA:-data}
WHEEL=${WHEEL:-$(ls -t dist/nclab-*.whl 2>/dev/null | head -1)}

fail() { echo "gpu-python-check: $*" >&2; exit 1; }
[[ -n "$WHEEL" && -f "$WHEEL" ]] || fail "no wheel: run \`make wheel\` (or set WHEEL)"
for b in nclab nclab-train; do
    [[ -x "$BIN_DIR/$b" ]] || fail "$BIN_DIR/$b not found (set NCLAB_BIN_DIR)"
done
"$PYTHON" -c 'import torch, numpy, pytest' || fail "$PYTHON lacks torch, numpy or pytest"
"$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' \
    || fail "PyTorch sees no CUDA device: this check is for a GPU machine"
torch_lib=$("$PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
"$PYTHON" -m pip install --quiet --no-deps --no-index --disable-pip-version-check \
    --target "$site" "$WHEEL"
"$PYTHON" -c 'import torch; d = torch.cuda.get_device_properties(0); print(f"PyTorch {torch.__version__}, CUDA {torch.version.cuda}, {d.name}")'
echo "nclab from $WHEEL, binaries from $BIN_DIR, data from $NCLAB_DATA"
# The wheel's package, not the source tree's (which has no compiled extension there).
PYTHONPATH="$site" PATH="$(cd "$BIN_DIR" && pwd):$PATH" NCLAB_BIN="$BIN_DIR/nclab" \
    "$PYTHON" -m pytest -q -rs -p no:cacheprovider crates/nclab-py/tests "$@"
