"""Where the course's datasets and pretrained weights live, and how they get there.

Everything is resolved under one data folder: ``data/`` in the repository, or the folder named
by the ``COURSE_DATA_DIR`` environment variable. Files arrive there in one of three ways:

1. already present (a previous run, or the pre-fetch command ``python -m utils.prefetch``);
2. copied from the Debian/Ubuntu package ``dataset-fashion-mnist`` when it is installed;
3. downloaded by torchvision's own code, which checks each file's MD5 or SHA-256 hash.

When none of these works (offline, nothing cached) the learner gets a
:class:`DataUnavailableError`: one short message that names what is missing and the command
that fetches it, instead of a traceback from deep inside torchvision.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import random_split

if TYPE_CHECKING:
    from torchvision import datasets

# torchvision is imported inside the functions that need it, not here: importing it takes about a
# second and 90 MB right away (measured here), which notebooks that only need FashionMNIST as
# tensors, and the worker processes started with "spawn" that import utils, need not pay.

#: Environment variable that moves the data folder, e.g. to a shared disk in a workshop.
DATA_ENV_VAR = "COURSE_DATA_DIR"
#: Where the Debian/Ubuntu package ``dataset-fashion-mnist`` installs its files.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
#: The command that fetches everything, run from the course folder; every "missing" message names it.
PREFETCH_COMMAND = "python -m utils.prefetch"
#: Where the notebooks' setup cell puts the course on Colab.
COLAB_COURSE_FOLDER = "/content/course"


def prefetch_command() -> str:
    """How to run the pre-fetch command from where the learner is.

    On Colab a learner has no terminal and a notebook cell does not start in the course folder,
    so the message gives the cell form; elsewhere the terminal form, run in the course folder.
    """
    on_colab = "google.colab" in sys.modules or Path(__file__).resolve().parents[1] == Path(COLAB_COURSE_FOLDER)
    if on_colab:
        return f"!cd {COLAB_COURSE_FOLDER} && {PREFETCH_COMMAND}  (in a notebook cell)"
    return f"{PREFETCH_COMMAND}  (in a terminal, in the course folder)"


FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
#: The course's one split of FashionMNIST's 60,000 official training images into training and
#: validation images (the official 10,000 test images stay the test set). Notebook 05 makes it
#: with ``random_split`` and explains it; :func:`fashion_mnist_split` gives the same indices to
#: every later notebook, so that all of them train and validate on the same images.
FASHION_MNIST_SPLIT_SIZES = (55_000, 5_000)
#: The seed of the ``torch.Generator`` that draws the split.
FASHION_MNIST_SPLIT_SEED = 0
#: Mean and standard deviation of the pixels (scaled to [0, 1]) of the 55,000 *training* images
#: of that split only: statistics that include validation images would leak them into training.
#: Notebook 05 computes them; a test checks they match the split.
FASHION_MNIST_MEAN = 0.2863
FASHION_MNIST_STD = 0.3532

#: MD5 of each decompressed file, as published with the dataset. torchvision only lists the
#: MD5s of the .gz archives, and Debian's archives are recompressed (other MD5, same content),
#: so the decompressed content is what the course verifies.
FASHION_MNIST_RAW_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}
# Number of items in each split, used to check the decompressed files are complete.
_FASHION_MNIST_COUNTS = {"train": 60_000, "t10k": 10_000}


class DataUnavailableError(RuntimeError):
    """A dataset or weight file is missing or damaged and could not be fetched.

    In Jupyter the error is shown as its message alone (see ``_render_traceback_``): the
    learner needs to know what is missing and which command fetches it, not where in the
    library the download failed.
    """

    def _render_traceback_(self) -> list[str]:  # IPython's hook for custom error display
        return [f"DataUnavailableError: {self}"]


def repo_root() -> Path:
    """The folder that holds ``utils/``, ``notebooks/`` and ``data/``."""
    return Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """The data folder: ``$COURSE_DATA_DIR`` if set, else ``data/`` in the repository."""
    root = Path(os.environ.get(DATA_ENV_VAR) or repo_root() / "data").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def display_path(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it (shorter, and the same on every machine)."""
    try:
        return Path(path).resolve().relative_to(repo_root()).as_posix()
    except ValueError:
        return str(path)


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- FashionMNIST


