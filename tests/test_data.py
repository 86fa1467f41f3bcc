"""The data folder: FashionMNIST from the Debian package or the cache, verification, clear errors."""

import gzip
import hashlib
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from utils import data
from utils.data import (
    FASHION_MNIST_RAW_MD5,
    DataUnavailableError,
    ensure_fashion_mnist,
    fashion_mnist_problems,
    fashion_mnist_raw_folder,
)

HAVE_DEBIAN_COPY = all((data.DEBIAN_FASHION_MNIST / f"{name}.gz").exists() for name in FASHION_MNIST_RAW_MD5)
needs_debian = pytest.mark.skipif(not HAVE_DEBIAN_COPY, reason="needs the dataset-fashion-mnist package")


@pytest.fixture
def empty_root(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def offline(monkeypatch):
    """Make every download fail the way it does without network."""

    def refuse(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried http://example, got:\nno network")

    from torchvision import datasets

    monkeypatch.setattr(datasets.FashionMNIST, "download", refuse)


def test_data_root_follows_environment_variable(empty_root):
    assert data.data_root() == empty_root
    assert empty_root.is_dir()


def test_data_root_defaults_to_repository_data_folder(monkeypatch):
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    assert data.data_root() == Path(__file__).resolve().parent.parent / "data"


def test_missing_offline_gives_one_clear_message(empty_root, offline, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", empty_root / "no-debian-package")
    with pytest.raises(DataUnavailableError) as error:
        data.load_fashion_mnist()
    message = str(error.value)
    assert "could not be downloaded" in message
    assert "python -m utils.prefetch" in message
    assert "\n" not in message
    # In Jupyter the error renders as its message alone, without a traceback.
    assert error.value._render_traceback_() == [f"DataUnavailableError: {message}"]


@needs_debian
def test_debian_package_is_used_without_download(empty_root, offline):
    ensure_fashion_mnist()
    assert fashion_mnist_problems(verify_md5=True) == []
    images, labels = data.fashion_mnist_tensors(train=False)
    assert images.shape == (10_000, 1, 28, 28) and images.dtype == torch.float32
    assert labels.shape == (10_000,) and labels.dtype == torch.int64
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert sorted(labels.unique().tolist()) == list(range(10))
    assert torch.bincount(labels).tolist() == [1000] * 10


def test_the_penguins_table_is_shipped_with_missing_values_and_text_columns():
    lines = data.PENGUINS_CSV.read_text().splitlines()
    assert lines[0].split(",")[:2] == ["species", "island"] and len(lines) == 345
    assert any(",NA" in line for line in lines[1:])


@needs_debian
def test_tensors_are_the_bytes_torchvision_reads(offline):
    for train in (True, False):
        images, labels = data.fashion_mnist_tensors(train=train)
        dataset = data.load_fashion_mnist(train=train)
        assert images.shape == (len(dataset), 1, 28, 28) and images.dtype == torch.float32
        assert torch.equal((images * 255).round().to(torch.uint8).squeeze(1), dataset.data)
        assert torch.equal(labels, dataset.targets)


def test_importing_utils_does_not_import_torchvision():
    # importing torchvision costs a second and memory in processes that never use it (spawned workers)
    code = "import sys, utils; print('torchvision' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=data.repo_root()
    )
    assert result.stdout.strip() == "False", result.stderr


def test_the_split_is_fixed_disjoint_and_complete():
    train_index, val_index = data.fashion_mnist_split()
    assert (len(train_index), len(val_index)) == data.FASHION_MNIST_SPLIT_SIZES == (55_000, 5_000)
    assert torch.cat([train_index, val_index]).sort().values.equal(torch.arange(60_000))
    again_train, again_val = data.fashion_mnist_split()
    assert again_train.equal(train_index) and again_val.equal(val_index)
    assert not train_index[:100].equal(torch.arange(100))  # shuffled, not the first 55,000


@needs_debian
def test_statistics_constants_come_from_the_training_split_only(offline):
    images, _ = data.fashion_mnist_tensors(train=True)
    assert images.shape == (60_000, 1, 28, 28)
    train_index, _ = data.fashion_mnist_split()
    train_pixels = images[train_index].double()
    assert train_pixels.mean().item() == pytest.approx(data.FASHION_MNIST_MEAN, abs=5e-5)
    assert train_pixels.std().item() == pytest.approx(data.FASHION_MNIST_STD, abs=5e-5)
    # the statistics of all 60,000 images differ in the 4th decimal: the constants are not those
    assert abs(images.double().mean().item() - data.FASHION_MNIST_MEAN) > 2e-4


@needs_debian
def test_truncated_file_is_detected_and_repaired_from_debian(empty_root, offline):
    ensure_fashion_mnist()
    raw = fashion_mnist_raw_folder()
    target = raw / "t10k-labels-idx1-ubyte"
    target.write_bytes(target.read_bytes()[:500])
    assert any("truncated" in problem for problem in fashion_mnist_problems())
    ensure_fashion_mnist()  # repairs it from the package copy
    assert fashion_mnist_problems(verify_md5=True) == []


def test_corruption_is_reported_when_no_good_copy_exists(empty_root, offline, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", empty_root / "no-debian-package")
    raw = fashion_mnist_raw_folder()
    raw.mkdir(parents=True)
    # Write files with correct headers and sizes but wrong content: only the MD5 check sees it.
    for name in FASHION_MNIST_RAW_MD5:
        split = name.split("-")[0]
        count = 60_000 if split == "train" else 10_000
        if "images" in name:
            header = (2051).to_bytes(4, "big") + count.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
            body = bytes(count * 28 * 28)
        else:
            header = (2049).to_bytes(4, "big") + count.to_bytes(4, "big")
            body = bytes(count)
        (raw / name).write_bytes(header + body)
    assert fashion_mnist_problems() == []  # the quick check passes...
    problems = fashion_mnist_problems(verify_md5=True)
    assert len(problems) == 4 and all("corrupted" in p for p in problems)  # ...the full one does not
    (raw / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01garbage")
    with pytest.raises(DataUnavailableError, match="python -m utils.prefetch"):
        ensure_fashion_mnist()


def test_damaged_archive_is_not_used(empty_root, offline, monkeypatch):
    debian = empty_root / "fake-debian"
    debian.mkdir(parents=True)
    for name in FASHION_MNIST_RAW_MD5:
        with gzip.open(debian / f"{name}.gz", "wb") as handle:
            handle.write(b"not the dataset")
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", debian)
    with pytest.raises(DataUnavailableError):
        ensure_fashion_mnist()
    assert not any(fashion_mnist_raw_folder().iterdir()), "a file with the wrong MD5 was kept"


class FakeWeights:
    """Stands in for a torchvision Weights enum: only ``url`` and ``get_state_dict`` are used."""

    def __init__(self, path_name: str):
        self.url = f"https://example.invalid/models/{path_name}"

    def get_state_dict(self, **kwargs):
        raise RuntimeError("no network")

    def __str__(self):
        return "FakeWeights.TEST"


def test_weights_present_missing_and_damaged(empty_root, capsys, monkeypatch):
    monkeypatch.delenv("TORCH_HOME", raising=False)
    data.configure_torch_hub()
    content = b"pretend checkpoint"
    prefix = hashlib.sha256(content).hexdigest()[:8]
    weights = FakeWeights(f"tiny-{prefix}.pth")
    path = data.weights_path(weights)
    assert path.parent == empty_root / "torch-hub" / "checkpoints"

    assert data.pretrained_weights_or_none(weights) is None
    out = capsys.readouterr().out
    assert "NOT available" in out and "randomly initialised" in out and "python -m utils.prefetch" in out
    with pytest.raises(DataUnavailableError, match="could not be downloaded"):
        data.ensure_weights(weights)

    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert data.pretrained_weights_or_none(weights) is weights
    assert "Pretrained weights found" in capsys.readouterr().out
    assert data.ensure_weights(weights, download=False) == path

    path.write_bytes(content[:-1])
    assert "damaged" in data.weights_problem(weights)
    assert data.pretrained_weights_or_none(weights, report=False) is None


def test_resnet18_weights_path_is_in_the_data_folder(empty_root, monkeypatch):
    monkeypatch.delenv("TORCH_HOME", raising=False)
    data.configure_torch_hub()
    assert data.weights_path() == empty_root / "torch-hub" / "checkpoints" / "resnet18-f37072fd.pth"


@pytest.mark.parametrize("name", ["china", "flower", "grace_hopper"])
def test_sample_photos_are_rgb_arrays(name):
    photo = data.sample_photo(name)
    assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
    assert min(photo.shape[:2]) > 200


def test_unknown_photo_is_refused():
    with pytest.raises(ValueError, match="Unknown photo"):
        data.sample_photo("cat")


def test_sklearn_tensors():
    x, y = data.sklearn_tensors("digits")
    assert x.shape == (1797, 64) and x.dtype == torch.float32 and y.dtype == torch.int64
    x, y = data.sklearn_tensors("diabetes")
    assert x.shape == (442, 10) and y.dtype == torch.float32
    with pytest.raises(ValueError):
        data.sklearn_tensors("mnist")


def test_moons_are_reproducible():
    a, labels = data.moons_tensors(100, seed=3)
    b, _ = data.moons_tensors(100, seed=3)
    assert torch.equal(a, b) and a.shape == (100, 2) and set(labels.tolist()) == {0, 1}


def test_prefetch_check_reports_without_downloading(empty_root, offline, monkeypatch, capsys):
    from utils import prefetch

    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", empty_root / "none")
    monkeypatch.setattr(prefetch, "DEBIAN_FASHION_MNIST", empty_root / "none")
    assert prefetch.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "[MISSING] FashionMNIST" in out and "[MISSING] ResNet-18" in out
    assert not any(fashion_mnist_raw_folder().glob("*ubyte"))


@needs_debian
def test_prefetch_fetches_what_it_can_and_is_idempotent(empty_root, offline, monkeypatch, capsys):
    from utils import prefetch

    monkeypatch.delenv("TORCH_HOME", raising=False)
    assert prefetch.main([]) == 1  # the ResNet weights cannot be downloaded offline
    out = capsys.readouterr().out
    assert "[OK] FashionMNIST" in out and "[MISSING] ResNet-18" in out and "could not be downloaded" in out
    before = {p: p.stat().st_mtime_ns for p in fashion_mnist_raw_folder().iterdir()}
    prefetch.main([])
    assert {p: p.stat().st_mtime_ns for p in fashion_mnist_raw_folder().iterdir()} == before


def test_the_prefetch_command_fits_where_the_learner_is(monkeypatch):
    """A terminal command locally; a notebook-cell command on Colab, where no terminal is at hand."""
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert data.prefetch_command().startswith("python -m utils.prefetch") and "terminal" in data.prefetch_command()
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert data.prefetch_command().startswith("!cd /content/course && python -m utils.prefetch")
