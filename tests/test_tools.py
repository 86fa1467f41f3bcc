"""The solution-to-student rewrite and the version report."""

import nbformat
import pytest

from tools.notebooks import SETUP_CELL, badges_markdown, stub_source, student_version
from utils import versions


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
