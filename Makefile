# nclab: the two commands that matter are `make demo` and `make test`.
# Both set up what is missing first (a Python venv holding PyTorch 2.11.0, whose libtorch
# the `tch` crate links against, and the `nclab` Python package built into it), so they work
# on a clean clone.

PYTHON ?= python3
VENV   := .venv
TORCH  := torch==2.11.0
PYTOOLS := maturin==1.16.0 pytest==9.2.0
CARGO  ?= cargo
NCLAB_DATA ?= data
export NCLAB_DATA

.PHONY: setup python wheel demo install test data check bench fuzz clean-venv

# ---- set-up (idempotent: a second run checks two files and rebuilds nothing unchanged) -
setup: .libtorch python

# PyTorch from PyPI carries its CUDA libraries: the venv takes about 4.7 GB, and pip first
# downloads the wheels (a few GB) into $TMPDIR. pip keeps no cache (the wheels would be kept a
# second time), and the install refuses to start, saying so, where the repository's disk has
# less than $(VENV_NEED_GB) GB free (or a separate $TMPDIR disk less than $(TMP_NEED_GB) GB),
# instead of failing half-way with ENOSPC.
VENV_NEED_GB ?= 8
TMP_NEED_GB ?= 4
PIP := $(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-cache-dir

$(VENV)/.torch-installed:
	@tmp="$${TMPDIR:-/tmp}"; \
	free_gb() { df -Pk "$$1" | awk 'NR==2 {print int($$4 / 1048576)}'; }; \
	device() { df -P "$$1" | awk 'NR==2 {print $$1}'; }; \
	free=$$(free_gb .); \
	if [ "$$free" -lt $(VENV_NEED_GB) ]; then \
		echo "setup: $(TORCH) and its CUDA libraries need about $(VENV_NEED_GB) GB while installing into $(abspath $(VENV)); only $$free GB free on its disk. Free some space (\`cargo clean\` frees target/, \`make clean-venv\` a half-installed .venv) and run make again." >&2; \
		exit 1; \
	fi; \
	if [ "$$(device "$$tmp")" != "$$(device .)" ] && [ "$$(free_gb "$$tmp")" -lt $(TMP_NEED_GB) ]; then \
		echo "setup: pip downloads the torch wheels into $$tmp, which has only $$(free_gb "$$tmp") GB free (needs about $(TMP_NEED_GB) GB); set TMPDIR to a folder on a larger disk and run make again." >&2; \
		exit 1; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(PIP) $(TORCH) numpy
	touch $@

# `.cargo/config.toml` points LIBTORCH at this link, so plain `cargo build` works after setup.
.libtorch: | $(VENV)/.torch-installed
	ln -sfn "$$($(VENV)/bin/python -c 'import os, torch; print(os.path.dirname(torch.__file__))')" $@
	@test -f $@/lib/libtorch_cpu.so || { echo "setup: libtorch not found under $@/lib" >&2; exit 1; }

$(VENV)/.python-tools: | $(VENV)/.torch-installed
	$(PIP) $(PYTOOLS)
	touch $@

# `import nclab` in the venv: the compiled extension (crates/nclab-py), installed editable.
python: $(VENV)/.python-tools
	cd crates/nclab-py && VIRTUAL_ENV="$(abspath $(VENV))" "$(abspath $(VENV))/bin/maturin" develop --release --quiet

# One abi3 wheel (CPython >= 3.9) in dist/.
wheel: $(VENV)/.python-tools
	"$(abspath $(VENV))/bin/maturin" build --release --manifest-path crates/nclab-py/Cargo.toml --out dist

# ---- the main job -------------------------------------------------------------------------
demo: setup
	$(CARGO) build --release --quiet
	./scripts/demo.sh

# ---- nclab on PATH -------------------------------------------------------------------------
# `make install` copies the release binaries `nclab` and `nclab-train` (which `nclab train`
# runs; it must sit beside `nclab`) into $(PREFIX)/bin, ~/.local/bin by default. nclab-train
# finds libtorch through an rpath into .venv, so keep this checkout's .venv.
PREFIX ?= $(HOME)/.local
install: .libtorch
	$(CARGO) build --release --quiet
	install -d "$(PREFIX)/bin"
	install -m 755 "$${CARGO_TARGET_DIR:-target}/release/nclab" "$${CARGO_TARGET_DIR:-target}/release/nclab-train" "$(PREFIX)/bin/"
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; *) echo "install: $(PREFIX)/bin is not on PATH; add it with: export PATH=\"$(PREFIX)/bin:\$$PATH\"" ;; esac

# ---- every test ---------------------------------------------------------------------------
# MNIST first (fetched if missing: the README tour's test and the Python example's test train
# on it), then Rust (it builds target/debug/nclab, which the Python tests call), then Python.
test: setup
	./scripts/fetch-data.sh mnist
	$(CARGO) test --workspace
	NCLAB_BIN=target/debug/nclab $(VENV)/bin/python -m pytest -q -rs crates/nclab-py/tests tests

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
