"""What the project's commands share about notebooks: where they are, the parts every notebook
has (badges, setup cell), the solution-to-stub rewrite, and running a notebook in a fresh kernel.
"""

from __future__ import annotations

import ast
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from utils import data as course_data
from utils.checks import STRICT_RESULTS_VARIABLE
from utils.data import COLAB_COURSE_FOLDER
from utils.markers import notebook_regions, regions

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"

#: The GitHub repository the Colab and Binder links point to, and that the setup cell clones.
GITHUB_REPOSITORY = "hands-on-pytorch/pytorch-course"
#: The git ref (branch or tag) of the course that the badges open and the Colab setup cell clones,
#: so that a notebook opened from a badge runs with the code that matches it. A release sets it
#: to its tag and runs `python -m tools.make_student`, which puts the new setup cell into every
#: solution and student notebook.
COURSE_REF = "main"

#: Every notebook's first code cell, character for character (a test enforces it). Locally and
#: on Binder ``utils`` is installed; Colab opens the notebook alone, so it fetches the course.
SETUP_CELL = f"""\
# Setup: on Colab, fetch the course's code so that `import utils` works. Locally and on Binder
# the course is installed already and this cell does nothing.
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    course = "{COLAB_COURSE_FOLDER}"
    if not os.path.isdir(course):
        repository = "https://github.com/{GITHUB_REPOSITORY}"
        clone = ["git", "clone", "-q", "--depth", "1", "--branch", "{COURSE_REF}", repository, course]
        try:
            subprocess.run(clone, check=True)
        except subprocess.CalledProcessError:
            raise SystemExit(f"Could not download the course from {{repository}}: check the connection, run again.")
    sys.path.insert(0, course)"""

#: Environment for executing notebooks non-interactively: no progress bars in stored outputs;
#: deprecation warnings shown (the tests fail on any that appear); result checks that fail the
#: run instead of printing a calm line (``utils.checks.check_result``); and idle OpenMP threads that
#: sleep instead of spinning, so that a busy machine does not slow small operations tenfold
#: (the results are the same: only how waiting threads wait changes).
EXECUTION_ENV = {
    "TQDM_DISABLE": "1",
    "PYTHONWARNINGS": "default::DeprecationWarning,default::FutureWarning",
    "OMP_WAIT_POLICY": "PASSIVE",
    STRICT_RESULTS_VARIABLE: "1",
}
CELL_TIMEOUT_S = 300

#: Tag of the code cells whose outputs come from pretrained weights (an ImageNet network's
#: predictions, accuracies, figures). Run where the weights file is missing, they show what a
#: randomly initialised network does: meaningless reading for a learner on GitHub. So
#: :func:`execute` commits them without outputs then (see :func:`clear_outputs_needing_weights`),
#: and a run with the weights (Colab, Binder, a prefetched laptop) shows the real ones. Such a
#: cell also starts with ``# NBVAL_IGNORE_OUTPUT``, so that nbval runs it without comparing.
NEEDS_WEIGHTS_TAG = "needs-pretrained-weights"


def badge_links(relative_path: str) -> tuple[str, str]:
    """The Colab and Binder URLs of the notebook at ``relative_path`` (e.g. ``notebooks/00_setup.ipynb``)."""
    colab = f"https://colab.research.google.com/github/{GITHUB_REPOSITORY}/blob/{COURSE_REF}/{relative_path}"
    binder = f"https://mybinder.org/v2/gh/{GITHUB_REPOSITORY}/{COURSE_REF}?urlpath=lab/tree/{relative_path}"
    return colab, binder


def badges_markdown(relative_path: str) -> str:
    """The badge line that goes under every notebook's title."""
    colab, binder = badge_links(relative_path)
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
        f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder})"
    )


def solution_notebooks() -> list[Path]:
    return sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))


def student_path(solution: Path) -> Path:
    return NOTEBOOKS / solution.name


# --------------------------------------------------------------------------- solution -> stub


