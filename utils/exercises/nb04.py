"""Exercise checks for notebook 04 (losses and optimisers).

Every check builds its own small inputs from a private ``torch.Generator``, so running a check
never changes the random numbers the notebook draws afterwards.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from utils.checks import Exercise, Mismatch, NotAttempted, call, expect, expect_close

NOTEBOOK = "04_losses_and_optimisers"


def _generator(seed: int = 4) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _scalar(result, name: str, per_element_shape: tuple[int, ...]) -> torch.Tensor:
    """The learner's loss as a 0-d tensor, or a Mismatch that says what it is instead."""
    if result is Ellipsis:
        raise NotAttempted
    if isinstance(result, (float, int)):
        raise Mismatch(
            f"{name} returns a Python {type(result).__name__}: return the tensor itself (no .item()) "
            "so that loss.backward() can follow it"
        )
    expect(isinstance(result, torch.Tensor), f"{name} should return a torch.Tensor, not {type(result).__name__}")
    if result.dim() > 0:
        if tuple(result.shape) == tuple(per_element_shape):
            raise Mismatch(f"{name} returns one loss per element, shape {tuple(result.shape)}: take the mean")
        raise Mismatch(f"{name} has shape {tuple(result.shape)}; a loss is a single number, shape ()")
    return result


def _close(a: torch.Tensor | float, b: torch.Tensor | float, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    a, b = float(a), float(b)
    return math.isfinite(a) and abs(a - b) <= atol + rtol * abs(b)


# --------------------------------------------------------------------------- Exercise 1: mse


def _check_mse(mse) -> str:
    generator = _generator()
    predictions = torch.randn(6, 3, generator=generator).requires_grad_()
    targets = torch.randn(6, 3, generator=generator)
    kept = (predictions.detach().clone(), targets.clone())
    expected = F.mse_loss(predictions, targets).detach()
    difference = (predictions - targets).detach()
    result = _scalar(call(mse, predictions, targets), "mse(predictions, targets)", (6, 3))
    expect(
        torch.equal(predictions.detach(), kept[0]) and torch.equal(targets, kept[1]),
        "mse(...) changed its inputs in place: compute a new tensor instead",
    )
    value = result.detach()
    if _close(value, expected * difference.numel()):
        raise Mismatch(f"mse(...) is {float(value):.4g}, {difference.numel()} times too large: use .mean(), not .sum()")
    if _close(value, expected.sqrt()):
        raise Mismatch("mse(...) is the square root of the MSE (the RMSE): leave out the square root")
    if _close(value, difference.abs().mean()):
        raise Mismatch("mse(...) is the mean absolute error: square the differences instead of taking abs()")
    if _close(value, difference.mean()) or _close(value, -difference.mean()):
        raise Mismatch("mse(...) is the mean difference: square each difference before averaging")
    expect_close(value, expected, name="mse(predictions, targets)")
    expect(
        result.requires_grad,
        "mse(...) is not connected to the predictions' graph: compute it with torch operations "
        "(no NumPy, no .item(), no .detach()) so that loss.backward() works",
    )
    # A second shape, so an answer hard-wired to one shape is caught.
    column_predictions = torch.randn(5, 1, generator=generator)
    column_targets = torch.randn(5, 1, generator=generator)
    second = _scalar(call(mse, column_predictions, column_targets), "mse(predictions, targets)", (5, 1))
    expect_close(second.detach(), F.mse_loss(column_predictions, column_targets), name="mse(...) on (5, 1) inputs")
    return "It matches F.mse_loss and supports backward()."


mse = Exercise(
    NOTEBOOK,
    "mse",
    _check_mse,
    hint="Subtract, square with ** 2, then average with .mean(). Use only torch operations and return the "
    "tensor (not .item()), so that the result still knows how it was computed and backward() works.",
)


# --------------------------------------------------------------------------- Exercise 2: bce_with_logits


def _check_bce_with_logits(bce_with_logits) -> str:
    generator = _generator()
    logits = 3 * torch.randn(20, generator=generator)
    targets = torch.bernoulli(torch.full((20,), 0.5), generator=generator)
    result = _scalar(call(bce_with_logits, logits, targets), "bce_with_logits(logits, targets)", (20,)).detach()
    expected = F.binary_cross_entropy_with_logits(logits, targets)
    if math.isfinite(float(result)) and float(result) < 0:
        raise Mismatch(
            f"bce_with_logits(...) is {float(result):.4g}, negative; a negative log-likelihood is never negative: "
            "check the minus sign in front"
        )
    if _close(result, expected * len(logits)):
        raise Mismatch(f"bce_with_logits(...) is {len(logits)} times too large: use .mean(), not .sum()")
    if _close(result, F.binary_cross_entropy_with_logits(logits, 1 - targets)):
        raise Mismatch(
            "bce_with_logits(...) has y and 1 - y swapped (or uses sigmoid(-z) as P(y=1)): y multiplies "
            "log sigmoid(z), the log-probability of a 1"
        )
    expect_close(result, expected, name="bce_with_logits(...) on moderate logits")

    extreme_logits = torch.tensor([100.0, -100.0, 50.0, -50.0, 30.0, 0.0])
    extreme_targets = torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    extreme = _scalar(call(bce_with_logits, extreme_logits, extreme_targets), "bce_with_logits(...)", (6,)).detach()
    expected_extreme = F.binary_cross_entropy_with_logits(extreme_logits, extreme_targets)
    if not math.isfinite(float(extreme)):
        raise Mismatch(
            f"bce_with_logits(...) gives {float(extreme)} for logits like 100 with target 0: sigmoid(100) rounds to "
            "1.0, so log(1 - 1.0) is -inf (and 0 * -inf is nan). Use F.logsigmoid(-z) for log(1 - sigmoid(z))"
        )
    if not _close(extreme, expected_extreme):
        raise Mismatch(
            f"bce_with_logits(...) is {float(extreme):.4g} for logits of ±100 and ±50, "
            f"expected {float(expected_extreme):.4g}: "
            "a probability rounded to 0 or 1 (or a clamped log) loses the true value; work with F.logsigmoid"
        )
    return "It matches nn.BCEWithLogitsLoss, even for logits of ±100."


bce_with_logits = Exercise(
    NOTEBOOK,
    "bce_with_logits",
    _check_bce_with_logits,
    hint="log(sigmoid(z)) is F.logsigmoid(z), and log(1 - sigmoid(z)) = log(sigmoid(-z)) is F.logsigmoid(-z). "
    "Put those into -[y log p + (1 - y) log(1 - p)] and take the mean; no sigmoid, no torch.log.",
)


# --------------------------------------------------------------------------- Exercise 3: cross_entropy


def _check_cross_entropy(cross_entropy) -> str:
    generator = _generator()
    logits = 2 * torch.randn(6, 4, generator=generator)
    targets = torch.tensor([0, 3, 1, 1, 2, 3])
    result = _scalar(call(cross_entropy, logits, targets), "cross_entropy(logits, targets)", (6,)).detach()
    expected = F.cross_entropy(logits, targets)
    log_probabilities = F.log_softmax(logits, dim=1)
    if _close(result, -log_probabilities[:, targets].mean()):
        raise Mismatch(
            "cross_entropy(...) averages a (6, 6) table: logits[:, targets] picks whole columns. Pick one element per "
            "row with [torch.arange(len(targets)), targets]"
        )
    if _close(result, expected * len(targets)):
        raise Mismatch(f"cross_entropy(...) is {len(targets)} times too large: use .mean(), not .sum()")
    if math.isfinite(float(result)) and float(result) < 0:
        raise Mismatch(
            f"cross_entropy(...) is {float(result):.4g}, negative: "
            "the loss is minus the log-probability of the true class"
        )
    if _close(result, -log_probabilities.mean()) or _close(result, -log_probabilities.sum(dim=1).mean()):
        raise Mismatch("cross_entropy(...) uses every class's log-probability: use only the target class's")
    if _close(result, -torch.softmax(logits, dim=1)[torch.arange(6), targets].mean()):
        raise Mismatch("cross_entropy(...) averages probabilities: take their log first (F.log_softmax)")
    expect_close(result, expected, name="cross_entropy(...)")

    extreme_logits = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]])
    extreme_targets = torch.tensor([1, 1])
    extreme = _scalar(call(cross_entropy, extreme_logits, extreme_targets), "cross_entropy(...)", (2,)).detach()
    if not math.isfinite(float(extreme)):
        raise Mismatch(
            f"cross_entropy(...) gives {float(extreme)} for logits of ±1000: exp(1000) overflows, "
            "or a probability rounds "
            "to 0 before the log. Use F.log_softmax (or torch.logsumexp) instead of softmax then log"
        )
    expect_close(extreme, torch.tensor(500.0), name="cross_entropy(...) for logits of ±1000", rtol=1e-5)
    return "It matches nn.CrossEntropyLoss, even for logits of ±1000."


