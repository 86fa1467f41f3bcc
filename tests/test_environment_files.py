"""requirements.txt, environment.yml and binder/ agree on every version; the set-up is complete."""

import re
from pathlib import Path

import pytest

from utils.versions import read_pins

ROOT = Path(__file__).resolve().parent.parent
# conda-forge's names for the few packages it calls differently.
CONDA_NAMES = {"pytorch": "torch"}


def _yaml_pins(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(conda pins, pip pins) of an environment.yml; plain parsing, the files are simple."""
    conda, pip = {}, {}
    for line in path.read_text().splitlines():
        if match := re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)\s*==\s*([^\s#]+)", line):
            pip[match[1].lower()] = match[2].split("+")[0]
        elif match := re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)\s*=\s*([^\s=#]+)", line):
            name = CONDA_NAMES.get(match[1].lower(), match[1].lower())
            conda[name] = match[2]
    return conda, pip


PINS = read_pins(ROOT / "requirements.txt")


def test_requirements_pin_the_tested_pair_and_everything_else():
    assert "torch" in PINS and "torchvision" in PINS, "torch and torchvision must be pinned as a pair"
    for package in ["numpy", "matplotlib", "scikit-learn", "jupyterlab", "nbval", "pytest", "tqdm", "pillow"]:
        assert package in PINS, f"{package} is not pinned in requirements.txt"
    lines = [
        line
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) == len(PINS), "every requirement must be pinned with =="


@pytest.mark.parametrize("path", ["environment.yml", "binder/environment.yml"])
def test_environment_files_agree_with_requirements(path):
    conda, pip = _yaml_pins(ROOT / path)
    conda.pop("python", None)
    found = {**conda, **pip}
    assert found == PINS, f"{path} disagrees with requirements.txt: " + ", ".join(
        f"{name}: {found.get(name)} vs {PINS.get(name)}"
        for name in sorted(set(found) | set(PINS))
        if found.get(name) != PINS.get(name)
    )


def test_binder_uses_cpu_only_torch_and_prefetches():
    text = (ROOT / "binder/environment.yml").read_text()
    assert "download.pytorch.org/whl/cpu" in text
    assert f"torch=={PINS['torch']}+cpu" in text and f"torchvision=={PINS['torchvision']}+cpu" in text
    post_build = (ROOT / "binder/postBuild").read_text()
    assert post_build.startswith("#!/bin/bash") and "set -e" in post_build
    assert "python -m utils.prefetch" in post_build and "pip install --no-deps -e ." in post_build
    assert (ROOT / "binder/postBuild").stat().st_mode & 0o111, "postBuild must be executable"
    start = (ROOT / "binder/start").read_text()
    assert "export OMP_NUM_THREADS=1" in start and start.rstrip().endswith('exec "$@"')
    assert (ROOT / "binder/start").stat().st_mode & 0o111, "start must be executable"


def test_python_version_is_the_same_everywhere():
    for path in ["environment.yml", "binder/environment.yml"]:
        assert "- python=3.11" in (ROOT / path).read_text()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci/run").read_text()
    assert "make test" in readme and "make lab" in readme
    assert re.search(r"^make test\b", ci, re.MULTILINE), ".ci/run must run the README's test command"


def test_the_supported_python_versions_agree():
    """The Makefile refuses what the pins do not support, and says the same range as pyproject.toml."""
    makefile = (ROOT / "Makefile").read_text()
    low, high = re.search(r"\((3), (\d+)\) <= v <= \((3), (\d+)\)", makefile).group(2, 4)
    assert f"Python 3.{low} to 3.{high}" in makefile, "the Makefile's message must name the range it checks"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'requires-python = ">=3.{low},<3.{int(high) + 1}"' in pyproject
