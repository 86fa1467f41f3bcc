import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

from tests.exercise_cases import Case, not_implemented


def windows(length, item):
    """A SlidingWindows-like class with the given __len__ and __getitem__ (as functions of self)."""

    class Windows(Dataset):
        def __init__(self, series, window):
            self.series, self.window = series, window

        __len__ = length
        __getitem__ = item

    return Windows


def _right_length(self):
    return len(self.series) - self.window


def _right_item(self, i):
    return self.series[i : i + self.window], self.series[i + self.window]


def _item_with_target_inside(self, i):
    return self.series[i : i + self.window + 1], self.series[i + self.window]


def _item_last_as_target(self, i):
    return self.series[i : i + self.window], self.series[i + self.window - 1]


def _item_shifted(self, i):
    return self.series[i + 1 : i + 1 + self.window], self.series[i + 1 + self.window]


def _item_as_list(self, i):
    return self.series[i : i + self.window].tolist(), self.series[i + self.window]


class StubWindows(Dataset):
    """What the student notebook starts with."""

    def __init__(self, series, window):
        self.series, self.window = series, window

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError


class PrecomputedWindows(Dataset):
    """A correct alternative: all windows computed up front with unfold."""

    def __init__(self, series, window):
        self.inputs = [series[i : i + window] for i in range(len(series) - window)]
        self.targets = series[window:]

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, index):
        return self.inputs[index], self.targets[index]


def _mean_std_reference(loader):
    count, total, squares = 0, 0.0, 0.0
    for images, _ in loader:
        count += images.numel()
        total += images.sum().item()
        squares += (images.double() ** 2).sum().item()
    mean = total / count
    return mean, (squares / count - mean**2) ** 0.5


def _mean_std_concatenate(loader):
    pixels = torch.cat([images.flatten() for images, _ in loader])
    return pixels.mean(), pixels.std()  # 0-d tensors and the sample std are fine too


def _mean_std_welford(loader):
    count, mean, m2 = 0, 0.0, 0.0
    for images, _ in loader:
        pixels = images.double().flatten()
        n = pixels.numel()
        batch_mean = pixels.mean().item()
        batch_m2 = ((pixels - batch_mean) ** 2).sum().item()
        delta = batch_mean - mean
        total = count + n
        mean += delta * n / total
        m2 += batch_m2 + delta**2 * count * n / total
        count = total
    return [mean, (m2 / count) ** 0.5]


def _mean_std_counting_images(loader):
    """Counts images (len) instead of pixels (numel): the mean is 64 times too large, the variance negative."""
    count, total, squares = 0, 0.0, 0.0
    for images, _ in loader:
        count += len(images)
        total += images.sum().item()
        squares += (images**2).sum().item()
    mean = total / count
    return mean, (squares / count - mean**2) ** 0.5  # a negative number to the power 0.5: a complex number


def _mean_std_counting_batches(loader):
    count, total, squares = 0, 0.0, 0.0
    for images, _ in loader:
        count += 1
        total += images.sum().item()
        squares += (images**2).sum().item()
    mean = total / count
    return mean, (squares / count - mean**2) ** 0.5


def _mean_right_variance_negative(loader):
    """The mean is right but the variance subtracts the wrong thing and goes negative."""
    mean, _ = _mean_std_reference(loader)
    count, squares = 0, 0.0
    for images, _ in loader:
        count += images.numel()
        squares += (images**2).sum().item()
    return mean, (squares / count - 2 * mean) ** 0.5


def _mean_of_batch_means(loader):
    means = [images.mean().item() for images, _ in loader]
    stds = [images.std().item() for images, _ in loader]
    return sum(means) / len(means), sum(stds) / len(stds)


def _mean_of_batch_stds(loader):
    mean, _ = _mean_std_reference(loader)
    stds = [images.std().item() for images, _ in loader]
    return mean, sum(stds) / len(stds)


def _variance(loader):
    mean, std = _mean_std_reference(loader)
    return mean, std**2


def _swapped(loader):
    mean, std = _mean_std_reference(loader)
    return std, mean


def _pad_reference(batch):
    sequences, labels = zip(*batch)
    return pad_sequence(sequences, batch_first=True), torch.tensor([len(s) for s in sequences]), torch.tensor(labels)


def _pad_by_hand(batch):
    longest = max(len(sequence) for sequence, _ in batch)
    padded = torch.zeros(len(batch), longest, dtype=torch.int64)
    for row, (sequence, _) in enumerate(batch):
        padded[row, : len(sequence)] = sequence
    lengths = torch.tensor([len(sequence) for sequence, _ in batch], dtype=torch.int64)
    return padded, lengths, torch.tensor([label for _, label in batch])


def _pad_time_first(batch):
    sequences, labels = zip(*batch)
    return pad_sequence(sequences), torch.tensor([len(s) for s in sequences]), torch.tensor(labels)


def _pad_minus_one(batch):
    sequences, labels = zip(*batch)
    return (
        pad_sequence(sequences, batch_first=True, padding_value=-1),
        torch.tensor([len(s) for s in sequences]),
        torch.tensor(labels),
    )


def _pad_padded_lengths(batch):
    padded, _, labels = _pad_reference(batch)
    return padded, torch.full((len(batch),), padded.shape[1]), labels


def _pad_list_labels(batch):
    padded, lengths, labels = _pad_reference(batch)
    return padded, lengths, labels.tolist()


def _pad_list_lengths(batch):
    padded, lengths, labels = _pad_reference(batch)
    return padded, lengths.tolist(), labels


def _pad_float_lengths(batch):
    padded, lengths, labels = _pad_reference(batch)
    return padded, lengths.float(), labels


