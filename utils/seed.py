"""Seeding every random number generator the course uses, in one call."""

from __future__ import annotations

import random

import numpy as np
import torch


def set_seed(seed: int = 0) -> torch.Generator:
    """Seed Python's ``random``, NumPy and torch (CPU and every GPU) with ``seed``.

    Call it once at the top of a notebook: re-running the notebook from the top then gives the
    same numbers on the same machine. Different hardware (another CPU, a GPU) may still differ in
    the last digits, because floating-point sums are computed in a different order there.

    Returns a ``torch.Generator`` seeded the same way, for the places that take one explicitly
    (``random_split``, ``DataLoader(generator=...)``), so that their randomness does not depend on
    how many random numbers earlier cells drew.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
