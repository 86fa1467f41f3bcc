"""Generate the student notebooks in ``notebooks/`` from the solutions in ``solutions/``.

    python -m tools.make_student            # regenerate and execute every student notebook
    python -m tools.make_student 03 04      # only the notebooks whose names start with these
    python -m tools.make_student --check    # exit 1 if a student notebook is out of date

Each ``# BEGIN SOLUTION name`` ... ``# END SOLUTION`` region becomes a stub (see
``tools.notebooks.stub_source``); everything else is kept, and the result is executed top to
bottom in a fresh kernel so the committed student notebook shows real outputs.
"""

from __future__ import annotations

import argparse
import sys

import nbformat

from tools.notebooks import ROOT, execute, solution_notebooks, sources, student_path, student_version


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
        stale = out_of_date(args.prefixes)
        for name in stale:
            print(f"out of date: {name} (run: python -m tools.make_student)")
        return 1 if stale else 0
    for solution_path in solution_notebooks():
        if args.prefixes and not solution_path.name.startswith(tuple(args.prefixes)):
            continue
        target = student_path(solution_path)
        target.parent.mkdir(exist_ok=True)
        nbformat.write(generated(solution_path), target)
        executed, seconds, _ = execute(target)
        nbformat.write(executed, target)
        print(f"wrote {target.relative_to(ROOT)} ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
