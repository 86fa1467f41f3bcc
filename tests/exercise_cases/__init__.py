"""Test cases for the exercise checks: one module per notebook, ``nbNN.py``, each with ``CASES``.

``CASES`` maps every exercise name of that notebook to a :class:`Case`: answers the check must
accept, typical wrong answers it must reject (with a fragment its message must contain), and
the stub the student notebook starts with, which it must report as not attempted.
``tests/test_exercises.py`` runs them all and fails when an exercise has no case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Args(tuple):
    """Several answers for a check that takes more than one: ``Args((model, optimizer))``."""


def not_implemented(*args: Any, **kwargs: Any) -> Any:
    """The stub of a function exercise: what the student notebook's function does."""
    raise NotImplementedError


@dataclass
class Case:
    correct: list[Any]
    wrong: list[tuple[Any, str]]
    stub: Any = ...
    extra_stubs: list[Any] = field(default_factory=list)
