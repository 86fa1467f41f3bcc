"""The course's website: Sphinx configuration, landing page and build command (see build.py)."""
