"""Exercise checks for notebook 02 (autograd)."""

from __future__ import annotations

import math

import torch

from utils.checks import Exercise, Mismatch, call, expect, expect_close, expect_tensor

NOTEBOOK = "02_autograd"

# --------------------------------------------------------------------------- slope


def _as_number(value, name: str) -> float:
    if value is None:
        raise Mismatch(f"{name} is None: .grad stays None until you call .backward() on the result of g")
    if isinstance(value, torch.Tensor):
        expect(value.numel() == 1, f"{name} should be a single number, but it has shape {tuple(value.shape)}")
        return float(value.detach())
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Mismatch(f"{name} should be a number or a one-element tensor, not {type(value).__name__}") from None


def _check_slope(slope) -> str:
    value = _as_number(slope, "slope")
    if math.isclose(value, 1.5**3 - 3, abs_tol=1e-4):
        raise Mismatch(
            "slope is 0.375, the value g(1.5) itself; the slope is what .backward() stores in .grad of the input"
        )
    expect_close(value, 3 * 1.5**2 - 2, name="slope")
    return "g'(1.5) = 3 * 1.5**2 - 2 = 4.75."


slope = Exercise(
    NOTEBOOK,
    "slope",
    _check_slope,
    hint="Create the input with torch.tensor(1.5, requires_grad=True), compute g from it, call .backward() "
    "on g, and read the input's .grad.",
)

# --------------------------------------------------------------------------- value_sigmoid


def _sigmoid(number: float) -> float:
    return 1 / (1 + math.exp(-number))


def _check_value_sigmoid(value_sigmoid, value_class) -> str:
    expect(
        isinstance(value_class, type),
        "pass the Value class as the second argument: ex.value_sigmoid.check(value_sigmoid, Value)",
    )
    # 1. One operation: the value and the gradient.
    for number in (-2.0, 0.0, 0.7):
        v = value_class(number)
        out = call(value_sigmoid, v)
        expect(
            isinstance(out, value_class),
            f"value_sigmoid(Value({number})) returned {type(out).__name__}; return a Value, so that gradients "
            "can flow through it",
        )
        s = _sigmoid(number)
        expect_close(out.data, s, name=f"value_sigmoid(Value({number})).data")
        call(out.backward)
        if v.grad == 0:
            raise Mismatch(
                f"after value_sigmoid(v).backward(), v.grad is still 0 (for v = Value({number})): give the new "
                "Value a backward_step that adds to v.grad"
            )
        expect_close(v.grad, s * (1 - s), name=f"v.grad after value_sigmoid(v).backward() for v = Value({number})")
    # 2. The input also feeds another operation: the gradients from both paths must add up.
    a = value_class(0.4)
    y = call(value_sigmoid, a) + a * 3
    call(y.backward)
    s = _sigmoid(0.4)
    if math.isclose(a.grad, s * (1 - s), abs_tol=1e-9):
        raise Mismatch(
            "for y = value_sigmoid(a) + 3 * a, a.grad lost the 3 from the second path: add to v.grad with +=, "
            "do not overwrite it with ="
        )
    expect_close(a.grad, s * (1 - s) + 3, name="a.grad for y = value_sigmoid(a) + 3 * a")
    # 3. The input was itself computed: backward() must get through the new Value to reach a and b.
    a, b = value_class(0.5), value_class(-1.2)
    y = call(value_sigmoid, a * b)
    call(y.backward)
    s = _sigmoid(0.5 * -1.2)
    if a.grad == 0 and b.grad == 0:
        raise Mismatch(
            "for y = value_sigmoid(a * b), a.grad and b.grad stay 0: create the output as Value(..., (v,)) so "
            "that backward() knows v is its parent and continues from v to a and b"
        )
    expect_close(a.grad, s * (1 - s) * -1.2, name="a.grad for y = value_sigmoid(a * b)")
    expect_close(b.grad, s * (1 - s) * 0.5, name="b.grad for y = value_sigmoid(a * b)")
    return "Your operation passes gradients back exactly like tanh."


value_sigmoid = Exercise(
    NOTEBOOK,
    "value_sigmoid",
    _check_value_sigmoid,
    hint="Copy the shape of Value.tanh: compute the sigmoid s of v.data with math.exp; create out = Value(s, (v,)) "
    "so that backward() knows v is its parent; give out a backward_step that adds s * (1 - s) * out.grad to "
    "v.grad (with +=); return out. (Building it from existing operations, 1 / (1 + (-v).exp()), also works: "
    "every piece then has its own backward step.)",
)

# --------------------------------------------------------------------------- quadratic_gradients


def _quadratic_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=generator, dtype=torch.float64)
    y = 0.8 * x**2 - x + 0.3 + 0.1 * torch.randn(n, generator=generator, dtype=torch.float64)
    params = torch.tensor([0.5, -1.5, 2.0], dtype=torch.float64)
    return params, x, y


