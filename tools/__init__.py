"""The project's own commands (for course authors, not learners): ``python -m tools.<name>``.

- ``tools.make_student``: generate ``notebooks/`` from ``solutions/``, or check it is up to date;
- ``tools.run``: re-execute notebooks in place, top to bottom, in a fresh kernel;
- ``tools.benchmark``: run every notebook and report time, memory and headline metrics.
"""
