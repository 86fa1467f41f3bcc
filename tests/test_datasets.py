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

from utils.datasets import ImageFiles, NoisyItems, ShardStream, seed_numpy_in_worker


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


# --------------------------------------------------------------------------- NoisyItems, seed_numpy_in_worker


def _numpy_draws_per_batch(**options) -> list[list[float]]:
    loader = DataLoader(
        NoisyItems(8), batch_size=4, num_workers=2, generator=torch.Generator().manual_seed(0), **options
    )
    return [numpy_draws.tolist() for _, numpy_draws, _ in loader]


def test_noisy_items_are_indexed_and_draw_from_their_own_generator():
    dataset = NoisyItems(5, seed=3)
    index, numpy_draw, torch_draw = dataset[2]
    assert len(dataset) == 5 and index == 2
    assert numpy_draw == np.random.default_rng(3).random()  # the first draw of a Generator seeded with 3
    assert 0 <= torch_draw < 1


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_workers_copy_the_generator_unless_seeded_in_worker_init_fn():
    if "fork" not in torch.multiprocessing.get_all_start_methods():
        pytest.skip("fork is not available on this platform")
    copied = _numpy_draws_per_batch(multiprocessing_context="fork")
    assert copied[0] == copied[1]  # the bug notebook 05 shows: both workers draw the same numbers
    fixed = _numpy_draws_per_batch(multiprocessing_context="fork", worker_init_fn=seed_numpy_in_worker)
    assert fixed[0] != fixed[1]
    assert fixed == _numpy_draws_per_batch(multiprocessing_context="fork", worker_init_fn=seed_numpy_in_worker)


# --------------------------------------------------------------------------- ShardStream


@pytest.fixture
def shards(tmp_path):
    """Three shards of 4, 4 and 2 items whose ids are 0..9."""
    paths = []
    for number, ids in enumerate([torch.arange(0, 4), torch.arange(4, 8), torch.arange(8, 10)]):
        path = tmp_path / f"shard-{number}.pt"
        torch.save({"images": torch.zeros(len(ids), 2, 2, dtype=torch.uint8), "labels": ids % 3, "ids": ids}, path)
        paths.append(path)
    return paths


def test_shard_stream_yields_every_item_in_order_in_the_main_process(shards):
    items = list(ShardStream(shards))
    assert [item_id for _, _, item_id in items] == list(range(10))
    image, label, _ = items[5]
    assert image.shape == (2, 2) and label == 5 % 3 and isinstance(label, int)


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_shard_stream_splits_shards_between_workers(shards, start_method):
    if start_method not in torch.multiprocessing.get_all_start_methods():
        pytest.skip(f"{start_method} is not available on this platform")

    def ids(split: bool) -> list[int]:
        loader = DataLoader(
            ShardStream(shards, split_between_workers=split),
            batch_size=3,
            num_workers=2,
            multiprocessing_context=start_method,
        )
        return sorted(torch.cat([batch_ids for _, _, batch_ids in loader]).tolist())

    assert ids(split=True) == list(range(10))
    assert ids(split=False) == sorted(list(range(10)) * 2)  # each worker streams everything
