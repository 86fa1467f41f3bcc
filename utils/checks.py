"""Exercise checks: "not attempted yet", "correct", or what exactly is wrong.

Each exercise of a notebook is declared once, in ``utils/exercises/nbNN.py``, by decorating its
checker; the function's name is the exercise's name::

    @exercise(NOTEBOOK, hints=[
        "A nudge: which idea to use, no code.",
        "Closer: the steps, in words and names.",
    ])
    def scale_pixels(scale_pixels) -> str:
        result = call(scale_pixels, pixels)        # a stub becomes "not attempted"
        expect_close(result, pixels.float() / 255, name="scale_pixels(pixels)")
        return "A short remark shown after 'correct!'."

The notebook's check cell calls ``ex.scale_pixels.check(answer)``, which shows one line:

* ``⬜ ... not attempted yet`` while the answer is still the stub (``...`` or a function that
  raises ``NotImplementedError``);
* ``✅ ... correct``;
* ``❌ ...`` followed by what is wrong: a shape, a dtype, a value off by how much.

``ex.<name>.hint()`` shows the next hint level at each call (``hint(2)`` a given one), and
``ex.<name>.solution()`` prints the reference solution, read from the notebook in ``solutions/``
so that the solution has a single source.

:meth:`Exercise.check` keeps the rules every check must follow in one place: the checker runs
with all random generators saved and restored (:func:`utils.seed.preserved_random_state`), so a
check never changes what later cells draw; and :func:`call`, through which checkers run the
learner's functions, reports a function that changes its input tensors in place.

:func:`check_result` is for the notebooks' own results (an accuracy, a loss): under the tests it
fails the run, in a learner's session it prints one calm line, because a learner who changes a
learning rate should see what changed, not a red error.
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from utils.markers import solution_source
from utils.seed import preserved_random_state

NOT_ATTEMPTED, CORRECT, INCORRECT = "not attempted", "correct", "incorrect"
_ICONS = {NOT_ATTEMPTED: "⬜", CORRECT: "✅", INCORRECT: "❌"}

#: The environment variable that makes :func:`check_result` fail instead of print. The tests,
#: ``make benchmark`` and the authors' tools set it for every notebook they run.
STRICT_RESULTS_VARIABLE = "COURSE_STRICT_RESULTS"


class Mismatch(Exception):
    """Raised by a checker: the answer is wrong, and the message says how."""


class NotAttempted(Exception):
    """Raised by a checker (or by :func:`call`) when the answer is still the stub."""


@dataclass
class Result:
    """The outcome of one check; shown in a notebook as a single line."""

    exercise: str
    status: str
    message: str

    def __repr__(self) -> str:
        return f"{_ICONS[self.status]} {self.exercise}: {self.message}"

    def __bool__(self) -> bool:
        return self.status == CORRECT


def is_stub(value: Any) -> bool:
    """True for the placeholder a student notebook starts with (``answer = ...``)."""
    return value is Ellipsis


# --------------------------------------------------------------------------- calling the learner's code


def _snapshot(value: Any) -> Any:
    """A copy of the tensors and arrays in ``value`` (one level of list, tuple or dict), to compare later."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return [_snapshot(item) for item in value]
    if isinstance(value, dict):
        return {key: _snapshot(item) for key, item in value.items()}
    return None


def _same(before: Any, after: Any) -> bool:
    """True when ``after`` holds exactly the values that were snapshot in ``before``."""
    if isinstance(before, torch.Tensor):
        if not isinstance(after, torch.Tensor) or before.shape != after.shape or before.dtype != after.dtype:
            return False
        if before.device != after.device:  # e.g. the learner moved a tensor of the caller's batch in place
            return False
        after = after.detach()
        if before.is_floating_point() or before.is_complex():
            return bool(torch.allclose(before, after, rtol=0, atol=0, equal_nan=True))
        return bool(torch.equal(before, after))
    if isinstance(before, np.ndarray):
        return isinstance(after, np.ndarray) and before.shape == after.shape and np.array_equal(before, after)
    if isinstance(before, list):
        return isinstance(after, (list, tuple)) and len(before) == len(after) and all(map(_same, before, after))
    if isinstance(before, dict):
        return (
            isinstance(after, dict)
            and before.keys() == after.keys()
            and all(_same(before[k], after[k]) for k in before)
        )
    return True


