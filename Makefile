# nclab: the two commands that matter are `make demo` and `make test`.
# Both set up what is missing first (a Python venv holding PyTorch 2.11.0, whose libtorch
# the `tch` crate links against), so they work on a clean clone.

PYTHON ?= python3
VENV   := .venv
TORCH  := torch==2.11.0
CARGO  ?= cargo
NCLAB_DATA ?= data
export NCLAB_DATA

.PHONY: setup demo test data check bench clean-venv

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

clean-venv:
	rm -rf $(VENV) .libtorch
