"""Exercise checks for notebook 04 (losses and optimisers).

The checks build their small inputs from a private ``torch.Generator``, so the inputs are the
same whoever calls them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from utils.checks import Mismatch, as_number, call, exercise, expect, expect_close, expect_tensor

NOTEBOOK = "04_losses_and_optimisers"


def _generator(seed: int = 4) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _expect_a_loss(result, name: str, per_element_shape: tuple[int, ...]) -> None:
    """Name the usual ways a loss function returns something other than one number that backward() can follow."""
    if isinstance(result, (float, int)) and not isinstance(result, bool):
        raise Mismatch(
            f"{name} returns a Python {type(result).__name__}: return the tensor itself (no .item()) "
            "so that loss.backward() can follow it"
        )
    expect_tensor(result, name=name)
    if result.dim() > 0 and tuple(result.shape) == tuple(per_element_shape):
        raise Mismatch(f"{name} returns one loss per element, shape {tuple(result.shape)}: take the mean")
    expect(result.dim() == 0, f"{name} has shape {tuple(result.shape)}; a loss is a single number, shape ()")


def _near(value: float, tolerance: float = 1e-4):
    """A test ``near(other)``: is ``value`` what the known mistake ``other`` would give?"""
    return lambda other: math.isclose(value, float(other), rel_tol=tolerance, abs_tol=1e-6)


@exercise(
    NOTEBOOK,
    hints=[
        (
            "A NaN spreads through every sum it enters, and through the backward pass too. So decide "
            "first which elements take part (the present targets), and let only those reach the arithmetic."
        ),
        (
            "torch.isnan(targets) marks the missing targets; its negation (~) marks the present ones. Boolean "
            "indexing with that mask keeps only the present elements of both tensors, as 1-D tensors; then "
            "square the differences and average them. Check predictions.grad after a backward: it must have no NaN."
        ),
        (
            "Avoid torch.where(present, (predictions - targets) ** 2, 0): its value is fine once you divide by "
            "the number of present targets, but its gradient is NaN, because backward still differentiates the "
            "discarded branch at the NaN targets and multiplies that NaN by 0."
        ),
    ],
)
def masked_mse(masked_mse) -> str:
    generator = _generator()
    predictions = torch.randn(6, 3, generator=generator).requires_grad_()
    targets = torch.randn(6, 3, generator=generator)
    missing = torch.zeros(6, 3, dtype=torch.bool)
    missing[[0, 1, 3, 4, 5], [2, 0, 1, 2, 0]] = True
    targets[missing] = float("nan")
    present = ~missing
    n_present = int(present.sum())
    difference = (predictions - targets).detach()[present]
    expected = (difference**2).mean()
    result = call(masked_mse, predictions, targets)
    _expect_a_loss(result, "masked_mse(predictions, targets)", (6, 3))
    value = result.detach()
    if torch.isnan(value):
        raise Mismatch(
            "masked_mse(...) is NaN: the missing targets reached the mean. Keep only the present targets "
            "(torch.isnan finds the missing ones) before averaging"
        )
    near = _near(as_number(value))
    if near((difference**2).sum() / missing.numel()):
        raise Mismatch(
            f"masked_mse(...) divides by all {missing.numel()} elements, the missing ones included: "
            f"average over the {n_present} present targets only"
        )
    if near((difference**2).sum()):
        raise Mismatch("masked_mse(...) is the sum of the squared errors: take the mean over the present targets")
    if near(expected.sqrt()):
        raise Mismatch("masked_mse(...) is the square root of the MSE (the RMSE): leave out the square root")
    if near(difference.abs().mean()):
        raise Mismatch("masked_mse(...) is the mean absolute error: square the differences instead of taking abs()")
    expect_close(value, expected, name="masked_mse(predictions, targets)")
    expect(
        result.requires_grad,
        "masked_mse(...) is not connected to the predictions' graph: compute it with torch operations "
        "(no NumPy, no .item(), no .detach()) so that loss.backward() works",
    )
    (gradient,) = torch.autograd.grad(result, predictions)
    if torch.isnan(gradient).any():
        raise Mismatch(
            "the value is right, but the gradient with respect to the predictions contains NaN, so one "
            "optimiser step would turn weights into NaN. torch.where or a multiplication by a 0/1 mask still "
            "differentiates through the NaN targets (and 0 × NaN is NaN): select the present elements first"
        )
    expected_gradient = torch.where(present, 2 * (predictions - targets.nan_to_num()).detach() / n_present, 0.0)
    expect_close(gradient, expected_gradient, name="the gradient of masked_mse(...) with respect to the predictions")
    # Without missing targets it must be the ordinary MSE, on another shape.
    column_predictions = torch.randn(5, 1, generator=generator)
    column_targets = torch.randn(5, 1, generator=generator)
    second = call(masked_mse, column_predictions, column_targets)
    _expect_a_loss(second, "masked_mse(predictions, targets)", (5, 1))
    expect_close(
        second.detach(), F.mse_loss(column_predictions, column_targets), name="masked_mse(...) with no missing target"
    )
    return (
        f"It averages the {n_present} present targets and its gradient is 0 at the missing ones, with no NaN. "
        "Selecting before computing is the rule: torch.where picks values, but backward goes through both branches."
    )


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Never compute sigmoid(z) and then its log: for large logits the probability rounds to exactly 0 "
            "or 1 and the log breaks. PyTorch has a function that gives the log of the sigmoid directly, in "
            "one stable step."
        ),
        (
            "log(sigmoid(z)) is F.logsigmoid(z), and log(1 - sigmoid(z)) = log(sigmoid(-z)) is F.logsigmoid(-z). "
            "Put those two into -[y log p + (1 - y) log(1 - p)] and take the mean over the batch."
        ),
    ],
)
def bce_with_logits(bce_with_logits) -> str:
    generator = _generator()
    logits = 3 * torch.randn(20, generator=generator)
    targets = torch.bernoulli(torch.full((20,), 0.5), generator=generator)
    result = call(bce_with_logits, logits, targets)
    _expect_a_loss(result, "bce_with_logits(logits, targets)", (20,))
    result = result.detach()
    expected = F.binary_cross_entropy_with_logits(logits, targets)
    near = _near(as_number(result))
    if math.isfinite(float(result)) and float(result) < 0:
        raise Mismatch(
            f"bce_with_logits(...) is {float(result):.4g}, negative; a negative log-likelihood is never negative: "
            "check the minus sign in front"
        )
    if near(expected * len(logits)):
        raise Mismatch(f"bce_with_logits(...) is {len(logits)} times too large: use .mean(), not .sum()")
    if near(F.binary_cross_entropy_with_logits(logits, 1 - targets)):
        raise Mismatch(
            "bce_with_logits(...) has y and 1 - y swapped (or uses sigmoid(-z) as P(y=1)): y multiplies "
            "log sigmoid(z), the log-probability of a 1"
        )
    expect_close(result, expected, name="bce_with_logits(...) on moderate logits")

    extreme_logits = torch.tensor([100.0, -100.0, 50.0, -50.0, 30.0, 0.0])
    extreme_targets = torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    extreme = call(bce_with_logits, extreme_logits, extreme_targets)
    _expect_a_loss(extreme, "bce_with_logits(...)", (6,))
    extreme = extreme.detach()
    expected_extreme = F.binary_cross_entropy_with_logits(extreme_logits, extreme_targets)
    if not math.isfinite(float(extreme)):
        raise Mismatch(
            f"bce_with_logits(...) gives {float(extreme)} for logits like 100 with target 0: sigmoid(100) rounds to "
            "1.0, so log(1 - 1.0) is -inf (and 0 * -inf is nan). Use F.logsigmoid(-z) for log(1 - sigmoid(z))"
        )
    if not _near(as_number(extreme))(expected_extreme):
        raise Mismatch(
            f"bce_with_logits(...) is {float(extreme):.4g} for logits of ±100 and ±50, "
            f"expected {float(expected_extreme):.4g}: "
            "a probability rounded to 0 or 1 (or a clamped log) loses the true value; work with F.logsigmoid"
        )
    return "It matches nn.BCEWithLogitsLoss, even for logits of ±100."


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Go from logits to log-probabilities in one stable step (never softmax, then log), normalising each "
            "row over its classes. Then keep, for every example, only the entry of its true class, and average "
            "minus those."
        ),
        (
            "F.log_softmax(logits, dim=1) gives log p for every class, shape (N, K). Pick the target class of "
            "each row by indexing with two index tensors, torch.arange(N) for the rows and targets for the "
            "columns (shape (N,)), then return minus their mean."
        ),
    ],
)
def cross_entropy(cross_entropy) -> str:
    generator = _generator()
    logits = 2 * torch.randn(6, 4, generator=generator)
    targets = torch.tensor([0, 3, 1, 1, 2, 3])
    try:
        result = call(cross_entropy, logits, targets)
    except Mismatch as error:
        if "Index tensor must have the same number of dimensions" in str(error):
            raise Mismatch(
                f"{error}. gather needs an index with as many dimensions as logits: targets has shape (N,), "
                "targets.unsqueeze(1) has shape (N, 1), one column index per row"
            ) from None
        raise
    _expect_a_loss(result, "cross_entropy(logits, targets)", (6,))
    result = result.detach()
    expected = F.cross_entropy(logits, targets)
    log_probabilities = F.log_softmax(logits, dim=1)
    rows = torch.arange(len(targets))
    near = _near(as_number(result))
    if near(-log_probabilities[:, targets].mean()):
        raise Mismatch(
            "cross_entropy(...) averages a (6, 6) table: logits[:, targets] picks whole columns. Pick one element per "
            "row with [torch.arange(len(targets)), targets]"
        )
    if near(expected * len(targets)):
        raise Mismatch(f"cross_entropy(...) is {len(targets)} times too large: use .mean(), not .sum()")
    if math.isfinite(float(result)) and float(result) < 0:
        raise Mismatch(
            f"cross_entropy(...) is {float(result):.4g}, negative: "
            "the loss is minus the log-probability of the true class"
        )
    if near(-log_probabilities.mean()) or near(-log_probabilities.sum(dim=1).mean()):
        raise Mismatch("cross_entropy(...) uses every class's log-probability: use only the target class's")
    if near(-torch.softmax(logits, dim=1)[rows, targets].mean()):
        raise Mismatch("cross_entropy(...) averages probabilities: take their log first (F.log_softmax)")
    over_the_batch = F.log_softmax(logits, dim=0)
    if near(-over_the_batch[rows, targets].mean()) or near(F.nll_loss(over_the_batch, targets)):
        raise Mismatch(
            "cross_entropy(...) normalises the softmax over the batch (dim=0) instead of over the classes: each "
            "row holds one example's K logits, so take log_softmax along the class dimension, dim=1 (or dim=-1)"
        )
    expect_close(result, expected, name="cross_entropy(...)")

    extreme_logits = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]])
    extreme_targets = torch.tensor([1, 1])
    extreme = call(cross_entropy, extreme_logits, extreme_targets)
    _expect_a_loss(extreme, "cross_entropy(...)", (2,))
    extreme = extreme.detach()
    if not math.isfinite(float(extreme)):
        raise Mismatch(
            f"cross_entropy(...) gives {float(extreme)} for logits of ±1000: exp(1000) overflows, "
            "or a probability rounds "
            "to 0 before the log. Use F.log_softmax (or torch.logsumexp) instead of softmax then log"
        )
    expect_close(extreme, torch.tensor(500.0), name="cross_entropy(...) for logits of ±1000", rtol=1e-5)
    return "It matches nn.CrossEntropyLoss, even for logits of ±1000."


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
    optimizer = torch.optim.SGD([parameter], lr=_LR, momentum=_MOMENTUM, nesterov=True)
    path = []
    for _ in range(_STEPS):
        optimizer.zero_grad()
        (0.5 * (_CURVATURE * parameter**2).sum()).backward()
        optimizer.step()
        path.append(parameter.detach().clone())
    return path


def _same_path(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.allclose(x, y, rtol=1e-5, atol=1e-7) for x, y in zip(a, b))


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Nesterov keeps the velocity of classical momentum and changes only where the gradient's step "
            "lands: it moves as if the next velocity update had already happened (a look-ahead). The algorithm "
            "box of torch.optim.SGD's documentation writes it out in two lines."
        ),
        (
            "First the velocity, exactly as in section 7: momentum * velocity + gradient. Then the step: not "
            "lr * velocity, but lr * (gradient + momentum * the new velocity). Return (parameter, velocity), "
            "both new tensors."
        ),
    ],
)
def momentum_step(momentum_step) -> str:
    parameter, velocity, path = _START.clone(), torch.zeros(3), []
    for step in range(_STEPS):
        gradient = _CURVATURE * parameter
        result = call(momentum_step, parameter, gradient, velocity, _LR, _MOMENTUM)
        expect(
            isinstance(result, (tuple, list)) and len(result) == 2,
            f"momentum_step(...) should return a pair (parameter, velocity), not {type(result).__name__}",
        )
        new_parameter, new_velocity = result
        expect(
            isinstance(new_parameter, torch.Tensor) and tuple(new_parameter.shape) == (3,),
            "the first value returned should be the new parameter: a tensor of the parameter's shape",
        )
        expect(
            isinstance(new_velocity, torch.Tensor) and tuple(new_velocity.shape) == (3,),
            "the second value returned should be the new velocity: a tensor of the parameter's shape",
        )
        expected_velocity = _MOMENTUM * velocity + gradient
        expected_parameter = parameter - _LR * (gradient + _MOMENTUM * expected_velocity)
        if (
            step == 0
            and not torch.allclose(new_parameter, expected_parameter)
            and torch.allclose(new_velocity, expected_parameter)
        ):
            raise Mismatch(
                "momentum_step returns (velocity, parameter): the second value is the new parameter; return "
                "them in the order (parameter, velocity)"
            )
        parameter, velocity = new_parameter.detach(), new_velocity.detach()
        expect(bool(torch.isfinite(parameter).all()), f"after step {step + 1} the parameters are not finite")
        path.append(parameter.clone())

    reference = _torch_sgd_path()
    if _same_path(path, reference):
        return (
            "Its path matches torch.optim.SGD(momentum=0.9, nesterov=True) step for step. Unrolled, the step is "
            "lr * (1 + momentum) * gradient + lr * momentum**2 * (old velocity): the new gradient weighs more."
        )
    candidates = [
        (
            lambda p, g, v: (p - _LR * (_MOMENTUM * v + g), _MOMENTUM * v + g),
            (
                "this is classical momentum (section 7), the step along the new velocity (the same as gradient plus "
                "momentum times the OLD velocity). Nesterov's step is the gradient plus momentum times the NEW velocity"
            ),
        ),
        (
            lambda p, g, v: (p - _LR * g, _MOMENTUM * v + g),
            "the parameters move like plain SGD: the step must include momentum times the new velocity",
        ),
        (
            lambda p, g, v: (p + _LR * (g + _MOMENTUM * (_MOMENTUM * v + g)), _MOMENTUM * v + g),
            "the parameters move uphill: subtract the step",
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
        f"after step {first_wrong + 1} the parameters differ from torch.optim.SGD(nesterov=True)'s by up to "
        f"{difference:.3g}"
    )


_LOOP_EPOCHS, _LOOP_BATCH = 12, 30


def _loop_data() -> tuple[torch.Tensor, torch.Tensor]:
    """240 points with 4 features in 3 overlapping clouds: a small classification problem."""
    generator = _generator(11)
    centres = 1.5 * torch.randn(3, 4, generator=generator)
    labels = torch.arange(240) % 3
    features = centres[labels] + torch.randn(240, 4, generator=generator)
    return features, labels


def _loop_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))


class _GradientWatch:
    """Counts the backward passes into a model's parameters and notices gradients that pile up.

    A hook on each parameter sees the gradient of the current backward pass; a second hook, run after
    that gradient has been added to ``.grad``, compares the two. They differ only when ``.grad`` still
    held the previous batch's gradient: ``zero_grad()`` was not called in between.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        self.backward_passes = 0
        self.piled_up = False
        self._fresh: dict[int, torch.Tensor] = {}
        self._handles = []
        first = next(model.parameters())
        for parameter in model.parameters():
            self._handles.append(parameter.register_hook(self._remember(parameter)))
            self._handles.append(parameter.register_post_accumulate_grad_hook(self._compare))
        self._first = first

    def _remember(self, parameter):
        def hook(gradient):
            self._fresh[id(parameter)] = gradient.detach().clone()
            if parameter is self._first:
                self.backward_passes += 1

        return hook

    def _compare(self, parameter) -> None:
        fresh = self._fresh.get(id(parameter))
        if fresh is not None and not torch.allclose(parameter.grad, fresh, rtol=1e-5, atol=1e-7):
            self.piled_up = True

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Two loops, epochs outside and batches inside. Before the loops, create the loss and an optimiser "
            "over the model's parameters; inside, every batch goes through the five steps of section 1, in "
            "their order. Keep a running total of the batch losses as plain numbers, to report each epoch's mean."
        ),
        (
            "Before the loops: loss_fn = nn.CrossEntropyLoss() and optimizer = torch.optim.Adam(model.parameters(), "
            "lr=0.01); call model.train(). For each (inputs, targets) in loader: predict with model(inputs), "
            "compute loss_fn(outputs, targets), then optimizer.zero_grad(), loss.backward(), optimizer.step(); "
            "add loss.item() * len(targets) to a total, and after the batches append total / (number of "
            "examples) to the list you return."
        ),
    ],
)
def train(train) -> str:
    features, labels = _loop_data()
    loader = [
        (features[start : start + _LOOP_BATCH], labels[start : start + _LOOP_BATCH])
        for start in range(0, len(labels), _LOOP_BATCH)
    ]
    model = _loop_model()
    before = [parameter.detach().clone() for parameter in model.parameters()]
    with torch.no_grad():
        initial_loss = F.cross_entropy(model(features), labels).item()
    watch = _GradientWatch(model)
    try:
        result = call(train, model, loader, _LOOP_EPOCHS)
    finally:
        watch.remove()
    changed = any(not torch.equal(old, new.detach()) for old, new in zip(before, model.parameters()))
    if watch.backward_passes == 0:
        raise Mismatch(
            "no gradient ever reached the model's parameters: call loss.backward() on each batch's loss "
            "(computed from model(inputs), without .item() or .detach() in between)"
        )
    if not changed:
        raise Mismatch(
            "the model's parameters never changed: call optimizer.step() after loss.backward(), with an optimiser "
            "built on model.parameters(); and call zero_grad() before backward(), not between backward() and step()"
        )
    if watch.piled_up:
        raise Mismatch(
            "the gradients piled up from one batch to the next (section 2): call optimizer.zero_grad() once per "
            "batch, before loss.backward()"
        )
    expected_passes = _LOOP_EPOCHS * len(loader)
    if watch.backward_passes == len(loader):
        raise Mismatch(
            f"train(model, loader, {_LOOP_EPOCHS}) went over the data once: repeat the pass over the batches "
            "for every epoch"
        )
    if watch.backward_passes == _LOOP_EPOCHS:
        raise Mismatch(
            "train made one step per epoch: loop over all the batches of the loader inside each epoch, with one "
            "optimiser step per batch"
        )
    expect(
        watch.backward_passes == expected_passes,
        f"train made {watch.backward_passes} backward passes; {_LOOP_EPOCHS} epochs of {len(loader)} batches "
        f"make {expected_passes}, one per batch",
    )
    with torch.no_grad():
        final_loss = F.cross_entropy(model(features), labels).item()
    expect(
        final_loss < 0.25,
        f"after training, the model's cross-entropy on the check's data is {final_loss:.3f} (it started at "
        f"{initial_loss:.3f}); a working loop gets below 0.25. Give the raw outputs (logits) to "
        "nn.CrossEntropyLoss, with no softmax, and use Adam with lr=0.01 (or SGD with lr=0.1 and momentum=0.9)",
    )
    expect(
        isinstance(result, (list, tuple)),
        f"train should return the list of the mean losses of each epoch, not {type(result).__name__}",
    )
    if any(isinstance(value, torch.Tensor) for value in result):
        raise Mismatch(
            "the list holds tensors: append plain numbers with loss.item(), otherwise every batch's graph stays "
            "in memory"
        )
    expect(
        len(result) == _LOOP_EPOCHS,
        f"train returned {len(result)} values for {_LOOP_EPOCHS} epochs: one mean loss per epoch",
    )
    losses = [as_number(value, "each epoch's loss") for value in result]
    if math.isclose(losses[-1], final_loss * len(labels), rel_tol=0.5):
        raise Mismatch("the epoch losses are totals, not means: divide by the number of examples")
    expect(
        losses[-1] < losses[0] and 0 < losses[-1] < 2 * initial_loss,
        f"the returned losses go from {losses[0]:.3f} to {losses[-1]:.3f}; they should be the mean training loss "
        "of each epoch, falling",
    )
    return (
        f"The cross-entropy fell from {initial_loss:.2f} to {final_loss:.2f} in {_LOOP_EPOCHS} epochs; "
        "this loop is what utils.train_one_epoch does for the later notebooks."
    )