def _nearly_same(before: Any, after: Any) -> bool:
    """True when the values differ only by rounding (e.g. ``x[i] += eps`` undone by ``x[i] -= eps``)."""
    if isinstance(before, torch.Tensor) and isinstance(after, torch.Tensor) and before.shape == after.shape:
        return before.is_floating_point() and bool(torch.allclose(before, after.detach(), rtol=1e-6, atol=1e-9))
    return False


def _argument_names(function: Callable, args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
    """``(name, value)`` for each argument, named as the learner's function names its parameters."""
    try:
        bound = inspect.signature(function).bind(*args, **kwargs)
        return list(bound.arguments.items())
    except (TypeError, ValueError):  # no signature (a builtin) or arguments that do not bind
        return [(f"argument {i + 1}", value) for i, value in enumerate(args)] + list(kwargs.items())


def call(function: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call the learner's ``function`` as a checker should.

    A stub (``NotImplementedError``) becomes :class:`NotAttempted`; a crash becomes a
    :class:`Mismatch` that says what the learner's code raised; and a function that changes one of
    its input tensors or arrays in place is reported, because the caller's data would change too.
    """
    if not callable(function):
        raise Mismatch(f"expected a function, got {type(function).__name__}")
    name = getattr(function, "__name__", "your function")
    arguments = _argument_names(function, args, kwargs)
    before = [(argument, _snapshot(value), value) for argument, value in arguments]
    try:
        result = function(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted from None
    except Exception as error:  # noqa: BLE001 (any error in the learner's code becomes a message, not a traceback)
        raise Mismatch(f"calling {name}(...) raised {type(error).__name__}: {error}") from None
    for argument, snapshot, value in before:
        if snapshot is not None and not _same(snapshot, value):
            if _nearly_same(snapshot, value):
                raise Mismatch(
                    f"{name} changed its input {argument} in place and put the values back, but only up to "
                    "rounding (x[i] += eps then x[i] -= eps does not give back exactly x[i] in floating point): "
                    "nudge a copy, or build a new tensor such as x + step"
                )
            raise Mismatch(
                f"{name} changed its input {argument} in place, so the caller's data changed too: work on a "
                "copy (.clone()) or build a new tensor"
            )
    return result


# --------------------------------------------------------------------------- conversions and comparisons


def as_number(value: Any, name: str = "the answer") -> float:
    """``value`` as a float: a Python number, a NumPy scalar or a one-element tensor."""
    if is_stub(value):
        raise NotAttempted
    if value is None:
        raise Mismatch(f"{name} is None: did the code return or assign it?")
    if isinstance(value, bool):
        raise Mismatch(f"{name} is {value}, a truth value; a number is expected")
    if isinstance(value, (torch.Tensor, np.ndarray)):
        count = value.size if isinstance(value, np.ndarray) else value.numel()
        expect(count > 0, f"{name} is empty; a number is expected")
        expect(count == 1, f"{name} should be a single number, but it has shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, complex):
        raise Mismatch(f"{name} is a complex number ({value:.4g}); a real number is expected")
    if isinstance(value, (str, bytes)):
        raise Mismatch(f"{name} is the text {value!r}; a number is expected, without quotes")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Mismatch(f"{name} should be a number, not {type(value).__name__}") from None


def as_int(value: Any, name: str = "the answer") -> int:
    """``value`` as an int; a float that is not whole (``12.5``) is a mistake worth naming."""
    number = as_number(value, name)
    expect(math.isfinite(number) and number == int(number), f"{name} is {number!r}, but a whole number is expected")
    return int(number)


def as_float_tensor(value: Any, name: str = "the answer") -> torch.Tensor:
    """``value`` (a tensor, an array, a list of numbers or a number) as a detached float64 tensor."""
    if is_stub(value):
        raise NotAttempted
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double()
    try:
        return torch.as_tensor(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError):
        raise Mismatch(f"{name} should be a tensor or a list of numbers, not {type(value).__name__}") from None


def expect(condition: bool, message: str) -> None:
    """Raise :class:`Mismatch` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise Mismatch(message)


def expect_tensor(
    value: Any,
    shape: tuple[int, ...] | None = None,
    dtype: torch.dtype | None = None,
    name: str = "the answer",
) -> torch.Tensor:
    """Check that ``value`` is a tensor, with the given shape and dtype if those are given."""
    if is_stub(value):
        raise NotAttempted
    expect(isinstance(value, torch.Tensor), f"{name} should be a torch.Tensor, not {type(value).__name__}")
    if shape is not None:
        expect(tuple(value.shape) == tuple(shape), f"{name} has shape {tuple(value.shape)}, expected {tuple(shape)}")
    if dtype is not None:
        expect(value.dtype == dtype, f"{name} has dtype {value.dtype}, expected {dtype}")
    return value


def _as_float_array(value: Any, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Mismatch(f"{name} should be a number or an array of numbers, not {type(value).__name__}") from None


def expect_close(value: Any, expected: Any, name: str = "the answer", rtol: float = 1e-4, atol: float = 1e-6) -> None:
    """Check that ``value`` equals ``expected`` up to a tolerance; say by how much it is off."""
    if is_stub(value):
        raise NotAttempted
    got = _as_float_array(value, name)
    want = _as_float_array(expected, "expected")
    expect(got.shape == want.shape, f"{name} has shape {got.shape}, expected {want.shape}")
    if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
        if got.size == 1:
            raise Mismatch(f"{name} is {got.item():.6g}, expected {want.item():.6g}")
        difference = np.abs(got - want)
        worst = np.unravel_index(np.argmax(difference), difference.shape)
        raise Mismatch(
            f"{name} differs from the expected values in {int((~np.isclose(got, want, rtol=rtol, atol=atol)).sum())} "
            f"of {got.size} places; the largest difference is {difference[worst]:.4g} at index {tuple(map(int, worst))}"
        )


# --------------------------------------------------------------------------- the notebooks' own results


def strict_results() -> bool:
    """True under the tests and the authors' tools, where a result check that fails must fail the run."""
    return os.environ.get(STRICT_RESULTS_VARIABLE, "") not in ("", "0")


def check_result(ok: bool, expected: str, got: str) -> None:
    """Compare a result of the notebook's own code with what the course's run gets.

    ``expected`` says what the course's run gets (``"test accuracy above 88 %"``) and ``got`` what
    this run got (``"71.3 %"``). When ``ok`` is true nothing is shown. Otherwise, under the tests
    and ``make benchmark`` (see :func:`strict_results`) it raises ``AssertionError``, so a
    regression fails the build; in a learner's session it prints one line and the notebook goes
    on, since after a change to the code (another learning rate, fewer epochs) a different result
    is what the experiment is for. It returns nothing, so that a call on a cell's last line shows
    nothing either.
    """
    if ok:
        return
    if strict_results():
        raise AssertionError(f"the course's run gets {expected}; this run got {got}")
    print(
        f"ℹ️ The course's run gets {expected}; this run got {got}. That is expected if you changed the code "
        "above; if you did not, restart the kernel and run all cells from the top."
    )


# --------------------------------------------------------------------------- exercises


def solutions_folder() -> Path:
    """The repository's ``solutions/`` folder."""
    return Path(__file__).resolve().parent.parent / "solutions"


class Exercise:
    """One exercise: how to check it, its hints from a nudge to a recipe, and where its solution lives.

    Declare one with the :func:`exercise` decorator. ``checker`` receives the same arguments as
    :meth:`check` and raises :class:`Mismatch` or :class:`NotAttempted`; if it returns without
    raising, the answer is correct. It may return a string to add to the "correct" message.
    """

    #: Every exercise defined anywhere, keyed by ``(notebook, name)``; the tests walk it.
    registry: ClassVar[dict[tuple[str, str], Exercise]] = {}

    def __init__(self, notebook: str, name: str, checker: Callable[..., str | None], hints: Sequence[str]) -> None:
        if len(hints) < 2:
            raise ValueError(f"exercise {name!r} needs at least two hint levels (a nudge, then a recipe)")
        self.notebook, self.name, self.checker, self.hints = notebook, name, checker, tuple(hints)
        self.hints_shown = 0
        Exercise.registry[(notebook, name)] = self

    def __repr__(self) -> str:
        return f"Exercise({self.notebook!r}, {self.name!r})"

    def check(self, *answers: Any) -> Result:
        """Check the learner's answer(s) and return a one-line :class:`Result`.

        The checker runs with every random generator saved and restored, so checking an answer
        (once, twice or never) does not change what the notebook draws afterwards.
        """
        label = f"Exercise '{self.name}'"
        try:
            if any(is_stub(answer) for answer in answers):
                raise NotAttempted
            fewest, most = _answer_counts(self.checker)
            if len(answers) < fewest or (most is not None and len(answers) > most):
                expected = fewest if fewest == most else f"{fewest} to {most}" if most else f"at least {fewest}"
                raise Mismatch(
                    f"this check takes {expected} answer{'s' if most != 1 else ''} and was given {len(answers)}: "
                    f"run the check cell as it is written below the exercise"
                )
            with preserved_random_state():
                extra = self.checker(*answers)
        except NotAttempted:
            return Result(
                label,
                NOT_ATTEMPTED,
                f"not attempted yet. Fill in the cell above, run it, then run this check again. "
                f"Stuck? ex.{self.name}.hint() gives a hint; ex.{self.name}.solution() shows the answer",
            )
        except Mismatch as error:
            return Result(label, INCORRECT, f"not quite: {error}. Try again, or ask for a hint: ex.{self.name}.hint()")
        return Result(label, CORRECT, "correct!" + (f" {extra}" if extra else ""))

    def hint(self, level: int | None = None) -> None:
        """Print the next hint level (or the given ``level``, from 1); after the last one, point to the solution."""
        if level is None:
            level = min(self.hints_shown + 1, len(self.hints))
        if not 1 <= level <= len(self.hints):
            print(f"'{self.name}' has hint levels 1 to {len(self.hints)}.")
            return
        self.hints_shown = max(self.hints_shown, level)
        print(f"Hint {level} of {len(self.hints)} for '{self.name}': {self.hints[level - 1]}")
        if level < len(self.hints):
            print(f"Still stuck? Run ex.{self.name}.hint() again for a closer hint.")
        else:
            print(f"That was the last hint. ex.{self.name}.solution() shows a complete answer.")

    def solution(self) -> None:
        """Print the reference solution, taken from the notebook in ``solutions/``."""
        try:
            print(solution_source(solutions_folder() / f"{self.notebook}.ipynb", self.name))
        except FileNotFoundError:
            print(f"The solutions folder is not here; see solutions/{self.notebook}.ipynb in the course repository.")


def _answer_counts(checker: Callable) -> tuple[int, int | None]:
    """The fewest and the most answers ``checker`` takes (None: no limit)."""
    parameters = inspect.signature(checker).parameters.values()
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(p.default is p.empty for p in positional)
    unlimited = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters)
    return required, None if unlimited else len(positional)


def exercise(notebook: str, hints: Sequence[str]) -> Callable[[Callable[..., str | None]], Exercise]:
    """Declare an exercise: the decorated checker's name is the exercise's name.

    ``hints`` go from a nudge (level 1: the idea, no line of the solution's code) to a recipe
    (the last level); ``solution()`` comes after them.
    """

    def declare(checker: Callable[..., str | None]) -> Exercise:
        return Exercise(notebook, checker.__name__, checker, hints)

    return declare