def _autograd_quadratic(params, x, y) -> torch.Tensor:
    p = params.clone().requires_grad_()
    ((p[0] * x**2 + p[1] * x + p[2] - y) ** 2).sum().backward()
    return p.grad


def _as_vector(result, name: str) -> torch.Tensor:
    if isinstance(result, (list, tuple)):
        try:
            result = torch.tensor([float(v) for v in result], dtype=torch.float64)
        except (TypeError, ValueError):
            raise Mismatch(f"{name} should hold three numbers") from None
    result = expect_tensor(result, name=name)
    expect(
        tuple(result.shape) == (3,), f"{name} has shape {tuple(result.shape)}, expected (3,): one number per parameter"
    )
    return result.detach().double()


def _check_quadratic_gradients(quadratic_gradients) -> str:
    for n, seed in ((12, 3), (5, 4)):
        params, x, y = _quadratic_data(n, seed)
        expected = _autograd_quadratic(params, x, y)
        result = _as_vector(call(quadratic_gradients, params.clone(), x.clone(), y.clone()), "the result")
        close = lambda other: torch.allclose(result, other, rtol=1e-4, atol=1e-6)  # noqa: E731
        if close(expected / 2):
            raise Mismatch("the gradients are half the right size: the derivative of e**2 is 2 * e")
        if close(expected / n):
            raise Mismatch(f"the gradients are {n} times too small: the loss is a sum over the points, not a mean")
        if close(-expected):
            raise Mismatch(
                "the gradients have the wrong sign: the error is prediction minus target, p0 x^2 + p1 x + p2 - y"
            )
        if close(expected.flip(0)):
            raise Mismatch("the gradients are in reverse order: return [dL/dp0, dL/dp1, dL/dp2]")
        expect_close(result, expected, name=f"the gradient for {n} points", rtol=1e-4, atol=1e-6)
    return "Your hand-derived gradient matches autograd."


quadratic_gradients = Exercise(
    NOTEBOOK,
    "quadratic_gradients",
    _check_quadratic_gradients,
    hint="As for the line: compute the errors e = params[0] * x**2 + params[1] * x + params[2] - y. By the chain "
    "rule dL/dp0 = sum(2 * e * x**2), dL/dp1 = sum(2 * e * x), dL/dp2 = sum(2 * e). Put the three in one "
    "tensor with torch.stack([...]).",
)

# --------------------------------------------------------------------------- numerical_gradient


def _sum_of_squares(t: torch.Tensor) -> torch.Tensor:
    return (t**2).sum()


def _mixed(t: torch.Tensor) -> torch.Tensor:
    return t[0, 0] * t[1, 1].sin() + t.exp().sum()


def _one_sided(f, x: torch.Tensor, eps: float) -> torch.Tensor:
    flat = x.reshape(-1)
    result = torch.zeros_like(flat)
    for i in range(flat.numel()):
        shifted = flat.clone()
        shifted[i] += eps
        result[i] = (f(shifted.reshape(x.shape)) - f(x)) / eps
    return result.reshape(x.shape)


def _check_numerical_gradient(numerical_gradient) -> str:
    cases = [
        (_sum_of_squares, torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64), "(x**2).sum()"),
        (_mixed, torch.tensor([[0.3, -0.7], [1.1, 0.4]], dtype=torch.float64), "a function of a 2x2 tensor"),
    ]
    eps = 1e-3
    for f, x, description in cases:
        original = x.clone()
        result = call(numerical_gradient, f, x, eps=eps)
        expect(torch.equal(x, original), "numerical_gradient changed x; nudge a copy (or x + step) instead")
        result = expect_tensor(result, name=f"the result for {description}")
        expect(
            tuple(result.shape) == tuple(x.shape),
            f"for x of shape {tuple(x.shape)} the result has shape {tuple(result.shape)}: give it the shape of x",
        )
        exact = x.clone().requires_grad_()
        f(exact).backward()
        if not torch.allclose(result.detach().double(), exact.grad, rtol=0, atol=1e-5):
            if torch.allclose(result.detach().double(), _one_sided(f, x, eps), rtol=0, atol=1e-9):
                raise Mismatch(
                    f"for {description} this is the one-sided difference (f(x + eps e_i) - f(x)) / eps, off by "
                    "about eps; use the central difference (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)"
                )
            expect_close(result, exact.grad, name=f"the result for {description}", rtol=0, atol=1e-5)
    return "Central differences agree with autograd to about eps squared."


numerical_gradient = Exercise(
    NOTEBOOK,
    "numerical_gradient",
    _check_numerical_gradient,
    hint="Loop over i in range(x.numel()). For each, make step = a tensor of zeros with x.numel() elements, "
    "set step[i] = eps, reshape it to x.shape, and compute (f(x + step) - f(x - step)) / (2 * eps). Collect the "
    "numbers in a flat tensor and reshape it to x.shape at the end. x + step is a new tensor, so x is unchanged.",
)
