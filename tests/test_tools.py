"""The solution-to-student rewrite, the figures learners see, the setup cell and the version report."""

import nbformat
import pytest

from tools import figures, make_student
from tools.notebooks import (
    COURSE_REF,
    GITHUB_REPOSITORY,
    NEEDS_WEIGHTS_TAG,
    NOTEBOOKS,
    SETUP_CELL,
    SOLUTIONS,
    badges_markdown,
    clear_outputs_needing_weights,
    execute,
    stub_source,
    student_version,
)
from utils import versions
from utils.markers import MarkerError


def test_function_solution_becomes_not_implemented():
    source = 'def f(x):\n    """Doc."""\n    # BEGIN SOLUTION f\n    y = x + 1\n    return y\n    # END SOLUTION\n\nprint(\'after\')'
    assert stub_source(source) == (
        'def f(x):\n    """Doc."""\n    # Your code here\n    raise NotImplementedError\n\nprint(\'after\')'
    )


def test_top_level_solution_stubs_every_assigned_name_once():
    source = "x = 1\n# BEGIN SOLUTION pair\na, b = 2, 3\nc: int = a + b\na = 5\n# END SOLUTION\nprint(x)"
    assert stub_source(source) == (
        "x = 1\na = ...  # your code here\nb = ...  # your code here\nc = ...  # your code here\nprint(x)"
    )


def test_several_regions_in_one_cell_and_no_region():
    source = "# BEGIN SOLUTION one\np = 1\n# END SOLUTION\n# BEGIN SOLUTION two\nq = 2\n# END SOLUTION"
    assert stub_source(source) == "p = ...  # your code here\nq = ...  # your code here"
    assert stub_source("print(1)") == "print(1)"


def test_malformed_regions_are_refused():
    with pytest.raises(ValueError, match="no '# END SOLUTION'"):
        stub_source("# BEGIN SOLUTION open\nx = 1")
    with pytest.raises(ValueError, match="assigns no name"):
        stub_source("# BEGIN SOLUTION nothing\nprint(1)\n# END SOLUTION")


def test_make_student_refuses_malformed_markers_naming_notebook_cell_and_line(tmp_path, monkeypatch, capsys):
    solution = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# 42 · Test"),
            nbformat.v4.new_code_cell(SETUP_CELL),
            nbformat.v4.new_code_cell("x = 1\n# BEGIN SOLUTION\nsecret = 42\n# END SOLUTION"),
        ]
    )
    with pytest.raises(MarkerError, match="solutions/42_test.ipynb, cell 2, line 2"):
        student_version(solution, "solutions/42_test.ipynb")
    solution.cells[2].source = "# BEGIN SOLUTION a\nx = 1\n# END SOLUTION"
    solution.cells.append(nbformat.v4.new_code_cell("# BEGIN SOLUTION a\ny = 2\n# END SOLUTION"))
    with pytest.raises(MarkerError, match="cell 3: the solution name 'a' is already used in cell 2"):
        student_version(solution, "solutions/42_test.ipynb")
    # The command itself: exit status 1 and the message, no student notebook written.
    folder = tmp_path / "solutions"
    folder.mkdir()
    nbformat.write(solution, folder / "42_test.ipynb")
    monkeypatch.setattr(make_student, "solution_notebooks", lambda: [folder / "42_test.ipynb"])
    monkeypatch.setattr(make_student, "ROOT", tmp_path)
    monkeypatch.setattr(make_student, "student_path", lambda path: tmp_path / "notebooks" / path.name)
    assert make_student.main([]) == 1
    assert "already used in cell 2" in capsys.readouterr().err
    assert not (tmp_path / "notebooks" / "42_test.ipynb").exists()


def test_setup_cell_clones_the_badges_ref_and_fails_loudly():
    assert f"https://github.com/{GITHUB_REPOSITORY}" in SETUP_CELL
    assert f'"--branch", "{COURSE_REF}"' in SETUP_CELL
    assert f"/blob/{COURSE_REF}/" in badges_markdown("notebooks/00_setup.ipynb")
    assert "check=True" in SETUP_CELL and "raise SystemExit(" in SETUP_CELL
    assert max(len(line) for line in SETUP_CELL.splitlines()) <= 120


