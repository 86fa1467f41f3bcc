"""Seeding every random number generator the course uses, in one call."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


def set_seed(seed: int = 0) -> torch.Generator:
    """Seed Python's ``random``, NumPy and torch (CPU and every GPU) with ``seed``.

    Call it once at the top of a notebook: re-running the notebook from the top on the CPU then
    gives the same numbers on the same machine. Different hardware (another CPU, a GPU) may still
    differ in the last digits, because floating-point sums are computed in a different order
    there. On a GPU even the same machine may differ from run to run: cuDNN and cuBLAS may choose
    nondeterministic algorithms, and some backward passes add with atomic operations. Exact
    repeats there need ``torch.use_deterministic_algorithms(True)`` (slower, and some operations
    then raise); see PyTorch's notes on reproducibility. The course does not switch it on.

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


@contextmanager
def preserved_random_state() -> Iterator[None]:
    """Run a block without changing what later code draws from any global random generator.

    Saves the state of Python's ``random``, NumPy's global generator and torch's CPU, CUDA and MPS
    generators, and restores them afterwards, even if the block raises. The exercise checks run
    inside it, so a check may seed freely and running it (or not) never changes a notebook's
    later random numbers.
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=range(torch.cuda.device_count()) if torch.cuda.is_available() else []):
        mps_state = torch.mps.get_rng_state() if torch.backends.mps.is_available() else None
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)
            if mps_state is not None:
                torch.mps.set_rng_state(mps_state)
