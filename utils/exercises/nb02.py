"""Exercise checks for notebook 02 (autograd)."""

from __future__ import annotations

import functools
import itertools
import math

import torch

from utils.checks import Mismatch, as_float_tensor, as_number, call, exercise, expect, expect_close, expect_tensor

NOTEBOOK = "02_autograd"


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Autograd needs to know which input to track: create that input as a tensor that requires "
            "gradients, compute g from it, and let PyTorch go backwards from the result."
        ),
        (
            "Three steps: make x = 1.5 as a tensor with requires_grad=True; compute g = x**3 - 2x from it and "
            "call .backward() on g; the slope is then waiting in x.grad."
        ),
    ],
)
def slope(slope) -> str:
    if slope is None:
        raise Mismatch("slope is None: .grad stays None until you call .backward() on the result of g")
    value = as_number(slope, "slope")
    if math.isclose(value, 1.5**3 - 3, abs_tol=1e-4):
        raise Mismatch(
            "slope is 0.375, the value g(1.5) itself; the slope is what .backward() stores in .grad of the input"
        )
    expect_close(value, 3 * 1.5**2 - 2, name="slope")
    return "g'(1.5) = 3 * 1.5**2 - 2 = 4.75."


def _two_to_three(x: torch.Tensor) -> torch.Tensor:
    """3 numbers in, 2 out: a Jacobian that is not square, so a transposed one has the wrong shape."""
    return torch.stack([x[0] * x[1] + x[2].sin(), x[0] ** 2 - 3 * x[2]])


def _square(x: torch.Tensor) -> torch.Tensor:
    """3 numbers in, 3 out, with a Jacobian that is not symmetric, so a transposed one is wrong."""
    return torch.stack([x[0] * x[1], x[1].exp() + 2 * x[2], x[2] ** 3 - x[0]])


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Row i of the Jacobian is the vector-Jacobian product with v = e_i, a vector of zeros with a 1 at "
            "position i. Compute f(x) once from a copy of x that records, then ask autograd for one such "
            "product per output and put the rows together."
        ),
        (
            "Make x record with x.detach().requires_grad_(), compute y = f(x), then loop over i in range(len(y)): "
            "build one_hot = torch.zeros_like(y) with one_hot[i] = 1 and get the row with "
            "torch.autograd.grad(y, x, grad_outputs=one_hot, retain_graph=True), which returns a tuple with one "
            "gradient per input. torch.stack the rows into a tensor of shape (len(y), len(x))."
        ),
    ],
)
def jacobian_rows(jacobian_rows) -> str:
    cases = [
        (_two_to_three, torch.tensor([0.5, -1.2, 0.8], dtype=torch.float64), "f with 3 inputs and 2 outputs"),
        (_square, torch.tensor([0.3, 0.7, -0.4], dtype=torch.float64), "f with 3 inputs and 3 outputs"),
    ]
    for f, x, description in cases:
        expected = torch.autograd.functional.jacobian(f, x)
        try:
            result = call(jacobian_rows, f, x)
        except Mismatch as error:
            if "second time" in str(error):
                raise Mismatch(
                    "the second backward pass found the graph already freed: ask the first passes to keep it "
                    "with retain_graph=True"
                ) from None
            if "does not require grad" in str(error):
                raise Mismatch(
                    "autograd was asked for a gradient of something that records nothing: the x you receive "
                    "does not require gradients, so compute f from a copy of x that does"
                ) from None
            raise
        result = expect_tensor(result, name=f"the result for {description}")
        rows, columns = expected.shape
        if tuple(result.shape) == (columns, rows) and rows != columns:
            raise Mismatch(
                f"for {description} the result has shape {tuple(result.shape)}, expected {(rows, columns)}: "
                "it looks transposed; row i holds the derivatives of output i, one column per input"
            )
        expect(
            tuple(result.shape) == (rows, columns),
            f"for {description} the result has shape {tuple(result.shape)}, expected {(rows, columns)}: "
            "one row per output, one column per input",
        )
        result = result.detach().double()
        close = functools.partial(torch.allclose, result, rtol=1e-6, atol=1e-9)  # is the result this mistake?
        if close(expected):
            continue
        if rows == columns and close(expected.T):
            raise Mismatch(f"for {description} the result is transposed: row i holds the derivatives of output i")
        if close(expected.sum(0).expand(rows, columns)):
            raise Mismatch(
                f"for {description} every row is the gradient of y.sum(), which is what grad_outputs of ones "
                "gives: use a one-hot vector, with the 1 at position i for row i"
            )
        if close(expected.cumsum(0)):
            raise Mismatch(
                f"for {description} row i holds the sum of rows 0 to i: x.grad accumulates over the backward "
                "passes; clear it before each one, or use torch.autograd.grad, which leaves .grad alone"
            )
        expect_close(result, expected, name=f"the Jacobian for {description}", rtol=1e-6, atol=1e-9)
    return "Each backward pass gave one row: the vector-Jacobian product with a one-hot vector."


