"""Tests for utils.datasets: the image-folder dataset notebook 05 uses with worker processes."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from utils.datasets import ImageFiles


def _pixels(value: int) -> np.ndarray:
    """A 4x5 grey image whose top-left pixel is ``value`` (so each test image is recognisable)."""
    array = np.full((4, 5), 7, dtype=np.uint8)
    array[0, 0] = value
    return array


@pytest.fixture
def folder(tmp_path):
    """Two classes, written out of alphabetical order, with 3 and 2 PNGs and some clutter."""
    for name, values in [("b_second", [30, 40]), ("a_first", [12, 10, 11])]:
        (tmp_path / name).mkdir()
        for value in values:
            Image.fromarray(_pixels(value)).save(tmp_path / name / f"{value:03d}.png")
    (tmp_path / "a_first" / "notes.txt").write_text("not an image")
    (tmp_path / "README.md").write_text("a file at the top level is not a class")
    return tmp_path


def test_classes_are_sorted_folder_names_and_labels_their_positions(folder):
    dataset = ImageFiles(folder)
    assert dataset.classes == ["a_first", "b_second"]
    assert dataset.class_to_idx == {"a_first": 0, "b_second": 1}
    assert len(dataset) == 5  # the .txt file and the top-level file are skipped
    assert [label for _, label in dataset.samples] == [0, 0, 0, 1, 1]
    assert [path.name for path, _ in dataset.samples] == ["010.png", "011.png", "012.png", "030.png", "040.png"]


def test_items_are_decoded_images_and_int_labels(folder):
    dataset = ImageFiles(folder)
    image, label = dataset[3]
    assert isinstance(image, Image.Image) and image.mode == "L" and image.size == (5, 4)
    assert np.array_equal(np.asarray(image), _pixels(30))
    assert label == 1 and isinstance(label, int)
    assert dataset[-1][1] == 1  # negative indices work like a list's
    with pytest.raises(IndexError):
        dataset[5]


def test_mode_converts_and_none_keeps_the_file_mode(folder):
    assert ImageFiles(folder, mode="RGB")[0][0].mode == "RGB"
    assert ImageFiles(folder, mode=None)[0][0].mode == "L"


def test_transform_is_applied_and_batches_stack(folder):
    transform = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    dataset = ImageFiles(folder, transform=transform)
    image, _ = dataset[0]
    assert image.shape == (1, 4, 5) and image.dtype == torch.float32
    assert image[0, 0, 0].item() == pytest.approx(10 / 255)
    images, labels = next(iter(DataLoader(dataset, batch_size=5)))
    assert images.shape == (5, 1, 4, 5)
    assert labels.tolist() == [0, 0, 0, 1, 1] and labels.dtype == torch.int64


def test_agrees_with_torchvision_image_folder(folder):
    ours, theirs = ImageFiles(folder), ImageFolder(folder)
    assert ours.class_to_idx == theirs.class_to_idx
    assert [(path.as_posix(), label) for path, label in ours.samples] == [
        (str(path).replace("\\", "/"), label) for path, label in theirs.samples
    ]


def test_missing_or_empty_folders_raise_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        ImageFiles(tmp_path / "nowhere")
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(FileNotFoundError, match="no image files"):
        ImageFiles(tmp_path)


def test_pickles_by_reference_to_its_module(folder):
    """What a spawned worker receives: the class is named by its module, not by __main__."""
    dataset = ImageFiles(folder)
    payload = pickle.dumps(dataset)
    assert b"utils.datasets" in payload and b"__main__" not in payload
    copy = pickle.loads(payload)
    assert len(copy) == len(dataset) and np.array_equal(np.asarray(copy[4][0]), np.asarray(dataset[4][0]))


# Python 3.12+ warns when a process with threads forks (the DataLoader's fork workers); that is
# the platform's business here, not this module's.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_works_with_worker_processes(folder, start_method):
    """The point of the module: spawned workers (macOS, Windows) can import the class."""
    if start_method not in torch.multiprocessing.get_all_start_methods():
        pytest.skip(f"{start_method} is not available on this platform")
    transform = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    loader = DataLoader(
        ImageFiles(folder, transform=transform), batch_size=2, num_workers=2, multiprocessing_context=start_method
    )
    labels = torch.cat([batch_labels for _, batch_labels in loader])
    assert labels.tolist() == [0, 0, 0, 1, 1]
