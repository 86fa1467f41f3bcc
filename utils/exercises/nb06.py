"""Exercise checks for notebook 06 (multi-layer perceptrons on FashionMNIST)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from utils.checks import Mismatch, as_int, as_number, call, exercise, expect, expect_close

NOTEBOOK = "06_mlps"

# --------------------------------------------------------------------------- n_parameters

# A 784 -> 128 -> 64 -> 10 MLP: weights plus biases of its three Linear layers.
_LAYERS = [(784, 128), (128, 64), (64, 10)]
_LAYER_NAMES = ["the first layer (784 -> 128)", "the second layer (128 -> 64)", "the output layer (64 -> 10)"]
_N_WEIGHTS = sum(n_in * n_out for n_in, n_out in _LAYERS)
_N_BIASES = sum(n_out for _, n_out in _LAYERS)
_N_PARAMETERS = _N_WEIGHTS + _N_BIASES


def _parts() -> list[tuple[str, int]]:
    """Each layer's weights and biases, named, with their sizes: the pieces a wrong count can miss or repeat."""
    parts = []
    for name, (n_in, n_out) in zip(_LAYER_NAMES, _LAYERS):
        parts.append((f"the weights of {name}", n_in * n_out))
        parts.append((f"the biases of {name}", n_out))
    return parts


def _explain_count(count: int) -> None:
    """Say what a wrong parameter count misses or repeats, without giving the right count away."""
    try:
        _name_the_mistake(count)
    except Mismatch as error:
        raise Mismatch(f"n_parameters is {count:,}: {error}") from None


def _name_the_mistake(count: int) -> None:
    if count == _N_WEIGHTS:
        raise Mismatch("that counts the weights only: every Linear layer also has one bias per output")
    if count == sum(n_in for n_in, _ in _LAYERS) + _LAYERS[-1][1]:
        raise Mismatch("that counts units (neurons), not parameters: a Linear layer has inputs x outputs weights")
    if count == _N_WEIGHTS + sum(n_in for n_in, _ in _LAYERS):
        raise Mismatch("that gives each layer one bias per INPUT; a Linear layer has one bias per output")
    if count == _N_PARAMETERS + _LAYERS[0][0]:
        raise Mismatch(
            "that also counts the 784 input pixels, but the input is not a layer and has no parameters of its own"
        )
    parts = _parts()
    for size in range(1, 3):
        for chosen in itertools.combinations(parts, size):
            names = " and ".join(name for name, _ in chosen)
            total = sum(part for _, part in chosen)
            if count == _N_PARAMETERS - total:
                raise Mismatch(f"that misses {names}; count n_in x n_out weights plus n_out biases for every layer")
            if count == _N_PARAMETERS + total:
                raise Mismatch(f"that counts {names} twice")
    direction = "many" if count > _N_PARAMETERS else "few"
    off = abs(count - _N_PARAMETERS)
    smallest = min(parts, key=lambda part: part[1] if part[1] >= off else math.inf)
    size_hint = (
        f"by less than the size of {smallest[0]}"
        if smallest[1] >= off
        else "by more than the whole first layer's weights"
    )
    raise Mismatch(
        f"that is too {direction}, {size_hint}: recount layer by layer, n_in x n_out weights plus n_out biases each"
    )


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Count one layer at a time and add the three counts up. A Linear layer stores a weight for every pair of "
            "(input, output) and one bias for every output; the input itself is not a layer."
        ),
        (
            "nn.Linear(n_in, n_out) holds an (n_out, n_in) weight matrix and n_out biases: n_in * n_out + n_out "
            "parameters. Do that for 784 -> 128, 128 -> 64 and 64 -> 10, or build the model and count its parameters "
            "with utils.count_parameters."
        ),
    ],
)
def n_parameters(answer) -> str:
    expect(
        not isinstance(answer, (str, bytes)),
        "n_parameters is text; store a whole number (no quotes) so that it can be compared",
    )
    number = as_number(answer, "n_parameters")
    expect(number.is_integer(), f"n_parameters is {number}, but a number of parameters is a whole number")
    count = int(number)
    if count != _N_PARAMETERS:
        _explain_count(count)
    return f"{_N_WEIGHTS:,} weights and {_N_BIASES} biases."


