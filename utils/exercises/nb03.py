"""Exercise checks for notebook 03 (nn.Module)."""

from __future__ import annotations

import re

import torch
from torch import nn

from utils.checks import Mismatch, as_float_tensor, call, exercise, expect, expect_close, expect_tensor

NOTEBOOK = "03_nn_module"


class _Scorer(nn.Module):
    """The network of the exercise, as the notebook defines it (the check builds its own copy)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(6, 8)
        self.blocks = nn.ModuleList(
            [nn.Sequential(nn.Linear(8, 12), nn.ReLU()), nn.Sequential(nn.Linear(12, 8), nn.ReLU())]
        )
        self.head = nn.Linear(8, 3, bias=False)


def _as_shape(value, key: str) -> tuple[int, ...]:
    """A shape written as a tuple, a list, a torch.Size, or a bare number for a 1-D tensor."""
    if isinstance(value, bool):
        raise Mismatch(f"the shape given for {key!r} is {value!r}; write a shape as a tuple such as (8, 6)")
    if isinstance(value, int):
        return (value,)
    if isinstance(value, (tuple, list, torch.Size)) and all(
        isinstance(n, int) and not isinstance(n, bool) for n in value
    ):
        return tuple(value)
    raise Mismatch(
        f"the shape given for {key!r} is {value!r}; write a shape as a tuple of whole numbers such as (8, 6)"
    )


@exercise(
    NOTEBOOK,
    hints=[
        (
            "A key is the path of attribute names from the model down to the tensor, joined by dots; a module "
            "kept in a ModuleList or a Sequential is named by its position, counted from 0. Only layers with "
            "parameters produce keys."
        ),
        (
            "Walk down: self.embed gives embed.weight and embed.bias; blocks is a ModuleList whose items are "
            "Sequentials, so the first Linear inside the first block is blocks.0.0 (the ReLU, at position 1, "
            "has no parameters); head was made with bias=False. A weight has shape (out_features, in_features), "
            "a bias (out_features,)."
        ),
    ],
)
def state_shapes(state_shapes) -> str:
    expect(
        isinstance(state_shapes, dict),
        f"state_shapes should be a dict from each key to its shape, not a {type(state_shapes).__name__}",
    )
    expected = {key: tuple(tensor.shape) for key, tensor in _Scorer().state_dict().items()}
    keys = set(state_shapes)
    expect(
        all(isinstance(key, str) for key in keys), "the keys of state_shapes should be strings such as 'embed.weight'"
    )
    if any(re.fullmatch(r"blocks\.\d\.1\.(weight|bias)", key) for key in keys):
        raise Mismatch(
            "a key names position 1 inside a block, the ReLU: an activation has no parameters, so it has no keys"
        )
    if "head.bias" in keys:
        raise Mismatch("head was built with bias=False: it has a weight and no bias")
    if any(re.fullmatch(r"blocks\.\d\.(weight|bias)", key) for key in keys):
        raise Mismatch(
            "each item of blocks is an nn.Sequential, and its Linear sits at position 0 inside it: the key has "
            "two positions, the block's and the layer's"
        )
    if any(key.split(".")[0] not in ("embed", "blocks", "head") for key in keys):
        strays = sorted(key for key in keys if key.split(".")[0] not in ("embed", "blocks", "head"))
        raise Mismatch(
            f"unexpected keys {strays}: a key starts with the name of an attribute of the model (embed, blocks or "
            "head), without the class name"
        )
    missing = sorted(set(expected) - keys)
    unexpected = sorted(keys - set(expected))
    if missing or unexpected:
        parts = []
        if unexpected:
            parts.append(f"keys the model does not have: {unexpected}")
        if missing:
            modules = sorted({key.split(".")[0] for key in missing})
            parts.append(f"{len(missing)} key(s) missing, from {', '.join(modules)}")
        raise Mismatch("; ".join(parts))
    shapes = {key: _as_shape(value, key) for key, value in state_shapes.items()}
    transposed = [key for key in expected if shapes[key] != expected[key] and shapes[key] == expected[key][::-1]]
    if transposed:
        raise Mismatch(
            f"the shape of {transposed[0]} is written (in_features, out_features): PyTorch stores a weight as "
            "(out_features, in_features), one row per output"
        )
    wrong = [key for key in expected if shapes[key] != expected[key]]
    expect(
        not wrong,
        f"the shape of {wrong[0] if wrong else ''} is not right: a weight is (out_features, in_features) and a bias "
        "(out_features,)",
    )
    total = sum(torch.Size(shape).numel() for shape in expected.values())
    return (
        f"Seven tensors, {total} numbers. load_state_dict matches exactly these keys and shapes, which is why a "
        "renamed attribute or a changed layer size makes it fail."
    )


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Follow TinyNet above: __init__ creates the layers and stores them as attributes of self, after "
            "the parent class has been set up; forward describes the computation, and the skip connection adds "
            "the block's input to what the layers make of it."
        ),
        (
            "In __init__, after super().__init__(), assign two nn.Linear(dim, dim) layers to self.first and "
            "self.second. In forward, apply first, then torch.relu, then second, and add x to the result. "
            "Keep x under its own name: don't overwrite it with an intermediate result."
        ),
    ],
)
def ResidualBlock(residual_block_class) -> str:
    expect(
        isinstance(residual_block_class, type) and issubclass(residual_block_class, nn.Module),
        "ResidualBlock should be a class that subclasses nn.Module",
    )
    torch.manual_seed(0)
    for dim in (4, 3):
        try:
            block = call(residual_block_class, dim)
        except Mismatch as error:
            if "before Module.__init__() call" in str(error):
                raise Mismatch(
                    "ResidualBlock(dim) failed to assign a layer before the module was set up: call "
                    "super().__init__() first in __init__, before creating self.first and self.second"
                ) from None
            raise
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
            if torch.allclose(out, 2 * inner, atol=1e-6):
                raise Mismatch(
                    "the output is twice second(relu(first(x))): forward overwrote x with the layers' result "
                    "before adding it; keep the input under its own name and add that"
                )
            if torch.allclose(out, x + block.second(block.first(x)), atol=1e-6):
                raise Mismatch("the output has no ReLU between the two layers: x + second(relu(first(x)))")
            if torch.allclose(out, torch.relu(x + block.second(block.first(x))), atol=1e-6):
                raise Mismatch("the ReLU goes between the two layers, not after the addition")
            expect_close(out, x + inner, name=f"ResidualBlock({dim})(x)", atol=1e-5)
    return "x + second(relu(first(x))), with 2 x (dim * dim + dim) parameters."


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Both hidden neurons can look at the sum x1 + x2, which is 0, 1 or 2; their biases decide at which "
            "sum each one fires. The output neuron must then fire when the OR neuron fires and the AND neuron "
            "does not."
        ),
        (
            "With weights (1, 1) and bias -0.5 a neuron fires when x1 + x2 > 0.5 (OR); a bias between -2 and "
            "-1 makes it fire only for x1 + x2 = 2 (AND). Give the output neuron a positive weight for OR, a "
            "negative one for AND, and a bias such that h = (1, 0) fires but h = (0, 0) and h = (1, 1) do not."
        ),
    ],
)
def xor_weights(W1, b1, W2, b2) -> str:
    W1, b1 = as_float_tensor(W1, "W1"), as_float_tensor(b1, "b1").reshape(-1)
    W2, b2 = as_float_tensor(W2, "W2"), as_float_tensor(b2, "b2").reshape(-1)
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
    inputs = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    targets = [0, 1, 1, 0]
    hidden_out = (inputs @ W1.T + b1 > 0).double()
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


@exercise(
    NOTEBOOK,
    hints=[
        (
            "model.apply calls your function on every module, also on the ReLU and on the Sequential itself: "
            "act only on linear layers. Change their parameters in place, without autograd watching, so that "
            "they stay the same Parameter objects."
        ),
        (
            "Test isinstance(module, nn.Linear). fan_in is module.in_features. Inside torch.no_grad(), the "
            "in-place methods tensor.normal_(mean, std) with std = (2 / fan_in) ** 0.5, and tensor.zero_() "
            "for the bias, change a parameter without replacing it (assigning a plain tensor to module.weight "
            "fails)."
        ),
    ],
)
def init_weights(init_weights) -> str:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(400, 300), nn.ReLU(), nn.Linear(300, 10), nn.Tanh())
    for module in model.modules():  # what model.apply(init_weights) does
        try:
            call(init_weights, module)
        except Mismatch as error:
            if not isinstance(module, nn.Linear):
                raise Mismatch(
                    f"init_weights failed on a {type(module).__name__} ({error}): model.apply calls it on every "
                    "module, also on layers without weights and on the nn.Sequential itself; act only when the "
                    "module is an nn.Linear"
                ) from None
            if "as parameter" in str(error):
                raise Mismatch(
                    f"{error}: assigning a new tensor to module.weight replaces the Parameter; change the "
                    "existing one in place (normal_, zero_) inside torch.no_grad()"
                ) from None
            raise
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
