"""Exercise checks for notebook 06 (multi-layer perceptrons on FashionMNIST)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from utils.checks import Exercise, Mismatch, call, expect
from utils.training import evaluate

NOTEBOOK = "06_mlps"

# --------------------------------------------------------------------------- n_parameters

# A 784 -> 128 -> 64 -> 10 MLP: weights plus biases of its three Linear layers.
_LAYERS = [(784, 128), (128, 64), (64, 10)]
_N_PARAMETERS = sum(n_in * n_out + n_out for n_in, n_out in _LAYERS)
_N_WEIGHTS = sum(n_in * n_out for n_in, n_out in _LAYERS)


def _as_int(value, name: str) -> int:
    if isinstance(value, torch.Tensor):
        expect(value.numel() == 1, f"{name} should be a single number, not a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, (str, bytes)):
        raise Mismatch(f"{name} should be a whole number, not a string")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Mismatch(f"{name} should be a whole number, not {type(value).__name__}") from None
    expect(number == int(number), f"{name} is {number}, but a number of parameters is a whole number")
    return int(number)


def _check_n_parameters(answer) -> str:
    count = _as_int(answer, "n_parameters")
    if count == _N_WEIGHTS:
        raise Mismatch(f"{count:,} counts the weights only: every Linear layer also has one bias per output")
    if count == _N_PARAMETERS - 128 - 64:
        raise Mismatch(f"{count:,} misses some biases: each of the three Linear layers has one bias per output")
    if count == 784 * 128 + 128 * 64 + 64 * 10 + 128 + 64:
        raise Mismatch(f"{count:,} misses the 10 biases of the output layer")
    if count == 784 + 128 + 64 + 10:
        raise Mismatch(f"{count:,} counts units (neurons), not parameters: a Linear layer has inputs x outputs weights")
    expect(count == _N_PARAMETERS, f"n_parameters is {count:,}, expected {_N_PARAMETERS:,}")
    return f"{_N_WEIGHTS:,} weights and {_N_PARAMETERS - _N_WEIGHTS} biases."


n_parameters = Exercise(
    NOTEBOOK,
    "n_parameters",
    _check_n_parameters,
    hint="nn.Linear(n_in, n_out) holds an (n_out, n_in) weight matrix and n_out biases: n_in * n_out + n_out "
    "parameters. Add that up for the three layers 784 -> 128, 128 -> 64 and 64 -> 10 (or build the model and "
    "call utils.count_parameters on it).",
)

# --------------------------------------------------------------------------- dropout


def _check_dropout(dropout) -> str:
    with torch.random.fork_rng():  # the learner's randomness must not shift the notebook's
        torch.manual_seed(1234)
        x = torch.rand(200, 500) + 1.0  # no zeros, so a zero in the output means "dropped"
        original = x.clone()
        p = 0.25
        out = call(dropout, x, p, True)
        expect(isinstance(out, torch.Tensor), f"dropout(x, p, True) should return a tensor, not {type(out).__name__}")
        expect(
            tuple(out.shape) == tuple(x.shape),
            f"dropout(x, p, True) has shape {tuple(out.shape)}, expected {tuple(x.shape)}",
        )
        expect(torch.equal(x, original), "dropout changed its input x in place; return a new tensor instead")
        dropped = (out == 0).float().mean().item()
        if abs(dropped - (1 - p)) < 0.02:
            raise Mismatch(
                f"with p={p} you zeroed {dropped:.0%} of the values: p is the probability of DROPPING a value, "
                "not of keeping it"
            )
        expect(
            abs(dropped - p) < 0.02,
            f"with p={p} dropout(x, p, True) zeroed {dropped:.1%} of the values, expected about {p:.0%}",
        )
        kept = out != 0
        if torch.allclose(out[kept], x[kept]):
            raise Mismatch(
                "the kept values are unchanged: scale them by 1 / (1 - p) so the expected value stays the same"
            )
        if torch.allclose(out[kept], x[kept] * (1 - p)):
            raise Mismatch("the kept values are multiplied by (1 - p); divide by (1 - p) instead")
        expect(
            torch.allclose(out[kept], x[kept] / (1 - p), rtol=1e-5),
            "the kept values should be the inputs divided by (1 - p)",
        )
        again = call(dropout, x, p, True)
        expect(
            not torch.equal((again == 0), (out == 0)),
            "two calls dropped exactly the same values: draw a fresh random mask on every call",
        )
        evaluation = call(dropout, x, p, False)
        expect(
            isinstance(evaluation, torch.Tensor) and torch.equal(evaluation, x),
            "with training=False dropout must return x unchanged (no dropping, no scaling)",
        )
        no_drop = call(dropout, x, 0.0, True)
        expect(
            isinstance(no_drop, torch.Tensor) and torch.allclose(no_drop, x),
            "with p=0 nothing should be dropped or scaled",
        )
    return "Kept values are scaled by 1/(1-p), so the mean activation is the same in training and evaluation."


dropout = Exercise(
    NOTEBOOK,
    "dropout",
    _check_dropout,
    hint="If not training, return x. Otherwise draw a mask: torch.rand_like(x) >= p is True with probability "
    "1 - p (a value to keep). Multiply x by the mask and divide by (1 - p): x * mask / (1 - p).",
)

# --------------------------------------------------------------------------- stopping_epoch


def _reference_stopping(val_losses: list[float], patience: int) -> tuple[int, int]:
    best, best_epoch, waited = math.inf, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return epoch, best_epoch
    return len(val_losses), best_epoch


_STOPPING_CASES = [
    ([1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.69, 0.9], 3),  # stops at 6, best 3 (0.69 comes too late)
    ([0.9, 0.8, 0.7, 0.6, 0.5], 2),  # never stops: 5, 5
    ([0.5, 0.6, 0.7, 0.8, 0.9, 1.0], 1),  # stops at 2, best 1
    ([1.0, 1.0, 1.0, 1.0], 2),  # a tie is not an improvement: stops at 3, best 1
    ([0.9, 0.7, 0.8, 0.6, 0.65, 0.66, 0.67, 0.5], 3),  # the counter restarts at epoch 4: stops at 7, best 4
]


def _check_stopping_epoch(stopping_epoch) -> str:
    for losses, patience in _STOPPING_CASES:
        answer = call(stopping_epoch, list(losses), patience)
        where = f"stopping_epoch({losses}, patience={patience})"
        expect(
            isinstance(answer, (tuple, list)) and len(answer) == 2,
            f"{where} should return two numbers (stopped_at, best_epoch), not {answer!r}",
        )
        stopped_at, best_epoch = answer
        want_stop, want_best = _reference_stopping(losses, patience)
        if (stopped_at, best_epoch) == (want_stop - 1, want_best - 1):
            raise Mismatch(f"{where} gave {tuple(answer)}: count epochs from 1, as utils.fit does")
        if best_epoch != want_best and len(set(losses)) == 1:
            raise Mismatch(
                f"{where}: best_epoch is {best_epoch}, expected {want_best}: a loss equal to the best "
                "so far is not an improvement"
            )
        if stopped_at == want_stop + 1:
            raise Mismatch(
                f"{where}: stopped at epoch {stopped_at}, one epoch late; stop as soon as the "
                f"number of epochs without improvement reaches patience"
            )
        if stopped_at == want_stop - 1:
            raise Mismatch(f"{where}: stopped at epoch {stopped_at}, one epoch early")
        expect(
            stopped_at == want_stop,
            f"{where}: stopped_at is {stopped_at}, expected {want_stop}; stop as soon as the number of epochs "
            "without improvement reaches patience",
        )
        expect(best_epoch == want_best, f"{where}: best_epoch is {best_epoch}, expected {want_best}")
    return "Your rule stops exactly where utils.fit(..., patience=...) does."


stopping_epoch = Exercise(
    NOTEBOOK,
    "stopping_epoch",
    _check_stopping_epoch,
    hint="Walk through the losses with enumerate(val_losses, start=1). Keep the best loss, its epoch and a counter "
    "of epochs without improvement; a loss strictly below the best resets the counter, anything else adds 1. "
    "When the counter reaches patience, return (this epoch, best epoch); if it never does, return "
    "(len(val_losses), best epoch).",
)

# --------------------------------------------------------------------------- evaluate_by_hand


def _evaluation_setup() -> tuple[nn.Module, DataLoader, nn.Module]:
    generator = torch.Generator().manual_seed(6)
    inputs = torch.randn(50, 12, generator=generator)
    targets = torch.randint(0, 3, (50,), generator=generator)
    with torch.random.fork_rng():
        torch.manual_seed(6)
        model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 3))
    # 50 items in batches of 16: the last batch holds only 2, so a plain mean of batch losses is biased.
    loader = DataLoader(TensorDataset(inputs, targets), batch_size=16)
    return model, loader, nn.CrossEntropyLoss()


def _check_evaluate_by_hand(evaluate_by_hand) -> str:
    device = torch.device("cpu")
    model, loader, loss_fn = _evaluation_setup()
    model.train()  # as after training: evaluate_by_hand must switch dropout off itself
    with torch.random.fork_rng():
        torch.manual_seed(0)
        answer = call(evaluate_by_hand, model, loader, loss_fn, device)
    expect(
        isinstance(answer, (tuple, list)) and len(answer) == 2,
        f"evaluate_by_hand should return two numbers (mean loss, accuracy), not {type(answer).__name__}",
    )
    loss, accuracy = answer
    for name, value in (("the mean loss", loss), ("the accuracy", accuracy)):
        if isinstance(value, torch.Tensor):
            expect(value.numel() == 1, f"{name} should be a single number")
            expect(
                not value.requires_grad,
                f"{name} is a tensor that requires grad: compute it under torch.no_grad() "
                "and return a Python number (.item())",
            )
    if model.training:
        raise Mismatch(
            "the model is still in training mode after your function: call model.eval() first, "
            "or dropout keeps dropping values while you evaluate"
        )
    loss, accuracy = float(loss), float(accuracy)
    expected_loss, expected_accuracy = evaluate(model, loader, loss_fn, device)
    if 1 < accuracy <= 100 and math.isclose(accuracy / 100, expected_accuracy, abs_tol=1e-6):
        raise Mismatch(f"the accuracy is {accuracy:.4g}: return a fraction between 0 and 1, not a percentage")
    expect(
        math.isclose(accuracy, expected_accuracy, abs_tol=1e-6),
        f"the accuracy is {accuracy:.4f}, expected {expected_accuracy:.4f}",
    )
    with torch.no_grad():
        model.eval()
        batch_losses = [loss_fn(model(x), y).item() for x, y in loader]
    if math.isclose(loss, sum(batch_losses) / len(batch_losses), rel_tol=1e-5) and not math.isclose(
        loss, expected_loss, rel_tol=1e-5
    ):
        raise Mismatch(
            "you averaged the batch losses, but the last batch holds only 2 of the 50 items: weight each "
            "batch's loss by its number of items, then divide by the total number of items"
        )
    expect(
        math.isclose(loss, expected_loss, rel_tol=1e-4),
        f"the mean loss is {loss:.5f}, expected {expected_loss:.5f}",
    )
    return "Same numbers as utils.evaluate."


evaluate_by_hand = Exercise(
    NOTEBOOK,
    "evaluate_by_hand",
    _check_evaluate_by_hand,
    hint="Start with model.eval() and wrap the loop in `with torch.no_grad():`. For each batch, move inputs and "
    "targets to the device, compute the logits, add loss_fn(logits, targets).item() * len(targets) to a running "
    "total and (logits.argmax(dim=1) == targets).sum().item() to a count of correct answers. At the end, divide "
    "both by the number of items seen.",
)
