"""The exercise-check framework: statuses, messages, tolerance, hints and solutions."""

import json

import numpy as np
import pytest
import torch

from utils import checks
from utils.checks import CORRECT, INCORRECT, NOT_ATTEMPTED, Exercise, Mismatch


def _square_checker(square):
    result = checks.call(square, torch.tensor([1.0, -2.0, 3.0]))
    checks.expect_tensor(result, shape=(3,), name="square(x)")
    checks.expect_close(result, torch.tensor([1.0, 4.0, 9.0]), name="square(x)")


@pytest.fixture
def square():
    exercise = Exercise("99_test", "square", _square_checker, hint="Multiply x by itself.")
    yield exercise
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


def test_wrong_value_says_by_how_much(square):
    result = square.check(lambda x: x * 2)
    assert result.status == INCORRECT
    assert (
        "differs from the expected values in 3 of 3 places; the largest difference is 8 at index (1,)" in result.message
    )
    assert repr(result).startswith("❌ Exercise 'square': not quite:")


def test_wrong_shape_and_crash_are_explained(square):
    assert "has shape (1, 3), expected (3,)" in square.check(lambda x: (x**2).unsqueeze(0)).message
    message = square.check(lambda x: x @ torch.ones(2)).message
    assert message.startswith("not quite: calling <lambda>(...) raised RuntimeError")
    assert "expected a function, got int" in square.check(3).message


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


def test_expect_equal_and_between():
    checks.expect_equal((2, 3), (2, 3))
    with pytest.raises(Mismatch, match=r"is \(3, 2\), expected \(2, 3\)"):
        checks.expect_equal((3, 2), (2, 3))
    checks.expect_between(0.9, 0.85, 0.95)
    with pytest.raises(Mismatch, match="expected between"):
        checks.expect_between(0.5, 0.85, 0.95)
    with pytest.raises(Mismatch, match="NaN"):
        checks.expect_between(float("nan"), 0, 1)


def test_checker_can_add_to_the_correct_message():
    exercise = Exercise("99_test", "extra", lambda answer: f"You found {answer}.", hint="h")
    try:
        assert repr(exercise.check(42)) == "✅ Exercise 'extra': correct! You found 42."
    finally:
        del Exercise.registry[("99_test", "extra")]


def test_hint_and_solution_from_the_solutions_notebook(square, tmp_path, capsys, monkeypatch):
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["# BEGIN SOLUTION square\n"]},
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
    assert capsys.readouterr().out == "Hint for 'square': Multiply x by itself.\n"
    square.solution()
    assert capsys.readouterr().out == "def square(x):\n    return x * x\n"
    monkeypatch.setattr(checks, "solutions_folder", lambda: tmp_path / "missing")
    square.solution()
    assert "solutions/99_test.ipynb" in capsys.readouterr().out


def test_unknown_solution_name_raises(tmp_path):
    (tmp_path / "99_test.ipynb").write_text(json.dumps({"cells": []}))
    with pytest.raises(KeyError, match="no solution named 'nope'"):
        checks.solution_source("99_test", "nope", folder=tmp_path)
