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

The fix is to define the dataset (and any ``collate_fn`` or transform function the workers call)
in an importable module, like this one. Notebook 05 writes :class:`ImageFiles` in the notebook
first, then uses this copy with ``num_workers=2``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image
from torch.utils.data import Dataset

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