def fashion_mnist_raw_folder(root: Path | None = None) -> Path:
    """The folder torchvision reads FashionMNIST from: ``<data root>/FashionMNIST/raw``."""
    return Path(root or data_root()) / "FashionMNIST" / "raw"


def _idx_problem(path: Path, split: str) -> str | None:
    """Return why a decompressed IDX file is unusable, or None if it is complete.

    The IDX header says how many items the file holds; a truncated or corrupted file is caught
    by comparing that with the expected count and the file's real size.
    """
    if not path.exists():
        return f"{path.name} is missing"
    is_images = "images" in path.name
    header_size = 16 if is_images else 8
    expected_count = _FASHION_MNIST_COUNTS[split]
    item_size = 28 * 28 if is_images else 1
    with open(path, "rb") as handle:
        header = handle.read(header_size)
    if len(header) < header_size:
        return f"{path.name} is truncated"
    magic = int.from_bytes(header[0:4], "big")
    count = int.from_bytes(header[4:8], "big")
    if magic != (2051 if is_images else 2049) or count != expected_count:
        return f"{path.name} is not a FashionMNIST {split} file (corrupted header)"
    expected_size = header_size + expected_count * item_size
    actual_size = path.stat().st_size
    if actual_size != expected_size:
        return f"{path.name} has {actual_size:,} bytes instead of {expected_size:,} (truncated or corrupted)"
    return None


def fashion_mnist_problems(root: Path | None = None, verify_md5: bool = False) -> list[str]:
    """List what is wrong with the FashionMNIST files in the data folder (empty: all good).

    The quick check reads each file's header and size; ``verify_md5`` also compares every
    byte with the published MD5 (a fraction of a second; the pre-fetch command does it).
    """
    raw = fashion_mnist_raw_folder(root)
    problems = []
    for name, md5sum in FASHION_MNIST_RAW_MD5.items():
        problem = _idx_problem(raw / name, name.split("-")[0])
        if problem is None and verify_md5 and _md5(raw / name) != md5sum:
            problem = f"{name} is corrupted (its MD5 is not the published one)"
        if problem:
            problems.append(problem)
    return problems


def _extract_verified(archive: Path, destination: Path) -> bool:
    """Decompress ``archive`` into ``destination`` and keep it only if its MD5 is the published one."""
    if not archive.exists():
        return False
    partial = destination.with_name(destination.name + ".partial")
    try:
        with gzip.open(archive, "rb") as source, open(partial, "wb") as target:
            shutil.copyfileobj(source, target)
    except (OSError, EOFError):  # not gzip, or truncated
        partial.unlink(missing_ok=True)
        return False
    if _md5(partial) != FASHION_MNIST_RAW_MD5[destination.name]:
        partial.unlink()
        return False
    partial.replace(destination)
    return True


def ensure_fashion_mnist(root: Path | None = None, download: bool = True) -> Path:
    """Make sure complete FashionMNIST files are in the data folder; return the data root.

    Sources, in order: files already there; archives torchvision left in the raw folder; the
    Debian/Ubuntu package ``dataset-fashion-mnist``; torchvision's download (if ``download``),
    which checks each archive's MD5. Whatever the source, a decompressed file is kept only if
    its MD5 is the published one, so a damaged copy is never used.
    """
    root = Path(root or data_root())
    raw = fashion_mnist_raw_folder(root)
    raw.mkdir(parents=True, exist_ok=True)
    missing = []
    for name in FASHION_MNIST_RAW_MD5:
        archive_name = f"{name}.gz"  # the names torchvision downloads, and Debian ships
        if _idx_problem(raw / name, name.split("-")[0]) is None:
            continue
        if not any(
            _extract_verified(source, raw / name)
            for source in (raw / archive_name, DEBIAN_FASHION_MNIST / archive_name)
        ):
            missing.append(archive_name)
    if missing and download:
        # Remove damaged files first, or torchvision would take them as already downloaded.
        for archive_name in missing:
            (raw / archive_name).unlink(missing_ok=True)
            (raw / archive_name.removesuffix(".gz")).unlink(missing_ok=True)
        from torchvision import datasets

        try:
            datasets.FashionMNIST(root, train=True, download=True)
        except (OSError, RuntimeError) as error:  # offline: URLError (an OSError); all mirrors failed: RuntimeError
            raise DataUnavailableError(
                f"FashionMNIST is not in {display_path(raw)} and could not be downloaded "
                f"({type(error).__name__}: {str(error).splitlines()[0][:120]}). "
                f"When you are online, run: {prefetch_command()}"
            ) from None
    problems = fashion_mnist_problems(root)
    if problems:
        raise DataUnavailableError(
            f"FashionMNIST in {display_path(raw)} is incomplete: {'; '.join(problems)}. Fetch it with: {prefetch_command()}"
        )
    return root


