import math
from functools import partial

import numpy as np
import torch
from torch import nn

from tests.exercise_cases import Case, not_implemented
from utils.training import count_parameters

# --------------------------------------------------------------------------- dropout answers


def _dropout(x, p, training=True):
    if not training:
        return x
    mask = torch.rand_like(x) >= p
    return x * mask / (1 - p)


def _dropout_bernoulli(x, p, training=True):
    if not training or p == 0:
        return x.clone()
    return x * torch.bernoulli(torch.full_like(x, 1 - p)) / (1 - p)


def _dropout_where(x, p, training=True):
    if not training:
        return x
    return torch.where(torch.rand(x.shape) < p, torch.zeros_like(x), x / (1 - p))


def _dropout_unscaled(x, p, training=True):
    return x * (torch.rand_like(x) >= p) if training else x


def _dropout_times_keep(x, p, training=True):
    return x * (torch.rand_like(x) >= p) * (1 - p) if training else x


def _dropout_keep_probability(x, p, training=True):
    return x * (torch.rand_like(x) < p) / (1 - p) if training else x


def _dropout_always(x, p, training=True):
    return x * (torch.rand_like(x) >= p) / (1 - p)


def _dropout_in_place(x, p, training=True):
    if training:
        x.mul_(torch.rand_like(x) >= p).div_(1 - p)
    return x


def _dropout_fixed_mask(x, p, training=True):
    if not training:
        return x
    generator = torch.Generator().manual_seed(0)
    return x * (torch.rand(x.shape, generator=generator) >= p) / (1 - p)


# --------------------------------------------------------------------------- stopping_epoch answers


def _stopping(val_losses, patience):
    best, best_epoch, waited = float("inf"), 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return epoch, best_epoch
    return len(val_losses), best_epoch


def _stopping_argmin(val_losses, patience):
    # Another correct way: the best epoch so far is where the running minimum was first reached.
    for epoch in range(1, len(val_losses) + 1):
        seen = val_losses[:epoch]
        best_epoch = int(np.argmin(seen)) + 1
        if epoch - best_epoch >= patience:
            return [epoch, best_epoch]
    return [len(val_losses), int(np.argmin(val_losses)) + 1]


def _stopping_zero_based(val_losses, patience):
    stop, best = _stopping(val_losses, patience)
    return stop - 1, best - 1


def _stopping_ties_improve(val_losses, patience):
    best, best_epoch, waited = float("inf"), 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss <= best:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return epoch, best_epoch
    return len(val_losses), best_epoch


def _stopping_late(val_losses, patience):
    best, best_epoch, waited = float("inf"), 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited > patience:
                return epoch, best_epoch
    return len(val_losses), best_epoch


def _stopping_no_reset(val_losses, patience):
    best, best_epoch, waited = float("inf"), 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, best_epoch = loss, epoch
        elif epoch > 1:
            waited += 1
            if waited >= patience:
                return epoch, best_epoch
    return len(val_losses), best_epoch


# --------------------------------------------------------------------------- lr_range_test answers


def _range_test(model, optimizer, loss_fn, loader, learning_rates, set_rates="every", zero_grad=True, stop=True):
    model.train()
    losses = []
    for rate, (inputs, targets) in zip(learning_rates, loader):
        groups = {"every": optimizer.param_groups, "first": optimizer.param_groups[:1]}.get(set_rates, [])
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


def _range_test_tensors(model, optimizer, loss_fn, loader, learning_rates):
    # Another correct way: an explicit iterator, the best loss tracked by hand, losses kept as tensors.
    batches, best, losses = iter(loader), math.inf, []
    for rate in learning_rates:
        inputs, targets = next(batches)
        for group in optimizer.param_groups:
            group.update(lr=rate)
        model.zero_grad()
        loss = nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
        best = min(best, loss.item())
        if not torch.isfinite(loss) or loss.item() > 4 * best:
            break
    return torch.stack(losses)


def _range_test_one_short(model, optimizer, loss_fn, loader, learning_rates):
    losses = _range_test(model, optimizer, loss_fn, loader, learning_rates)
    return losses[:-1]


