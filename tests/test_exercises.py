"""Every exercise check accepts its correct answers, rejects typical mistakes, reports stubs.

The cases live in ``tests/exercise_cases/nbNN.py``; an exercise without a case fails here.
The notebooks themselves add the proof in context: nbval compares every check's output, so a
solution notebook must show "correct" and its student notebook "not attempted yet".
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import tests.exercise_cases as cases_package
from tests.exercise_cases import Args, Case
from utils.checks import CORRECT, INCORRECT, NOT_ATTEMPTED, Exercise


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


@pytest.mark.parametrize(("exercise", "case"), PARAMS)
def test_hint_and_solution_are_available(exercise: Exercise, case: Case | None, capsys):
    exercise.hint()
    assert len(capsys.readouterr().out) > 40, "the hint is missing or too short to help"
    exercise.solution()
    solution = capsys.readouterr().out
    assert solution.strip() and "BEGIN SOLUTION" not in solution, "solution() printed nothing useful"
