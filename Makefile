# The course's commands. `make lab` and `make test` are all a newcomer needs (see README.md).
#
#   make lab         set up (once), then open the course in JupyterLab
#   make test        set up (once), then run every test: utils, notebooks, hygiene
#   make data        fetch and verify the datasets and weights (instructors: before a workshop)
#   make benchmark   run every notebook; report time, peak memory and headline metrics
#   make student     regenerate notebooks/ from solutions/ (authors)
#
# PYTHON picks the interpreter the environment is made from (3.10 to 3.13).
# PIP_FLAGS defaults to --isolated, which makes pip ignore personal pip configuration and
# PIP_* variables, so the install is the plain PyPI one everywhere. Set PIP_FLAGS= (empty) if
# you need your own pip configuration, e.g. a company package mirror.

PYTHON ?= python3
PIP_FLAGS ?= --isolated
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup lab test data benchmark student clean-env

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 10) <= v <= (3, 13) else "Python 3.10 to 3.13 is needed, this is %d.%d: run make PYTHON=python3.12 (or another)" % v)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --disable-pip-version-check -q -r requirements.txt
	$(BIN)/python -m pip install $(PIP_FLAGS) --disable-pip-version-check -q --no-deps -e .
	$(BIN)/python -c "import torch, torchvision.ops; torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5); print('torch', torch.__version__, 'and torchvision', torchvision.__version__, 'work together.')"
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

test: data
	$(BIN)/python -m pytest

benchmark: data
	$(BIN)/python -m tools.benchmark

student: setup
	$(BIN)/python -m tools.make_student

clean-env:
	rm -rf $(VENV)
