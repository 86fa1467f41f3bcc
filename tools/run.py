"""Re-execute notebooks in place, top to bottom, in a fresh kernel.

    python -m tools.run solutions/03_nn_module.ipynb [more notebooks ...]

Use it after editing a solution notebook, then ``python -m tools.make_student`` to regenerate
its student version. Stops at the first cell that raises (unless the cell is tagged
``raises-exception``), so an error is never committed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from tools.notebooks import execute


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.paths:
        executed, seconds, _ = execute(path.resolve())
        nbformat.write(executed, path)
        print(f"ran {path} ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
