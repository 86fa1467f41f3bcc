"""The README is a newcomer's first page: its commands are the ones the Makefile and CI run.

These tests read the README's fenced shell blocks and compare them with the repository: the
clone address with the one place that names the repository, the start commands with what CI
runs, every `make ...` with the Makefile's targets and variables, the steps without make with
what `make lab` does (read from `make -n`), and the CPU-only option with the pins.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tools.notebooks import GITHUB_REPOSITORY, badge_links
from utils.versions import read_pins

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
PINS = read_pins(ROOT / "requirements.txt")
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
BENCHMARK_BEGIN, BENCHMARK_END = "<!-- benchmark-table:begin -->", "<!-- benchmark-table:end -->"


# --- reading the README -----------------------------------------------------------------------


def _without_fences(text: str) -> str:
    return FENCE.sub("", text)


def _sections(text: str = README) -> dict[str, str]:
    """``{heading: text up to the next heading of any level}``; headings inside code blocks do not count."""
    sections: dict[str, str] = {}
    heading, body, in_fence = None, [], False
    for line in text.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and (match := re.match(r"^#{1,6}\s+(.*?)\s*$", line)):
            if heading is not None:
                sections[heading] = "\n".join(body)
            heading, body = match[1], []
        else:
            body.append(line)
    if heading is not None:
        sections[heading] = "\n".join(body)
    return sections


def _section(prefix: str) -> str:
    found = [body for heading, body in _sections().items() if heading.startswith(prefix)]
    assert len(found) == 1, f"the README needs exactly one section whose heading starts with {prefix!r}"
    return found[0]


def _shell_blocks(text: str) -> list[str]:
    return [body for language, body in FENCE.findall(text) if language in SHELL_LANGUAGES]


def _commands(block: str) -> list[str]:
    """The commands of a shell block: comments and blank lines dropped."""
    commands = []
    for line in block.splitlines():
        command = re.sub(r"(^|\s)#.*$", "", line).strip()
        if command:
            commands.append(command)
    return commands


def _section_commands(prefix: str) -> list[str]:
    blocks = _shell_blocks(_section(prefix))
    assert blocks, f"the README's section {prefix!r} has no shell block"
    return [command for block in blocks for command in _commands(block)]


def _code_texts(text: str = README) -> list[str]:
    """Everything the README shows as code: shell blocks and inline code spans."""
    return _shell_blocks(text) + re.findall(r"`([^`\n]+)`", _without_fences(text))


def _make_invocations(text: str = README) -> list[list[str]]:
    """The arguments of every `make ...` the README shows, e.g. ``["lab", "TORCH=cpu"]``."""
    invocations = []
    for code in _code_texts(text):
        for line in code.splitlines():
            for command in re.split(r"&&|\|\||;", re.sub(r"(^|\s)#.*$", "", line)):
                try:
                    tokens = shlex.split(command)
                except ValueError:
                    tokens = command.split()
                if "make" in tokens:
                    arguments = tokens[tokens.index("make") + 1 :]
                    if arguments:
                        invocations.append(arguments)
    return invocations


# --- reading the Makefile ---------------------------------------------------------------------


def _makefile_targets(text: str = MAKEFILE) -> set[str]:
    return set(re.findall(r"^([A-Za-z0-9_.\-/$()]+)\s*:(?!=)", text, re.MULTILINE))


def _makefile_variables(text: str = MAKEFILE) -> set[str]:
    return set(re.findall(r"^([A-Z_][A-Z0-9_]*)\s*(?:\?|:|\+)?=", text, re.MULTILINE))


def _make_dry_run(*arguments: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``make -n -B ARGUMENTS``: prints every command the targets would run, runs none."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"TORCH", "PIP_FLAGS", "PYTHON", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
    }
    command = [make, "-n", "-B", *arguments]
    return subprocess.run(command, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def _steps(commands: list[str]) -> list[tuple[str, ...]]:
    """The setup steps that matter, in order, with the spelling of paths and quiet flags removed."""
    steps: list[tuple[str, ...]] = []
    for command in commands:
        if re.search(r"-m venv \.venv\b", command):
            steps.append(("venv",))
        elif match := re.search(r"-m pip install (.*)", command):
            arguments = [a for a in shlex.split(match[1]) if a not in {"-q", "--disable-pip-version-check"}]
            steps.append(("pip install", *arguments))
        elif re.search(r"-m utils\.prefetch\b", command):
            steps.append(("prefetch",))
        elif re.match(r"^(\S*/)?jupyter lab notebooks/", command):
            steps.append(("jupyter lab notebooks/",))
    return steps


# --- the tests ----------------------------------------------------------------------------------


def test_start_is_clone_then_make_lab_for_learners_and_make_test_for_instructors():
    name = GITHUB_REPOSITORY.split("/")[1]
    assert _section_commands("Start") == [
        f"git clone https://github.com/{GITHUB_REPOSITORY}",
        f"cd {name}",
        "make lab",
        "make test",
    ]
    lines = _shell_blocks(_section("Start"))[0].splitlines()
    assert "learners" in next(line for line in lines if line.startswith("make lab"))
    assert "instructors" in next(line for line in lines if line.startswith("make test"))


def test_every_address_of_the_course_is_the_repository():
    assert re.findall(r"github\.com/([\w.\-]+/[\w.\-]+)", README), "the README gives no repository address"
    for address in re.findall(r"github\.com/([\w.\-]+/[\w.\-]+)", README):
        assert address.removesuffix(".git") == GITHUB_REPOSITORY
    for url, path in re.findall(r"(https://mybinder\.org/v2/gh/[^)\s]*?urlpath=lab/tree/([^)\s]+))", README):
        assert url == badge_links(path)[1] and (ROOT / path).exists()
    for url, path in re.findall(r"(https://colab\.research\.google\.com/github/[^)\s]*?/blob/[^/]+/([^)\s]+))", README):
        assert url == badge_links(path)[0] and (ROOT / path).exists()


def test_ci_runs_the_readmes_test_command():
    test_command = next(command for command in _section_commands("Start") if command.startswith("make test"))
    ci_lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert test_command in ci_lines, f".ci/run must run {test_command!r}, as the README says"


def test_every_make_command_in_the_readme_is_a_makefile_target_with_makefile_variables():
    targets, variables = _makefile_targets(), _makefile_variables()
    invocations = _make_invocations()
    named = {argument for arguments in invocations for argument in arguments if "=" not in argument}
    assert {"lab", "test", "data", "clean-env"} <= named
    for arguments in invocations:
        for argument in arguments:
            if "=" in argument:
                assert argument.split("=")[0] in variables, f"`make {' '.join(arguments)}`: no such Makefile variable"
            else:
                assert argument in targets, f"`make {' '.join(arguments)}`: no such Makefile target"


def test_the_steps_without_make_are_the_steps_make_lab_takes():
    result = _make_dry_run("lab", "TORCH=")
    assert result.returncode == 0, result.stderr
    make_steps = _steps(result.stdout.splitlines())
    readme_steps = _steps(_section_commands("Without make"))
    assert readme_steps == make_steps
    # and what they must be: one pinned requirements file, pip isolated, the course's package
    assert ("pip install", "--isolated", "-r", "requirements.txt") in readme_steps
    assert ("pip install", "--isolated", "--no-deps", "-e", ".") in readme_steps
    assert readme_steps.index(("prefetch",)) == len(readme_steps) - 2


def test_the_conda_route_fetches_the_data_before_opening_the_lab():
    name = re.search(r"^name:\s*(\S+)", (ROOT / "environment.yml").read_text(), re.MULTILINE)[1]
    assert _section_commands("conda") == [
        "conda env create -f environment.yml",
        f"conda activate {name}",
        "python -m utils.prefetch",
        "jupyter lab notebooks/",
    ]


def test_the_readme_offers_the_cpu_only_build_as_an_untested_option_of_make_lab():
    section = _section("Linux without an NVIDIA GPU")
    assert _commands(_shell_blocks(section)[0]) == ["make lab TORCH=cpu"]
    assert re.search(r"not tested", section) and "CI" in section
    assert len(re.findall(r"\d+(?:\.\d+)? GB", section)) >= 2, "give the install size each way"


@pytest.mark.skipif(platform.system() != "Linux", reason="TORCH=cpu is a Linux option")
@pytest.mark.parametrize("torch_pin, torchvision_pin", [(PINS["torch"], PINS["torchvision"]), ("9.8.7", "6.5.4")])
def test_torch_cpu_installs_the_pinned_pair_from_pytorchs_cpu_index_first(tmp_path, torch_pin, torchvision_pin):
    # A copy of the Makefile with these pins proves the pins are read from requirements.txt.
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    requirements = (ROOT / "requirements.txt").read_text()
    requirements = re.sub(r"^torch==\S+", f"torch=={torch_pin}", requirements, flags=re.MULTILINE)
    requirements = re.sub(r"^torchvision==\S+", f"torchvision=={torchvision_pin}", requirements, flags=re.MULTILINE)
    (tmp_path / "requirements.txt").write_text(requirements)

    result = _make_dry_run(".venv/.installed", "TORCH=cpu", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    binder_index = re.search(r"--extra-index-url\s+(\S+)", (ROOT / "binder/environment.yml").read_text())[1]
    cpu_lines = [i for i, line in enumerate(lines) if binder_index in line]
    assert len(cpu_lines) == 1, "TORCH=cpu must install from the index binder/environment.yml uses"
    cpu_install = shlex.split(lines[cpu_lines[0]])
    assert "--isolated" in cpu_install and f"--extra-index-url={binder_index}" in " ".join(cpu_install).replace(
        "--extra-index-url ", "--extra-index-url="
    )
    assert cpu_install[-2:] == [f"torch=={torch_pin}+cpu", f"torchvision=={torchvision_pin}+cpu"]
    requirements_line = next(i for i, line in enumerate(lines) if "-r requirements.txt" in line)
    assert cpu_lines[0] < requirements_line, "the CPU pair must be installed before the rest of requirements.txt"


def test_the_default_install_is_pypi_only():
    result = _make_dry_run(".venv/.installed", "TORCH=")
    assert result.returncode == 0, result.stderr
    assert "download.pytorch.org" not in result.stdout and "+cpu" not in result.stdout


@pytest.mark.parametrize("value", ["cuda", "CPU", "gpu cpu"])
def test_a_wrong_torch_value_stops_make_and_names_the_choices(value):
    result = _make_dry_run("setup", f"TORCH={value}")
    assert result.returncode != 0
    assert f"TORCH={value} is not a choice" in result.stderr and "TORCH=cpu" in result.stderr


def test_the_python_versions_the_readme_names_are_the_makefiles():
    low, high = re.search(r"Python (3\.\d+) to (3\.\d+)", _section("Start")).groups()
    assert f"{low} to {high}" in MAKEFILE, f"the Makefile does not accept Python {low} to {high}"
    quoted = [row for row in _section("Troubleshooting").splitlines() if f"Python {low} to {high}" in row]
    message = re.match(r"^\|\s*`([^`]+)`", quoted[0])[1]
    assert message in MAKEFILE, f"the README quotes {message!r}, which the Makefile's version check does not say"


def test_binder_and_colab_say_how_to_keep_ones_work():
    section = _section("Binder and Colab")
    binder, colab = section.split("**Colab:**")
    assert "10 idle minutes" in binder and "File → Download" in binder
    assert "File → Save a copy in Drive" in colab


@pytest.mark.parametrize(
    "symptom, fix",
    [
        ("torchvision::nms does not exist", "make clean-env"),
        ("Python 3.10 to", "PYTHON="),
        ("No space left on device", "TORCH=cpu"),
        ("utils.prefetch", "make data"),
        ("MPS", "PYTORCH_ENABLE_MPS_FALLBACK=1"),
        ("num_workers", "num_workers=0"),
    ],
)
def test_troubleshooting_gives_a_fix_for(symptom, fix):
    rows = [line.split("|") for line in _section("Troubleshooting").splitlines() if line.startswith("|")]
    assert any(symptom in row[1] and fix in row[2] for row in rows if len(row) >= 4)


def test_the_readmes_links_lead_somewhere():
    slugs = {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in _sections()}
    for target in re.findall(r"\]\(([^)\s]+)\)", _without_fences(README)):
        if target.startswith("#"):
            assert target[1:] in slugs, f"no heading for the link {target}"
        elif not re.match(r"^[a-z]+:", target):
            assert (ROOT / target.split("#")[0]).exists(), f"the README links {target}, which does not exist"


def test_the_benchmark_table_is_marked_for_its_generator():
    lines = README.splitlines()
    assert lines.count(BENCHMARK_BEGIN) == 1 and lines.count(BENCHMARK_END) == 1
    table = lines[lines.index(BENCHMARK_BEGIN) + 1 : lines.index(BENCHMARK_END)]
    assert len(table) >= 3 and all(line.startswith("|") for line in table)