def _sigmoid(number: float) -> float:
    return 1 / (1 + math.exp(-number))


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Follow the shape of Value.tanh: compute the number, wrap it in a new Value that remembers v as "
            "its parent, and give that Value a backward step that passes the gradient on to v, using the "
            "derivative s * (1 - s)."
        ),
        (
            "Compute s from v.data with math.exp. Create out = Value(s, (v,)). Define a function backward_step() "
            "that adds s * (1 - s) * out.grad to v.grad with += (never =), assign it to out.backward_step, "
            "and return out."
        ),
        (
            "Another way that also works: build the sigmoid from operations Value already has, "
            "1 / (1 + (-v).exp()); every piece then brings its own backward step."
        ),
    ],
)
def value_sigmoid(value_sigmoid, *value_class) -> str:
    # The Value class is taken as *value_class, not value_class=None, because Exercise.check counts the
    # required parameters and would refuse the two-answer call: a check without Value gets this message.
    expect(
        len(value_class) == 1 and isinstance(value_class[0], type),
        "pass the Value class as the second argument: ex.value_sigmoid.check(value_sigmoid, Value)",
    )
    (value_class,) = value_class
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


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Do what the notebook did for the line, with one more parameter: write the error of each point, "
            "then apply the chain rule once per parameter. Each derivative is a sum over the points."
        ),
        (
            "With the errors e = p0 x² + p1 x + p2 - y, the derivative of e² with respect to a parameter is "
            "2 e times the derivative of e: x² for p0, x for p1, 1 for p2. Sum each over the points and put "
            "the three numbers into one tensor with torch.stack, in the order p0, p1, p2."
        ),
    ],
)
def quadratic_gradients(quadratic_gradients) -> str:
    for n, seed in ((12, 3), (5, 4)):
        params, x, y = _quadratic_data(n, seed)
        expected = _autograd_quadratic(params, x, y)
        result = as_float_tensor(call(quadratic_gradients, params, x, y), "the result")
        expect(
            tuple(result.shape) == (3,),
            f"the result has shape {tuple(result.shape)}, expected (3,): one number per parameter",
        )

        close = functools.partial(torch.allclose, result, rtol=1e-4, atol=1e-6)  # is the result this mistake?
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
        if not close(expected) and any(close(expected[list(order)]) for order in itertools.permutations(range(3))):
            raise Mismatch(
                "the three gradients are right but in the wrong places: return [dL/dp0, dL/dp1, dL/dp2], where "
                "p0 multiplies x², p1 multiplies x and p2 is the constant"
            )
        expect_close(result, expected, name=f"the gradient for {n} points", rtol=1e-4, atol=1e-6)
    return "Your hand-derived gradient matches autograd."


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


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Treat one element of x at a time: evaluate f a little above and a little below x in that element "
            "only, and divide the change by the distance between the two. Never nudge x itself: build new "
            "tensors."
        ),
        (
            "Loop over i in range(x.numel()). Build a step tensor of zeros with eps at element i (make it flat, "
            "set element i, reshape to x.shape), then compute (f(x + step) - f(x - step)) / (2 * eps). Collect "
            "the numbers in a flat tensor and reshape it to x.shape at the end."
        ),
    ],
)
def numerical_gradient(numerical_gradient) -> str:
    # x holds 1.0 on purpose: 1.0 + 1e-3 - 1e-3 is not exactly 1.0 in float64, so an answer that nudges x in
    # place and undoes the nudge by subtracting hears that x came back only up to rounding.
    cases = [
        (_sum_of_squares, torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64), "(x**2).sum()"),
        (_mixed, torch.tensor([[0.3, -0.7], [1.1, 0.4]], dtype=torch.float64), "a function of a 2x2 tensor"),
    ]
    eps = 1e-3
    for f, x, description in cases:
        result = expect_tensor(call(numerical_gradient, f, x, eps=eps), name=f"the result for {description}")
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
