"""The pinned versions of the course's packages, compared with what is installed (notebook 00)."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

#: The Python versions the pins were tested with.
SUPPORTED_PYTHON = ((3, 10), (3, 13))


def read_pins(requirements: Path | None = None) -> dict[str, str]:
    """``{package: version}`` from the ``name==version`` lines of ``requirements.txt``."""
    path = requirements or Path(__file__).resolve().parent.parent / "requirements.txt"
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)", line)
        if match:
            pins[match[1].lower()] = match[2]
    return pins


def installed_version(package: str) -> str | None:
    """The installed version of ``package``, or None if it is not installed."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _release(version: str) -> str:
    """``2.13.0+cu130`` -> ``2.13.0``: the local build tag (CPU, CUDA) does not change the API."""
    return version.split("+", 1)[0]


def version_report(packages: list[str] | None = None) -> list[tuple[str, str, str | None, str]]:
    """One ``(package, pinned, installed, verdict)`` row per pinned package.

    The verdict is ``OK`` when the release matches the pin, ``DIFFERENT`` when another version
    is installed (usually fine on Colab, which brings its own torch; the course was tested with
    the pins) and ``MISSING`` when the package is not installed.
    """
    pins = read_pins()
    rows = []
    for package in packages or list(pins):
        pinned = pins[package.lower()]
        installed = installed_version(package)
        if installed is None:
            verdict = "MISSING"
        elif _release(installed) == pinned:
            verdict = "OK"
        else:
            verdict = "DIFFERENT"
        rows.append((package, pinned, installed, verdict))
    return rows


def python_report() -> tuple[str, str]:
    """The running Python's version and ``OK`` or ``UNTESTED`` against :data:`SUPPORTED_PYTHON`."""
    low, high = SUPPORTED_PYTHON
    verdict = "OK" if low <= sys.version_info[:2] <= high else "UNTESTED"
    return sys.version.split()[0], verdict
