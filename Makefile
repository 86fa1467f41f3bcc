# The course's commands. `make lab` and `make test` are all a newcomer needs (see README.md).
#
#   make lab         set up (once), then open the course in JupyterLab
#   make test        set up (once), then run every test: utils, notebooks, hygiene
#   make data        fetch and verify the datasets and weights (instructors: before a workshop)
#   make benchmark   run every notebook; report time, peak memory and headline metrics
#   make student     regenerate notebooks/ from solutions/ (authors)
#   make site        build the course's website into book/_build/html (offline; see CONTRIBUTING.md)
#
# PYTHON picks the interpreter the environment is made from (3.10 to 3.14: every pin has wheels for them).
# PIP_FLAGS defaults to --isolated, which makes pip ignore personal pip configuration and
# PIP_* variables, so the install is the plain PyPI one everywhere. Set PIP_FLAGS= (empty) if
# you need your own pip configuration, e.g. a company package mirror.
# TORCH picks the PyTorch build when the environment is made; the choice is remembered in
# $(VENV)/.torch (make clean-env to change it). Left out: PyPI's build, the tested default,
# which on Linux brings the CUDA libraries (about 5.4 GB installed). TORCH=cpu, on Linux: the
# CPU-only build of the same pins (read from requirements.txt) from PyTorch's CPU wheel index,
# as binder/environment.yml uses (about 1.5 GB). On macOS and Windows PyPI's build has no CUDA.

PYTHON ?= python3
PIP_FLAGS ?= --isolated
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SITE_STAMP := $(VENV)/.site-installed
TORCH ?= $(shell cat $(VENV)/.torch 2>/dev/null)
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu

ifneq ($(filter-out cpu,$(TORCH)),)
$(error TORCH=$(TORCH) is not a choice: leave TORCH out for PyPI's PyTorch (the default), or set TORCH=cpu for the CPU-only build on Linux)
endif
ifeq ($(TORCH),cpu)
ifneq ($(shell uname -s),Linux)
$(error TORCH=cpu is for Linux only: on this system PyPI's PyTorch has no CUDA libraries, so leave TORCH out)
endif
TORCH_CPU_PINS := $(shell sed -n -E 's/^(torch|torchvision)==([^[:space:];]+).*/\1==\2+cpu/p' requirements.txt)
ifneq ($(words $(TORCH_CPU_PINS)),2)
$(error TORCH=cpu: could not read the torch and torchvision pins from requirements.txt)
endif
endif

.PHONY: setup lab test data benchmark student site clean-env

setup: $(STAMP)
ifeq ($(TORCH),cpu)
	@$(BIN)/python -c "from importlib.metadata import version; v = version('torch'); raise SystemExit(None if v.endswith('+cpu') else 'TORCH=cpu, but .venv already holds PyPI torch ' + v + ': run make clean-env, then this command again.')"
endif

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 10) <= v <= (3, 14) else "The pinned packages support Python 3.10 to 3.14; this is %d.%d: run make PYTHON=python3.12 (or another)" % v)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
ifeq ($(TORCH),cpu)
	$(BIN)/python -m pip install $(PIP_FLAGS) --disable-pip-version-check -q --extra-index-url $(TORCH_CPU_INDEX) $(TORCH_CPU_PINS)
endif
	$(BIN)/python -m pip install $(PIP_FLAGS) --disable-pip-version-check -q -r requirements.txt
	$(BIN)/python -m pip install $(PIP_FLAGS) --disable-pip-version-check -q --no-deps -e .
	$(BIN)/python -c "import torch, torchvision.ops; torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5); print('torch', torch.__version__, 'and torchvision', torchvision.__version__, 'work together.')"
	echo '$(TORCH)' > $(VENV)/.torch
	touch $(STAMP)

# FashionMNIST: on Debian or Ubuntu, as root, the package dataset-fashion-mnist provides it
# without a download; everywhere else `python -m utils.prefetch` downloads it. What cannot be
# fetched (offline: the ResNet-18 weights) is reported, and the notebooks run without it.
data: setup
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's dataset-fashion-mnist package"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null; \
	fi
	$(BIN)/python -m utils.prefetch || echo "Continuing: the notebooks say what is missing and run without it."

# Jupyter refuses to run as root unless told to (containers and fresh cloud machines run as root).
lab: data
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# Lint first (seconds), then every test. Notebooks are linted but not reformatted: their code is
# wrapped by hand for vertical space (see CONTRIBUTING.md).
test: data $(SITE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

# The benchmark, then the figures learners see (each notebook's Time line, the README's table)
# from its report, even when a budget is exceeded (the exit status still says so).
benchmark: data
	status=0; $(BIN)/python -m tools.benchmark || status=$$?; $(BIN)/python -m tools.figures && exit $$status

student: setup
	$(BIN)/python -m tools.make_student

# The website's tools (requirements-site.txt) are installed for `make site` and `make test` only:
# `make lab` does not need them.
$(SITE_STAMP): $(STAMP) requirements-site.txt
	$(BIN)/python -m pip install $(PIP_FLAGS) --disable-pip-version-check -q -r requirements-site.txt
	touch $(SITE_STAMP)

site: $(SITE_STAMP)
	$(BIN)/python -m book.build

clean-env:
	rm -rf $(VENV)
