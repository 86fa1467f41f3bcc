"""Exercise checks for notebook 05 (Dataset and DataLoader).

Each check builds its own small data; :meth:`utils.checks.Exercise.check` restores every random
generator afterwards, so running a check never changes what the notebook draws next.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader, TensorDataset

from utils.checks import Mismatch, as_number, call, exercise, expect, expect_close, expect_tensor

NOTEBOOK = "05_datasets_and_dataloaders"


# --------------------------------------------------------------------------- Exercise 1: sliding_windows


def _check_windows(dataset_class, series: torch.Tensor, window: int) -> None:
    """Compare every item of ``dataset_class(series, window)`` with the window and target it should hold."""
    dataset = call(dataset_class, series, window)
    length = call(len, dataset)
    expected_length = len(series) - window
    if length == expected_length + 1:
        raise Mismatch(
            f"len(...) is {length} for {len(series)} values and window={window}, one too many: the last window "
            f"needs a value after it as its target, so there are {len(series)} - {window} = {expected_length}"
        )
    expect(
        length == expected_length,
        f"len(...) is {length} for {len(series)} values and window={window}, expected {expected_length}",
    )
    for index in range(expected_length):
        item = call(dataset.__getitem__, index)
        expect(
            isinstance(item, (tuple, list)) and len(item) == 2,
            f"item {index} should be a pair (window, target), not {type(item).__name__}",
        )
        inputs, target = item
        inputs = expect_tensor(inputs, name=f"the window of item {index}")
        expected_inputs = series[index : index + window]
        if tuple(inputs.shape) != tuple(expected_inputs.shape):
            if len(inputs) == window + 1:
                raise Mismatch(f"the window of item {index} has {window + 1} values: it includes the target")
            raise Mismatch(
                f"the window of item {index} has shape {tuple(inputs.shape)}, expected {tuple(expected_inputs.shape)}"
            )
        expect_close(inputs, expected_inputs, name=f"the window of item {index}")
        last_of_window = series[index + window - 1]
        if torch.is_tensor(target) and target.shape == last_of_window.shape and torch.equal(target, last_of_window):
            raise Mismatch(
                f"the target of item {index} is the window's last value; it should be the value right after the window"
            )
        expect_close(target, series[index + window], name=f"the target of item {index}")


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Work out one small case on paper first: 10 values and window=3. Which slice is window 0, which value is "
            "its target, and which window is the last one that still has a value after it?"
        ),
        (
            "Item i is the slice of the series that starts at i and holds `window` values, paired with the value at "
            "position i + window. The last window that has a target starts at len(series) - window - 1, so the "
            "dataset has len(series) - window items."
        ),
    ],
)
def sliding_windows(dataset_class) -> str:
    _check_windows(dataset_class, 1.5 * torch.arange(10.0), 3)
    _check_windows(dataset_class, torch.arange(6.0) ** 2, 5)
    _check_windows(dataset_class, torch.arange(14.0).reshape(7, 2), 2)  # two values per time step
    return "Every window and target is right, and len counts exactly the windows that have a target."


# --------------------------------------------------------------------------- Exercise 2: mean_and_std

_IMAGES, _SIDE, _BATCH = 101, 8, 10


def _loader() -> tuple[DataLoader, torch.Tensor]:
    """101 images of 8x8 whose brightness grows with the index, in batches of 10 (the last holds 1)."""
    generator = torch.Generator().manual_seed(5)
    scale = torch.linspace(0.2, 1.0, _IMAGES).view(_IMAGES, 1, 1, 1)
    images = torch.rand(_IMAGES, 1, _SIDE, _SIDE, generator=generator) * scale
    labels = torch.zeros(_IMAGES, dtype=torch.int64)
    return DataLoader(TensorDataset(images, labels), batch_size=_BATCH), images


def _near(value: float, target: float) -> bool:
    return math.isclose(value, target, rel_tol=1e-3)


def _real_or_nan(value) -> float:
    """``value`` as a real number, or nan when it is not one (the std is judged on its own later)."""
    try:
        return as_number(value)
    except Mismatch:
        return math.nan


def _explain_wrong_count(mean: float, expected_mean: float) -> None:
    """Name the mistake when the mean is a whole multiple or fraction of the right one: a wrong count."""
    pixels_per_image = _SIDE * _SIDE
    batches = math.ceil(_IMAGES / _BATCH)
    ratio = mean / expected_mean
    if _near(ratio, pixels_per_image):
        raise Mismatch(
            f"the mean is {mean:.4g}, {pixels_per_image} times too large: the sum of all pixels was divided by the "
            f"number of images, but each image has {_SIDE} x {_SIDE} = {pixels_per_image} pixels. Count pixels "
            "(.numel() of each batch), not images (len of each batch)"
        )
    if _near(ratio, _IMAGES * pixels_per_image / batches):
        raise Mismatch(
            f"the mean is {mean:.4g}, about {ratio:.0f} times too large: the sum of all pixels was divided by the "
            "number of batches. Count pixels (.numel() of each batch)"
        )
    if ratio > 1.5 or ratio < 1 / 1.5:
        raise Mismatch(
            f"the mean is {mean:.4g}, {ratio:.3g} times the mean of all pixels ({expected_mean:.4g}): check what "
            "the count adds up; it should be the number of pixels seen"
        )


@exercise(
    NOTEBOOK,
    hints=[
        (
            "You never hold all pixels at once, so keep three running totals across the batches, enough to give both "
            "numbers at the end: how many pixels you have seen, their sum, and the sum of their squares."
        ),
        (
            "Before the loop set a count and two sums to zero. For each batch add its number of pixels (.numel(), not "
            "len, which counts images), its sum and the sum of its squares. After the loop the mean is sum / count, "
            "and the std is the square root of (sum of squares / count - mean squared). Return Python floats (.item())."
        ),
        (
            "Accumulate in float64 (convert each batch with .double() before summing). The formula subtracts two "
            "nearly equal numbers when the mean is large next to the spread, and float32's 7 significant digits can "
            "all cancel out (catastrophic cancellation), even giving a negative variance. The robust streaming "
            "method is Welford's update (Chan et al.'s for whole batches): keep the count, the running mean and "
            "the sum of squared deviations from it, and merge each batch into them."
        ),
    ],
)
def mean_and_std(mean_and_std) -> str:
    loader, images = _loader()
    result = call(mean_and_std, loader)
    expect(
        isinstance(result, (tuple, list)) and len(result) == 2,
        f"mean_and_std(loader) should return a pair (mean, std), not {type(result).__name__}",
    )
    mean_answer, std_answer = result
    expected_mean, expected_std = images.double().mean().item(), images.double().std().item()
    batch_means = [batch.double().mean().item() for batch, _ in loader]
    batch_stds = [batch.double().std().item() for batch, _ in loader]

    # The mean first: a wrong count breaks the mean, and only then the std (whose variance may turn negative).
    mean = as_number(mean_answer, "the mean")
    if _near(mean, expected_std) and _near(_real_or_nan(std_answer), expected_mean):
        raise Mismatch("the two numbers are swapped: return (mean, std)")
    if _near(mean, sum(batch_means) / len(batch_means)):
        raise Mismatch(
            f"the mean is {mean:.4f}, the average of the per-batch means, expected {expected_mean:.4f}: the last batch "
            "has 1 image, not 10, but counts as much. Sum all pixels and divide by how many there are"
        )
    _explain_wrong_count(mean, expected_mean)
    expect_close(mean, expected_mean, name="the mean", rtol=1e-3)

    if isinstance(std_answer, complex):
        raise Mismatch(
            "the mean is right, but the std is a complex number: the variance under the square root came out "
            "negative. Compute it as (sum of squares / count) - mean ** 2, with the same pixel count as the mean"
        )
    std = as_number(std_answer, "the std")
    if _near(std, expected_std**2):
        raise Mismatch(f"the std is {std:.4f}, which is the variance: take its square root")
    if _near(std, sum(batch_stds) / len(batch_stds)):
        raise Mismatch(
            f"the std is {std:.4f}, the average of the per-batch stds, expected {expected_std:.4f}: it misses how much "
            "the batches differ from each other. Keep the sum of squares over all pixels"
        )
    expect_close(std, expected_std, name="the std", rtol=1e-3)
    return "It matches the mean and std of all pixels of a test loader whose last batch is smaller than the others."


# --------------------------------------------------------------------------- Exercise 3: pad_collate


def _sequences_and_labels() -> tuple[list[torch.Tensor], list[int]]:
    """Four sequences of different lengths (3, 5, 1, 2) and their labels, built afresh for every check."""
    sequences = [torch.tensor([5, 6, 7]), torch.tensor([8, 9, 10, 11, 12]), torch.tensor([4]), torch.tensor([3, 2])]
    return sequences, [0, 2, 1, 2]


def _check_batch(result, sequences: list[torch.Tensor], labels: list[int], where: str) -> None:
    """Compare one collated batch with what padding ``sequences`` and ``labels`` should give."""
    expect(
        isinstance(result, (tuple, list)) and len(result) == 3,
        f"{where} should return three things, (padded, lengths, labels), not "
        + (f"{len(result)} of them" if isinstance(result, (tuple, list)) else type(result).__name__),
    )
    padded, lengths, batch_labels = result
    longest, size = max(len(s) for s in sequences), len(sequences)
    padded = expect_tensor(padded, name=f"padded (from {where})")
    if tuple(padded.shape) == (longest, size) and longest != size:
        raise Mismatch(
            f"padded has shape {(longest, size)}, (longest length, batch size): pass batch_first=True to pad_sequence"
        )
    expect_tensor(padded, shape=(size, longest), name=f"padded (from {where})")
    expected = torch.zeros(size, longest, dtype=padded.dtype)
    for row, sequence in enumerate(sequences):
        expected[row, : len(sequence)] = sequence
    for row, sequence in enumerate(sequences):
        expect(
            torch.equal(padded[row, : len(sequence)], sequence.to(padded.dtype)),
            f"row {row} of padded should start with its sequence {sequence.tolist()}, but is {padded[row].tolist()}",
        )
    expect(torch.equal(padded, expected), f"pad with 0: padded is {padded.tolist()}, expected {expected.tolist()}")
    expect(
        isinstance(lengths, torch.Tensor),
        f"lengths should be a tensor (torch.tensor([...])), not {type(lengths).__name__}",
    )
    if lengths.tolist() == [longest] * size != [len(s) for s in sequences]:
        raise Mismatch("lengths are all the padded length: keep each sequence's length from before padding")
    expect_tensor(lengths, shape=(size,), dtype=torch.int64, name="lengths")
    true_lengths = [len(s) for s in sequences]
    expect(lengths.tolist() == true_lengths, f"lengths is {lengths.tolist()}, expected {true_lengths}")
    expect(
        isinstance(batch_labels, torch.Tensor),
        f"labels should be a tensor (torch.tensor(labels)), not {type(batch_labels).__name__}",
    )
    expect_tensor(batch_labels, shape=(size,), dtype=torch.int64, name="labels")
    expect(batch_labels.tolist() == labels, f"labels is {batch_labels.tolist()}, expected {labels}")


@exercise(
    NOTEBOOK,
    hints=[
        (
            "The batch arrives as a list of pairs. Separate the sequences from the labels first; then each of the "
            "three outputs is one call: a padding function from torch.nn.utils.rnn, and two tensors made from lists."
        ),
        (
            "zip(*batch) turns the list of pairs into a tuple of sequences and a tuple of labels. pad_sequence pads "
            "with 0 by default but puts time first, so ask for batch_first=True. Take every length from the sequences "
            "before padding, and make the lengths and the labels int64 tensors with torch.tensor."
        ),
    ],
)
def pad_collate(pad_collate) -> str:
    sequences, labels = _sequences_and_labels()
    _check_batch(call(pad_collate, list(zip(sequences, labels))), sequences, labels, "pad_collate(batch)")
    # The same through a DataLoader; any object with __len__ and __getitem__ is a dataset, even a list.
    loader = DataLoader(list(zip(sequences, labels)), batch_size=3, collate_fn=pad_collate)
    batches = call(list, loader)
    expect(len(batches) == 2, f"a DataLoader over 4 items in batches of 3 should give 2 batches, not {len(batches)}")
    _check_batch(batches[1], sequences[3:], labels[3:], "pad_collate, for a batch of one item")
    return "It pads, keeps the lengths, and works as a DataLoader's collate_fn."


# --------------------------------------------------------------------------- Exercise 4: sqrt_sample_weights

_COUNTS = [100, 25, 4, 1, 16]


def _labels() -> torch.Tensor:
    labels = torch.cat([torch.full((count,), label) for label, count in enumerate(_COUNTS)])
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(5))]


def _shares(weights: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Each class's share of the draws: the sum of its items' weights over the sum of all weights."""
    per_class = torch.zeros(len(_COUNTS), dtype=torch.float64).index_add_(0, labels, weights.double())
    return per_class / per_class.sum()


