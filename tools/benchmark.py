"""Run every notebook in a fresh kernel and report its time, peak memory and headline metrics.

    python -m tools.benchmark            # every notebook, solutions and student versions
    python -m tools.benchmark 06 07      # only the notebooks whose names start with these

Writes ``benchmark/report.json`` and ``benchmark/report.md`` (a table), prints the table, and
exits with status 1 if a budget is exceeded. The budgets are those of the course design: each
notebook at most 90 s and 1.5 GB, the whole course at most 10 minutes. A notebook declares its
metrics in its metadata (``"course": {"metrics": {label: variable}}``); the notebook itself guards
its results with ``utils.check_result``, which fails the run here. ``make benchmark`` then runs
``tools.figures``, which writes the measured figures into the notebooks' headers and the README.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import nbformat
import torch

from tools.notebooks import NOTEBOOKS, ROOT, SOLUTIONS, execute

NOTEBOOK_SECONDS = 90
NOTEBOOK_MEGABYTES = 1536
COURSE_SECONDS = 600

_MEASURE = """\
import json as _json, resource as _resource
_self = _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss / 1024
_children = _resource.getrusage(_resource.RUSAGE_CHILDREN).ru_maxrss / 1024
_metrics = {{}}
for _label, _name in {metrics!r}.items():
    _value = globals().get(_name)
    _metrics[_label] = None if _value is None else float(_value)
print(_json.dumps({{"peak_mb": _self, "workers_peak_mb": _children, "metrics": _metrics}}))"""


def benchmark_one(path: Path) -> dict:
    """Execute one notebook and return its measurements and any budget it exceeds."""
    course = nbformat.read(path, as_version=4).metadata.get("course", {})
    metrics = course.get("metrics", {})
    _, seconds, outputs = execute(path, extra_cells=[_MEASURE.format(metrics=metrics)])
    measured = json.loads(outputs[0].strip().splitlines()[-1])
    problems = []
    if seconds > NOTEBOOK_SECONDS:
        problems.append(f"ran {seconds:.0f} s > {NOTEBOOK_SECONDS} s")
    if measured["peak_mb"] > NOTEBOOK_MEGABYTES:
        problems.append(f"peak memory {measured['peak_mb']:.0f} MB > {NOTEBOOK_MEGABYTES} MB")
    return {
        "notebook": path.relative_to(ROOT).as_posix(),
        "seconds": round(seconds, 1),
        "peak_mb": round(measured["peak_mb"]),
        "workers_peak_mb": round(measured["workers_peak_mb"]),
        "metrics": measured["metrics"],
        "problems": problems,
    }


def _format_metric(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4f}" if abs(value) < 10 and value != int(value) else f"{value:,.0f}"


def markdown_table(report: dict) -> str:
    lines = [
        f"# Benchmark, {report['date']}",
        "",
        f"Machine: {report['machine']}; torch {report['torch']}; {report['threads']} threads.",
        "",
        "| notebook | seconds | peak MB | metrics | budget |",
        "|---|---:|---:|---|---|",
    ]
    for row in report["notebooks"]:
        metrics = ", ".join(f"{label} {_format_metric(value)}" for label, value in row["metrics"].items()) or "-"
        lines.append(
            f"| {row['notebook']} | {row['seconds']:.1f} | {row['peak_mb']} | {metrics} | "
            f"{'; '.join(row['problems']) or 'OK'} |"
        )
    lines += ["", f"Total: {report['total_seconds']:.0f} s (budget {COURSE_SECONDS} s)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prefixes", nargs="*", help="notebook name prefixes, e.g. 06")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmark", help="folder for the report")
    args = parser.parse_args(argv)
    paths = [
        path
        for folder in (SOLUTIONS, NOTEBOOKS)
        for path in sorted(folder.glob("[0-9][0-9]_*.ipynb"))
        if not args.prefixes or path.name.startswith(tuple(args.prefixes))
    ]
    rows = []
    for path in paths:
        row = benchmark_one(path)
        rows.append(row)
        print(
            f"{row['notebook']}: {row['seconds']:.1f} s, {row['peak_mb']} MB, {row['metrics']} {row['problems'] or ''}"
        )
    total = sum(row["seconds"] for row in rows)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "total_seconds": round(total, 1),
        "notebooks": rows,
        "course_problem": None if total <= COURSE_SECONDS or args.prefixes else f"{total:.0f} s > {COURSE_SECONDS} s",
    }
    args.output.mkdir(exist_ok=True)
    (args.output / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown_table(report)
    (args.output / "report.md").write_text(table)
    print()
    print(table)
    failed = any(row["problems"] for row in rows) or report["course_problem"]
    if report["course_problem"]:
        print(f"Over the course budget: {report['course_problem']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
