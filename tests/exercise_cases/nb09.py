import numpy as np
import torch

from tests.exercise_cases import Case, not_implemented

# --------------------------------------------------------------------------- sensitivity_specificity


def _counts(matrix):
    (tn, fp), (fn, tp) = np.asarray(matrix, dtype=np.float64)
    return tn, fp, fn, tp


def sens_spec(matrix):
    tn, fp, fn, tp = _counts(matrix)
    return tp / (tp + fn), tn / (tn + fp)


def sens_spec_torch(matrix):
    m = torch.as_tensor(matrix)
    return m[1, 1] / m[1].sum(), m[0, 0] / m[0].sum()


def swapped(matrix):
    return sens_spec(matrix)[::-1]


def by_columns(matrix):
    tn, fp, fn, tp = _counts(matrix)
    return tp / (tp + fp), tn / (tn + fn)


def precision_first(matrix):
    tn, fp, _, tp = _counts(matrix)
    return tp / (tp + fp), tn / (tn + fp)


def percentages(matrix):
    return tuple(100 * value for value in sens_spec(matrix))


# --------------------------------------------------------------------------- roc_points


def roc_by_sorting(scores, labels):
    sorted_scores, order = torch.sort(scores, descending=True, stable=True)
    sorted_labels = labels[order].double()
    tp, fp = torch.cumsum(sorted_labels, 0), torch.cumsum(1 - sorted_labels, 0)
    last = torch.cat([sorted_scores[1:] != sorted_scores[:-1], torch.tensor([True])])
    zero = torch.zeros(1, dtype=torch.float64)
    return torch.cat([zero, fp[last] / (1 - sorted_labels).sum()]), torch.cat([zero, tp[last] / sorted_labels.sum()])


def roc_by_thresholds(scores, labels):
    """A slower but correct answer: one threshold per distinct score, counted directly."""
    thresholds = torch.unique(scores).flip(0)
    fpr, tpr = [0.0], [0.0]
    for t in thresholds:
        predicted = scores >= t
        tpr.append(float((predicted & (labels == 1)).sum() / (labels == 1).sum()))
        fpr.append(float((predicted & (labels == 0)).sum() / (labels == 0).sum()))
    return fpr, tpr


def roc_no_ties(scores, labels):
    _, order = torch.sort(scores, descending=True)
    y = labels[order].double()
    zero = torch.zeros(1, dtype=torch.float64)
    return torch.cat([zero, torch.cumsum(1 - y, 0) / (1 - y).sum()]), torch.cat([zero, torch.cumsum(y, 0) / y.sum()])


def roc_no_start(scores, labels):
    fpr, tpr = roc_by_sorting(scores, labels)
    return fpr[1:], tpr[1:]


def roc_swapped(scores, labels):
    return roc_by_sorting(scores, labels)[::-1]


def roc_ascending(scores, labels):
    return roc_by_sorting(-scores, labels)


def roc_per_case(scores, labels):
    fpr, tpr = roc_by_sorting(scores, labels)
    positives, negatives = float((labels == 1).sum()), float((labels == 0).sum())
    return fpr * negatives / len(labels), tpr * positives / len(labels)


# --------------------------------------------------------------------------- kfold_indices


def kfold_balanced(n, k):
    sizes = [n // k + (1 if fold < n % k else 0) for fold in range(k)]
    folds, start = [], 0
    for size in sizes:
        val = torch.arange(start, start + size)
        train = torch.cat([torch.arange(0, start), torch.arange(start + size, n)])
        folds.append((train, val))
        start += size
    return folds


def kfold_reversed(n, k):
    """Valid, in another order: lists of ints, folds listed from the last to the first."""
    return [(train.tolist(), val.tolist()) for train, val in reversed(kfold_balanced(n, k))]


def kfold_drop_remainder(n, k):
    size = n // k
    return [
        (
            [i for i in range(n) if not fold * size <= i < (fold + 1) * size],
            list(range(fold * size, (fold + 1) * size)),
        )
        for fold in range(k)
    ]


def kfold_remainder_last(n, k):
    size = n // k
    folds = []
    for fold in range(k):
        end = n if fold == k - 1 else (fold + 1) * size
        val = list(range(fold * size, end))
        folds.append(([i for i in range(n) if i not in val], val))
    return folds


def kfold_leaky(n, k):
    return [(list(range(n)), val) for _, val in kfold_balanced(n, k)]


def kfold_one_too_few(n, k):
    return kfold_balanced(n, k)[:-1]


# --------------------------------------------------------------------------- expected_calibration_error


def _bins(confidences, n_bins):
    return torch.bucketize(confidences, torch.linspace(0, 1, n_bins + 1, dtype=confidences.dtype)[1:-1])


def ece(confidences, correct, n_bins):
    bins = _bins(confidences, n_bins)
    total = 0.0
    for b in range(n_bins):
        inside = bins == b
        if inside.any():
            total += inside.double().mean() * (correct[inside].mean() - confidences[inside].mean()).abs()
    return float(total)


def ece_numpy(confidences, correct, n_bins):
    """Another correct answer: np.histogram-style bins via searchsorted."""
    c, y = confidences.numpy(), correct.numpy()
    edges = np.linspace(0, 1, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], c)
    return sum(
        (bins == b).mean() * abs(y[bins == b].mean() - c[bins == b].mean()) for b in range(n_bins) if (bins == b).any()
    )