@exercise(
    NOTEBOOK,
    hints=[
        (
            "A class with n items, each of weight w, is drawn with a share proportional to n times w. Which w makes "
            "n times w grow like the square root of n? Then give every item the w of its own class."
        ),
        (
            "Each item needs the weight 1 / sqrt(n) of its class. torch.bincount(labels) counts the items of every "
            "class; indexing that result with [labels] gives each item its class's count. Use floats before the "
            "square root and the division."
        ),
    ],
)
def sqrt_sample_weights(sqrt_sample_weights) -> str:
    labels = _labels()
    weights = call(sqrt_sample_weights, labels)
    if isinstance(weights, torch.Tensor) and tuple(weights.shape) == (len(_COUNTS),):
        raise Mismatch(
            f"the weights have shape {tuple(weights.shape)}, one per class; the sampler needs one per item, "
            f"shape ({len(labels)},): look each item's class up with [labels]"
        )
    weights = expect_tensor(weights, shape=(len(labels),), name="the weights")
    expect(bool(torch.isfinite(weights).all()), "some weights are not finite (inf or nan)")
    expect(bool((weights >= 0).all()) and weights.sum() > 0, "weights must be positive")
    counts = torch.tensor(_COUNTS, dtype=torch.float64)
    shares = _shares(weights, labels)
    wanted = counts.sqrt() / counts.sqrt().sum()
    if torch.allclose(shares, wanted, rtol=1e-4):
        return "Class shares " + ", ".join(f"{share:.0%}" for share in wanted.tolist()) + f" for sizes {_COUNTS}."
    faster = "growing faster than the class sizes: each item's weight should shrink as its class grows, like 1/sqrt(n)"
    described = [
        (
            "equal for every class: that is full rebalancing (weights 1/n); here the shares should grow like sqrt(n)",
            torch.full((len(_COUNTS),), 1 / len(_COUNTS), dtype=torch.float64),
        ),
        (
            (
                "proportional to the class sizes, as without a sampler: "
                "each item's weight should shrink as its class grows"
            ),
            counts / counts.sum(),
        ),
        (faster, counts**1.5 / (counts**1.5).sum()),
        (faster, counts**2 / (counts**2).sum()),
    ]
    for message, shares_of_mistake in described:
        if torch.allclose(shares, shares_of_mistake, rtol=1e-4):
            raise Mismatch(f"with these weights the class shares are {message}")
    raise Mismatch(
        "with these weights the classes of sizes "
        + str(_COUNTS)
        + " get the shares "
        + ", ".join(f"{share:.1%}" for share in shares.tolist())
        + "; expected "
        + ", ".join(f"{share:.1%}" for share in wanted.tolist())
    )


