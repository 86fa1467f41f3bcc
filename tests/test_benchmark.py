"""The benchmark's measurements: memory over all of a notebook's processes, and partial re-runs."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools import benchmark

linux_only = pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="PSS is read from Linux's /proc")

_HOLD_MEMORY = """
import sys, time
block = bytearray(300 * 1024 * 1024)  # 300 MB, written below so that the pages are really used
for i in range(0, len(block), 4096):
    block[i] = 1
print("ready", flush=True)
time.sleep(float(sys.argv[1]))
"""


@linux_only
def test_memory_of_grandchildren_is_counted_together():
    # A child that starts a grandchild: both hold 300 MB, as a kernel and a torchrun rank would.
    parent_code = (
        "import subprocess, sys\n"
        f"child = subprocess.Popen([sys.executable, '-c', {_HOLD_MEMORY!r}, '3'], stdout=subprocess.PIPE)\n"
        "child.stdout.readline()\n"
        f"exec({_HOLD_MEMORY!r}.replace('float(sys.argv[1])', '3'))\n"
    )
    with benchmark.ProcessTreeMemory(period_s=0.05) as tree:
        process = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE)
        assert process.stdout.readline().strip() == b"ready"
        time.sleep(0.5)
        seen_now = tree.sample()
        process.wait(timeout=30)
    assert len(benchmark.ProcessTreeMemory.descendants(process.pid)) == 0  # all ended
    assert seen_now > 550, f"two processes of 300 MB each, but {seen_now:.0f} MB seen"
    assert tree.peak_mb is not None and tree.peak_mb > 550
    assert tree.peak_mb < 1000  # shared pages (the Python binary, libraries) are not counted twice


def test_a_partial_run_replaces_only_its_rows(tmp_path, monkeypatch):
    old_rows = [
        {"notebook": f"{folder}/{name}", "seconds": 10.0, "peak_mb": 700, "metrics": {}, "problems": []}
        for folder in ("solutions", "notebooks")
        for name in ("00_setup.ipynb", "01_tensors_and_devices.ipynb")
    ]
    (tmp_path / "report.json").write_text(json.dumps({"notebooks": old_rows}))
    measured = []

    def fake_benchmark_one(path: Path) -> dict:
        measured.append(path.name)
        row = {"notebook": path.relative_to(benchmark.ROOT).as_posix(), "seconds": 3.0, "peak_mb": 650}
        return {
            **row,
            "workers_peak_mb": 0,
            "all_processes_peak_mb": 900,
            "metrics": {},
            "problems": [],
            "warnings": [],
        }

    monkeypatch.setattr(benchmark, "benchmark_one", fake_benchmark_one)
    assert benchmark.main(["01", "--output", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    by_name = {row["notebook"]: row for row in report["notebooks"]}
    assert measured == ["01_tensors_and_devices.ipynb"] * 2
    assert by_name["solutions/00_setup.ipynb"]["seconds"] == 10.0  # kept
    assert by_name["solutions/01_tensors_and_devices.ipynb"]["seconds"] == 3.0  # replaced
    assert report["total_seconds"] == 26.0
    assert "| 900 |" in (tmp_path / "report.md").read_text()
