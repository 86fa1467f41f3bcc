"""Exercise checks for notebook 09 (evaluating a model honestly)."""

import functools

import numpy as np
import torch
from sklearn.metrics import roc_curve
from sklearn.model_selection import KFold

from utils.checks import Mismatch, as_float_tensor, as_number, call, exercise, expect, expect_close

NOTEBOOK = "09_evaluating_models"


def _two_numbers(result, name: str, what: str) -> tuple[float, float]:
    """``result`` as a pair of floats; says what was expected when it is not a pair."""
    expect(
        isinstance(result, (tuple, list)) and len(result) == 2,
        f"{name} should return two numbers, {what}, not {type(result).__name__}",
    )
    return as_number(result[0], f"the first number of {name}"), as_number(result[1], f"the second number of {name}")


def _close(a, b, tol: float = 1e-6) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=tol))


# --------------------------------------------------------------------------- sensitivity and specificity


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Both numbers are fractions of a TRUE class: sensitivity asks how many of the truly positive cases "
            "were found, specificity how many of the truly negative ones were cleared. In scikit-learn's layout "
            "each row of the matrix is one true class."
        ),
        (
            "The matrix is [[TN, FP], [FN, TP]]: row 0 holds the truly negative cases (TN, FP), row 1 the truly "
            "positive ones (FN, TP). Sensitivity = TP / (TP + FN), the second row; specificity = TN / (TN + FP), "
            "the first row. Return them as a tuple, sensitivity first."
        ),
    ],
)
def sensitivity_specificity(sensitivity_specificity) -> str:
    for matrix in (torch.tensor([[50, 10], [5, 35]]), np.array([[90, 3], [12, 20]])):
        name = f"sensitivity_specificity({np.asarray(matrix).tolist()})"
        got = _two_numbers(call(sensitivity_specificity, matrix), name, "(sensitivity, specificity)")
        (tn, fp), (fn, tp) = np.asarray(matrix, dtype=np.float64)
        sensitivity, specificity = tp / (tp + fn), tn / (tn + fp)
        precision, negative_predictive_value = tp / (tp + fp), tn / (tn + fn)
        if _close(got, (specificity, sensitivity)):
            raise Mismatch(
                f"{name} has the two numbers swapped: sensitivity (the share of true positives found, "
                "TP / (TP + FN)) comes first. In scikit-learn's layout class 1 is the second row and column, "
                "so TP is matrix[1, 1]"
            )
        if _close(got, (precision, negative_predictive_value)):
            raise Mismatch(
                f"{name} divides by the column totals (how often each class was PREDICTED): that gives the "
                "precision and the negative predictive value. Divide by the row totals, the TRUE classes"
            )
        if _close(got[0], precision):
            raise Mismatch(
                f"the first number of {name} is the precision, TP / (TP + FP); sensitivity is TP / (TP + FN), "
                "the share of the truly positive cases that the classifier finds"
            )
        if _close(got, (100 * sensitivity, 100 * specificity)):
            raise Mismatch(f"{name} gives percentages; return fractions between 0 and 1")
        expect_close(got[0], sensitivity, name=f"the sensitivity from {name}")
        expect_close(got[1], specificity, name=f"the specificity from {name}")
    return "Sensitivity is measured on the sick, specificity on the healthy: two different groups of patients."


# --------------------------------------------------------------------------- ROC points


