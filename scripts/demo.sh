#!/usr/bin/env bash
# The main job of `make demo`. Until training lands it measures collapse on a generated example.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${DEMO_OUT:-target/demo}
mkdir -p "$out"
./target/release/nclab measure --example "$out/example.safetensors"
./target/release/nclab measure "$out/example.safetensors"
