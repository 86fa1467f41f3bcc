import torch
import torch.nn.functional as F
from torch import nn

from tests.exercise_cases import Case, not_implemented


def _masked_mse_indexing(p, t):
    present = ~torch.isnan(t)
    return ((p[present] - t[present]) ** 2).mean()


def _masked_mse_nan_to_num(p, t):
    # replace the NaNs before subtracting, then weight: finite everywhere, so the gradient is too
    present = (~torch.isnan(t)).float()
    return (((p - t.nan_to_num()) ** 2) * present).sum() / present.sum()


def _masked_mse_where(p, t):
    present = ~torch.isnan(t)
    return torch.where(present, (p - t) ** 2, 0.0).sum() / present.sum()


def _bce_softplus(z, y):
    return (F.softplus(z) - y * z).mean()


def _bce_explicit(z, y):
    # max(z, 0) - z y + log(1 + exp(-|z|)): the textbook stable form
    return (z.clamp(min=0) - z * y + torch.log1p(torch.exp(-z.abs()))).mean()


def _bce_naive(z, y):
    p = torch.sigmoid(z)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()


def _bce_clamped(z, y):
    p = torch.sigmoid(z)
    return -(y * torch.log(p).clamp(min=-100) + (1 - y) * torch.log(1 - p).clamp(min=-100)).mean()


def _ce_logsumexp(z, t):
    return (torch.logsumexp(z, dim=1) - z.gather(1, t.unsqueeze(1)).squeeze(1)).mean()


def _ce_one_hot(z, t):
    return -(F.one_hot(t, z.shape[1]) * F.log_softmax(z, dim=1)).sum(dim=1).mean()


def _ce_naive(z, t):
    p = z.exp() / z.exp().sum(dim=1, keepdim=True)
    return -p[torch.arange(len(t)), t].log().mean()


def _ce_softmax_log(z, t):
    return -torch.softmax(z, dim=1).log()[torch.arange(len(t)), t].mean()


def _loop(
    make_optimizer=lambda parameters: torch.optim.Adam(parameters, lr=0.01),
    zero_grad=True,
    backward=True,
    step=True,
    zero_between=False,
    tensors=False,
    one_epoch=False,
    one_batch=False,
    totals=False,
):
    """A training loop, correct by default; each flag makes one typical mistake."""

    def train(model, loader, epochs):
        loss_fn = nn.CrossEntropyLoss()
        optimizer = make_optimizer(model.parameters())
        model.train()
        losses = []
        for _ in range(1 if one_epoch else epochs):
            total, count = 0.0, 0
            for inputs, targets in loader[:1] if one_batch else loader:
                outputs = model(inputs)
                loss = loss_fn(outputs, targets)
                if zero_grad and not zero_between:
                    optimizer.zero_grad()
                if backward:
                    loss.backward()
                if zero_between:
                    optimizer.zero_grad()
                if step:
                    optimizer.step()
                total = total + (loss.detach() if tensors else loss.item()) * len(targets)
                count += len(targets)
            losses.append(total if totals else total / count)
        return losses

    return train


def _loop_with_dataset_sizes(model, loader, epochs):  # also right: zero_grad after step, SGD with momentum
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = []
    for _ in range(epochs):
        batch_losses = []
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=False)
            batch_losses.append(loss.item())
        history.append(sum(batch_losses) / len(batch_losses))
    return history


def _loop_normalises_in_place(model, loader, epochs):
    for inputs, _ in loader:
        inputs -= inputs.mean(dim=0)
    return _loop()(model, loader, epochs)


def _nesterov_torch_style(p, g, v, lr, momentum):
    v = momentum * v + g
    return p - lr * (g + momentum * v), v


def _nesterov_unrolled(p, g, v, lr, momentum):
    # The same step written out: lr (1 + m) g + lr m^2 v_old.
    return p - lr * (1 + momentum) * g - lr * momentum**2 * v, momentum * v + g


def _nesterov_in_place(p, g, v, lr, momentum):
    v.mul_(momentum).add_(g)
    p.sub_(lr * (g + momentum * v))
    return p, v


