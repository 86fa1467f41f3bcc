"""Exercise checks for notebook 01 (tensors and devices)."""

from __future__ import annotations

import torch

from utils.checks import Exercise, Mismatch, call, expect, expect_close, expect_tensor

NOTEBOOK = "01_tensors_and_devices"

# --------------------------------------------------------------------------- images


def _check_images(images) -> str:
    reference = torch.arange(6 * 16, dtype=torch.float32).reshape(6, 1, 4, 4)
    images = expect_tensor(images, name="images")
    shape = tuple(images.shape)
    if shape != (6, 1, 4, 4) and images.numel() == 96 and sorted(shape) == [1, 4, 4, 6]:
        raise Mismatch(
            f"images has shape {shape}; PyTorch's layout is (N, C, H, W): images first, then the one "
            "channel, then height and width, i.e. (6, 1, 4, 4)"
        )
    expect_tensor(images, shape=(6, 1, 4, 4), name="images")
    if not torch.equal(images.detach().cpu().double(), reference.double()):
        raise Mismatch(
            "images has the right shape but the pixels are in the wrong places: each image's 16 "
            "numbers are its rows one after another, so reshaping flat_images keeps them in order "
            "(no transpose or permute needed)"
        )
    return "A batch of 6 one-channel 4x4 images."


images = Exercise(
    NOTEBOOK,
    "images",
    _check_images,
    hint="The 16 numbers of each image are its 4 rows one after another, which is exactly how reshape "
    "reads them: flat_images.reshape(N, C, H, W) with N = 6 images, C = 1 channel, H = W = 4.",
)

# --------------------------------------------------------------------------- standardise


def _standardise_data() -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    # Three features on very different scales, like a table of heights, weights and ages.
    return torch.randn(8, 3, generator=generator) * torch.tensor([2.0, 30.0, 0.5]) + torch.tensor([5.0, -100.0, 1.0])


def _check_standardise(standardise) -> str:
    data = _standardise_data()
    original = data.clone()
    result = call(standardise, data)
    result = expect_tensor(result, name="standardise(data)")
    expect(torch.equal(data, original), "standardise changed its input in place; compute a new tensor instead")
    expect(
        tuple(result.shape) == (8, 3),
        f"standardise(data) has shape {tuple(result.shape)}, expected (8, 3), the shape of data "
        "(each value is shifted and scaled, none is removed)",
    )
    result = result.detach().double()
    means = result.mean(dim=0)
    if not torch.allclose(means, torch.zeros(3, dtype=torch.float64), atol=1e-4):
        row_means = result.mean(dim=1)
        if torch.allclose(row_means, torch.zeros(8, dtype=torch.float64), atol=1e-4):
            raise Mismatch(
                "the rows have mean 0 but the columns do not: you reduced along dim=1; "
                "each column is one feature, so take the mean over the examples, dim=0"
            )
        raise Mismatch(f"the column means are {[round(m, 3) for m in means.tolist()]}, expected 0 for every column")
    stds = [result.std(dim=0, correction=c) for c in (0, 1)]
    if not any(torch.allclose(s, torch.ones(3, dtype=torch.float64), atol=1e-3) for s in stds):
        raise Mismatch(
            f"the columns have mean 0 but standard deviations {[round(s, 3) for s in stds[1].tolist()]}, "
            "expected 1: also divide by each column's standard deviation"
        )
    return "Every column now has mean 0 and standard deviation 1."


standardise = Exercise(
    NOTEBOOK,
    "standardise",
    _check_standardise,
    hint="data.mean(dim=0) gives one mean per column (shape (features,)); broadcasting subtracts it from "
    "every row. Do the same with data.std(dim=0) for the division.",
)

# --------------------------------------------------------------------------- pairwise distances


