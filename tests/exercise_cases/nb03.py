import torch
from torch import nn

from tests.exercise_cases import Args, Case, not_implemented


def _block(forward):
    """A ResidualBlock class with the right layers and the given forward(self, x)."""

    class Block(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.first = nn.Linear(dim, dim)
            self.second = nn.Linear(dim, dim)

    Block.forward = forward
    return Block


class _FunctionalBlock(nn.Module):  # also right: F.relu and a different order of definition
    def __init__(self, dim):
        super().__init__()
        self.second = nn.Linear(dim, dim)
        self.first = nn.Linear(dim, dim)

    def forward(self, x):
        return self.second(nn.functional.relu(self.first(x))) + x


class _ListBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.layers = [nn.Linear(dim, dim), nn.Linear(dim, dim)]

    def forward(self, x):
        return x + self.layers[1](torch.relu(self.layers[0](x)))


class _OtherNames(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim)
        self.fc2 = nn.Linear(dim, dim)

    def forward(self, x):
        return x + self.fc2(torch.relu(self.fc1(x)))


class _FixedSize(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.first = nn.Linear(4, 4)
        self.second = nn.Linear(4, 4)

    def forward(self, x):
        return x + self.second(torch.relu(self.first(x)))


class _NoSuperInit(nn.Module):  # forgets super().__init__()
    def __init__(self, dim):
        self.first = nn.Linear(dim, dim)
        self.second = nn.Linear(dim, dim)

    def forward(self, x):
        return x + self.second(torch.relu(self.first(x)))


def _overwrites_x(self, x):  # the input is lost: x + x doubles the layers' output
    x = self.second(torch.relu(self.first(x)))
    return x + x


class _StubBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        raise NotImplementedError

    def forward(self, x):
        raise NotImplementedError


def _he_normal(module):
    if isinstance(module, nn.Linear):
        with torch.no_grad():
            module.weight.normal_(0.0, (2 / module.in_features) ** 0.5)
            module.bias.zero_()


def _he_with_nn_init(module):
    if isinstance(module, nn.Linear):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        nn.init.zeros_(module.bias)


def _he_uniform(module):  # same standard deviation, uniform shape: also accepted
    if type(module) is nn.Linear:
        bound = (6 / module.in_features) ** 0.5
        with torch.no_grad():
            module.weight.uniform_(-bound, bound)
            module.bias.fill_(0.0)


def _init_with(std_of, zero_bias=True):
    def init(module):
        if isinstance(module, nn.Linear):
            with torch.no_grad():
                module.weight.normal_(0.0, std_of(module.in_features, module.out_features))
                if zero_bias:
                    module.bias.zero_()

    return init


def _init_zeros(module):
    if isinstance(module, nn.Linear):
        with torch.no_grad():
            module.weight.zero_()
            module.bias.zero_()


def _init_crashes_on_relu(module):
    with torch.no_grad():
        module.weight.normal_(0.0, (2 / module.in_features) ** 0.5)
        module.bias.zero_()


def _init_replaces_tensor(module):
    if isinstance(module, nn.Linear):
        module.weight = torch.randn(module.out_features, module.in_features) * (2 / module.in_features) ** 0.5


SHAPES = {
    "embed.weight": (8, 6),
    "embed.bias": (8,),
    "blocks.0.0.weight": (12, 8),
    "blocks.0.0.bias": (12,),
    "blocks.1.0.weight": (8, 12),
    "blocks.1.0.bias": (8,),
    "head.weight": (3, 8),
}

ONE_ONE = torch.tensor([[1.0, 1.0], [1.0, 1.0]])

CASES = {
    "state_shapes": Case(
        correct=[
            dict(SHAPES),
            {key: torch.Size(shape) for key, shape in SHAPES.items()},
            {key: list(shape) for key, shape in SHAPES.items()},
            {key: (shape[0] if len(shape) == 1 else shape) for key, shape in SHAPES.items()},  # 8 for (8,)
        ],
        wrong=[
            ({**SHAPES, "embed.weight": (6, 8)}, "(out_features, in_features)"),
            ({**SHAPES, "head.bias": (3,)}, "bias=False"),
            ({**SHAPES, "blocks.0.1.weight": (8, 8)}, "the ReLU"),
            (
                {
                    key.replace("blocks.0.0", "blocks.0").replace("blocks.1.0", "blocks.1"): s
                    for key, s in SHAPES.items()
                },
                "two positions",
            ),
            ({f"Scorer.{key}": s for key, s in SHAPES.items()}, "without the class name"),
            ({key: s for key, s in SHAPES.items() if key != "embed.bias"}, "1 key(s) missing, from embed"),
            ({**SHAPES, "blocks.1.0.bias": (12,)}, "is not right"),
            ({**SHAPES, "head.weight": "3 x 8"}, "tuple of whole numbers"),
            (list(SHAPES), "should be a dict"),
        ],
    ),
    "ResidualBlock": Case(
        correct=[
            _block(lambda self, x: x + self.second(torch.relu(self.first(x)))),
            _block(lambda self, x: x + self.second(self.first(x).clamp(min=0))),
            _FunctionalBlock,
        ],
        wrong=[
            (_block(lambda self, x: self.second(torch.relu(self.first(x)))), "skip connection"),
            (_block(lambda self, x: x + self.second(self.first(x))), "no ReLU"),
            (_block(lambda self, x: torch.relu(x + self.second(self.first(x)))), "not after the addition"),
            (_block(lambda self, x: x + self.first(torch.relu(self.second(x)))), "differs"),
            (_block(_overwrites_x), "overwrote x"),
            (_NoSuperInit, "call super().__init__() first"),
            (_ListBlock, "no parameters"),
            (_OtherNames, "name the layers first and second"),
            (_FixedSize, "expected nn.Linear(3, 3)"),
            (lambda dim: nn.Linear(dim, dim), "subclasses nn.Module"),
        ],
        stub=_StubBlock,
    ),
    "xor_weights": Case(
        correct=[
            Args((ONE_ONE, torch.tensor([-0.5, -1.5]), torch.tensor([[1.0, -1.0]]), torch.tensor([-0.5]))),
            Args(([[1, 1], [-1, -1]], [-0.5, 1.5], [[1, 1]], [-1.5])),  # OR and NAND, combined by AND
            Args(
                (
                    torch.tensor([[2.0, -2.0], [-2.0, 2.0], [0.0, 0.0]]),
                    torch.tensor([-1.0, -1.0, -1.0]),
                    torch.tensor([1.0, 1.0, 0.0]),
                    torch.tensor(-0.5),
                )
            ),  # three hidden neurons, flat W2
        ],
        wrong=[
            (
                Args((ONE_ONE, torch.tensor([-0.5, -1.5]), torch.tensor([[1.0, 0.0]]), torch.tensor([-0.5]))),
                "computes OR",
            ),
            (
                Args((ONE_ONE, torch.tensor([-0.5, -1.5]), torch.tensor([[0.0, 1.0]]), torch.tensor([-0.5]))),
                "computes AND",
            ),
            (Args((ONE_ONE, torch.tensor([-0.5, -1.5]), torch.tensor([[-1.0, 1.0]]), torch.tensor([-0.5]))), "gives 0"),
            (Args((torch.ones(2, 3), torch.zeros(2), torch.ones(1, 2), torch.zeros(1))), "expected (hidden, 2)"),
            (Args((ONE_ONE, torch.zeros(3), torch.ones(1, 2), torch.zeros(1))), "one bias per hidden neuron"),
            (Args((ONE_ONE, torch.zeros(2), torch.ones(1, 2), torch.zeros(2))), "one output neuron"),
            (Args(("W1", torch.zeros(2), torch.ones(1, 2), torch.zeros(1))), "should be a tensor"),
        ],
        stub=Args((..., ..., ..., ...)),
    ),
    "init_weights": Case(
        correct=[_he_normal, _he_with_nn_init, _he_uniform],
        wrong=[
            (_init_with(lambda i, o: (1 / i) ** 0.5), "has a 2 in it"),
            (_init_with(lambda i, o: (2 / o) ** 0.5), "fan_out"),
            (_init_with(lambda i, o: 2 / i), "square root"),
            (_init_with(lambda i, o: (2 / i) ** 0.5, zero_bias=False), "biases"),
            (_init_zeros, "all equal"),
            (_init_crashes_on_relu, "act only when the module is an nn.Linear"),
            (_init_replaces_tensor, "replaces the Parameter"),
        ],
        stub=not_implemented,
    ),
}