CASES = {
    "masked_mse": Case(
        correct=[
            _masked_mse_indexing,
            lambda p, t: F.mse_loss(p[~t.isnan()], t[~t.isnan()]),
            _masked_mse_nan_to_num,
            lambda p, t: (p - t)[~torch.isnan(t)].pow(2).sum() / (~torch.isnan(t)).sum(),
        ],
        wrong=[
            (lambda p, t: ((p - t) ** 2).mean(), "is NaN"),
            (lambda p, t: ((p - t) ** 2).nansum() / p.numel(), "divides by all 18"),
            (_masked_mse_where, "gradient"),
            (lambda p, t: ((p - t) ** 2).nansum(), "sum of the squared errors"),
            (lambda p, t: _masked_mse_indexing(p, t).sqrt(), "square root"),
            (lambda p, t: (p - t)[~t.isnan()].abs().mean(), "mean absolute error"),
            (lambda p, t: (p - t) ** 2, "one loss per element"),
            (lambda p, t: _masked_mse_indexing(p, t).item(), "Python float"),
            (lambda p, t: _masked_mse_indexing(p.detach(), t), "not connected"),
            (lambda p, t: t.nan_to_num_().sub(p).pow(2).mean(), "in place"),
            (lambda p, t: _masked_mse_indexing(p, t) + 0.1, "expected"),
            (lambda p, t: undefined_name, "NameError"),  # noqa: F821
        ],
        stub=not_implemented,
    ),
    "bce_with_logits": Case(
        correct=[
            lambda z, y: -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)).mean(),
            _bce_softplus,
            _bce_explicit,
            lambda z, y: F.binary_cross_entropy_with_logits(z, y),
        ],
        wrong=[
            (_bce_naive, "rounds to 1.0"),
            (_bce_clamped, "for logits of ±100"),
            (lambda z, y: (y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)).mean(), "minus sign"),
            (lambda z, y: -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)).sum(), "times too large"),
            (lambda z, y: -((1 - y) * F.logsigmoid(z) + y * F.logsigmoid(-z)).mean(), "swapped"),
            (lambda z, y: -(y * F.logsigmoid(-z) + (1 - y) * F.logsigmoid(z)).mean(), "swapped"),
            (lambda z, y: -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)), "one loss per element"),
            (lambda z, y: -(y * F.logsigmoid(z)).mean(), "expected"),
        ],
        stub=not_implemented,
    ),
    "cross_entropy": Case(
        correct=[
            lambda z, t: -F.log_softmax(z, dim=1)[torch.arange(len(t)), t].mean(),
            _ce_logsumexp,
            _ce_one_hot,
            lambda z, t: F.nll_loss(F.log_softmax(z, dim=1), t),
        ],
        wrong=[
            (lambda z, t: -F.log_softmax(z, dim=1)[:, t].mean(), "(6, 6) table"),
            (lambda z, t: -F.log_softmax(z, dim=1)[torch.arange(len(t)), t].sum(), "times too large"),
            (lambda z, t: F.log_softmax(z, dim=1)[torch.arange(len(t)), t].mean(), "negative"),
            (lambda z, t: -F.log_softmax(z, dim=1).mean(), "every class"),
            (lambda z, t: -torch.softmax(z, dim=1)[torch.arange(len(t)), t].mean(), "negative"),
            (lambda z, t: 1 - torch.softmax(z, dim=1)[torch.arange(len(t)), t].mean(), "expected"),
            (_ce_naive, "gives nan"),
            (_ce_softmax_log, "gives inf"),
            (lambda z, t: -F.log_softmax(z, dim=0)[torch.arange(len(t)), t].mean(), "over the batch (dim=0)"),
            (lambda z, t: F.nll_loss(F.log_softmax(z, dim=0), t), "dim=1 (or dim=-1)"),
            (lambda z, t: -F.log_softmax(z, dim=1).gather(1, t).mean(), "targets.unsqueeze(1)"),
            (lambda z, t: -F.log_softmax(z, dim=1)[torch.arange(len(t)), t], "one loss per element"),
        ],
        stub=not_implemented,
    ),
    "momentum_step": Case(
        correct=[_nesterov_torch_style, _nesterov_unrolled],
        wrong=[
            (lambda p, g, v, lr, m: (p - lr * (m * v + g), m * v + g), "classical momentum"),
            (lambda p, g, v, lr, m: (p - lr * g, m * v + g), "plain SGD"),
            (lambda p, g, v, lr, m: (p - lr * (g + m * v), m * v + g), "OLD velocity"),
            (lambda p, g, v, lr, m: (p + lr * (g + m * (m * v + g)), m * v + g), "uphill"),
            (lambda p, g, v, lr, m: (m * v + g, p - lr * (g + m * (m * v + g))), "in the order (parameter, velocity)"),
            (_nesterov_in_place, "changed its input p in place"),
            (lambda p, g, v, lr, m: p - lr * (g + m * (m * v + g)), "should return a pair"),
            (lambda p, g, v, lr, m: (p - 2 * lr * (g + m * (m * v + g)), m * v + g), "differ from torch.optim.SGD"),
            (lambda p, g, v, lr, m: (float(p.sum()), v), "new parameter"),
        ],
        stub=not_implemented,
    ),
    "train": Case(
        correct=[
            _loop(),
            _loop(make_optimizer=lambda parameters: torch.optim.SGD(parameters, lr=0.1, momentum=0.9)),
            _loop(make_optimizer=lambda parameters: torch.optim.AdamW(parameters, lr=0.01)),
            _loop_with_dataset_sizes,
        ],
        wrong=[
            (_loop(zero_grad=False), "piled up"),
            (_loop(step=False), "never changed"),
            (_loop(zero_between=True), "not between backward() and step()"),
            (_loop(backward=False), "no gradient ever reached"),
            (_loop(one_epoch=True), "went over the data once"),
            (_loop(one_batch=True), "one step per epoch"),
            (_loop(make_optimizer=lambda parameters: torch.optim.SGD(parameters, lr=0.001)), "below 0.25"),
            (_loop(tensors=True), "holds tensors"),
            (_loop(totals=True), "totals, not means"),
            (lambda model, loader, epochs: _loop()(model, loader, epochs)[-1], "list of the mean losses"),
            (_loop_normalises_in_place, "in place"),
        ],
        stub=not_implemented,
    ),
}