def _range_test_early(model, optimizer, loss_fn, loader, learning_rates):
    # Stops once the loss rises above the lowest at all, not once it explodes.
    losses = []
    for rate, (inputs, targets) in zip(learning_rates, loader):
        for group in optimizer.param_groups:
            group["lr"] = rate
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if len(losses) > 1 and losses[-1] > min(losses[:-1]):
            break
    return losses


def _range_test_lr_after_step(model, optimizer, loss_fn, loader, learning_rates):
    # Sets each rate after the step, so every step uses the previous rate.
    losses = []
    for rate, (inputs, targets) in zip(learning_rates, loader):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        for group in optimizer.param_groups:
            group["lr"] = rate
        losses.append(loss.item())
        if not math.isfinite(losses[-1]) or losses[-1] > 4 * min(losses):
            break
    return losses


_MLP = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))

CASES = {
    "n_parameters": Case(
        correct=[109_386, count_parameters(_MLP), torch.tensor(109_386), np.int64(109_386), 109_386.0],
        wrong=[
            (784 * 128 + 128 * 64 + 64 * 10, "weights only"),
            (784 * 128 + 128 * 64 + 64 * 10 + 128 + 64, "misses the biases of the output layer"),
            (784 * 128 + 128 * 64 + 64 * 10 + 10, "misses the biases of the first layer (784 -> 128) and the biases"),
            (109_386 - 128 * 64, "misses the weights of the second layer"),
            (109_386 + 64 * 10 + 10, "counts the weights of the output layer (64 -> 10) and the biases of the output"),
            (784 * 128 + 128 * 64 + 64 * 10 + 784 + 128 + 64, "one bias per INPUT"),
            (784 + 128 + 64 + 10, "counts units"),
            # The learner review's case: the input's 784 pixels counted as parameters. The message names that
            # mistake; it must not give the right count away (the old one said "expected 109,386").
            (109_386 + 784, "also counts the 784 input pixels"),
            (109_000, "too few, by less than the size of the weights of the output layer"),
            (250_000, "too many, by more than"),
            ("109386", "no quotes"),
            (109_386.5, "whole number"),
        ],
    ),
    "dropout": Case(
        correct=[_dropout, _dropout_bernoulli, _dropout_where],
        wrong=[
            (_dropout_unscaled, "scale them by 1 / (1 - p)"),
            (_dropout_times_keep, "divide by (1 - p) instead"),
            (_dropout_keep_probability, "probability of DROPPING"),
            (_dropout_always, "training=False"),
            (_dropout_in_place, "in place"),
            (_dropout_fixed_mask, "fresh random mask"),
            (lambda x, p, training=True: x, "zeroed 0.0%"),
            (lambda x, p, training=True: x.tolist(), "should return a tensor"),
        ],
        stub=not_implemented,
    ),
    "stopping_epoch": Case(
        correct=[_stopping, _stopping_argmin],
        wrong=[
            (_stopping_zero_based, "count epochs from 1"),
            (_stopping_ties_improve, "not an improvement"),
            (_stopping_late, "stopped_at is 8, expected 6: epochs 4 to 6 did not improve on epoch 3"),
            (lambda losses, patience: _stopping(losses, patience)[::-1], "swapped"),
            (_stopping_no_reset, "one epoch early"),
            (lambda losses, patience: len(losses), "two numbers"),
        ],
        stub=not_implemented,
    ),
    "lr_range_test": Case(
        correct=[_range_test, _range_test_tensors],
        wrong=[
            (partial(_range_test, set_rates="none"), "constant learning rate"),
            (partial(_range_test, set_rates="first"), "only the first parameter group"),
            (partial(_range_test, zero_grad=False), "never zeroed"),
            (partial(_range_test, stop=False), "but the test went on"),
            (_range_test_one_short, "one step short"),
            (_range_test_early, "stop only once the loss explodes"),
            (_range_test_lr_after_step, "the list of losses differs from the expected values"),
            (lambda *args: _range_test(*args)[-1], "should return a list of losses"),
            (lambda *args: [], "empty list"),
        ],
        stub=not_implemented,
    ),
}
