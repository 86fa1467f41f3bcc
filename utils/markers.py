"""The solution markers of the ``solutions/`` notebooks, read strictly.

In a solution notebook an exercise's answer sits between two comment lines::

    # BEGIN SOLUTION name
    answer = x.reshape(2, 3)
    # END SOLUTION

``tools.make_student`` replaces each region with a stub, and :meth:`utils.checks.Exercise.solution`
prints it. As in nbgrader, any line that mentions ``BEGIN SOLUTION`` or ``END SOLUTION`` but does
not follow this grammar is an error, not a line to keep: a marker without a name, a region inside
another, a region that never ends, a stray end, or one name used in two cells would otherwise
leak a solution into the student notebook. Several regions of one name may share a cell (an
exercise that fills in two methods of one class).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

BEGIN_SOLUTION = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION (?P<name>\w+)[ \t]*$")
END_SOLUTION = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")
_ANY_MARKER = re.compile(r"(BEGIN|END)[ _]SOLUTION", re.IGNORECASE)


class MarkerError(ValueError):
    """A solution marker that breaks the grammar; the message names notebook, cell and line."""


@dataclass(frozen=True)
class Region:
    """One solution region of a cell: its name, indentation and the line numbers of its markers."""

    name: str
    indent: str
    begin: int  # index of the BEGIN line in the cell's lines
    end: int  # index of the END line


def regions(source: str, where: str = "this cell") -> list[Region]:
    """The solution regions of one cell's source, or :class:`MarkerError` if a marker is malformed."""
    found: list[Region] = []
    open_begin: tuple[int, str, str] | None = None
    for number, line in enumerate(source.split("\n")):
        begin, end = BEGIN_SOLUTION.match(line), END_SOLUTION.match(line)
        if begin:
            if open_begin is not None:
                raise MarkerError(
                    f"{where}, line {number + 1}: '# BEGIN SOLUTION {begin['name']}' inside the region "
                    f"'{open_begin[1]}' opened on line {open_begin[0] + 1}; regions cannot nest"
                )
            open_begin = (number, begin["name"], begin["indent"])
        elif end:
            if open_begin is None:
                raise MarkerError(f"{where}, line {number + 1}: '# END SOLUTION' without a BEGIN before it")
            found.append(Region(open_begin[1], open_begin[2], open_begin[0], number))
            open_begin = None
        elif _ANY_MARKER.search(line):
            raise MarkerError(
                f"{where}, line {number + 1}: {line.strip()!r} is not a marker the course reads; "
                "write '# BEGIN SOLUTION name' or '# END SOLUTION' on a line of its own"
            )
    if open_begin is not None:
        raise MarkerError(f"{where}, line {open_begin[0] + 1}: the region '{open_begin[1]}' has no '# END SOLUTION'")
    return found


def notebook_regions(cells: list[dict], notebook: str) -> dict[str, int]:
    """Map each solution name of a notebook to the index of the cell that holds it.

    Raises :class:`MarkerError` for a malformed marker, or for one name used in two cells.
    """
    owner: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        for region in regions(source, where=f"{notebook}, cell {index}"):
            if owner.get(region.name, index) != index:
                raise MarkerError(
                    f"{notebook}, cell {index}: the solution name '{region.name}' is already used in cell "
                    f"{owner[region.name]}; give each exercise its own name"
                )
            owner[region.name] = index
    return owner


def solution_source(path: Path, name: str) -> str:
    """The code cell of the notebook at ``path`` that holds the solution ``name``, markers removed."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    index = notebook_regions(cells, path.name).get(name)
    if index is None:
        raise KeyError(f"no solution named {name!r} in {path}")
    lines = "".join(cells[index]["source"]).splitlines()
    return "\n".join(line for line in lines if not BEGIN_SOLUTION.match(line) and not END_SOLUTION.match(line))
