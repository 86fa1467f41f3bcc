"""Exercise checks for notebook 03 (nn.Module).

Checks that build modules do so inside ``torch.random.fork_rng``, so that checking an answer
does not change the random numbers the rest of the notebook draws.
"""

from __future__ import annotations

import torch
from torch import nn

from utils.checks import Exercise, Mismatch, call, expect, expect_close, expect_tensor

NOTEBOOK = "03_nn_module"

# --------------------------------------------------------------------------- n_params

_LAYERS = [(784, 128), (128, 10)]


def _check_n_params(n_params) -> str:
    if isinstance(n_params, torch.Tensor) and n_params.numel() == 1:
        n_params = n_params.item()
    expect(
        isinstance(n_params, (int, float)) and not isinstance(n_params, bool),
        f"n_params should be a number, not {type(n_params).__name__}",
    )
    weights = sum(i * o for i, o in _LAYERS)
    biases = sum(o for _, o in _LAYERS)
    if n_params == weights:
        raise Mismatch(f"{n_params:,} counts the weights only: each layer also has one bias per output")
    if n_params == _LAYERS[0][0] * _LAYERS[0][1] + _LAYERS[0][1]:
        raise Mismatch(f"{n_params:,} is the first layer alone: add the second layer's weights and biases")
    if n_params == weights + sum(i for i, _ in _LAYERS):
        raise Mismatch("the biases were counted per input; a layer has one bias per output")
    expect(
        n_params == weights + biases,
        f"n_params is {n_params:,}, which is not the number of parameters: for each layer count its weights "
        "(inputs x outputs) and its biases (one per output), then add the two layers",
    )
    return f"784 x 128 + 128 + 128 x 10 + 10 = {weights + biases:,} parameters."


n_params = Exercise(
    NOTEBOOK,
    "n_params",
    _check_n_params,
    hint="nn.Linear(i, o) has a weight of shape (o, i), so i * o numbers, and a bias with o numbers. Do this "
    "for both layers and add everything up.",
)

# --------------------------------------------------------------------------- ResidualBlock