# --------------------------------------------------------------------------- Exercise 5: worker_shards

#: (number of shards, number of workers) the check tries: uneven splits, a worker left without a
#: shard (3 shards, 4 workers), and a single worker.
_SHARD_CASES = [(10, 4), (4, 2), (8, 3), (3, 4), (7, 1)]


def _blocks(count: int, workers: int) -> list[list[int]]:
    """The expected contiguous blocks: the first count % workers workers get one shard more."""
    size, extra = divmod(count, workers)
    starts = [worker * size + min(worker, extra) for worker in range(workers + 1)]
    return [list(range(starts[worker], starts[worker + 1])) for worker in range(workers)]


def _as_shard_list(value, worker: int, workers: int) -> list:
    """The shards one worker got, as a list (a tuple is fine too)."""
    expect(
        isinstance(value, (list, tuple)),
        f"worker_shards(shards, {worker}, {workers}) should return a list of shards, not {type(value).__name__}",
    )
    return list(value)


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Deal the shards out like cards, but in blocks: with 10 shards and 4 workers, how many shards does every "
            "worker get at least, and how many workers get one more? Python's divmod gives both numbers at once."
        ),
        (
            "divmod(len(shards), num_workers) gives q and r: the first r workers read q + 1 shards, the others q. "
            "Worker k's block starts after the blocks of workers 0 to k - 1, at k * q + min(k, r); return the slice "
            "of shards from there, of length q + 1 when k < r, else q."
        ),
    ],
)
def worker_shards(worker_shards) -> str:
    for count, workers in _SHARD_CASES:
        shards = [f"shard-{index:02d}.pt" for index in range(count)]
        names = {name: index for index, name in enumerate(shards)}
        answers = [
            _as_shard_list(call(worker_shards, shards, worker, workers), worker, workers) for worker in range(workers)
        ]
        for worker, answer in enumerate(answers):
            strangers = [item for item in answer if item not in names]
            expect(not strangers, f"worker {worker} got {strangers[:2]}, which are not among the shards given")
        got = [[names[item] for item in answer] for answer in answers]
        where = f"with {count} shards and {workers} workers"
        read = [index for block in got for index in block]
        twice = sorted({index for index in read if read.count(index) > 1})
        if twice:
            raise Mismatch(
                f"{where}, shards {twice} are read by more than one worker (worker 0 reads {got[0]}): give each "
                "shard to exactly one worker, or the loader delivers its items twice"
            )
        unread = sorted(set(range(count)) - set(read))
        if unread:
            raise Mismatch(
                f"{where}, shards {unread} are read by no worker (blocks {got}): the blocks must also cover the "
                f"remainder, {count} % {workers} = {count % workers} shard(s), one more for the first workers"
            )
        expected = _blocks(count, workers)
        for worker, block in enumerate(got):
            if block and block != list(range(block[0], block[0] + len(block))):
                raise Mismatch(
                    f"{where}, worker {worker} reads shards {block}: each worker should read one contiguous block, "
                    "in order"
                )
        if sorted(got) == expected and got != expected:
            raise Mismatch(
                f"{where}, the blocks are right but go to the wrong workers ({got}): worker 0 takes the first block"
            )
        sizes, expected_sizes = [len(block) for block in got], [len(block) for block in expected]
        if sizes != expected_sizes:
            raise Mismatch(
                f"{where}, the blocks have sizes {sizes}, expected {expected_sizes}: sizes may differ by at most "
                "one, and the first workers take the larger blocks"
            )
        expect(got == expected, f"{where}, the workers read {got}, expected {expected}: worker 0 takes the first block")
    return "Each shard is read by exactly one worker, in contiguous blocks whose sizes differ by at most one."