def test_student_version_rewrites_code_and_badges_only():
    solution = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(f"# 42 · Test\n\n{badges_markdown('solutions/42_test.ipynb')}"),
            nbformat.v4.new_code_cell(SETUP_CELL),
            nbformat.v4.new_code_cell("# BEGIN SOLUTION v\nv = 3\n# END SOLUTION", execution_count=3),
        ]
    )
    solution.cells[2].outputs = [nbformat.v4.new_output("stream", text="3")]
    student = student_version(solution, "solutions/42_test.ipynb")
    assert "notebooks/42_test.ipynb" in student.cells[0].source and "solutions/" not in student.cells[0].source
    assert student.cells[1].source == SETUP_CELL
    assert student.cells[2].source == "v = ...  # your code here"
    assert student.cells[2].outputs == [] and student.cells[2].execution_count is None
    assert solution.cells[2].source.startswith("# BEGIN SOLUTION"), "the solution notebook was modified"


def test_read_pins_and_version_report(tmp_path, monkeypatch):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\ntorch==2.13.0  # the pair\nnumpy == 2.4.6\nnot-a-pin>=1\n")
    assert versions.read_pins(requirements) == {"torch": "2.13.0", "numpy": "2.4.6"}
    monkeypatch.setattr(
        versions, "read_pins", lambda: {"torch": "2.13.0", "numpy": "1.0.0", "surely-not-installed": "1"}
    )
    installed = {"torch": "2.13.0+cpu", "numpy": "2.4.6", "surely-not-installed": None}
    monkeypatch.setattr(versions, "installed_version", installed.get)
    assert versions.version_report() == [
        ("torch", "2.13.0", "2.13.0+cpu", "OK"),
        ("numpy", "1.0.0", "2.4.6", "DIFFERENT"),
        ("surely-not-installed", "1", None, "MISSING"),
    ]


def test_python_report_verdict(monkeypatch):
    version, verdict = versions.python_report()
    assert version.count(".") == 2 and verdict in ("OK", "UNTESTED")
    monkeypatch.setattr(versions, "SUPPORTED_PYTHON", ((3, 0), (3, 1)))
    assert versions.python_report()[1] == "UNTESTED"


# --------------------------------------------------------------------------- figures


def _title(minutes: int, seconds: int) -> str:
    return f"# 42 · Test\n\nSummary.\n\n{figures.time_line(minutes, seconds)}"


def test_working_time_follows_the_method():
    content = figures.Content(words=2000, code_lines=100, figures=3, exercises={"easy": 1, "stretch": 1})
    # 2000 / 100 + 100 * 0.1 + 3 * 1 + 5 + 20 = 58 minutes, rounded to 5
    assert content.minutes() == 60
    assert figures.Content(words=10, code_lines=1, figures=0, exercises={}).minutes() == 5


def test_time_line_is_rewritten_and_keeps_a_stated_run_time_when_nothing_was_measured():
    title = _title(60, 25)
    assert "about 90 minutes" in figures.updated_title(title, 90, None) and "about 25 s" in figures.updated_title(
        title, 90, None
    )
    assert "runs in about 8 s" in figures.updated_title(title, 60, 7.2)
    with pytest.raises(ValueError, match="no run time"):
        figures.updated_title("# 42 · Test\n\n**Time:** soon.", 60, None)