def _roc_inputs() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Two small problems with tied scores: a hand-made one and a random one."""
    scores = torch.tensor([0.9, 0.8, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.3, 0.1], dtype=torch.float64)
    labels = torch.tensor([1, 1, 0, 1, 1, 1, 0, 0, 1, 0])
    generator = torch.Generator().manual_seed(9)
    random_labels = torch.randint(0, 2, (40,), generator=generator)
    random_scores = ((torch.rand(40, generator=generator, dtype=torch.float64) + 0.4 * random_labels) * 10).round() / 10
    return [(scores, labels), (random_scores, random_labels)]


def _roc_variant(scores: np.ndarray, labels: np.ndarray, descending: bool = True, per_case: bool = False):
    """ROC points by sorting, with ties handled; ``descending=False`` and ``per_case=True`` are known mistakes."""
    order = np.argsort(-scores if descending else scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    true_positives, false_positives = np.cumsum(sorted_labels), np.cumsum(1 - sorted_labels)
    last_of_tie = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    true_positives, false_positives = true_positives[last_of_tie], false_positives[last_of_tie]
    positives = len(labels) if per_case else labels.sum()
    negatives = len(labels) if per_case else len(labels) - labels.sum()
    return np.r_[0.0, false_positives / negatives], np.r_[0.0, true_positives / positives]


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Lower the threshold step by step from above the highest score: each time it passes a score, that "
            "case becomes a predicted positive and adds one to the true or to the false positives. Sorting the "
            "cases once by score, from high to low, gives all those counts with a running sum."
        ),
        (
            "Sort the scores in descending order (torch.sort(scores, descending=True)) and reorder the labels "
            "the same way; torch.cumsum of the labels counts the true positives, of (1 - labels) the false "
            "positives. Divide by the number of positives and of negatives. Keep only the LAST position of each "
            "run of tied scores (where the next score differs, and the final position), and put a 0 in front of "
            "both curves for the point (0, 0)."
        ),
    ],
)
def roc_points(roc_points) -> str:
    for scores, labels in _roc_inputs():
        name = "roc_points(scores, labels)"
        result = call(roc_points, scores, labels)
        expect(
            isinstance(result, (tuple, list)) and len(result) == 2,
            f"{name} should return two tensors, (false positive rates, true positive rates), "
            f"not {type(result).__name__}",
        )
        fpr, tpr = (
            as_float_tensor(result[0], "the false positive rates"),
            as_float_tensor(result[1], "the true positive rates"),
        )
        expect(fpr.dim() == 1 and tpr.dim() == 1, f"{name} should return two 1-D tensors")
        want_fpr, want_tpr, _ = roc_curve(labels.numpy(), scores.numpy(), drop_intermediate=False)
        s, y = scores.numpy(), labels.numpy().astype(np.float64)
        n_distinct = len(np.unique(s))
        if len(fpr) == len(s) + 1 or len(fpr) == len(s):
            raise Mismatch(
                f"{name} gives {len(fpr)} points for {len(s)} scores of which only {n_distinct} are distinct: "
                "cases with the same score cross the threshold together, so keep one point per distinct score "
                "(the last of each run of ties)"
            )
        if len(fpr) == n_distinct and _close(fpr, want_fpr[1:]) and _close(tpr, want_tpr[1:]):
            raise Mismatch(
                f"{name} misses the first point: start both curves at 0, the point (0, 0) of a threshold above every score"
            )
        expect(
            len(fpr) == len(tpr), f"{name} returns {len(fpr)} false positive rates but {len(tpr)} true positive rates"
        )
        ascending_fpr, ascending_tpr = _roc_variant(s, y, descending=False)
        if _close(fpr, ascending_fpr) and _close(tpr, ascending_tpr):
            raise Mismatch(
                f"{name} sorts from the lowest score up: sort in DESCENDING order, so that lowering the threshold "
                "adds the most confident cases first"
            )
        if _close(fpr, want_tpr) and _close(tpr, want_fpr):
            raise Mismatch(
                f"{name} returns the two curves swapped: false positive rates first, then true positive rates"
            )
        per_case_fpr, per_case_tpr = _roc_variant(s, y, per_case=True)
        if _close(fpr, per_case_fpr) and _close(tpr, per_case_tpr):
            raise Mismatch(
                f"{name} divides by the number of all cases; divide the true positives by the number of POSITIVE "
                "cases, and the false positives by the number of NEGATIVE cases"
            )
        expect_close(fpr, want_fpr, name=f"the false positive rates of {name}")
        expect_close(tpr, want_tpr, name=f"the true positive rates of {name}")
    return "The same points as sklearn.metrics.roc_curve(..., drop_intermediate=False)."


# --------------------------------------------------------------------------- k-fold indices


def _as_index_set(value, name: str) -> list[int]:
    try:
        values = np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value).reshape(-1)
    except (TypeError, ValueError):
        raise Mismatch(f"{name} should be a tensor or a list of row numbers") from None
    expect(
        values.size == 0 or np.issubdtype(values.dtype, np.integer),
        f"{name} should hold whole row numbers, not {values.dtype}",
    )
    return [int(v) for v in values]


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Cut the row numbers 0 to n-1 into k blocks of (almost) equal size; each block is the validation "
            "set once, and every other row trains. When n is not a multiple of k, the first few blocks get one "
            "row more, so that no row is left out."
        ),
        (
            "Block sizes: n // k each, plus one for the first n % k blocks. Walk through the rows with a running "
            "start position: validation = torch.arange(start, start + size); training = the other rows, for "
            "instance torch.cat of the rows before start and the rows after start + size."
        ),
    ],
)
def kfold_indices(kfold_indices) -> str:
    same_as_sklearn = True
    for n, k in ((10, 3), (23, 5), (12, 4)):
        name = f"kfold_indices({n}, {k})"
        folds = call(kfold_indices, n, k)
        expect(
            isinstance(folds, (list, tuple)), f"{name} should return a list of (training rows, validation rows) pairs"
        )
        expect(len(folds) == k, f"{name} returns {len(folds)} folds; it should return k = {k}")
        seen: list[int] = []
        sizes = []
        for number, fold in enumerate(folds):
            expect(
                isinstance(fold, (list, tuple)) and len(fold) == 2,
                f"fold {number} of {name} should be a pair (training rows, validation rows)",
            )
            train, val = (
                _as_index_set(fold[0], f"the training rows of fold {number}"),
                _as_index_set(fold[1], f"the validation rows of fold {number}"),
            )
            overlap = sorted(set(train) & set(val))
            if overlap:
                raise Mismatch(
                    f"in fold {number} of {name}, rows {overlap[:5]} are used for training AND validation: the "
                    "model would be scored on rows it learned from (leakage)"
                )
            expect(
                sorted(train + val) == list(range(n)),
                f"in fold {number} of {name}, training and validation rows together should be every row 0 to "
                f"{n - 1} exactly once",
            )
            seen += val
            sizes.append(len(val))
        missing = sorted(set(range(n)) - set(seen))
        if missing:
            raise Mismatch(
                f"in {name}, rows {missing} are in no validation fold: when n is not a multiple of k, give the "
                "remainder to some folds (one row more each) instead of dropping it"
            )
        expect(len(seen) == n, f"in {name}, some rows are in more than one validation fold")
        expect(
            max(sizes) - min(sizes) <= 1,
            f"the validation folds of {name} have sizes {sizes}: make them differ by at most one row, so every "
            "fold's score is measured on about as many rows",
        )
        reference = [sorted(val.tolist()) for _, val in KFold(k).split(np.zeros(n))]
        same_as_sklearn &= [sorted(_as_index_set(fold[1], "")) for fold in folds] == reference
    if same_as_sklearn:
        return "Your folds are exactly those of sklearn.model_selection.KFold(k) (without shuffling)."
    return "A valid k-fold split (scikit-learn's KFold(k) orders the folds differently, which is fine)."


# --------------------------------------------------------------------------- expected calibration error


def _calibration_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    """600 confidences of a classifier that is under-confident below 0.88 and over-confident above."""
    generator = torch.Generator().manual_seed(9)
    confidences = 0.3 + 0.7 * torch.rand(600, generator=generator, dtype=torch.float64) ** 0.5
    chance_right = 0.55 + 0.4 * (confidences - 0.3) / 0.7
    correct = (torch.rand(600, generator=generator, dtype=torch.float64) < chance_right).double()
    return confidences, correct


def reference_ece(confidences: torch.Tensor, correct: torch.Tensor, n_bins: int, kind: str = "weighted") -> float:
    """Expected calibration error with equal-width bins (b/n_bins, (b+1)/n_bins]; ``kind`` gives known mistakes."""
    bins = torch.bucketize(confidences, torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)[1:-1])
    gaps, weights = [], []
    for b in range(n_bins):
        inside = bins == b
        if inside.any():
            gaps.append(float(correct[inside].mean() - confidences[inside].mean()))
            weights.append(float(inside.double().mean()))
        elif kind == "unweighted_all_bins":
            gaps.append(0.0)
            weights.append(0.0)
    gaps_t, weights_t = torch.tensor(gaps), torch.tensor(weights)
    if kind == "weighted":
        return float((weights_t * gaps_t.abs()).sum())
    if kind == "signed":
        return float((weights_t * gaps_t).sum())
    if kind == "squared":
        return float((weights_t * gaps_t**2).sum())
    if kind == "maximum":
        return float(gaps_t.abs().max())
    return float(gaps_t.abs().mean())  # unweighted: each bin (non-empty, or all) counts the same


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Put every prediction into one of n_bins equal-width confidence bins. In each bin compare how often "
            "the model was right with how confident it said it was; the calibration error is the average of "
            "those gaps, where each bin counts as much as the share of predictions it holds."
        ),
        (
            "Find the bin of each confidence with torch.bucketize and the inner bin edges "
            "(torch.linspace(0, 1, n_bins + 1)[1:-1]). For each non-empty bin b: weight = (number in b) / N, "
            "gap = |accuracy in b - mean confidence in b|. Sum weight * gap over the bins and return a float."
        ),
    ],
)
def expected_calibration_error(expected_calibration_error) -> str:
    confidences, correct = _calibration_inputs()
    for n_bins in (10, 15):
        name = f"expected_calibration_error(confidences, correct, n_bins={n_bins})"
        got = as_number(call(expected_calibration_error, confidences, correct, n_bins), name)
        want = reference_ece(confidences, correct, n_bins)
        if abs(got - want) > 1e-6:
            for kind, message in (
                (
                    "unweighted_nonempty",
                    (
                        "averages the bins' gaps as if every bin held as many predictions; weight "
                        "each bin by its share of the predictions (count in the bin / N), or a bin of 3 predictions counts "
                        "as much as one of 300"
                    ),
                ),
                (
                    "unweighted_all_bins",
                    (
                        "averages the gaps over all bins, empty ones too, without weights; weight "
                        "each bin by its share of the predictions (count in the bin / N)"
                    ),
                ),
                (
                    "signed",
                    (
                        "keeps the sign of each gap, so over- and under-confident bins cancel; take the absolute "
                        "gap |accuracy - confidence| in each bin"
                    ),
                ),
                ("squared", "squares the gaps; the expected calibration error averages the absolute gaps"),
                (
                    "maximum",
                    (
                        "returns the largest gap of any bin (the maximum calibration error); average the gaps, "
                        "weighted by each bin's share of the predictions"
                    ),
                ),
            ):
                if abs(got - reference_ece(confidences, correct, n_bins, kind)) < 1e-6:
                    raise Mismatch(f"{name} {message}")
            for other in (10, 15, 20):
                if other != n_bins and abs(got - reference_ece(confidences, correct, other)) < 1e-6:
                    raise Mismatch(f"{name} uses {other} bins whatever n_bins says: use the n_bins argument")
        expect_close(got, want, name=name, rtol=0, atol=1e-6)
    return f"Here the ECE is {want:.3f}: the stated confidence is off by that much, on average over the predictions."


# --------------------------------------------------------------------------- bootstrap interval


def _bootstrap_input() -> torch.Tensor:
    """500 right-or-wrong outcomes (1.0 or 0.0) of a classifier about 80 % accurate."""
    generator = torch.Generator().manual_seed(9)
    return (torch.rand(500, generator=generator) < 0.8).float()


@functools.cache
def _percentile_interval(level: float, resamples: int = 10_000) -> tuple[float, float]:
    """The reference percentile interval of :func:`_bootstrap_input`, from resamples drawn 1,000 at a time."""
    correct = _bootstrap_input()
    generator = torch.Generator().manual_seed(0)
    n = len(correct)
    means = torch.cat(
        [
            correct[torch.randint(0, n, (1000, n), generator=generator)].double().mean(dim=1)
            for _ in range(resamples // 1000)
        ]
    )
    tail = (1 - level) / 2
    return float(torch.quantile(means, tail)), float(torch.quantile(means, 1 - tail))


@exercise(
    NOTEBOOK,
    hints=[
        (
            "The test set is one sample of cases. Draw many new samples from it, each as large as the original "
            "and drawn WITH replacement (some cases twice, some not at all), compute the accuracy of each, and "
            "read the interval off the spread of those accuracies."
        ),
        (
            "rows = torch.randint(0, n, (n_resamples, n)) gives n_resamples resamples at once; correct[rows] is "
            "then (n_resamples, n) and .mean(dim=1) the accuracy of each. For a 95 % interval take the 2.5 % "
            "and the 97.5 % quantiles of those accuracies (torch.quantile), i.e. (1 - level) / 2 on each side. "
            "Return (low, high) as two floats."
        ),
    ],
)
def bootstrap_interval(bootstrap_interval) -> str:
    correct = _bootstrap_input()
    accuracy = float(correct.mean())
    for level in (0.95, 0.9):
        name = f"bootstrap_interval(correct, n_resamples=2000, level={level})"
        torch.manual_seed(0)
        np.random.seed(0)
        low, high = _two_numbers(call(bootstrap_interval, correct, 2000, level), name, "(low, high)")
        want_low, want_high = _percentile_interval(level)
        want_width = want_high - want_low
        if low > high:
            raise Mismatch(f"{name} returns ({low:.4f}, {high:.4f}): the lower end should come first")
        if high - low < 1e-9:
            raise Mismatch(
                f"{name} has zero width: every resample has the same accuracy, which happens when the resamples are "
                "drawn WITHOUT replacement (a permutation of the same cases). Draw row numbers with replacement, "
                "e.g. torch.randint"
            )
        width = high - low
        if width < 0.75 * want_width:
            sd_low, sd_high = _percentile_interval(0.6827)
            hint = (
                " It is about mean ± one standard deviation of the resampled accuracies, a 68 % interval"
                if abs(width - (sd_high - sd_low)) < 0.2 * want_width
                else ""
            )
            raise Mismatch(
                f"{name} is ({low:.4f}, {high:.4f}), narrower than a {level:.0%} interval should be (about "
                f"({want_low:.4f}, {want_high:.4f})).{hint} Use the quantiles (1 - level) / 2 and 1 - (1 - level) / 2 "
                "of the resampled accuracies"
            )
        if width > 1.25 * want_width:
            raise Mismatch(
                f"{name} is ({low:.4f}, {high:.4f}), wider than expected (about ({want_low:.4f}, {want_high:.4f})): "
                f"each resample should hold as many cases as the data, {len(correct)}, and the interval should "
                f"leave {(1 - level) / 2:.1%} of the resampled accuracies on each side"
            )
        expect(
            abs(low - want_low) < 0.008 and abs(high - want_high) < 0.008,
            f"{name} is ({low:.4f}, {high:.4f}); a percentile bootstrap gives about ({want_low:.4f}, {want_high:.4f}) "
            f"around the accuracy {accuracy:.3f}",
        )
    return "Your interval matches a percentile bootstrap to within the randomness of 2,000 resamples."
