"""Datasets that work with DataLoader worker processes (``num_workers > 0``) on every platform.

With ``num_workers > 0`` a ``DataLoader`` starts worker processes and sends each one the dataset.
How a worker starts depends on the platform:

* **fork** (Linux, up to Python 3.13): the worker is a copy of the running process, so every
  class the notebook defined exists in it;
* **spawn** (macOS and Windows) and **forkserver** (Linux from Python 3.14): the worker is a
  fresh Python process that receives the dataset *pickled*. Pickle stores an object's class by
  reference, as "module name + class name", and the worker imports that module to rebuild the
  object. A class defined in a notebook lives in the module ``__main__``, which in the worker is
  not the notebook: the worker fails with ``AttributeError: Can't get attribute '...' on
  <module '__main__'>`` and the DataLoader reports that a worker exited unexpectedly.

The fix is to define the dataset (and any ``collate_fn``, transform or ``worker_init_fn`` the
workers call) in an importable module, like this one. Notebook 05 writes :class:`ImageFiles` in
the notebook first, then uses this copy with ``num_workers=2``; its sections on randomness in
workers and on streaming use :class:`NoisyItems`, :func:`seed_numpy_in_worker` and
:class:`ShardStream` from here, for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, IterableDataset, get_worker_info

#: File endings :class:`ImageFiles` reads (compared in lower case).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class ImageFiles(Dataset):
    """Images stored as files, one folder per class: ``root/<class name>/<file>.png``.

    The class names are the folder names, sorted, and a class's label is its position in that
    list (the convention of ``torchvision.datasets.ImageFolder``). Only the list of file paths is
    kept in memory; each image is read and decoded when it is asked for, so the data set may be
    larger than the memory.

    Each item is ``(image, label)``: the image as a PIL image converted to ``mode`` ("L" for
    grey, "RGB" for colour, None to keep the file's mode), passed through ``transform`` if one
    is given, and the label as an int.
    """

    def __init__(
        self,
        root: str | Path,
        transform: Callable[[Image.Image], Any] | None = None,
        mode: str | None = "L",
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root} is not a folder")
        self.transform, self.mode = transform, mode
        self.classes = sorted(entry.name for entry in self.root.iterdir() if entry.is_dir())
        self.class_to_idx = {name: index for index, name in enumerate(self.classes)}
        endings = tuple(ending.lower() for ending in extensions)
        self.samples = [
            (path, label)
            for label, name in enumerate(self.classes)
            for path in sorted((self.root / name).iterdir())
            if path.is_file() and path.suffix.lower() in endings
        ]
        if not self.samples:
            raise FileNotFoundError(
                f"no image files ({', '.join(endings)}) in the class folders of {self.root}; "
                "expected root/<class name>/<image file>"
            )

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path, label = self.samples[index]
        with Image.open(path) as file:
            image = file.convert(self.mode) if self.mode else file.copy()  # decodes the file now
        if self.transform is not None:
            image = self.transform(image)
        return image, label

    def __repr__(self) -> str:
        return f"ImageFiles({len(self)} images in {len(self.classes)} classes, root={str(self.root)!r})"


class NoisyItems(Dataset):
    """Item i is ``(i, a draw from the dataset's own NumPy Generator, a draw from torch)``.

    A stand-in for a dataset that augments with NumPy: it holds a ``numpy.random.Generator``.
    Every worker process receives a copy of the dataset, and so an identical copy of that
    generator, unless :func:`seed_numpy_in_worker` gives each worker its own.
    """

    def __init__(self, length: int, seed: int = 0) -> None:
        self.length = length
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[int, float, float]:
        return index, float(self.rng.random()), torch.rand(()).item()


def seed_numpy_in_worker(worker_id: int) -> None:
    """A ``worker_init_fn``: give this worker's copy of the dataset a Generator of its own.

    ``get_worker_info().seed`` is the seed torch gave this worker (the loader's base seed plus
    ``worker_id``), so it differs between workers and, with a seeded ``generator=`` passed to
    the ``DataLoader``, is the same in every run.
    """
    info = get_worker_info()
    info.dataset.rng = np.random.default_rng(info.seed)


class ShardStream(IterableDataset):
    """Stream ``(image, label, id)`` items from shard files written with ``torch.save``.

    Each shard is a dict of tensors ``{"images", "labels", "ids"}``; only one shard is in memory
    at a time, so the data set may be far larger than the memory. In a ``DataLoader`` with
    workers, every worker runs its own ``__iter__``: with ``split_between_workers`` (the right
    way) worker k of n reads shards k, k + n, k + 2n, ..., so that no item is delivered twice;
    without it every worker streams every shard.
    """

    def __init__(self, paths: Sequence[str | Path], split_between_workers: bool = True) -> None:
        self.paths = [Path(path) for path in paths]
        self.split_between_workers = split_between_workers

    def __iter__(self):
        paths = self.paths
        info = get_worker_info()  # None in the main process (num_workers=0)
        if self.split_between_workers and info is not None:
            paths = paths[info.id :: info.num_workers]
        for path in paths:
            shard = torch.load(path, weights_only=True)
            yield from zip(shard["images"], shard["labels"].tolist(), shard["ids"].tolist())
