"""Generate the student notebooks in ``notebooks/`` from the solutions in ``solutions/``.

    python -m tools.make_student            # regenerate and execute every student notebook
    python -m tools.make_student 03 04      # only the notebooks whose names start with these
    python -m tools.make_student --check    # exit 1 if a student notebook is out of date

Each ``# BEGIN SOLUTION name`` ... ``# END SOLUTION`` region becomes a stub (see
``tools.notebooks.stub_source``); everything else is kept, and the result is executed top to
bottom in a fresh kernel so the committed student notebook shows real outputs. A malformed
marker (no name, nested, unterminated, a stray end, one name in two cells) stops the command
with the notebook, cell and line. A solution whose setup cell differs from
``tools.notebooks.SETUP_CELL`` gets the current one first (it prints nothing locally, so its
stored output stays valid).
"""

from __future__ import annotations

import argparse
import sys

import nbformat

from tools.notebooks import ROOT, SETUP_CELL, execute, solution_notebooks, sources, student_path, student_version
from utils.markers import MarkerError


def generated(solution_path) -> nbformat.NotebookNode:
    solution = nbformat.read(solution_path, as_version=4)
    return student_version(solution, solution_path.relative_to(ROOT).as_posix())


def out_of_date(prefixes: list[str] | None = None) -> list[str]:
    """Names of the student notebooks whose cells differ from what their solution generates."""
    stale = []
    for solution_path in solution_notebooks():
        if prefixes and not solution_path.name.startswith(tuple(prefixes)):
            continue
        target = student_path(solution_path)
        if not target.exists() or sources(nbformat.read(target, as_version=4)) != sources(generated(solution_path)):
            stale.append(target.relative_to(ROOT).as_posix())
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prefixes", nargs="*", help="notebook name prefixes, e.g. 03")
    parser.add_argument("--check", action="store_true", help="only report out-of-date student notebooks")
    args = parser.parse_args(argv)
    if args.check:
        try:
            stale = out_of_date(args.prefixes)
        except MarkerError as error:
            print(f"make_student: {error}", file=sys.stderr)
            return 1
        for name in stale:
            print(f"out of date: {name} (run: python -m tools.make_student)")
        return 1 if stale else 0
    try:
        for solution_path in solution_notebooks():
            if args.prefixes and not solution_path.name.startswith(tuple(args.prefixes)):
                continue
            _update_setup_cell(solution_path)
            _write_student(solution_path)
    except MarkerError as error:
        print(f"make_student: {error}", file=sys.stderr)
        return 1
    return 0


def _update_setup_cell(solution_path) -> None:
    """Give the solution notebook the current setup cell (no re-run needed: it prints nothing locally)."""
    solution = nbformat.read(solution_path, as_version=4)
    first_code = next(cell for cell in solution.cells if cell.cell_type == "code")
    if first_code.source != SETUP_CELL:
        first_code.source = SETUP_CELL
        nbformat.write(solution, solution_path)
        print(f"updated the setup cell of {solution_path.relative_to(ROOT)}")


def _write_student(solution_path) -> None:
    """Generate the student notebook of one solution and execute it in a fresh kernel."""
    target = student_path(solution_path)
    target.parent.mkdir(exist_ok=True)
    nbformat.write(generated(solution_path), target)
    executed, seconds, _ = execute(target)
    nbformat.write(executed, target)
    print(f"wrote {target.relative_to(ROOT)} ({seconds:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
