"""Exercise checks for notebook 01 (tensors and devices)."""

from __future__ import annotations

from collections import namedtuple

import torch

from utils.checks import Mismatch, call, exercise, expect, expect_close, expect_tensor

NOTEBOOK = "01_tensors_and_devices"


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Nothing needs to move: each image's 16 numbers are its 4 rows one after another, the order in "
            "which PyTorch reads a tensor. Only the shape has to change, with one extra dimension of size 1."
        ),
        (
            "Use .reshape on flat_images with the four sizes in PyTorch's order (N, C, H, W): 6 images, "
            "1 channel, 4 rows, 4 columns. No transpose or permute is needed."
        ),
    ],
)
def images(images) -> str:
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


def _standardise_data() -> torch.Tensor:
    """Eight rows of three features on very different scales, like heights, weights and ages."""
    generator = torch.Generator().manual_seed(1)
    return torch.randn(8, 3, generator=generator) * torch.tensor([2.0, 30.0, 0.5]) + torch.tensor([5.0, -100.0, 1.0])


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Work column by column: every feature (column) gets its own mean and its own spread. A reduction "
            "such as a mean can be taken along one dimension, and broadcasting then applies the per-column "
            "numbers to every row."
        ),
        (
            "Take the mean and the standard deviation over the examples, dim=0: each has shape (features,). "
            "Subtract the mean from data, then divide by the standard deviation (.std, not .var). Both "
            "steps broadcast over the rows."
        ),
    ],
)
def standardise(standardise) -> str:
    data = _standardise_data()
    result = expect_tensor(call(standardise, data), name="standardise(data)")
    expect(
        tuple(result.shape) == (8, 3),
        f"standardise(data) has shape {tuple(result.shape)}, expected (8, 3), the shape of data "
        "(each value is shifted and scaled, none is removed)",
    )
    result = result.detach().double()
    data = data.double()
    centred = data - data.mean(dim=0)
    for correction in (0, 1):
        if torch.allclose(result, centred / data.var(dim=0, correction=correction), atol=1e-4):
            raise Mismatch(
                "you divided by the variance; divide by the standard deviation, the square root of the "
                "variance (.std instead of .var)"
            )
        if torch.allclose(result, data / data.std(dim=0, correction=correction), atol=1e-4):
            raise Mismatch(
                "the columns have standard deviation 1 but not mean 0: subtract each column's mean before dividing"
            )
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
        if torch.allclose(result, centred, atol=1e-4):
            problem = "you subtracted the means but did not divide by each column's standard deviation"
        else:
            problem = "divide the centred columns by each column's standard deviation"
        raise Mismatch(
            f"the columns have mean 0 but standard deviations {[round(s, 3) for s in stds[1].tolist()]}, "
            f"expected 1: {problem}"
        )
    return "Every column now has mean 0 and standard deviation 1."


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Broadcasting can do all the differences at once: give a and b each an extra dimension of size 1, "
            "in different places, so that the shapes (N, D) and (M, D) line up into (N, M, D)."
        ),
        (
            "a.unsqueeze(1) has shape (N, 1, D) and b.unsqueeze(0) has shape (1, M, D). Subtract them to get "
            "every difference, shape (N, M, D); square, then sum over the last dimension (the D coordinates)."
        ),
    ],
)
def pairwise_sq_distances(pairwise_sq_distances) -> str:
    generator = torch.Generator().manual_seed(2)
    a = torch.randn(5, 2, generator=generator)
    b = torch.randn(3, 2, generator=generator)
    expected = ((a[:, None, :] - b[None, :, :]) ** 2).sum(dim=2)
    result = expect_tensor(call(pairwise_sq_distances, a, b), name="pairwise_sq_distances(a, b)")
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