def _sqrt_reference(labels):
    return 1.0 / torch.bincount(labels).double()[labels].sqrt()


def _sqrt_unique(labels):
    _, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    return counts.float().rsqrt()[inverse] * 7  # any positive scale is fine


def _sqrt_loop(labels):
    weights = torch.empty(len(labels))
    for label in labels.unique():
        members = labels == label
        weights[members] = 1 / members.sum().float() ** 0.5
    return weights


CASES = {
    "sliding_windows": Case(
        correct=[windows(_right_length, _right_item), PrecomputedWindows],
        wrong=[
            (windows(lambda self: len(self.series) - self.window + 1, _right_item), "one too many"),
            (windows(lambda self: len(self.series), _right_item), "expected 7"),
            (windows(_right_length, _item_with_target_inside), "includes the target"),
            (windows(_right_length, _item_last_as_target), "last value"),
            (windows(_right_length, lambda self, i: self.series[i : i + self.window]), "should be a pair"),
            (windows(_right_length, _item_shifted), "differs"),
            (windows(_right_length, _item_as_list), "torch.Tensor"),
        ],
        stub=StubWindows,
    ),
    "mean_and_std": Case(
        correct=[_mean_std_reference, _mean_std_concatenate, _mean_std_welford],
        wrong=[
            (_mean_of_batch_means, "average of the per-batch means"),
            (_mean_of_batch_stds, "average of the per-batch stds"),
            (_variance, "the variance"),
            (_swapped, "swapped"),
            (lambda loader: _mean_std_reference(loader)[0], "should return a pair"),
            (_mean_std_counting_images, "64 times too large"),
            (_mean_std_counting_images, "Count pixels (.numel() of each batch), not images"),
            (_mean_std_counting_batches, "number of batches"),
            (_mean_right_variance_negative, "variance under the square root came out negative"),
            (lambda loader: (torch.zeros(2), 0.1), "should be a single number"),
            (lambda loader: [images.mean() for images in loader], "raised AttributeError"),
        ],
        stub=not_implemented,
    ),
    "pad_collate": Case(
        correct=[_pad_reference, _pad_by_hand],
        wrong=[
            (_pad_time_first, "batch_first=True"),
            (_pad_minus_one, "pad with 0"),
            (_pad_padded_lengths, "before padding"),
            (_pad_list_labels, "labels should be a tensor"),
            (_pad_list_lengths, "lengths should be a tensor"),
            (_pad_float_lengths, "dtype torch.float32"),
            (lambda batch: _pad_reference(batch)[0], "three things"),
            (lambda batch: torch.stack([s for s, _ in batch]), "raised RuntimeError"),
        ],
        stub=not_implemented,
    ),
    "sqrt_sample_weights": Case(
        correct=[_sqrt_reference, _sqrt_unique, _sqrt_loop],
        wrong=[
            (lambda labels: 1.0 / torch.bincount(labels).double()[labels], "full rebalancing"),
            (lambda labels: torch.ones(len(labels)), "as without a sampler"),
            (lambda labels: torch.bincount(labels).double()[labels].sqrt(), "growing faster"),
            (lambda labels: 1.0 / torch.bincount(labels).double().sqrt(), "one per class"),
            (lambda labels: torch.bincount(labels)[labels], "growing faster"),
            (lambda labels: 1 // torch.bincount(labels)[labels], "get the shares"),
            (lambda labels: 1.0 / torch.bincount(labels).double()[labels] ** 0.25, "expected"),
        ],
        stub=not_implemented,
    ),
}


def _blocks_reference(shards, worker_id, num_workers):
    size, extra = divmod(len(shards), num_workers)
    start = worker_id * size + min(worker_id, extra)
    return shards[start : start + size + (worker_id < extra)]


def _blocks_by_rounding(shards, worker_id, num_workers):
    """A correct alternative: the sizes of evenly rounded blocks, larger ones first; returns a tuple."""
    bounds = [len(shards) * k // num_workers for k in range(num_workers + 1)]
    sizes = sorted((bounds[k + 1] - bounds[k] for k in range(num_workers)), reverse=True)
    start = sum(sizes[:worker_id])
    return tuple(shards[start : start + sizes[worker_id]])


def _blocks_floor(shards, worker_id, num_workers):
    size = len(shards) // num_workers
    return shards[worker_id * size : (worker_id + 1) * size]


def _blocks_ceil(shards, worker_id, num_workers):
    size = -(-len(shards) // num_workers)
    return shards[worker_id * size : (worker_id + 1) * size]


def _blocks_last_takes_rest(shards, worker_id, num_workers):
    size = len(shards) // num_workers
    end = len(shards) if worker_id == num_workers - 1 else (worker_id + 1) * size
    return shards[worker_id * size : end]


def _blocks_reversed_workers(shards, worker_id, num_workers):
    return _blocks_reference(shards, num_workers - 1 - worker_id, num_workers)


CASES["worker_shards"] = Case(
    correct=[_blocks_reference, _blocks_by_rounding],
    wrong=[
        (lambda shards, worker_id, num_workers: shards, "read by more than one worker"),
        (lambda shards, worker_id, num_workers: shards[worker_id::num_workers], "one contiguous block"),
        (_blocks_floor, "read by no worker"),
        (_blocks_ceil, "sizes [3, 3, 3, 1], expected [3, 3, 2, 2]"),
        (_blocks_last_takes_rest, "sizes [2, 2, 2, 4]"),
        (_blocks_reversed_workers, "worker 0 takes the first block"),
        (lambda shards, worker_id, num_workers: set(shards), "should return a list"),
        (lambda shards, worker_id, num_workers: [shards[0] + "x"], "not among the shards"),
    ],
    stub=not_implemented,
)
