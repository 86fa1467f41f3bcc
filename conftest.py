"""Test configuration shared by the unit tests and nbval's notebook runs.

The environment variables are set here, before nbval starts any kernel, so every notebook
kernel inherits them: no progress bars in the outputs, and deprecation and future warnings
shown in the cell output, where :func:`pytest_runtest_makereport` turns them into failures.
"""

from __future__ import annotations

import os
import re

import pytest

from tools.notebooks import EXECUTION_ENV

os.environ.update(EXECUTION_ENV)

_WARNING = re.compile(r"\b(DeprecationWarning|FutureWarning)\b")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Fail a notebook cell whose output shows a DeprecationWarning or FutureWarning.

    Strict comparison would already catch it in most cells; this also covers the cells whose
    output is not compared (``# NBVAL_IGNORE_OUTPUT``).
    """
    outcome = yield
    report = outcome.get_result()
    outputs = getattr(item, "test_outputs", None)
    if call.when != "call" or not outputs or report.failed:
        return
    for output in outputs:
        text = output.get("text", "") if output.get("output_type") == "stream" else ""
        if _WARNING.search(text):
            report.outcome = "failed"
            report.longrepr = f"The cell printed a deprecation or future warning:\n{text}"
            return
