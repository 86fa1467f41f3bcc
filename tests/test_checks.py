"""The exercise-check framework: statuses, messages, tolerance, hints, solutions and its rules."""

import json
import random

import numpy as np
import pytest
import torch

from utils import checks
from utils.checks import CORRECT, INCORRECT, NOT_ATTEMPTED, Exercise, Mismatch, exercise
from utils.markers import MarkerError, notebook_regions, regions, solution_source


def _square_checker(square):
    result = checks.call(square, torch.tensor([1.0, -2.0, 3.0]))
    checks.expect_tensor(result, shape=(3,), name="square(x)")
    checks.expect_close(result, torch.tensor([1.0, 4.0, 9.0]), name="square(x)")


@pytest.fixture
def square():
    declared = Exercise("99_test", "square", _square_checker, hints=["Think of powers.", "Multiply x by itself."])
    yield declared
    del Exercise.registry[("99_test", "square")]


def test_correct_answer(square):
    result = square.check(lambda x: x**2)
    assert result.status == CORRECT and bool(result)
    assert repr(result) == "✅ Exercise 'square': correct!"


def test_stubs_are_not_attempted(square):
    def stub(x):
        raise NotImplementedError

    for answer in (stub, ...):
        result = square.check(answer)
        assert result.status == NOT_ATTEMPTED and not result
        assert repr(result).startswith("⬜ Exercise 'square': not attempted yet.")
        assert "ex.square.hint()" in result.message


def test_wrong_value_says_by_how_much_and_points_to_the_hint(square):
    result = square.check(lambda x: x * 2)
    assert result.status == INCORRECT
    assert (
        "differs from the expected values in 3 of 3 places; the largest difference is 8 at index (1,)" in result.message
    )
    assert repr(result).startswith("❌ Exercise 'square': not quite:")
    assert result.message.endswith("ask for a hint: ex.square.hint()")


def test_wrong_shape_and_crash_are_explained(square):
    assert "has shape (1, 3), expected (3,)" in square.check(lambda x: (x**2).unsqueeze(0)).message
    message = square.check(lambda x: x @ torch.ones(2)).message
    assert message.startswith("not quite: calling <lambda>(...) raised RuntimeError")
    assert "expected a function, got int" in square.check(3).message


def test_a_check_called_with_the_wrong_number_of_answers_says_so(square):
    result = square.check(lambda x: x**2, "extra")
    assert result.status == INCORRECT and "takes 1 answer and was given 2" in result.message


def test_the_name_is_written_once():
    @exercise("99_test", hints=["one", "two"])
    def cube(answer):
        checks.expect_close(checks.as_number(answer), 8)

    try:
        assert isinstance(cube, Exercise) and cube.name == "cube" and Exercise.registry[("99_test", "cube")] is cube
        assert cube.check(8).status == CORRECT
    finally:
        del Exercise.registry[("99_test", "cube")]


def test_an_exercise_needs_two_hint_levels():
    with pytest.raises(ValueError, match="at least two hint levels"):
        Exercise("99_test", "lonely", lambda answer: None, hints=["only one"])


def _global_state():
    return (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())


def test_a_check_never_changes_the_global_random_state():
    def reseeding_checker(answer):
        torch.manual_seed(123)
        np.random.seed(123)
        random.seed(123)
        torch.rand(3), np.random.rand(3), random.random()
        raise Mismatch("wrong on purpose")

    declared = Exercise("99_test", "reseeds", reseeding_checker, hints=["a", "b"])
    try:
        torch.manual_seed(0), np.random.seed(0), random.seed(0)
        before = _global_state()
        assert declared.check(1).status == INCORRECT
        after = _global_state()
        assert torch.equal(before[0], after[0]) and np.array_equal(before[1], after[1]) and before[2] == after[2]
    finally:
        del Exercise.registry[("99_test", "reseeds")]


def test_call_reports_a_function_that_changes_its_input():
    x = torch.tensor([1.0, 2.0])
    with pytest.raises(Mismatch, match="changed its input x in place"):
        checks.call(lambda x: x.mul_(2), x)

    def nudge_and_restore(x):
        x[0] += 1e-3
        x[0] -= 1e-3  # 1.0 + 1e-3 - 1e-3 is not exactly 1.0 in float64
        return x.sum()

    with pytest.raises(Mismatch, match="only up to rounding"):
        checks.call(nudge_and_restore, torch.tensor([1.0, 2.0], dtype=torch.float64))
    with pytest.raises(Mismatch, match="changed its input batch in place"):
        checks.call(lambda batch: batch["x"].zero_(), {"x": torch.ones(2)})
    assert checks.call(lambda x: x * 2, torch.ones(2)).tolist() == [2.0, 2.0]


def test_conversions_name_the_real_mistake():
    assert checks.as_number(torch.tensor([2.5])) == 2.5 and checks.as_number(np.float32(1.5)) == 1.5
    with pytest.raises(Mismatch, match="complex number"):
        checks.as_number(complex(0, 1))
    with pytest.raises(Mismatch, match="shape \\(2,\\)"):
        checks.as_number(torch.ones(2))
    with pytest.raises(Mismatch, match="is None"):
        checks.as_number(None)
    with pytest.raises(Mismatch, match="109386.5, but a whole number"):
        checks.as_int(109386.5)
    with pytest.raises(Mismatch, match="text '28'"):
        checks.as_number("28")
    assert checks.as_int(torch.tensor(7)) == 7
    assert checks.as_float_tensor([1, 2]).dtype == torch.float64
    with pytest.raises(Mismatch, match="list of numbers"):
        checks.as_float_tensor(["a", object()])
    with pytest.raises(checks.NotAttempted):
        checks.as_number(...)


