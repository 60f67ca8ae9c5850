# nclab: the two commands that matter are `make demo` and `make test`.
# Both set up what is missing first (a Python venv holding PyTorch 2.11.0, whose libtorch
# the `tch` crate links against), so they work on a clean clone.

PYTHON ?= python3
VENV   := .venv
TORCH  := torch==2.11.0
CARGO  ?= cargo
NCLAB_DATA ?= data
export NCLAB_DATA

.PHONY: setup demo test data check bench fuzz clean-venv

# ---- set-up (idempotent: a second run only checks two files) --------------------------
setup: .libtorch

$(VENV)/.torch-installed:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(TORCH) numpy
	touch $@

# `.cargo/config.toml` points LIBTORCH at this link, so plain `cargo build` works after setup.
.libtorch: | $(VENV)/.torch-installed
	ln -sfn "$$($(VENV)/bin/python -c 'import os, torch; print(os.path.dirname(torch.__file__))')" $@
	@test -f $@/lib/libtorch_cpu.so || { echo "setup: libtorch not found under $@/lib" >&2; exit 1; }

# ---- the main job -------------------------------------------------------------------------
demo: setup
	$(CARGO) build --release --quiet
	./scripts/demo.sh

# ---- every test ---------------------------------------------------------------------------
test: setup
	$(CARGO) test --workspace

data: setup
	./scripts/fetch-data.sh mnist fashion-mnist cifar10

check: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: setup
	./scripts/bench-measure.sh

# ---- fuzzing (cargo-fuzz on the nightly toolchain; no libtorch needed) --------------------
# Runs every target in fuzz/ for FUZZ_SECONDS each, one after the other; the corpus grows in
# fuzz/corpus/<target> (not committed), a crash is saved in fuzz/artifacts/<target> and stops
# the run. Install the tool once with `cargo install cargo-fuzz`. fuzz/seeds.py first writes a
# few valid files of each format into the corpus (the .npy/.npz seeds need numpy).
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= npy npz safetensors idx cifar pickle hierarchy config

fuzz:
	-$(PYTHON) fuzz/seeds.py
	@for t in $(FUZZ_TARGETS); do \
		echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
		$(CARGO) +nightly fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 \
			|| exit 1; \
	done

clean-venv:
	rm -rf $(VENV) .libtorch
