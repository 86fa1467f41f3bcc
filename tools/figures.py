"""One source for the figures learners see: each notebook's "Time" line and the README's table.

    python -m tools.figures            # update from benchmark/report.json and the notebooks' content
    python -m tools.figures --check    # exit 1 if a notebook header or the README is out of date

Two figures describe a notebook, and both are computed here, never typed by hand:

* **working time**, estimated from the notebook's content by the method in CONTRIBUTING.md
  ("How long a notebook takes"): reading the prose, reading and running the code, looking at
  the figures, and doing the exercises by difficulty;
* **run time** (and peak memory, and the headline result), measured by ``make benchmark``
  (``tools.benchmark``), which writes ``benchmark/report.json``.

The title cell of each notebook, solution and student version alike, carries one line::

    **Time:** about 120 minutes to work through; the notebook runs in about 6 s on a 2-core CPU.

and the README's table, between ``<!-- benchmark-table:begin -->`` and
``<!-- benchmark-table:end -->``, has one row per notebook. ``make benchmark`` runs this command
after the benchmark, so one command updates both; the tests check that they agree.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from tools.notebooks import NOTEBOOKS, ROOT, SOLUTIONS

README = ROOT / "README.md"
REPORT = ROOT / "benchmark" / "report.json"

#: The working-time method (CONTRIBUTING.md). Technical prose that a learner follows with the
#: code beside it is read at about 100 words a minute; each line of code is read, run and its
#: output looked at in about 6 s; each figure takes a minute to read; exercises take the
#: minutes below by difficulty, including reading the check's answer and one retry.
WORDS_PER_MINUTE = 100
MINUTES_PER_CODE_LINE = 0.1
MINUTES_PER_FIGURE = 1.0
EXERCISE_MINUTES = {"easy": 5, "medium": 10, "hard": 15, "stretch": 20}

TIME_LINE = re.compile(r"^\*\*Time:\*\*.*$", re.MULTILINE)
EXERCISE_HEADING = re.compile(r"^### Exercise \d+ \((?P<difficulty>[^)]*)\):", re.MULTILINE)
TABLE_BEGIN, TABLE_END = "<!-- benchmark-table:begin -->", "<!-- benchmark-table:end -->"
TABLE_HEADER = [
    "| notebook | runs in (2-core CPU) | peak memory, all its processes | headline result |",
    "|---|---:|---:|---|",
]


@dataclass
class Content:
    """What a learner works through in one notebook."""

    words: int
    code_lines: int
    figures: int
    exercises: dict[str, int]

    def minutes(self) -> int:
        """The working time, by the method above, rounded to 5 minutes (at least 5)."""
        total = (
            self.words / WORDS_PER_MINUTE
            + self.code_lines * MINUTES_PER_CODE_LINE
            + self.figures * MINUTES_PER_FIGURE
            + sum(EXERCISE_MINUTES.get(level, 0) * count for level, count in self.exercises.items())
        )
        return max(5, 5 * round(total / 5))


def _words(markdown: str) -> int:
    text = re.sub(r"\(https?://[^)]*\)", "", markdown)  # link targets are not read
    return len(re.findall(r"[A-Za-z0-9][A-Za-z0-9'’.,%-]*", text))


def content(path: Path) -> Content:
    """Count the prose, code, figures and exercises of the notebook at ``path``."""
    nb = nbformat.read(path, as_version=4)
    markdown = [cell.source for cell in nb.cells if cell.cell_type == "markdown"]
    code = [cell for cell in nb.cells if cell.cell_type == "code"][1:]  # the setup cell is not read
    exercises: dict[str, int] = {}
    for cell in markdown:
        for match in EXERCISE_HEADING.finditer(cell):
            exercises[match["difficulty"]] = exercises.get(match["difficulty"], 0) + 1
    return Content(
        words=sum(_words(TIME_LINE.sub("", cell)) for cell in markdown),
        code_lines=sum(
            1
            for cell in code
            for line in cell.source.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ),
        figures=sum(1 for cell in code for output in cell.get("outputs", []) if "image/png" in output.get("data", {})),
        exercises=exercises,
    )


def _run_seconds(report: dict, name: str) -> float | None:
    """The longer of the solution's and the student version's run time in the report."""
    times = [row["seconds"] for row in report.get("notebooks", []) if Path(row["notebook"]).name == name]
    return max(times) if times else None


def _stated_seconds(title: str) -> int | None:
    match = re.search(r"runs in about (\d+) s", title)
    return int(match[1]) if match else None


def time_line(minutes: int, seconds: float) -> str:
    return (
        f"**Time:** about {minutes} minutes to work through; the notebook runs in about "
        f"{math.ceil(seconds)} s on a 2-core CPU."
    )


def updated_title(title: str, minutes: int, seconds: float | None) -> str:
    """``title`` with its Time line rewritten; keeps the stated run time when nothing was measured."""
    if seconds is None:
        seconds = _stated_seconds(title)
        if seconds is None:
            raise ValueError("no run time measured or stated yet: run make benchmark")
    if not TIME_LINE.search(title):
        raise ValueError("the title cell has no '**Time:**' line")
    return TIME_LINE.sub(time_line(minutes, seconds), title)


def headline(path: Path, metrics: dict[str, float | None]) -> str:
    """The notebook's headline result: its ``course.headline`` template filled with measured metrics."""
    course = nbformat.read(path, as_version=4).metadata.get("course", {})
    template = course.get("headline", "")
    values = {variable: metrics.get(label) for label, variable in course.get("metrics", {}).items()}
    if not template:
        return ""
    if any(value is None for value in values.values()):
        return "not measured"
    return template.format(**values)


