"""Every exercise check accepts its correct answers, rejects typical mistakes, reports stubs.

The cases live in ``tests/exercise_cases/nbNN.py``; an exercise without a case fails here.
The notebooks themselves add the proof in context: nbval compares every check's output, so a
solution notebook must show "correct" and its student notebook "not attempted yet".
"""

from __future__ import annotations

import importlib
import pkgutil
import random
import re

import numpy as np
import pytest
import torch

import tests.exercise_cases as cases_package
from tests.exercise_cases import Args, Case
from utils.checks import CORRECT, INCORRECT, NOT_ATTEMPTED, Exercise, solutions_folder
from utils.markers import solution_source


def _load_all() -> dict[str, dict[str, Case]]:
    modules = {}
    for info in pkgutil.iter_modules(cases_package.__path__):
        if info.name.startswith("nb"):
            importlib.import_module(f"utils.exercises.{info.name}")  # registers the exercises
            modules[info.name[2:]] = importlib.import_module(f"tests.exercise_cases.{info.name}").CASES
    # Also import every exercise module, so one without a case file is noticed.
    import utils.exercises as exercises_package

    for info in pkgutil.iter_modules(exercises_package.__path__):
        importlib.import_module(f"utils.exercises.{info.name}")
    return modules


ALL_CASES = _load_all()
PARAMS = [
    pytest.param(
        exercise, ALL_CASES.get(exercise.notebook[:2], {}).get(exercise.name), id=f"{exercise.notebook}:{name}"
    )
    for (_, name), exercise in sorted(Exercise.registry.items())
]


def _check(exercise: Exercise, answer):
    return exercise.check(*answer) if isinstance(answer, Args) else exercise.check(answer)


def test_every_case_names_an_exercise():
    registered = {(notebook[:2], name) for notebook, name in Exercise.registry}
    for number, cases in ALL_CASES.items():
        for name in cases:
            assert (number, name) in registered, f"tests/exercise_cases/nb{number}.py has a case for unknown {name!r}"


@pytest.mark.parametrize(("exercise", "case"), PARAMS)
def test_check_accepts_rejects_and_spots_stubs(exercise: Exercise, case: Case | None):
    assert case is not None, f"no test case for {exercise}: add it to tests/exercise_cases/nb{exercise.notebook[:2]}.py"
    assert case.correct and case.wrong, "each exercise needs at least one correct and one wrong answer"
    for answer in case.correct:
        result = _check(exercise, answer)
        assert result.status == CORRECT, f"rejected a correct answer: {result!r}"
    for answer, fragment in case.wrong:
        result = _check(exercise, answer)
        assert result.status == INCORRECT, f"did not reject a wrong answer: {result!r}"
        assert fragment in result.message, f"message {result.message!r} should mention {fragment!r}"
    for stub in [case.stub, *case.extra_stubs]:
        result = _check(exercise, stub)
        assert result.status == NOT_ATTEMPTED, f"a stub was not reported as not attempted: {result!r}"


def _all_answers(case: Case) -> list:
    return [*case.correct, *(answer for answer, _ in case.wrong), case.stub, *case.extra_stubs]


def _global_random_state() -> tuple:
    return torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()


@pytest.mark.parametrize(("exercise", "case"), PARAMS)
def test_checks_leave_the_global_random_state_alone(exercise: Exercise, case: Case | None):
    assert case is not None
    torch.manual_seed(0), np.random.seed(0), random.seed(0)
    before = _global_random_state()
    for answer in _all_answers(case):
        _check(exercise, answer)
    after = _global_random_state()
    assert torch.equal(before[0], after[0]), "a check changed torch's global generator"
    assert np.array_equal(before[1], after[1]), "a check changed NumPy's global generator"
    assert before[2] == after[2], "a check changed Python's random module"


def _code_lines(source: str) -> list[str]:
    """The solution's lines of code, spaces removed, that are long enough to give something away."""
    lines = []
    for line in source.splitlines():
        code = re.sub(r"\s+", "", line.split("#", 1)[0] if not line.lstrip().startswith(("'", '"')) else line)
        if len(code) >= 6:
            lines.append(code)
    return lines


@pytest.mark.parametrize(("exercise", "case"), PARAMS)
def test_hints_are_graded_and_the_solution_is_available(exercise: Exercise, case: Case | None, capsys):
    assert len(exercise.hints) >= 2, "give at least two hint levels before the solution"
    for level, text in enumerate(exercise.hints, start=1):
        assert len(text) > 40, f"hint {level} is too short to help"
    assert len(set(exercise.hints)) == len(exercise.hints), "two hint levels say the same"
    solution = solution_source(solutions_folder() / f"{exercise.notebook}.ipynb", exercise.name)
    nudge = re.sub(r"\s+", "", exercise.hints[0])
    for line in _code_lines(solution):
        assert line not in nudge, f"hint 1 gives away a line of the solution: {line!r}"
    exercise.hint(1)
    assert capsys.readouterr().out.startswith(f"Hint 1 of {len(exercise.hints)}")
    exercise.solution()
    printed = capsys.readouterr().out
    assert printed.strip() and "SOLUTION" not in printed, "solution() printed nothing useful"
