"""Fetch and verify every dataset and weight file the course uses, before you need them.

Run it once when you are online (instructors: before the workshop; Binder does it when the
image is built)::

    python -m utils.prefetch          # fetch what is missing, verify everything, report
    python -m utils.prefetch --check  # only report what is there; never download

It does nothing when everything is already present and intact, and exits with status 1 if
something is still missing afterwards.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from torchvision.models import ResNet18_Weights

from utils.data import (
    DEBIAN_FASHION_MNIST,
    FASHION_MNIST_RAW_MD5,
    DataUnavailableError,
    configure_torch_hub,
    data_root,
    display_path,
    ensure_fashion_mnist,
    ensure_weights,
    fashion_mnist_problems,
    fashion_mnist_raw_folder,
    weights_path,
    weights_problem,
)


def _fashion_mnist(download: bool) -> tuple[bool, str]:
    problems = fashion_mnist_problems(verify_md5=True)
    if not problems:
        return True, f"ready in {display_path(fashion_mnist_raw_folder())}"
    if not download:
        extra = " (the Debian package's copy will be used on first load)" if DEBIAN_FASHION_MNIST.exists() else ""
        return False, "; ".join(problems) + extra
    # Damaged files are replaced: ensure_fashion_mnist keeps only files with the published MD5.
    for name in FASHION_MNIST_RAW_MD5:
        if any(problem.startswith(name) for problem in problems):
            (fashion_mnist_raw_folder() / name).unlink(missing_ok=True)
    ensure_fashion_mnist(download=True)
    return True, f"fetched and verified into {display_path(fashion_mnist_raw_folder())}"


def _resnet18(download: bool) -> tuple[bool, str]:
    weights = ResNet18_Weights.DEFAULT
    if weights_problem(weights) is None:
        return True, f"ready in {display_path(weights_path(weights).parent)}"
    if not download:
        return False, weights_problem(weights) or ""
    ensure_weights(weights, download=True)
    return True, f"fetched and verified into {display_path(weights_path(weights).parent)}"


#: What the course needs, in the order it is fetched: name and a function ``(download) -> (ok, detail)``.
RESOURCES: list[tuple[str, Callable[[bool], tuple[bool, str]]]] = [
    ("FashionMNIST (notebooks 05-08)", _fashion_mnist),
    ("ResNet-18 ImageNet weights (notebook 08)", _resnet18),
]


def status(download: bool = False) -> list[tuple[str, bool, str]]:
    """``(resource, available, detail)`` for every resource; fetches missing ones if ``download``."""
    configure_torch_hub()
    rows = []
    for name, fetch in RESOURCES:
        try:
            ok, detail = fetch(download)
        except DataUnavailableError as error:
            ok, detail = False, str(error)
        rows.append((name, ok, detail))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report what is present; never download")
    args = parser.parse_args(argv)
    print(f"Data folder: {display_path(data_root())}")
    rows = status(download=not args.check)
    for name, ok, detail in rows:
        print(f"  [{'OK' if ok else 'MISSING'}] {name}: {detail}")
    return 0 if all(ok for _, ok, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