def ece_unweighted(confidences, correct, n_bins):
    bins = _bins(confidences, n_bins)
    gaps = [
        (correct[bins == b].mean() - confidences[bins == b].mean()).abs() for b in range(n_bins) if (bins == b).any()
    ]
    return float(torch.stack(gaps).mean())


def ece_signed(confidences, correct, n_bins):
    bins = _bins(confidences, n_bins)
    return float(
        sum(
            (bins == b).double().mean() * (correct[bins == b].mean() - confidences[bins == b].mean())
            for b in range(n_bins)
            if (bins == b).any()
        )
    )


def ece_ten_bins(confidences, correct, n_bins):
    return ece(confidences, correct, 10)


# --------------------------------------------------------------------------- bootstrap_interval


def bootstrap(correct, n_resamples, level):
    rows = torch.randint(0, len(correct), (n_resamples, len(correct)))
    means = correct[rows].mean(dim=1)
    tail = (1 - level) / 2
    return float(torch.quantile(means, tail)), float(torch.quantile(means, 1 - tail))


def bootstrap_numpy_loop(correct, n_resamples, level):
    rng = np.random.default_rng(1)
    values = correct.numpy()
    means = [rng.choice(values, size=len(values), replace=True).mean() for _ in range(n_resamples)]
    return tuple(np.percentile(means, [50 * (1 - level), 100 - 50 * (1 - level)]))


def bootstrap_without_replacement(correct, n_resamples, level):
    means = torch.stack([correct[torch.randperm(len(correct))].mean() for _ in range(n_resamples)])
    tail = (1 - level) / 2
    return float(torch.quantile(means, tail)), float(torch.quantile(means, 1 - tail))


def bootstrap_one_sd(correct, n_resamples, level):
    rows = torch.randint(0, len(correct), (n_resamples, len(correct)))
    means = correct[rows].mean(dim=1)
    return float(means.mean() - means.std()), float(means.mean() + means.std())


def bootstrap_half_size(correct, n_resamples, level):
    rows = torch.randint(0, len(correct), (n_resamples, len(correct) // 2))
    means = correct[rows].mean(dim=1)
    tail = (1 - level) / 2
    return float(torch.quantile(means, tail)), float(torch.quantile(means, 1 - tail))


def bootstrap_reversed(correct, n_resamples, level):
    return bootstrap(correct, n_resamples, level)[::-1]


def bootstrap_shifted(correct, n_resamples, level):
    low, high = bootstrap(correct, n_resamples, level)
    return low + 0.03, high + 0.03


CASES = {
    "sensitivity_specificity": Case(
        correct=[sens_spec, sens_spec_torch],
        wrong=[
            (swapped, "swapped"),
            (by_columns, "column totals"),
            (precision_first, "precision"),
            (percentages, "percentages"),
            (lambda matrix: 0.875, "two numbers"),
            (lambda matrix: (35 / 40, 50 / 60), "sensitivity_specificity([[90, 3], [12, 20]])"),
        ],
        stub=not_implemented,
    ),
    "roc_points": Case(
        correct=[roc_by_sorting, roc_by_thresholds],
        wrong=[
            (roc_no_ties, "distinct"),
            (roc_no_start, "(0, 0)"),
            (roc_swapped, "swapped"),
            (roc_ascending, "DESCENDING"),
            (roc_per_case, "POSITIVE"),
            (lambda scores, labels: roc_by_sorting(scores, labels)[0], "two tensors"),
        ],
        stub=not_implemented,
    ),
    "kfold_indices": Case(
        correct=[kfold_balanced, kfold_reversed],
        wrong=[
            (kfold_drop_remainder, "no validation fold"),
            (kfold_remainder_last, "differ by at most one"),
            (kfold_leaky, "leakage"),
            (kfold_one_too_few, "folds; it should return k"),
            (lambda n, k: list(range(n)), "folds"),
        ],
        stub=not_implemented,
    ),
    "expected_calibration_error": Case(
        correct=[ece, ece_numpy],
        wrong=[
            (ece_unweighted, "share of the predictions"),
            (ece_signed, "absolute"),
            (ece_ten_bins, "n_bins argument"),
            (lambda confidences, correct, n_bins: abs(ece_signed(confidences, correct, n_bins)), "absolute"),
            (lambda confidences, correct, n_bins: 1 - float(correct.mean()), "expected"),
        ],
        stub=not_implemented,
    ),
    "bootstrap_interval": Case(
        correct=[bootstrap, bootstrap_numpy_loop],
        wrong=[
            (bootstrap_without_replacement, "WITHOUT replacement"),
            (bootstrap_one_sd, "68 %"),
            (bootstrap_half_size, "wider than expected"),
            (bootstrap_reversed, "lower end should come first"),
            (bootstrap_shifted, "percentile bootstrap gives about"),
        ],
        stub=not_implemented,
    ),
}
