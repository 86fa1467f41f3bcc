"""Choosing the device the course runs on: CUDA, then Apple MPS, then CPU.

Every notebook asks this module instead of writing ``"cuda"`` by hand, so the same code runs on
an NVIDIA GPU, on a Mac with Apple silicon and on a laptop or Binder session with only a CPU.
"""

from __future__ import annotations

import os

import torch

#: Environment variable that overrides the automatic choice, e.g. ``COURSE_DEVICE=cpu``.
DEVICE_ENV_VAR = "COURSE_DEVICE"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def choose_device(preferred: str | None = None) -> tuple[torch.device, str]:
    """Return the device to use and the reason it was chosen.

    The order is: an explicit ``preferred`` argument, then the ``COURSE_DEVICE`` environment
    variable, then CUDA, Apple MPS and CPU, in that order. An explicit request for a device that
    is not available raises ``RuntimeError`` rather than silently falling back, so a learner who
    asked for the GPU knows they are not getting it.
    """
    requested = preferred or os.environ.get(DEVICE_ENV_VAR)
    if requested:
        device = torch.device(requested)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"{requested!r} was requested but no CUDA GPU is available here.")
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(f"{requested!r} was requested but Apple MPS is not available here.")
        source = "the argument" if preferred else f"{DEVICE_ENV_VAR}={requested}"
        return device, f"requested by {source}"
    if torch.cuda.is_available():
        return torch.device("cuda"), f"a CUDA GPU was found ({torch.cuda.get_device_name(0)})"
    if _mps_available():
        return torch.device("mps"), "Apple MPS (the GPU of an Apple-silicon Mac) was found"
    return torch.device("cpu"), "no CUDA GPU or Apple MPS was found"


def get_device(preferred: str | None = None, report: bool = True) -> torch.device:
    """Choose the device (see :func:`choose_device`) and print one line saying which and why."""
    device, reason = choose_device(preferred)
    if report:
        print(f"Using device: {device.type} ({reason}).")
    return device