def table_rows(report: dict) -> dict[str, str]:
    """README table rows, keyed by notebook file name, for the solution notebooks in ``report``."""
    rows = {}
    for row in report.get("notebooks", []):
        path = ROOT / row["notebook"]
        if path.parent != SOLUTIONS:
            continue
        title = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0]
        number, topic = title.removeprefix("# ").split(" · ", 1)
        peak = max(
            max(r["peak_mb"], r.get("all_processes_peak_mb") or 0)  # the kernel, or all its processes together
            for r in report["notebooks"]
            if Path(r["notebook"]).name == path.name
        )
        rows[path.name] = (
            f"| {number} {topic} | {math.ceil(_run_seconds(report, path.name))} s | {peak / 1000:.2f} GB | "
            f"{headline(path, row['metrics'])} |"
        )
    return rows


def updated_readme(readme: str, report: dict) -> str:
    """``readme`` with the benchmark table's rows for the notebooks in ``report`` replaced."""
    begin, end = readme.find(TABLE_BEGIN), readme.find(TABLE_END)
    if begin < 0 or end < begin:
        raise ValueError(f"README.md lacks the markers {TABLE_BEGIN} ... {TABLE_END}")
    old_lines = [line for line in readme[begin + len(TABLE_BEGIN) : end].splitlines() if line.startswith("| ")]
    rows: dict[str, str] = {}
    for line in old_lines[1:]:  # keep rows of notebooks the report does not cover
        number = line[2:4]
        match = sorted(SOLUTIONS.glob(f"{number}_*.ipynb"))
        if match:
            rows[match[0].name] = line
    rows.update(table_rows(report))
    table = "\n".join([*TABLE_HEADER, *(rows[name] for name in sorted(rows))])
    return readme[: begin + len(TABLE_BEGIN)] + "\n" + table + "\n" + readme[end:]


def planned_changes(report: dict) -> dict[Path, str]:
    """The new text of every file whose figures are out of date (empty when all agree)."""
    changes: dict[Path, str] = {}
    for solution in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb")):
        minutes = content(solution).minutes()
        seconds = _run_seconds(report, solution.name)
        for path in (solution, NOTEBOOKS / solution.name):
            if not path.exists():
                continue
            raw = path.read_text(encoding="utf-8")
            nb = nbformat.reads(raw, as_version=4)
            title = nb.cells[0].source
            new_title = updated_title(title, minutes, seconds)
            if new_title != title:
                nb.cells[0].source = new_title
                changes[path] = nbformat.writes(nb) + "\n"
    if report and README.exists():
        readme = README.read_text(encoding="utf-8")
        new_readme = updated_readme(readme, report)
        if new_readme != readme:
            changes[README] = new_readme
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report what is out of date")
    parser.add_argument("--report", type=Path, default=REPORT, help="the benchmark report to read")
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text()) if args.report.exists() else {}
    changes = planned_changes(report)
    for path, text in changes.items():
        relative = path.relative_to(ROOT)
        if args.check:
            print(f"out of date: {relative} (run: python -m tools.figures)")
        else:
            path.write_text(text, encoding="utf-8")
            print(f"updated {relative}")
    return 1 if args.check and changes else 0


if __name__ == "__main__":
    sys.exit(main())
