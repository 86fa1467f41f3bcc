"""Exercise checks: "not attempted yet", "correct", or what exactly is wrong.

Each exercise in a notebook is an :class:`Exercise` defined in ``utils/exercises/nbNN.py``. The
cell after the exercise calls ``exercise.check(answer)``, which shows one line:

* ``⬜ ... not attempted yet`` while the answer is still the stub (``...`` or a function that
  raises ``NotImplementedError``);
* ``✅ ... correct``;
* ``❌ ...`` followed by what is wrong: a shape, a dtype, a value off by how much.

``ex.<name>.hint()`` prints a hint and ``ex.<name>.solution()`` prints the reference solution,
read from the notebook in ``solutions/`` so that the solution has a single source.

A checker is a plain function that takes the learner's answer(s) and raises :class:`Mismatch`
with a helpful message when something is wrong. The ``expect_*`` helpers below do the common
comparisons; :func:`call` runs a learner's function and turns a stub into "not attempted".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

NOT_ATTEMPTED, CORRECT, INCORRECT = "not attempted", "correct", "incorrect"
_ICONS = {NOT_ATTEMPTED: "⬜", CORRECT: "✅", INCORRECT: "❌"}

#: Marker lines around a solution in a ``solutions/`` notebook. ``tools/make_student.py``
#: replaces what lies between them with a stub; :meth:`Exercise.solution` prints it.
BEGIN_SOLUTION = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION (?P<name>\w+)[ \t]*$")
END_SOLUTION = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")


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


# --------------------------------------------------------------------------- checker helpers


def call(function: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call the learner's ``function``; a stub raises :class:`NotAttempted`, a crash a :class:`Mismatch`."""
    if not callable(function):
        raise Mismatch(f"expected a function, got {type(function).__name__}")
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted from None
    except Exception as error:  # the learner's code crashed: say how, not where in the checker
        name = getattr(function, "__name__", "your function")
        raise Mismatch(f"calling {name}(...) raised {type(error).__name__}: {error}") from None


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


def expect_equal(value: Any, expected: Any, name: str = "the answer") -> None:
    """Check exact equality (for integers, strings, shapes, tuples, booleans)."""
    if is_stub(value):
        raise NotAttempted
    expect(value == expected, f"{name} is {value!r}, expected {expected!r}")


def expect_between(value: Any, low: float, high: float, name: str = "the answer") -> None:
    """Check ``low <= value <= high`` for answers that may legitimately vary (e.g. accuracies)."""
    if is_stub(value):
        raise NotAttempted
    number = float(value)
    expect(not math.isnan(number), f"{name} is NaN")
    expect(low <= number <= high, f"{name} is {number:.4g}, expected between {low:.4g} and {high:.4g}")


# --------------------------------------------------------------------------- exercises


def solutions_folder() -> Path:
    """The repository's ``solutions/`` folder."""
    return Path(__file__).resolve().parent.parent / "solutions"


def solution_source(notebook: str, name: str, folder: Path | None = None) -> str:
    """The code cell that holds the solution ``name`` in ``solutions/<notebook>.ipynb``, markers removed."""
    path = (folder or solutions_folder()) / f"{notebook}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        lines = "".join(cell["source"]).splitlines()
        if cell["cell_type"] == "code" and any(
            (m := BEGIN_SOLUTION.match(line)) and m["name"] == name for line in lines
        ):
            kept = [line for line in lines if not BEGIN_SOLUTION.match(line) and not END_SOLUTION.match(line)]
            return "\n".join(kept)
    raise KeyError(f"no solution named {name!r} in {path}")


class Exercise:
    """One exercise: how to check it, a hint, and where its solution lives.

    ``checker`` receives the same arguments as :meth:`check` and raises :class:`Mismatch` or
    :class:`NotAttempted`; if it returns without raising, the answer is correct. It may return a
    string to add to the "correct" message (for example the value that was found).
    """

    #: Every exercise defined anywhere, keyed by ``(notebook, name)``; the tests walk it.
    registry: dict[tuple[str, str], Exercise] = {}

    def __init__(self, notebook: str, name: str, checker: Callable[..., str | None], hint: str) -> None:
        self.notebook, self.name, self.checker, self.hint_text = notebook, name, checker, hint
        Exercise.registry[(notebook, name)] = self

    def __repr__(self) -> str:
        return f"Exercise({self.notebook!r}, {self.name!r})"

    def check(self, *answers: Any) -> Result:
        """Check the learner's answer(s) and return a one-line :class:`Result`."""
        label = f"Exercise '{self.name}'"
        try:
            if any(is_stub(answer) for answer in answers):
                raise NotAttempted
            extra = self.checker(*answers)
        except NotAttempted:
            return Result(
                label,
                NOT_ATTEMPTED,
                f"not attempted yet. Fill in the cell above, run it, then run this check again. "
                f"Stuck? ex.{self.name}.hint() or ex.{self.name}.solution()",
            )
        except Mismatch as error:
            return Result(label, INCORRECT, f"not quite: {error}. Try again, or see ex.{self.name}.hint()")
        return Result(label, CORRECT, "correct!" + (f" {extra}" if extra else ""))

    def hint(self) -> None:
        """Print the hint."""
        print(f"Hint for '{self.name}': {self.hint_text}")

    def solution(self) -> None:
        """Print the reference solution, taken from the notebook in ``solutions/``."""
        try:
            print(solution_source(self.notebook, self.name))
        except FileNotFoundError:
            print(f"The solutions folder is not here; see solutions/{self.notebook}.ipynb in the course repository.")