# --------------------------------------------------------------------------- dropout


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Two cases. In evaluation nothing happens. In training, draw a fresh random keep-or-drop decision for every "
            "element (keep with probability 1 - p), zero the dropped ones and enlarge the kept ones so that the "
            "average stays the same."
        ),
        (
            "In training: torch.rand_like(x) gives uniform numbers in [0, 1); comparing them with p (>= p) gives a "
            "boolean mask that is True with probability 1 - p. Multiply x by the mask and divide by (1 - p). Build a "
            "new tensor; don't change x in place."
        ),
    ],
)
def dropout(dropout) -> str:
    torch.manual_seed(1234)  # a fixed draw, so a message is the same on every run
    x = torch.rand(200, 500) + 1.0  # no zeros, so a zero in the output means "dropped"
    p = 0.25
    out = call(dropout, x, p, True)
    expect(isinstance(out, torch.Tensor), f"dropout(x, p, True) should return a tensor, not {type(out).__name__}")
    expect(
        tuple(out.shape) == tuple(x.shape),
        f"dropout(x, p, True) has shape {tuple(out.shape)}, expected {tuple(x.shape)}",
    )
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
        raise Mismatch("the kept values are unchanged: scale them by 1 / (1 - p) so the expected value stays the same")
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


def _why_it_stops(want_stop: int, want_best: int, patience: int, n_epochs: int) -> str:
    """In words: why the rule stops where it does, for a message."""
    if want_stop == n_epochs and want_stop - want_best < patience:
        return "the patience is never used up, so training runs to the last epoch"
    first = want_best + 1
    span = f"epoch {first}" if first == want_stop else f"epochs {first} to {want_stop}"
    return (
        f"{span} did not improve on epoch {want_best}: that makes {want_stop - want_best} in a row, which reaches "
        f"patience={patience}, so training stops right there"
    )


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Walk through the epochs in order, remembering three things as you go: the best loss so far, the epoch "
            "where it happened, and how many epochs in a row have not beaten it. Epochs are counted from 1."
        ),
        (
            "Loop with enumerate(val_losses, start=1). A loss strictly lower than the best updates the best loss and "
            "its epoch and resets the counter to 0; any other loss adds 1 to the counter. As soon as the counter "
            "reaches patience, return (this epoch, the best epoch); after the loop, return (the number of epochs, "
            "the best epoch)."
        ),
    ],
)
def stopping_epoch(stopping_epoch) -> str:
    for losses, patience in _STOPPING_CASES:
        answer = call(stopping_epoch, list(losses), patience)
        where = f"stopping_epoch({losses}, patience={patience})"
        expect(
            isinstance(answer, (tuple, list)) and len(answer) == 2,
            f"{where} should return two numbers (stopped_at, best_epoch), not {answer!r}",
        )
        stopped_at, best_epoch = (as_int(value, name) for value, name in zip(answer, ("stopped_at", "best_epoch")))
        want_stop, want_best = _reference_stopping(losses, patience)
        why = _why_it_stops(want_stop, want_best, patience, len(losses))
        if (stopped_at, best_epoch) == (want_stop - 1, want_best - 1):
            raise Mismatch(f"{where} gave {tuple(answer)}: count epochs from 1, as utils.fit does")
        if (stopped_at, best_epoch) == (want_best, want_stop) and want_best != want_stop:
            raise Mismatch(
                f"{where} gave {tuple(answer)}: the two numbers are swapped; return (stopped_at, best_epoch)"
            )
        if best_epoch != want_best and len(set(losses)) == 1:
            raise Mismatch(
                f"{where}: best_epoch is {best_epoch}, expected {want_best}: a loss equal to the best "
                "so far is not an improvement"
            )
        if stopped_at == want_stop + 1:
            raise Mismatch(
                f"{where}: stopped at epoch {stopped_at}, one epoch late: {why}. Stop as soon as the "
                "number of epochs without improvement reaches patience"
            )
        if stopped_at == want_stop - 1:
            raise Mismatch(f"{where}: stopped at epoch {stopped_at}, one epoch early: {why}")
        expect(stopped_at == want_stop, f"{where}: stopped_at is {stopped_at}, expected {want_stop}: {why}")
        expect(best_epoch == want_best, f"{where}: best_epoch is {best_epoch}, expected {want_best}")
    return "Your rule stops exactly where utils.fit(..., patience=...) does."


# --------------------------------------------------------------------------- lr_range_test

# The check's problem: four overlapping clusters of points in 20 dimensions, a small MLP trained with
# plain SGD in two parameter groups (so that setting only the first group's rate is caught), and
# learning rates from far too small to far too large, one per batch of 16.
_RANGE_RATES = np.geomspace(1e-3, 30.0, 64).tolist()
_INITIAL_RATE = 1e-3


def _range_test_setup() -> tuple[nn.Module, torch.optim.Optimizer, nn.Module, DataLoader]:
    """A fresh model, optimiser, loss and loader; the same ones at every call."""
    generator = torch.Generator().manual_seed(6)
    centres = torch.randn(4, 20, generator=generator) * 0.8
    labels = torch.randint(0, 4, (len(_RANGE_RATES) * 16,), generator=generator)
    inputs = centres[labels] + torch.randn(len(labels), 20, generator=generator)
    torch.manual_seed(6)
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 4))
    groups = [{"params": model[0].parameters()}, {"params": model[2].parameters()}]
    optimizer = torch.optim.SGD(groups, lr=_INITIAL_RATE)
    return model, optimizer, nn.CrossEntropyLoss(), DataLoader(TensorDataset(inputs, labels), batch_size=16)