cross_entropy = Exercise(
    NOTEBOOK,
    "cross_entropy",
    _check_cross_entropy,
    hint="F.log_softmax(logits, dim=1) gives log p for every class, shape (N, K). Pick the target class of each row "
    "with log_p[torch.arange(N), targets] (shape (N,)), then return minus their mean.",
)


# --------------------------------------------------------------------------- Exercise 4: momentum_step

_CURVATURE = torch.tensor([1.0, 10.0, 0.1])  # a bowl that is steep in one direction, flat in another
_START = torch.tensor([1.0, -1.0, 2.0])
_LR, _MOMENTUM, _STEPS = 0.05, 0.9, 6


def _reference_path(update) -> list[torch.Tensor]:
    """The parameters after each step of ``update(parameter, gradient, velocity)``."""
    parameter, velocity, path = _START.clone(), torch.zeros(3), []
    for _ in range(_STEPS):
        parameter, velocity = update(parameter, _CURVATURE * parameter, velocity)
        path.append(parameter.clone())
    return path


def _torch_sgd_path() -> list[torch.Tensor]:
    parameter = _START.clone().requires_grad_()
    optimizer = torch.optim.SGD([parameter], lr=_LR, momentum=_MOMENTUM)
    path = []
    for _ in range(_STEPS):
        optimizer.zero_grad()
        (0.5 * (_CURVATURE * parameter**2).sum()).backward()
        optimizer.step()
        path.append(parameter.detach().clone())
    return path