def test_readme_table_rows_are_replaced_between_the_markers(monkeypatch, tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(_title(60, 5))])
    nb.metadata["course"] = {"metrics": {"test accuracy": "accuracy"}, "headline": "accuracy {accuracy:.1%}"}
    nbformat.write(nb, solutions / "42_test.ipynb")
    monkeypatch.setattr(figures, "SOLUTIONS", solutions)
    monkeypatch.setattr(figures, "ROOT", tmp_path)
    report = {
        "notebooks": [
            {"notebook": "solutions/42_test.ipynb", "seconds": 6.2, "peak_mb": 800, "metrics": {"test accuracy": 0.9}},
            {"notebook": "notebooks/42_test.ipynb", "seconds": 7.4, "peak_mb": 820, "metrics": {"test accuracy": None}},
        ]
    }
    readme = f"Intro\n{figures.TABLE_BEGIN}\n| old |\n{figures.TABLE_END}\nEnd\n"
    new = figures.updated_readme(readme, report)
    assert "| 42 Test | 8 s | 0.82 GB | accuracy 90.0% |" in new
    assert new.startswith("Intro\n") and new.endswith(f"{figures.TABLE_END}\nEnd\n") and "| old |" not in new
    with pytest.raises(ValueError, match="lacks the markers"):
        figures.updated_readme("no table here", report)


def test_the_figures_learners_see_are_up_to_date():
    """Each notebook's Time line follows the method, and the README agrees with the notebooks' run times."""
    stale = figures.planned_changes({})
    assert not stale, f"out of date: {sorted(str(p) for p in stale)}; run: python -m tools.figures"
    readme = figures.README.read_text(encoding="utf-8")
    table = readme[readme.index(figures.TABLE_BEGIN) : readme.index(figures.TABLE_END)]
    for solution in sorted(figures.SOLUTIONS.glob("[0-9][0-9]_*.ipynb")):
        title = nbformat.read(solution, as_version=4).cells[0].source
        seconds = figures._stated_seconds(title)
        row = next((line for line in table.splitlines() if line.startswith(f"| {solution.name[:2]} ")), None)
        assert row is not None, f"the README's table has no row for {solution.name}"
        assert f"| {seconds} s |" in row, f"README row {row!r} disagrees with {solution.name}'s header ({seconds} s)"


# --------------------------------------------------------------------------- pretrained weights


def _weights_notebook() -> nbformat.NotebookNode:
    """A cell that needs the pretrained weights (tagged) and one that does not, both printing."""
    tagged = nbformat.v4.new_code_cell(
        "# NBVAL_IGNORE_OUTPUT\n# Reason: the prediction needs the pretrained weights.\nprint('prediction')"
    )
    tagged.metadata["tags"] = [NEEDS_WEIGHTS_TAG]
    return nbformat.v4.new_notebook(cells=[tagged, nbformat.v4.new_code_cell("print('shape')")])


def test_only_the_tagged_cells_lose_their_outputs():
    nb = _weights_notebook()
    for cell in nb.cells:
        cell.outputs = [nbformat.v4.new_output("stream", text="x\n")]
        cell.execution_count = 1
    assert clear_outputs_needing_weights(nb) == 1
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count == 1, "the count must stay (one run 1..n)"
    assert nb.cells[1].outputs, "an untagged cell keeps its outputs"


@pytest.mark.parametrize("missing", [True, False], ids=["weights missing", "weights present"])
def test_execute_commits_weight_dependent_cells_without_outputs_only_when_the_weights_are_missing(
    tmp_path, monkeypatch, missing
):
    path = tmp_path / "42_weights.ipynb"
    nbformat.write(_weights_notebook(), path)
    monkeypatch.setattr("utils.data.weights_problem", lambda: "resnet18.pth is not there" if missing else None)
    executed, _, _ = execute(path)
    tagged, untagged = executed.cells
    assert [tagged.execution_count, untagged.execution_count] == [1, 2]
    assert "".join(o.get("text", "") for o in untagged.outputs) == "shape\n"
    assert "".join(o.get("text", "") for o in tagged.outputs) == ("" if missing else "prediction\n")


def test_committed_outputs_never_show_a_randomly_initialised_imagenet_network():
    """Outputs of a network whose weights were missing (its "predictions") must not be reading material."""
    for path in sorted(SOLUTIONS.glob("*.ipynb")) + sorted(NOTEBOOKS.glob("*.ipynb")):
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            for output in cell.get("outputs", []):
                text = output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
                assert "Pretrained weights NOT available" not in text and "RANDOM weights" not in text, (
                    f"{path.name} cell {index} shows results of random weights; tag the cell {NEEDS_WEIGHTS_TAG!r} "
                    "and re-run it with python -m tools.run"
                )