def _check_residual_block(residual_block_class) -> str:
    expect(
        isinstance(residual_block_class, type) and issubclass(residual_block_class, nn.Module),
        "ResidualBlock should be a class that subclasses nn.Module",
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for dim in (4, 3):
            block = call(residual_block_class, dim)
            count = sum(p.numel() for p in block.parameters())
            expect(
                count > 0,
                "the block has no parameters: assign the layers as attributes (self.first = nn.Linear(dim, dim)) "
                "after super().__init__()",
            )
            for name in ("first", "second"):
                layer = getattr(block, name, None)
                expect(
                    isinstance(layer, nn.Linear),
                    f"the block has no nn.Linear called self.{name}; name the layers first and second",
                )
                expect(
                    (layer.in_features, layer.out_features) == (dim, dim),
                    f"ResidualBlock({dim}).{name} is nn.Linear({layer.in_features}, {layer.out_features}), "
                    f"expected nn.Linear({dim}, {dim})",
                )
            expect(
                count == 2 * (dim * dim + dim),
                f"ResidualBlock({dim}) has {count} parameters, expected {2 * (dim * dim + dim)} (two nn.Linear({dim}, {dim}))",
            )
            x = torch.randn(5, dim)
            with torch.no_grad():
                out = call(block, x)
                out = expect_tensor(
                    out, shape=(5, dim), name=f"ResidualBlock({dim}) applied to a batch of shape (5, {dim})"
                )
                inner = block.second(torch.relu(block.first(x)))
                if torch.allclose(out, inner, atol=1e-6):
                    raise Mismatch("the output is second(relu(first(x))): add the input x to it (the skip connection)")
                if torch.allclose(out, x + block.second(block.first(x)), atol=1e-6):
                    raise Mismatch("the output has no ReLU between the two layers: x + second(relu(first(x)))")
                if torch.allclose(out, torch.relu(x + block.second(block.first(x))), atol=1e-6):
                    raise Mismatch("the ReLU goes between the two layers, not after the addition")
                expect_close(out, x + inner, name=f"ResidualBlock({dim})(x)", atol=1e-5)
    return "x + second(relu(first(x))), with 2 x (dim * dim + dim) parameters."


ResidualBlock = Exercise(
    NOTEBOOK,
    "ResidualBlock",
    _check_residual_block,
    hint="Follow TinyNet above: in __init__, after super().__init__(), assign the two layers as attributes "
    "(self.first = nn.Linear(dim, dim), and self.second the same way). In forward, apply first, then "
    "torch.relu, then second, and add x to the result.",
)

# --------------------------------------------------------------------------- xor_weights


def _as_float_tensor(value, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().float()
    try:
        return torch.tensor(value, dtype=torch.float32)
    except (TypeError, ValueError):
        raise Mismatch(f"{name} should be a tensor (or a list of numbers), not {type(value).__name__}") from None


def _check_xor_weights(W1, b1, W2, b2) -> str:  # noqa: N803 (the names of the exercise)
    W1, b1 = _as_float_tensor(W1, "W1"), _as_float_tensor(b1, "b1").reshape(-1)
    W2, b2 = _as_float_tensor(W2, "W2"), _as_float_tensor(b2, "b2").reshape(-1)
    expect(
        W1.dim() == 2 and W1.shape[1] == 2,
        f"W1 has shape {tuple(W1.shape)}, expected (hidden, 2): one row per hidden neuron, one column per input",
    )
    hidden = W1.shape[0]
    expect(b1.numel() == hidden, f"b1 has {b1.numel()} numbers but W1 has {hidden} rows: one bias per hidden neuron")
    expect(
        W2.numel() == hidden,
        f"W2 has {W2.numel()} numbers, expected {hidden}: one weight per hidden neuron, shape (1, {hidden})",
    )
    expect(b2.numel() == 1, f"b2 has {b2.numel()} numbers, expected 1: there is one output neuron")
    inputs = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    targets = [0, 1, 1, 0]
    hidden_out = (inputs @ W1.T + b1 > 0).float()
    outputs = (hidden_out @ W2.reshape(1, hidden).T + b2 > 0).long().reshape(-1).tolist()
    if outputs == [0, 1, 1, 1]:
        raise Mismatch("the network computes OR: (1, 1) must give 0. Subtract what an AND neuron detects")
    if outputs == [0, 0, 0, 1]:
        raise Mismatch("the network computes AND; XOR is 1 when exactly one input is 1")
    wrong = [
        f"{tuple(int(v) for v in point)} gives {got}"
        for point, got, want in zip(inputs, outputs, targets)
        if got != want
    ]
    expect(not wrong, f"XOR gives 0, 1, 1, 0, but your network: {'; '.join(wrong)}")
    return "Two lines (OR and AND) and one neuron to combine them: XOR."


xor_weights = Exercise(
    NOTEBOOK,
    "xor_weights",
    _check_xor_weights,
    hint="Both hidden neurons can use weights (1, 1), so they see x1 + x2, which is 0, 1 or 2. With bias -0.5 a "
    "neuron fires when x1 + x2 > 0.5 (OR); which bias makes it fire only when x1 + x2 = 2 (AND)? The output "
    "neuron must fire when OR is 1 and AND is 0: give OR a positive weight, AND a negative one, and choose its "
    "bias so that h = (1, 0) fires but h = (0, 0) and h = (1, 1) do not.",
)

# --------------------------------------------------------------------------- init_weights


def _check_init_weights(init_weights) -> str:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(400, 300), nn.ReLU(), nn.Linear(300, 10), nn.Tanh())
        for module in model.modules():  # what model.apply(init_weights) does
            call(init_weights, module)
    for index in (0, 2):
        layer = model[index]
        fan_in, fan_out = layer.in_features, layer.out_features
        expect(
            torch.count_nonzero(layer.bias) == 0,
            f"the biases of nn.Linear({fan_in}, {fan_out}) are not all zero",
        )
        weight = layer.weight.detach()
        std, mean = weight.std().item(), weight.mean().item()
        target = (2 / fan_in) ** 0.5
        if std == 0:
            raise Mismatch(f"the weights of nn.Linear({fan_in}, {fan_out}) are all equal: draw them at random")
        tolerance = 0.03 if weight.numel() > 10_000 else 0.08  # the sampling error of the estimate
        if abs(std - target) > tolerance * target:
            if abs(std - (1 / fan_in) ** 0.5) < tolerance * target:
                problem = "that is sqrt(1 / fan_in): the He scale has a 2 in it"
            elif abs(std - (2 / fan_out) ** 0.5) < tolerance * target:
                problem = "that is sqrt(2 / fan_out): fan_in is the number of inputs, in_features"
            elif abs(std - 2 / fan_in) < tolerance * target:
                problem = "that is 2 / fan_in, the variance: the standard deviation is its square root"
            else:
                problem = "check the formula sqrt(2 / fan_in)"
            raise Mismatch(
                f"the weights of nn.Linear({fan_in}, {fan_out}) have standard deviation {std:.4f}, expected about "
                f"{target:.4f} = sqrt(2 / {fan_in}); {problem}"
            )
        expect(
            abs(mean) < 0.1 * target, f"the weights of nn.Linear({fan_in}, {fan_out}) have mean {mean:.4f}, expected 0"
        )
        expect(
            layer.weight.requires_grad, "the weights no longer require gradients: change them in place, in no_grad()"
        )
    return "He-normal weights and zero biases in every linear layer."


init_weights = Exercise(
    NOTEBOOK,
    "init_weights",
    _check_init_weights,
    hint="Act only when isinstance(module, nn.Linear). fan_in is module.in_features. Inside torch.no_grad(), the "
    "in-place methods tensor.normal_(mean, std) and tensor.zero_() change a parameter without replacing it, "
    "which is what model.apply needs (assigning a new tensor to module.weight fails).",
)