def _scores_reference(queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Every dot product, written with broadcasting rather than a matrix product (an independent reference)."""
    return (queries.double().unsqueeze(2) * keys.double().unsqueeze(1)).sum(dim=3)


def _call_scores(batched_scores, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Run the learner's function; explain shape errors in terms of * versus @."""
    try:
        result = call(batched_scores, queries, keys)
    except Mismatch as error:
        if "size" in str(error) and "raised RuntimeError" in str(error):
            raise Mismatch(
                f"{str(error).rstrip('.')}: the shapes do not fit. Each entry is a dot product over the d coordinates, i.e. a "
                "matrix product of queries (B, n, d) with the keys turned into columns, (B, d, m)"
            ) from None
        raise
    return expect_tensor(result, name="batched_scores(queries, keys)")


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Each entry multiplies matching coordinates and adds the products up: a dot product. A matrix product "
            "computes exactly such dot products, a row of the left operand with a column of the right one, and on "
            "3-D tensors it does one product per group. Element-wise * only pairs equal positions."
        ),
        (
            "queries is (B, n, d); a matrix product with a (B, d, m) tensor gives (B, n, m). So the keys must "
            "become columns: swap their last two dimensions with keys.mT (or keys.transpose(-2, -1)). Not "
            "keys.T, which reverses all three dimensions of a 3-D tensor."
        ),
    ],
)
def batched_scores(batched_scores) -> str:
    generator = torch.Generator().manual_seed(3)
    queries = torch.randn(2, 3, 5, generator=generator)  # B=2 groups, n=3 queries, d=5 coordinates
    keys = torch.randn(2, 4, 5, generator=generator)  # m=4 keys per group
    expected = _scores_reference(queries, keys)
    result = _call_scores(batched_scores, queries, keys)
    shape = tuple(result.shape)
    got = result.detach().cpu().double()
    if shape == (2, 4, 3):
        raise Mismatch(
            "the result has shape (2, 4, 3), keys against queries: the rows of each group's table are for the "
            "queries, the columns for the keys, so queries comes first in the product"
        )
    if shape == (6, 8):
        raise Mismatch(
            "the result has shape (6, 8): every query was compared with the keys of every group. Keep the groups "
            "apart: @ on 3-D tensors multiplies group b of the left by group b of the right"
        )
    if shape == (3, 4):
        raise Mismatch("the result has shape (3, 4), one table; expected one table per group, (2, 3, 4)")
    expect(
        shape == (2, 3, 4),
        f"for queries of shape (2, 3, 5) and keys of shape (2, 4, 5) the result has shape {shape}, expected "
        "(2, 3, 4): for each of the 2 groups, one row per query and one column per key",
    )
    if torch.allclose(got * 5**0.5, expected, atol=1e-4):
        raise Mismatch(
            "your scores are the dot products divided by sqrt(d): attention layers scale them so, but this "
            "exercise asks for the plain dot products"
        )
    if torch.allclose(got.sum(dim=2), torch.ones(2, 3, dtype=torch.float64), atol=1e-4):
        raise Mismatch("each row sums to 1: you applied a softmax; the exercise asks for the raw dot products")
    expect_close(got, expected, name="batched_scores(queries, keys)", rtol=1e-4, atol=1e-4)
    # Equal numbers of queries and keys: catches the element-wise product that pairs query i with key i only.
    queries = torch.randn(3, 4, 2, generator=generator)
    keys = torch.randn(3, 4, 2, generator=generator)
    result = _call_scores(batched_scores, queries, keys)
    if tuple(result.shape) == (3, 4):
        raise Mismatch(
            "with 4 queries and 4 keys per group the result has shape (3, 4): each query met only the key at "
            "the same position (an element-wise *); every query meets every key in a matrix product"
        )
    expect_close(
        result,
        _scores_reference(queries, keys),
        name="batched_scores(queries, keys) for 3 groups of 4 queries and 4 keys with 2 coordinates",
        rtol=1e-4,
        atol=1e-4,
    )
    return "One batched matrix product, (B, n, d) @ (B, d, m), scored all queries against all keys."


def _compare(result, original, device: torch.device, where: str) -> None:
    """Check that ``result`` mirrors ``original`` (same containers, same values) with every tensor on ``device``."""
    if isinstance(original, torch.Tensor):
        expect(isinstance(result, torch.Tensor), f"{where} should be a tensor, but it is a {type(result).__name__}")
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
            f"{where} is a {type(result).__name__}, but in the batch it is a {type(original).__name__}: keep the type",
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


Pair = namedtuple("Pair", ["inputs", "targets"])


def _batch() -> dict:
    return {
        "images": torch.ones(2, 1, 3, 3),
        "targets": torch.tensor([0, 1]),
        "extras": [torch.zeros(2), ("caption", torch.arange(3))],
        "name": "batch 7",
        "size": 2,
    }


@exercise(
    NOTEBOOK,
    hints=[
        (
            "A batch is a tensor, or a container of things that are each again a batch. A function that calls "
            "itself on every item of a container (recursion) handles any depth of nesting."
        ),
        (
            "Four cases: a tensor (move it with .to(device)); a dict (a new dict with move_to applied to every "
            "value); a list or a tuple (apply move_to to every item and rebuild the same type with "
            "type(batch)(...)); anything else (return it as it is)."
        ),
        (
            "A named tuple is a tuple with a _fields attribute, and its constructor takes the fields as separate "
            "arguments: test hasattr(batch, '_fields') before the list/tuple case and rebuild it with "
            "type(batch)(*moved_items), unpacking the moved items with *."
        ),
    ],
)
def move_to(move_to) -> str:
    for device in (torch.device("meta"), torch.device("cpu")):
        batch = _batch()
        result = call(move_to, batch, device)  # call() reports tensors moved into the batch itself
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
    pair = Pair(torch.ones(2, 3), torch.tensor([0, 1]))
    try:
        moved = call(move_to, pair, torch.device("meta"))
    except Mismatch as error:
        if "TypeError" in str(error):
            raise Mismatch(
                f"dicts, lists and tuples work, but a named tuple fails ({error}): its constructor takes the "
                "fields as separate arguments; named tuples have a _fields attribute, rebuild them with "
                "type(batch)(*items)"
            ) from None
        raise
    _compare(moved, pair, torch.device("meta"), "move_to(Pair(inputs, targets))")
    return "Every tensor moved, at every depth, and nothing else changed, named tuples included."