def _stub_for(region: list[str], indent: str, name: str) -> list[str]:
    """What replaces the lines of one solution region in the student notebook.

    Inside a function (the marker is indented) the stub raises ``NotImplementedError``; at the
    top level every name the solution assigns becomes ``name = ...``.
    """
    if indent:
        return [f"{indent}# Your code here", f"{indent}raise NotImplementedError"]
    tree = ast.parse("\n".join(region))
    names: list[str] = []
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        for target in targets:
            for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                if isinstance(element, ast.Name) and element.id not in names:
                    names.append(element.id)
    if not names:
        raise ValueError(f"solution {name!r} is at the top level but assigns no name to stub out")
    return [f"{target} = ...  # your code here" for target in names]


def stub_source(source: str, where: str = "this cell") -> str:
    """Replace every ``# BEGIN SOLUTION name`` ... ``# END SOLUTION`` region in a cell with a stub.

    A malformed marker raises :class:`utils.markers.MarkerError` naming ``where`` and the line.
    """
    lines = source.split("\n")
    out: list[str] = []
    position = 0
    for region in regions(source, where):
        out.extend(lines[position : region.begin])
        body = [line[len(region.indent) :] for line in lines[region.begin + 1 : region.end]]
        out.extend(_stub_for(body, region.indent, region.name))
        position = region.end + 1
    out.extend(lines[position:])
    return "\n".join(out)


def student_version(solution_nb: nbformat.NotebookNode, solution_relative: str) -> nbformat.NotebookNode:
    """The student notebook made from a solution notebook, outputs cleared (run it afterwards)."""
    student = nbformat.from_dict(solution_nb)
    student_relative = solution_relative.replace("solutions/", "notebooks/", 1)
    notebook_regions(student.cells, solution_relative)  # one name, one cell; malformed markers raise
    for index, cell in enumerate(student.cells):
        if cell.cell_type == "code":
            cell.source = stub_source(cell.source, where=f"{solution_relative}, cell {index}")
            cell.outputs, cell.execution_count = [], None
        else:
            cell.source = cell.source.replace(badges_markdown(solution_relative), badges_markdown(student_relative))
    return student


def sources(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """The cell types and sources of a notebook: what "up to date" compares."""
    return [(cell.cell_type, cell.source) for cell in nb.cells]


# --------------------------------------------------------------------------- execution


def clear_outputs_needing_weights(nb: nbformat.NotebookNode) -> int:
    """Empty the outputs of the cells tagged :data:`NEEDS_WEIGHTS_TAG`; return how many had some.

    The execution counts stay, so the notebook still reads as one top-to-bottom run.
    """
    cleared = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and NEEDS_WEIGHTS_TAG in cell.metadata.get("tags", []):
            cleared += bool(cell.outputs)
            cell.outputs = []
    return cleared


def execute(path: Path, extra_cells: list[str] | None = None) -> tuple[nbformat.NotebookNode, float, list[str]]:
    """Run the notebook at ``path`` top to bottom in a fresh kernel, in its own folder.

    ``extra_cells`` are run after the notebook (the benchmark uses them to read the kernel's
    peak memory) and removed again; their text outputs are returned. Returns the executed
    notebook, the wall time of the notebook's own cells and those outputs. When the pretrained
    weights are missing (``utils.data.weights_problem()``), the cells tagged
    :data:`NEEDS_WEIGHTS_TAG` come back without outputs: they would show a random network's.
    """
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # per-cell timestamps would change on every run
    count = len(nb.cells)
    for source in extra_cells or []:
        nb.cells.append(nbformat.v4.new_code_cell(source))
    saved_env = {key: os.environ.get(key) for key in EXECUTION_ENV}
    os.environ.update(EXECUTION_ENV)
    try:
        client = NotebookClient(
            nb,
            timeout=CELL_TIMEOUT_S,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        with client.setup_kernel():
            start = time.perf_counter()
            for index, cell in enumerate(nb.cells[:count]):
                client.execute_cell(cell, index)
            seconds = time.perf_counter() - start
            for index in range(count, len(nb.cells)):
                client.execute_cell(nb.cells[index], index)
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    extra_outputs = ["".join(o.get("text", "") for o in cell.outputs) for cell in nb.cells[count:]]
    del nb.cells[count:]
    nb.metadata.pop("widgets", None)
    problem = course_data.weights_problem()
    if problem is not None and clear_outputs_needing_weights(nb):
        print(f"{path.name}: outputs of the cells tagged {NEEDS_WEIGHTS_TAG!r} cleared ({problem})")
    return nb, seconds, extra_outputs