def _range_test(set_rates: str = "every group", zero_grad: bool = True, stop: bool = True) -> list[float]:
    """The range test on the check's problem; the keyword arguments reproduce typical mistakes."""
    model, optimizer, loss_fn, loader = _range_test_setup()
    model.train()
    losses: list[float] = []
    for rate, (inputs, targets) in zip(_RANGE_RATES, loader):
        groups = {"every group": optimizer.param_groups, "first group": optimizer.param_groups[:1]}.get(set_rates, [])
        for group in groups:
            group["lr"] = rate
        if zero_grad:
            optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if stop and (not math.isfinite(losses[-1]) or losses[-1] > 4 * min(losses)):
            break
    return losses


def _same_losses(got: list[float], want: list[float]) -> bool:
    return len(got) == len(want) and bool(np.allclose(got, want, rtol=1e-4, atol=1e-6, equal_nan=True))


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Walk through the learning rates and the batches side by side. Before each training step, change the "
            "rate the optimiser will use (it keeps one per parameter group, and all of them must change). After the "
            "step, keep the loss as a plain number, and compare it with the lowest loss so far to decide whether to "
            "stop."
        ),
        (
            "zip(learning_rates, loader) pairs each rate with a batch. For every group in optimizer.param_groups set "
            "group['lr'] to the rate; then zero the gradients, compute the loss, call backward() and step(), and "
            "append loss.item() to a list. Break out of the loop once the newest loss is not finite (math.isfinite) "
            "or is larger than 4 * min(losses); return the list."
        ),
    ],
)
def lr_range_test(lr_range_test) -> str:
    model, optimizer, loss_fn, loader = _range_test_setup()
    answer = call(lr_range_test, model, optimizer, loss_fn, loader, list(_RANGE_RATES))
    if isinstance(answer, torch.Tensor) and answer.ndim == 1:
        answer = list(answer.detach())
    expect(
        isinstance(answer, (list, tuple)),
        f"lr_range_test should return a list of losses, one per step, not {type(answer).__name__}",
    )
    expect(len(answer) > 0, "lr_range_test returned an empty list: record the loss of every step")
    losses = [as_number(value, f"loss number {step}") for step, value in enumerate(answer, start=1)]
    expected = _range_test()
    if _same_losses(losses, _range_test(set_rates="none")):
        raise Mismatch(
            "these are the losses of a constant learning rate: set the new rate in the optimiser before each step "
            "(group['lr'] for every group in optimizer.param_groups)"
        )
    if _same_losses(losses, _range_test(set_rates="first group")):
        raise Mismatch(
            "only the first parameter group got the new learning rates: the check's optimiser has two groups, "
            "set group['lr'] in every one of them"
        )
    if _same_losses(losses, _range_test(zero_grad=False)):
        raise Mismatch(
            "the gradients were never zeroed, so every step added the previous batches' gradients to its own: "
            "call optimizer.zero_grad() before each backward()"
        )
    n = len(expected)
    if len(losses) > n and _same_losses(losses[:n], expected):
        raise Mismatch(
            f"the loss exploded at step {n} ({expected[-1]:.3g}, more than 4 times the lowest, "
            f"{min(expected):.3g}), but the test went on: stop right after that step"
        )
    if len(losses) == n - 1 and _same_losses(losses, expected[:-1]):
        raise Mismatch(
            f"the list stops one step short: it should end with the loss that exploded ({expected[-1]:.3g} at step "
            f"{n}), the one that made the test stop"
        )
    if len(losses) < n and _same_losses(losses, expected[: len(losses)]):
        raise Mismatch(
            f"the test stopped at step {len(losses)}, but its loss ({losses[-1]:.3g}) was not more than 4 times the "
            f"lowest so far ({min(losses):.3g}): stop only once the loss explodes"
        )
    expect(len(losses) == n, f"lr_range_test returned {len(losses)} losses, expected {n} (the test stops at step {n})")
    expect_close(losses, expected, name="the list of losses")
    best = int(np.argmin(expected))
    return (
        f"On the check's problem the loss was lowest at a learning rate of {_RANGE_RATES[best]:.2g} and exploded "
        f"at {_RANGE_RATES[n - 1]:.2g}; by the rule of thumb, a one-cycle max_lr of about {_RANGE_RATES[best] / 10:.2g} "
        "(ten times below the lowest point) would suit it."
    )