def test_expect_close_tolerance_and_scalars():
    checks.expect_close(0.1 + 0.2, 0.3)
    checks.expect_close(np.array([1.0, 2.0]), torch.tensor([1.0, 2.00001]))
    with pytest.raises(Mismatch, match="is 2.5, expected 2"):
        checks.expect_close(2.5, 2)
    with pytest.raises(Mismatch, match="should be a number"):
        checks.expect_close("two", 2)
    with pytest.raises(checks.NotAttempted):
        checks.expect_close(..., 2)


def test_expect_tensor_dtype_and_type():
    with pytest.raises(Mismatch, match="dtype torch.int64, expected torch.float32"):
        checks.expect_tensor(torch.tensor([1]), dtype=torch.float32)
    with pytest.raises(Mismatch, match="should be a torch.Tensor, not list"):
        checks.expect_tensor([1.0])


def test_checker_can_add_to_the_correct_message():
    declared = Exercise("99_test", "extra", lambda answer: f"You found {answer}.", hints=["h", "i"])
    try:
        assert repr(declared.check(42)) == "✅ Exercise 'extra': correct! You found 42."
    finally:
        del Exercise.registry[("99_test", "extra")]


def test_graded_hints_then_solution(square, tmp_path, capsys, monkeypatch):
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["Notes on the square exercise\n"]},
            {
                "cell_type": "code",
                "source": [
                    "def square(x):\n",
                    "    # BEGIN SOLUTION square\n",
                    "    return x * x\n",
                    "    # END SOLUTION\n",
                ],
            },
        ]
    }
    (tmp_path / "99_test.ipynb").write_text(json.dumps(notebook))
    monkeypatch.setattr(checks, "solutions_folder", lambda: tmp_path)
    square.hint()
    first = capsys.readouterr().out
    assert first.startswith("Hint 1 of 2 for 'square': Think of powers.") and "hint() again" in first
    square.hint()
    second = capsys.readouterr().out
    assert second.startswith("Hint 2 of 2 for 'square': Multiply x by itself.") and "solution()" in second
    square.hint()
    assert capsys.readouterr().out.startswith("Hint 2 of 2"), "after the last level, hint() repeats it"
    square.hint(1)
    assert capsys.readouterr().out.startswith("Hint 1 of 2")
    square.hint(5)
    assert "levels 1 to 2" in capsys.readouterr().out
    square.solution()
    assert capsys.readouterr().out == "def square(x):\n    return x * x\n"
    monkeypatch.setattr(checks, "solutions_folder", lambda: tmp_path / "missing")
    square.solution()
    assert "solutions/99_test.ipynb" in capsys.readouterr().out


def test_unknown_solution_name_raises(tmp_path):
    (tmp_path / "99_test.ipynb").write_text(json.dumps({"cells": []}))
    with pytest.raises(KeyError, match="no solution named 'nope'"):
        solution_source(tmp_path / "99_test.ipynb", "nope")


# --------------------------------------------------------------------------- result checks


def test_check_result_is_silent_when_the_result_holds(monkeypatch, capsys):
    for strict in ("1", ""):
        monkeypatch.setenv(checks.STRICT_RESULTS_VARIABLE, strict)
        assert checks.check_result(True, expected="above 88 %", got="89.0 %") is None
    assert capsys.readouterr().out == ""


def test_check_result_fails_under_the_tests(monkeypatch):
    monkeypatch.setenv(checks.STRICT_RESULTS_VARIABLE, "1")
    with pytest.raises(AssertionError, match="the course's run gets above 88 %; this run got 71.3 %"):
        checks.check_result(False, expected="above 88 %", got="71.3 %")


def test_check_result_prints_one_calm_line_for_a_learner(monkeypatch, capsys):
    monkeypatch.delenv(checks.STRICT_RESULTS_VARIABLE, raising=False)
    assert checks.check_result(False, expected="above 88 %", got="71.3 %") is None
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1 and "above 88 %" in printed and "71.3 %" in printed
    assert "expected if you changed the code" in printed


# --------------------------------------------------------------------------- solution markers


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("# BEGIN SOLUTION\nsecret = 42\n# END SOLUTION", "line 1: '# BEGIN SOLUTION' is not a marker"),
        ("### BEGIN SOLUTION a\nsecret = 42\n# END SOLUTION", "line 1"),
        ("# BEGIN SOLUTION a\n# BEGIN SOLUTION b\nx = 1\n# END SOLUTION\n# END SOLUTION", "cannot nest"),
        ("# BEGIN SOLUTION a\nx = 1", "has no '# END SOLUTION'"),
        ("x = 1\n# END SOLUTION", "line 2: '# END SOLUTION' without a BEGIN"),
    ],
)
def test_malformed_markers_are_errors_that_name_the_line(source, fragment):
    with pytest.raises(MarkerError, match="nb, cell 3") as error:
        regions(source, where="nb, cell 3")
    assert fragment in str(error.value)


def test_well_formed_markers_and_one_name_per_cell():
    found = regions("def f(x):\n    # BEGIN SOLUTION f\n    return x\n    # END SOLUTION")
    assert [(r.name, r.indent, r.begin, r.end) for r in found] == [("f", "    ", 1, 3)]
    cell = {"cell_type": "code", "source": "# BEGIN SOLUTION a\nx = 1\n# END SOLUTION"}
    two_in_one = {"cell_type": "code", "source": cell["source"] + "\n" + cell["source"]}
    assert notebook_regions([two_in_one], "nb") == {"a": 0}
    with pytest.raises(MarkerError, match="nb, cell 1: the solution name 'a' is already used in cell 0"):
        notebook_regions([cell, cell], "nb")
