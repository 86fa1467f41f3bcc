"""Run every notebook in a fresh kernel and report its time, peak memory and headline metrics.

    python -m tools.benchmark            # every notebook, solutions and student versions
    python -m tools.benchmark 06 07      # only these notebooks; their rows replace those in the report

Writes ``benchmark/report.json`` and ``benchmark/report.md`` (a table), prints the table, and
exits with status 1 if a budget is exceeded. The budgets are those of the course design: each
notebook at most 90 s and 1.5 GB for its kernel, the whole course at most 10 minutes. The memory
of all a notebook's processes together (its kernel, DataLoader workers, torchrun's ranks) is
measured too, and reported with a warning above 1.5 GB. A notebook declares its
metrics in its metadata (``"course": {"metrics": {label: variable}}``); the notebook itself guards
its results with ``utils.check_result``, which fails the run here. ``make benchmark`` then runs
``tools.figures``, which writes the measured figures into the notebooks' headers and the README.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
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


class ProcessTreeMemory:
    """Samples the memory of every process below this one (the kernel and whatever it starts).

    A notebook may start processes of its own: DataLoader workers, ``torchrun`` and its ranks.
    The kernel's own peak (``ru_maxrss``) misses them, and the peak of the largest child is not
    their sum. So a thread reads, a few times a second, the *proportional set size* (PSS) of each
    descendant from ``/proc/<pid>/smaps_rollup``: private memory plus an equal share of pages
    shared with other processes (torch's libraries are mapped by all of them, and summing RSS
    would count them once per process). The peak of the sum is what the processes occupy
    together. Linux only: elsewhere :attr:`peak_mb` stays ``None``. Processes that live less
    than a sampling period can be missed; every rank and worker in this course lives for seconds.
    """

    def __init__(self, period_s: float = 0.1) -> None:
        self.period_s = period_s
        self.peak_mb: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def descendants(root: int) -> list[int]:
        """The process ids of all descendants of ``root`` (children, their children, ...)."""
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # the process ended while we looked
            children.setdefault(parent, []).append(int(entry))
        found, frontier = [], [root]
        while frontier:
            pid = frontier.pop()
            for child in children.get(pid, []):
                found.append(child)
                frontier.append(child)
        return found

    @staticmethod
    def pss_mb(pid: int) -> float:
        """The proportional set size of one process in MB (0 if it has ended)."""
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def sample(self) -> float:
        """The summed PSS of all descendants of this process, now, in MB."""
        return sum(self.pss_mb(pid) for pid in self.descendants(os.getpid()))

    def _run(self) -> None:
        while not self._stop.is_set():
            total = self.sample()
            self.peak_mb = total if self.peak_mb is None else max(self.peak_mb, total)
            self._stop.wait(self.period_s)

    def __enter__(self):  # returns the sampler itself, to read peak_mb after the block
        if os.path.exists(f"/proc/{os.getpid()}/smaps_rollup"):
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def benchmark_one(path: Path) -> dict:
    """Execute one notebook and return its measurements and any budget it exceeds."""
    course = nbformat.read(path, as_version=4).metadata.get("course", {})
    metrics = course.get("metrics", {})
    with ProcessTreeMemory() as tree:
        _, seconds, outputs = execute(path, extra_cells=[_MEASURE.format(metrics=metrics)])
    measured = json.loads(outputs[0].strip().splitlines()[-1])
    problems = []
    if seconds > NOTEBOOK_SECONDS:
        problems.append(f"ran {seconds:.0f} s > {NOTEBOOK_SECONDS} s")
    if measured["peak_mb"] > NOTEBOOK_MEGABYTES:
        problems.append(f"peak memory {measured['peak_mb']:.0f} MB > {NOTEBOOK_MEGABYTES} MB")
    warnings = []  # reported, not failed: the course's budget is the kernel's (COURSE.md)
    if tree.peak_mb is not None and tree.peak_mb > NOTEBOOK_MEGABYTES:
        warnings.append(f"all its processes together {tree.peak_mb:.0f} MB > {NOTEBOOK_MEGABYTES} MB")
    return {
        "notebook": path.relative_to(ROOT).as_posix(),
        "seconds": round(seconds, 1),
        "peak_mb": round(measured["peak_mb"]),
        "workers_peak_mb": round(measured["workers_peak_mb"]),
        "all_processes_peak_mb": None if tree.peak_mb is None else round(tree.peak_mb),
        "metrics": measured["metrics"],
        "problems": problems,
        "warnings": warnings,
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
        "| notebook | seconds | kernel peak MB | all processes peak MB | metrics | budget |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in report["notebooks"]:
        metrics = ", ".join(f"{label} {_format_metric(value)}" for label, value in row["metrics"].items()) or "-"
        together = row.get("all_processes_peak_mb")
        lines.append(
            f"| {row['notebook']} | {row['seconds']:.1f} | {row['peak_mb']} | "
            f"{'n/a' if together is None else together} | {metrics} | "
            f"{'; '.join(row['problems'] + [f'warning: {w}' for w in row.get('warnings', [])]) or 'OK'} |"
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
            f"{row['notebook']}: {row['seconds']:.1f} s, {row['peak_mb']} MB (all processes "
            f"{row['all_processes_peak_mb']} MB), {row['metrics']} {row['problems'] or ''} {row['warnings'] or ''}"
        )
    report_path = args.output / "report.json"
    if args.prefixes and report_path.exists():
        # A partial run updates the rows it measured and keeps the others, so that the report (and
        # the figures written from it) stays complete after re-measuring a few notebooks.
        measured = {row["notebook"] for row in rows}
        kept = [row for row in json.loads(report_path.read_text())["notebooks"] if row["notebook"] not in measured]
        rows = sorted(kept + rows, key=lambda row: (not row["notebook"].startswith("solutions/"), row["notebook"]))
    complete = len(rows) == len(list(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))) * 2
    total = sum(row["seconds"] for row in rows)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "total_seconds": round(total, 1),
        "notebooks": rows,
        "course_problem": None if total <= COURSE_SECONDS or not complete else f"{total:.0f} s > {COURSE_SECONDS} s",
    }
    args.output.mkdir(exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2) + "\n")
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