def _check_pairwise(pairwise_sq_distances) -> str:
    generator = torch.Generator().manual_seed(2)
    a = torch.randn(5, 2, generator=generator)
    b = torch.randn(3, 2, generator=generator)
    expected = ((a[:, None, :] - b[None, :, :]) ** 2).sum(dim=2)
    result = call(pairwise_sq_distances, a, b)
    result = expect_tensor(result, name="pairwise_sq_distances(a, b)")
    shape = tuple(result.shape)
    if shape == (3, 5):
        raise Mismatch(
            "the result has shape (3, 5), the transpose of what is asked: rows for a's points, columns for b's"
        )
    expect(
        shape == (5, 3),
        f"for a of shape (5, 2) and b of shape (3, 2) the result has shape {shape}, expected (5, 3): "
        "one row per point of a, one column per point of b",
    )
    if torch.allclose(result.detach().float(), expected.sqrt(), atol=1e-4):
        raise Mismatch("these are the distances, not the squared distances: leave out the square root")
    expect_close(result, expected, name="pairwise_sq_distances(a, b)", rtol=1e-4, atol=1e-4)
    # A second call with other shapes, to catch answers that only work for D = 2.
    c = torch.randn(4, 7, generator=generator)
    expect_close(
        call(pairwise_sq_distances, c, c),
        ((c[:, None, :] - c[None, :, :]) ** 2).sum(dim=2),
        name="pairwise_sq_distances(c, c) for points with 7 coordinates",
        rtol=1e-4,
        atol=1e-4,
    )
    return "Broadcasting (N, 1, D) against (1, M, D) did all N x M differences at once."


pairwise_sq_distances = Exercise(
    NOTEBOOK,
    "pairwise_sq_distances",
    _check_pairwise,
    hint="Give a a middle dimension of size 1 and b a first one: a.unsqueeze(1) has shape (N, 1, D) and "
    "b.unsqueeze(0) has shape (1, M, D). Their difference broadcasts to (N, M, D); square it and sum over "
    "the last dimension.",
)

# --------------------------------------------------------------------------- move_to


def _describe(value) -> str:
    return f"a {type(value).__name__}"


def _compare(result, original, device: torch.device, where: str) -> None:
    """Check that ``result`` mirrors ``original`` with every tensor on ``device``."""
    if isinstance(original, torch.Tensor):
        expect(isinstance(result, torch.Tensor), f"{where} should be a tensor, but it is {_describe(result)}")
        expect(
            result.device.type == device.type,
            f"the tensor at {where} is on {result.device.type}, expected {device.type}",
        )
        expect(tuple(result.shape) == tuple(original.shape), f"the tensor at {where} changed shape")
        if device.type != "meta":
            expect(torch.equal(result.cpu(), original.cpu()), f"the tensor at {where} changed its values")
        return
    if isinstance(original, (dict, list, tuple)):
        expect(
            type(result) is type(original),
            f"{where} is {_describe(result)}, but in the batch it is {_describe(original)}: keep the type",
        )
        if isinstance(original, dict):
            expect(set(result) == set(original), f"{where} has keys {sorted(result)}, expected {sorted(original)}")
            for key in original:
                _compare(result[key], original[key], device, f"{where}[{key!r}]")
        else:
            expect(len(result) == len(original), f"{where} has {len(result)} items, expected {len(original)}")
            for index, (got, want) in enumerate(zip(result, original)):
                _compare(got, want, device, f"{where}[{index}]")
        return
    expect(result == original, f"{where} should stay {original!r} (it is not a tensor), but it is {result!r}")


def _batch() -> dict:
    return {
        "images": torch.ones(2, 1, 3, 3),
        "targets": torch.tensor([0, 1]),
        "extras": [torch.zeros(2), ("caption", torch.arange(3))],
        "name": "batch 7",
        "size": 2,
    }


def _check_move_to(move_to) -> str:
    for device in (torch.device("meta"), torch.device("cpu")):
        batch = _batch()
        result = call(move_to, batch, device)
        if isinstance(result, torch.Tensor):
            raise Mismatch("move_to returned a single tensor; return the same structure as the batch (here a dict)")
        _compare(result, _batch(), device, "the result")
        try:
            _compare(batch, _batch(), torch.device("cpu"), "batch")
        except Mismatch as error:
            raise Mismatch(f"move_to changed its input ({error}); build new containers instead") from None
    expect(
        call(move_to, "text", torch.device("meta")) == "text", "move_to('text', device) should return 'text' unchanged"
    )
    return "Every tensor moved, at every depth, and nothing else changed."


move_to = Exercise(
    NOTEBOOK,
    "move_to",
    _check_move_to,
    hint="Let the function call itself (recursion). If batch is a tensor, return batch.to(device). If it is "
    "a dict, build a new dict with move_to applied to every value. If it is a list or tuple, apply move_to "
    "to every item and rebuild the same type with type(batch)(...). Anything else: return it unchanged.",
)