def _same_path(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.allclose(x, y, rtol=1e-5, atol=1e-7) for x, y in zip(a, b))


def _check_momentum_step(momentum_step) -> str:
    parameter, velocity, path = _START.clone(), torch.zeros(3), []
    for step in range(_STEPS):
        result = call(momentum_step, parameter.clone(), _CURVATURE * parameter, velocity.clone(), _LR, _MOMENTUM)
        expect(
            isinstance(result, (tuple, list)) and len(result) == 2,
            f"momentum_step(...) should return a pair (parameter, velocity), not {type(result).__name__}",
        )
        parameter, velocity = result
        expect(
            isinstance(parameter, torch.Tensor) and tuple(parameter.shape) == (3,),
            "the first value returned should be the new parameter: a tensor of the parameter's shape",
        )
        expect(
            isinstance(velocity, torch.Tensor) and tuple(velocity.shape) == (3,),
            "the second value returned should be the new velocity: a tensor of the parameter's shape",
        )
        parameter, velocity = parameter.detach(), velocity.detach()
        expect(bool(torch.isfinite(parameter).all()), f"after step {step + 1} the parameters are not finite")
        path.append(parameter.clone())

    reference = _torch_sgd_path()
    if _same_path(path, reference):
        return "Its path matches torch.optim.SGD(momentum=0.9) step for step."
    candidates = [
        (
            lambda p, g, v: (p - _LR * g, _MOMENTUM * v + g),
            "the parameters move like plain SGD: step with lr * velocity (the new velocity), not lr * gradient",
        ),
        (
            lambda p, g, v: (p - _LR * (_MOMENTUM * v + (1 - _MOMENTUM) * g), _MOMENTUM * v + (1 - _MOMENTUM) * g),
            "your velocity is an average, momentum * v + (1 - momentum) * g; PyTorch adds the whole gradient: "
            "v = momentum * v + g",
        ),
        (
            lambda p, g, v: (p - _LR * v, _MOMENTUM * v + g),
            "the step uses the old velocity: update the velocity first, then step with the new one",
        ),
        (
            lambda p, g, v: (p + _LR * (_MOMENTUM * v + g), _MOMENTUM * v + g),
            "the parameters move uphill: subtract lr * velocity",
        ),
    ]
    for update, message in candidates:
        if _same_path(path, _reference_path(update)):
            raise Mismatch(message)
    first_wrong = next(
        i for i, (x, y) in enumerate(zip(path, reference)) if not torch.allclose(x, y, rtol=1e-5, atol=1e-7)
    )
    difference = (path[first_wrong] - reference[first_wrong]).abs().max().item()
    raise Mismatch(
        f"after step {first_wrong + 1} the parameters differ from torch.optim.SGD's by up to {difference:.3g} "
        "(v = momentum * v + gradient, then parameter = parameter - lr * v)"
    )


momentum_step = Exercise(
    NOTEBOOK,
    "momentum_step",
    _check_momentum_step,
    hint="Two lines: first the new velocity, momentum * velocity + gradient; then the new parameter, "
    "parameter - lr * (the new velocity). Return both, in that order: (parameter, velocity).",
)
