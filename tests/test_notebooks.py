"""Notebook hygiene: what a learner or instructor opening the committed notebooks would trip over.

nbval (collected from ``notebooks/`` and ``solutions/``) re-runs every notebook and compares
outputs; these tests check what nbval does not: that the student notebooks are generated from
the solutions, that the notebooks have the course's anatomy, links and setup cell, that the
committed outputs are clean, and that every exercise is wired to its check.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import nbformat
import pytest

from tools.make_student import out_of_date
from tools.notebooks import NOTEBOOKS, ROOT, SETUP_CELL, SOLUTIONS, badges_markdown
from utils.checks import Exercise
from utils.markers import notebook_regions, regions

SOLUTION_PATHS = sorted(SOLUTIONS.glob("*.ipynb"))
ALL_PATHS = SOLUTION_PATHS + sorted(NOTEBOOKS.glob("*.ipynb"))
IDS = [path.relative_to(ROOT).as_posix() for path in ALL_PATHS]

HARD_CODED_CUDA = re.compile(r"""\.cuda\(\)|device\s*=\s*["']cuda|torch\.device\(\s*["']cuda|\.to\(\s*["']cuda""")
IGNORE_MARKERS = ("# NBVAL_IGNORE_OUTPUT", "# NBVAL_SKIP")


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _text(output) -> str:
    if output.output_type == "stream":
        return output.text
    return output.get("data", {}).get("text/plain", "")


def test_the_course_has_notebooks():
    assert SOLUTION_PATHS, "no notebooks in solutions/"
    for path in SOLUTION_PATHS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), f"{path.name}: name notebooks NN_topic.ipynb"


def test_student_and_solution_notebooks_pair_up():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(p.name for p in SOLUTION_PATHS)


def test_student_notebooks_are_generated_from_the_solutions():
    stale = out_of_date()
    assert not stale, f"out of date with their solutions: {stale}; run: python -m tools.make_student"


@pytest.mark.parametrize("path", ALL_PATHS, ids=IDS)
def test_notebook_has_the_course_anatomy(path: Path):
    nb = _read(path)
    title = nb.cells[0].source
    assert nb.cells[0].cell_type == "markdown" and title.startswith(f"# {path.name[:2]} · "), (
        "title cell: '# NN · Topic'"
    )
    assert badges_markdown(path.relative_to(ROOT).as_posix()) in title, (
        "the Colab and Binder badges must link to this notebook"
    )
    for part in ("**You will learn to**", "**Prerequisites:**", "**Time:**"):
        assert part in title, f"the title cell lacks {part}"
    assert _code_cells(nb)[0].source == SETUP_CELL, "the first code cell must be the course's setup cell"
    headings = [
        line
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("## ")
    ]
    for heading in ("## Key takeaways", "## Common mistakes", "## Further reading"):
        assert heading in headings, f"missing section {heading!r}"


@pytest.mark.parametrize("path", ALL_PATHS, ids=IDS)
def test_outputs_are_clean_and_from_one_top_to_bottom_run(path: Path):
    nb = _read(path)
    counts = [cell.execution_count for cell in _code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), (
        "execution counts are not 1..n: re-run it with python -m tools.run"
    )
    for index, cell in enumerate(_code_cells(nb)):
        on_purpose = "raises-exception" in cell.metadata.get("tags", []) or "# NBVAL_RAISES_EXCEPTION" in cell.source
        for output in cell.outputs:
            if output.output_type == "error":
                assert on_purpose, (
                    f"code cell {index} has a committed error ({output.ename}) not tagged raises-exception"
                )
            assert not re.search(r"(Deprecation|Future)Warning", _text(output)), f"code cell {index} shows a warning"
            assert "Traceback" not in _text(output), f"code cell {index} shows a traceback"
        if on_purpose:
            assert any(o.output_type == "error" for o in cell.outputs), (
                f"code cell {index} is tagged but raises nothing"
            )


@pytest.mark.parametrize("path", ALL_PATHS, ids=IDS)
def test_code_is_device_agnostic_and_ignores_carry_a_reason(path: Path):
    for index, cell in enumerate(_code_cells(_read(path))):
        assert not HARD_CODED_CUDA.search(cell.source), f"code cell {index} hard-codes CUDA; use utils.get_device()"
        assert not re.search(r"pretrained\s*=\s*True", cell.source), f"code cell {index}: use weights=... instead"
        lines = cell.source.splitlines()
        for number, line in enumerate(lines):
            if line.strip() in IGNORE_MARKERS:
                following = lines[number + 1].strip() if number + 1 < len(lines) else ""
                assert following.startswith("# Reason: ") and len(following) > 20, (
                    f"code cell {index}: {line.strip()} must be followed by a '# Reason: ...' line"
                )


def _solution_names(nb) -> list[str]:
    """The exercise names of the solution regions, one entry per cell (a class may hold several regions)."""
    return list(notebook_regions(nb.cells, "notebook"))


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_no_solution_marker_reaches_a_student_notebook(path: Path):
    for index, cell in enumerate(_read(path).cells):
        assert "SOLUTION" not in cell.source, f"cell {index} still holds solution marker text"


@pytest.mark.parametrize("path", ALL_PATHS, ids=IDS)
def test_results_are_checked_with_check_result_not_bare_asserts(path: Path):
    """A bare assert greets a learner who experiments with a red error; utils.check_result does not."""
    for index, cell in enumerate(_code_cells(_read(path))):
        if cell.source.startswith("%%writefile"):
            continue  # the text of a file the notebook writes (notebook 10's tests), not notebook code
        lines = cell.source.split("\n")
        inside = set()
        for region in regions(cell.source):
            inside.update(range(region.begin, region.end + 1))
        for number, line in enumerate(lines):
            if number not in inside and re.match(r"\s*assert\b", line):
                raise AssertionError(f"code cell {index}, line {number + 1}: use utils.check_result, not assert")


EXERCISE_HEADING = re.compile(r"^### Exercise \d+ \((?P<difficulty>[^)]*)\): \S", re.MULTILINE)


@pytest.mark.parametrize("path", SOLUTION_PATHS, ids=[p.name for p in SOLUTION_PATHS])
def test_exercise_headings_name_one_of_the_course_difficulties(path: Path):
    """The working-time estimate counts exercises by difficulty (see CONTRIBUTING.md)."""
    from tools.figures import EXERCISE_MINUTES

    nb = _read(path)
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    headings = [line for line in text.splitlines() if line.startswith("### Exercise")]
    found = EXERCISE_HEADING.findall(text)
    assert len(found) == len(headings), f"write exercise headings as '### Exercise N (difficulty): title': {headings}"
    for difficulty in found:
        assert difficulty in EXERCISE_MINUTES, f"difficulty {difficulty!r} is not one of {sorted(EXERCISE_MINUTES)}"
    assert len(found) == len(_solution_names(nb)), "one '### Exercise' heading per exercise"


@pytest.mark.parametrize("path", SOLUTION_PATHS, ids=[p.name for p in SOLUTION_PATHS])
def test_every_exercise_has_a_solution_a_check_and_a_registered_checker(path: Path):
    nb = _read(path)
    stem = path.stem
    names = _solution_names(nb)
    assert len(names) == len(set(names)), "two cells hold solutions of the same name"
    minimum = 1 if stem.startswith("00") else 3
    assert len(names) >= minimum, f"{stem} has {len(names)} exercises; the course asks for at least {minimum}"
    importlib.import_module(f"utils.exercises.nb{stem[:2]}")
    registered = {name for (notebook, name) in Exercise.registry if notebook == stem}
    assert registered == set(names), (
        f"checks in utils/exercises/nb{stem[:2]}.py {sorted(registered)} vs solutions {names}"
    )
    imports = [cell for cell in _code_cells(nb) if f"from utils.exercises import nb{stem[:2]} as ex" in cell.source]
    assert imports, f"the notebook must import its checks as: from utils.exercises import nb{stem[:2]} as ex"

    student = _read(NOTEBOOKS / path.name)
    for nb_version, expected in ((nb, "✅"), (student, "⬜")):
        cells = _code_cells(nb_version)
        for name in names:
            # The first check of an exercise follows its solution and must show the verdict.
            check_cells = [cell for cell in cells if f"ex.{name}.check(" in cell.source]
            assert check_cells, f"exercise {name!r} is never checked"
            shown = "".join(_text(output) for output in check_cells[0].outputs)
            assert shown.startswith(expected), f"the check of {name!r} shows {shown[:80]!r}, expected {expected}"