def load_fashion_mnist(train: bool = True, transform=None, target_transform=None) -> datasets.FashionMNIST:
    """torchvision's FashionMNIST dataset (PIL images), from the course's data folder."""
    from torchvision import datasets

    root = ensure_fashion_mnist()
    return datasets.FashionMNIST(
        root, train=train, download=False, transform=transform, target_transform=target_transform
    )


def fashion_mnist_tensors(train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """All FashionMNIST images and labels of one split as in-memory tensors.

    Returns ``images`` of shape ``(N, 1, 28, 28)``, float32 in ``[0, 1]``, and ``labels`` of
    shape ``(N,)``, int64. Batching these tensors directly is much faster than going
    through PIL for every item (about 15 times faster here; notebook 05 measures it).

    The tensors are read straight from the verified IDX files, the bytes torchvision's
    ``FashionMNIST`` reads too (a test checks they are equal), without importing torchvision.
    """
    raw = fashion_mnist_raw_folder(ensure_fashion_mnist())
    split = "train" if train else "t10k"
    # An IDX file is a header (16 bytes for images, 8 for labels) followed by one byte per value.
    pixels = np.fromfile(raw / f"{split}-images-idx3-ubyte", dtype=np.uint8, offset=16)
    labels = np.fromfile(raw / f"{split}-labels-idx1-ubyte", dtype=np.uint8, offset=8)
    images = torch.from_numpy(pixels).view(-1, 1, 28, 28).float().div_(255.0)
    return images, torch.from_numpy(labels.astype(np.int64))


#: The Palmer penguins table (344 rows; missing values written ``NA``; text columns for species,
#: island and sex), shipped with the course in ``utils/files/`` (15 KB, CC0; see the README there).
#: Notebook 05 reads it into a Dataset: a real CSV file needs no download.
PENGUINS_CSV = Path(__file__).resolve().parent / "files" / "penguins.csv"


def fashion_mnist_split() -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the course's training and validation images among the 60,000 training images.

    The same call as notebook 05's: ``random_split`` of ``range(60_000)`` into 55,000 and 5,000
    with a ``torch.Generator`` seeded with :data:`FASHION_MNIST_SPLIT_SEED`. Its own generator
    keeps the split independent of every other random number the notebook draws.
    """
    generator = torch.Generator().manual_seed(FASHION_MNIST_SPLIT_SEED)
    train_part, val_part = random_split(range(sum(FASHION_MNIST_SPLIT_SIZES)), FASHION_MNIST_SPLIT_SIZES, generator)
    return torch.tensor(train_part.indices), torch.tensor(val_part.indices)


# --------------------------------------------------------------------------- ResNet-18 weights


def torch_hub_dir() -> Path:
    """Where torchvision looks for pretrained weights: ``<data root>/torch-hub`` by default.

    ``import utils`` points ``torch.hub`` here (unless ``TORCH_HOME`` is set), so that
    ``resnet18(weights=ResNet18_Weights.DEFAULT)`` finds the file the pre-fetch command stored.
    """
    return data_root() / "torch-hub"


def configure_torch_hub() -> None:
    """Point torch.hub's cache at :func:`torch_hub_dir`, unless the user set ``TORCH_HOME``."""
    if not os.environ.get("TORCH_HOME"):
        torch.hub.set_dir(str(torch_hub_dir()))


def default_weights():
    """``torchvision.models.ResNet18_Weights.DEFAULT``, the weights the course uses (notebook 08)."""
    from torchvision.models import ResNet18_Weights

    return ResNet18_Weights.DEFAULT


def weights_path(weights=None) -> Path:
    """Where torchvision keeps the file of ``weights`` (default: :func:`default_weights`); it may not exist yet."""
    weights = default_weights() if weights is None else weights
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def _weights_problem(weights) -> str | None:
    """Why the cached weights file is unusable, or None if its SHA-256 matches its name."""
    path = weights_path(weights)
    if not path.exists():
        return f"{path.name} is not in {display_path(path.parent)}"
    # torch.hub names checkpoints ``<name>-<first hex digits of the SHA-256>.pth``.
    expected_prefix = path.stem.rsplit("-", 1)[-1]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not digest.startswith(expected_prefix):
        return f"{path.name} is damaged (its SHA-256 does not match)"
    return None


def weights_problem(weights=None) -> str | None:
    """Public form of the weights check: None when the cached file is present and intact."""
    return _weights_problem(default_weights() if weights is None else weights)


def ensure_weights(weights=None, download: bool = True) -> Path:
    """Make sure the file of ``weights`` (default: :func:`default_weights`) is cached and intact; download it if allowed."""
    weights = default_weights() if weights is None else weights
    problem = _weights_problem(weights)
    if problem and download:
        weights_path(weights).unlink(missing_ok=True)
        try:
            weights.get_state_dict(progress=True, check_hash=True)
        except (OSError, RuntimeError) as error:  # offline: URLError (an OSError); a wrong hash: RuntimeError
            raise DataUnavailableError(
                f"{weights} could not be downloaded ({type(error).__name__}). "
                f"When you are online, run: {prefetch_command()}"
            ) from None
        problem = _weights_problem(weights)
    if problem:
        raise DataUnavailableError(f"{problem}. Fetch it with: {prefetch_command()}")
    return weights_path(weights)


def pretrained_weights_or_none(weights=None, report: bool = True):
    """Return ``weights`` (default: :func:`default_weights`) if their file is cached and intact, else None.

    Never downloads: a notebook must run offline. With ``report``, prints one line saying
    which case applies and, when the weights are missing, the command that fetches them.
    """
    weights = default_weights() if weights is None else weights
    problem = _weights_problem(weights)
    if problem is None:
        if report:
            print(f"Pretrained weights found: {weights} (from {display_path(weights_path(weights).parent)}).")
        return weights
    if report:
        print(
            f"Pretrained weights NOT available ({problem}): the model below is randomly "
            f"initialised, so its predictions are meaningless. To fetch them: {prefetch_command()}"
        )
    return None


# --------------------------------------------------------------------------- bundled datasets


def sample_photo(name: str = "china") -> np.ndarray:
    """A real colour photo that ships with scikit-learn or matplotlib, as an HxWx3 uint8 array.

    ``"china"`` and ``"flower"`` come from scikit-learn, ``"grace_hopper"`` from matplotlib.
    No network is needed.
    """
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    if name == "grace_hopper":
        import matplotlib.cbook
        import matplotlib.image

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
            return np.asarray(matplotlib.image.imread(handle, format="jpg"))
    raise ValueError(f"Unknown photo {name!r}; choose 'china', 'flower' or 'grace_hopper'.")


def sklearn_tensors(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One of scikit-learn's bundled datasets as ``(features float32, targets)`` tensors.

    ``name`` is ``"digits"``, ``"breast_cancer"``, ``"iris"`` (classification: int64 targets)
    or ``"diabetes"`` (regression: float32 targets). They ship with scikit-learn, so no network
    is needed.
    """
    from sklearn import datasets as sk_datasets

    loaders = {
        "digits": sk_datasets.load_digits,
        "breast_cancer": sk_datasets.load_breast_cancer,
        "iris": sk_datasets.load_iris,
        "diabetes": sk_datasets.load_diabetes,
    }
    if name not in loaders:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {sorted(loaders)}.")
    features, targets = loaders[name](return_X_y=True)
    x = torch.as_tensor(features, dtype=torch.float32)
    y_dtype = torch.float32 if name == "diabetes" else torch.int64
    return x, torch.as_tensor(targets, dtype=y_dtype)


def moons_tensors(n_samples: int = 500, noise: float = 0.2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's two interleaving half-moons: 2-D points (float32) and 0/1 labels (int64)."""
    from sklearn.datasets import make_moons

    points, labels = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return torch.as_tensor(points, dtype=torch.float32), torch.as_tensor(labels, dtype=torch.int64)
