import math

import torch

from tests.exercise_cases import Args, Case, not_implemented


class Value:
    """The scalar autograd engine of notebook 02 (the checks receive the learner's own copy)."""

    def __init__(self, data, parents=()):
        self.data, self.grad, self.parents = float(data), 0.0, parents
        self.backward_step = lambda: None

    @staticmethod
    def wrap(other):
        return other if isinstance(other, Value) else Value(other)

    def _unary(self, data, derivative):
        out = Value(data, (self,))

        def backward_step():
            self.grad += derivative * out.grad

        out.backward_step = backward_step
        return out

    def __add__(self, other):
        other = Value.wrap(other)
        out = Value(self.data + other.data, (self, other))

        def backward_step():
            self.grad += out.grad
            other.grad += out.grad

        out.backward_step = backward_step
        return out

    def __mul__(self, other):
        other = Value.wrap(other)
        out = Value(self.data * other.data, (self, other))

        def backward_step():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out.backward_step = backward_step
        return out

    def __pow__(self, n):
        return self._unary(self.data**n, n * self.data ** (n - 1))

    def exp(self):
        return self._unary(math.exp(self.data), math.exp(self.data))

    def tanh(self):
        return self._unary(math.tanh(self.data), 1 - math.tanh(self.data) ** 2)

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * Value.wrap(other) ** -1

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other):
        return Value.wrap(other) - self

    def __rtruediv__(self, other):
        return Value.wrap(other) / self

    def backward(self):
        order, visited = [], set()

        def visit(value):
            if value not in visited:
                visited.add(value)
                for parent in value.parents:
                    visit(parent)
                order.append(value)

        visit(self)
        self.grad = 1.0
        for value in reversed(order):
            value.backward_step()


def _sigmoid_reference(v):
    s = 1 / (1 + math.exp(-v.data))
    out = Value(s, (v,))

    def backward_step():
        v.grad += s * (1 - s) * out.grad

    out.backward_step = backward_step
    return out


def _sigmoid_from_parts(v):
    return 1 / (1 + (-v).exp())


def _sigmoid_with_tanh(v):  # sigmoid(v) = (1 + tanh(v / 2)) / 2
    return ((v * 0.5).tanh() + 1) * 0.5


def _sigmoid_overwrites(v):
    s = 1 / (1 + math.exp(-v.data))
    out = Value(s, (v,))

    def backward_step():
        v.grad = s * (1 - s) * out.grad

    out.backward_step = backward_step
    return out


def _sigmoid_without_parents(v):
    s = 1 / (1 + math.exp(-v.data))
    out = Value(s)

    def backward_step():
        v.grad += s * (1 - s) * out.grad

    out.backward_step = backward_step
    return out


def _sigmoid_without_backward(v):
    return Value(1 / (1 + math.exp(-v.data)), (v,))


def _sigmoid_wrong_derivative(v):
    s = 1 / (1 + math.exp(-v.data))
    out = Value(s, (v,))

    def backward_step():
        v.grad += s * out.grad

    out.backward_step = backward_step
    return out


def _quadratic(params, x, y):
    error = params[0] * x**2 + params[1] * x + params[2] - y
    return torch.stack([2 * (error * x**2).sum(), 2 * (error * x).sum(), 2 * error.sum()])


def _quadratic_matrix(params, x, y):
    features = torch.stack([x**2, x, torch.ones_like(x)], dim=1)
    return 2 * features.T @ (features @ params - y)


def _numerical(f, x, eps=1e-6):
    gradient = torch.zeros(x.numel(), dtype=x.dtype)
    for i in range(x.numel()):
        step = torch.zeros(x.numel(), dtype=x.dtype)
        step[i] = eps
        step = step.reshape(x.shape)
        gradient[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return gradient.reshape(x.shape)


def _numerical_in_place(f, x, eps=1e-6):  # nudges x itself and puts it back: fine
    gradient = torch.zeros_like(x)
    flat, flat_gradient = x.view(-1), gradient.view(-1)
    for i in range(flat.numel()):
        original = flat[i].item()
        flat[i] = original + eps
        plus = f(x).item()
        flat[i] = original - eps
        minus = f(x).item()
        flat[i] = original
        flat_gradient[i] = (plus - minus) / (2 * eps)
    return gradient


def _numerical_one_sided(f, x, eps=1e-6):
    gradient = torch.zeros(x.numel(), dtype=x.dtype)
    for i in range(x.numel()):
        step = torch.zeros(x.numel(), dtype=x.dtype)
        step[i] = eps
        gradient[i] = (f(x + step.reshape(x.shape)) - f(x)) / eps
    return gradient.reshape(x.shape)


def _numerical_flat(f, x, eps=1e-6):
    return _numerical(f, x, eps).reshape(-1)


def _numerical_forgets_to_restore(f, x, eps=1e-6):
    gradient = torch.zeros_like(x)
    flat, flat_gradient = x.view(-1), gradient.view(-1)
    for i in range(flat.numel()):
        flat[i] += eps
        plus = f(x).item()
        flat[i] -= 2 * eps
        minus = f(x).item()
        flat_gradient[i] = (plus - minus) / (2 * eps)
    return gradient


def _numerical_nudges_and_restores(f, x, eps=1e-6):  # x[i] += eps ... x[i] -= eps: back only up to rounding
    gradient = torch.zeros_like(x)
    flat, flat_gradient = x.view(-1), gradient.view(-1)
    for i in range(flat.numel()):
        flat[i] += eps
        plus = f(x).item()
        flat[i] -= 2 * eps
        minus = f(x).item()
        flat[i] += eps
        flat_gradient[i] = (plus - minus) / (2 * eps)
    return gradient


def _numerical_no_halving(f, x, eps=1e-6):
    return _numerical(f, x, eps) * 2


def _jacobian(f, x):
    x = x.detach().requires_grad_()
    y = f(x)
    rows = []
    for i in range(len(y)):
        one_hot = torch.zeros_like(y)
        one_hot[i] = 1.0
        rows.append(torch.autograd.grad(y, x, grad_outputs=one_hot, retain_graph=True)[0])
    return torch.stack(rows)


def _jacobian_with_backward(f, x):  # y.backward(v) per row, clearing x.grad each time: fine
    x = x.detach().requires_grad_()
    rows = []
    for i in range(len(f(x))):
        x.grad = None
        y = f(x)  # a fresh graph for every row, so no retain_graph is needed
        y.backward(torch.eye(len(y), dtype=y.dtype)[i])
        rows.append(x.grad.clone())
    return torch.stack(rows)


def _jacobian_accumulates(f, x):  # never clears x.grad: row i is the sum of rows 0..i
    x = x.detach().requires_grad_()
    y = f(x)
    rows = []
    for i in range(len(y)):
        y.backward(torch.eye(len(y), dtype=y.dtype)[i], retain_graph=True)
        rows.append(x.grad.clone())
    return torch.stack(rows)


def _jacobian_ones(f, x):  # grad_outputs of ones: every row is the gradient of y.sum()
    x = x.detach().requires_grad_()
    y = f(x)
    return torch.stack([torch.autograd.grad(y, x, torch.ones_like(y), retain_graph=True)[0] for _ in range(len(y))])


def _jacobian_frees_graph(f, x):  # no retain_graph: the second pass finds the graph freed
    x = x.detach().requires_grad_()
    y = f(x)
    return torch.stack([torch.autograd.grad(y, x, torch.eye(len(y), dtype=y.dtype)[i])[0] for i in range(len(y))])


def _jacobian_no_requires_grad(f, x):  # autograd on an x that records nothing
    y = f(x)
    return torch.stack([torch.autograd.grad(y, x, torch.eye(len(y), dtype=y.dtype)[i])[0] for i in range(len(y))])


CASES = {
    "slope": Case(
        correct=[torch.tensor(4.75), 4.75, torch.tensor([4.75]), torch.tensor(4.75, dtype=torch.float64)],
        wrong=[
            (None, "is None"),
            (torch.tensor(0.375), "g(1.5)"),
            (torch.tensor(6.75), "expected 4.75"),
            (torch.tensor([4.75, 4.75]), "single number"),
            ("4.75?", "is the text"),
        ],
    ),
    "jacobian_rows": Case(
        correct=[
            _jacobian,
            _jacobian_with_backward,
            lambda f, x: torch.autograd.functional.jacobian(f, x),
            lambda f, x: _jacobian(f, x).float(),
        ],
        wrong=[
            (lambda f, x: _jacobian(f, x).T, "looks transposed"),
            (lambda f, x: _jacobian(f, x) if len(f(x)) == 2 else _jacobian(f, x).T, "is transposed"),
            (_jacobian_ones, "gradient of y.sum()"),
            (_jacobian_accumulates, "accumulates"),
            (_jacobian_frees_graph, "retain_graph=True"),
            (_jacobian_no_requires_grad, "does not require gradients"),
            (lambda f, x: _jacobian(f, x).reshape(-1), "one row per output"),
            (lambda f, x: _jacobian(f, x) * 2, "differs"),
            (lambda f, x: _jacobian(f, x).tolist(), "should be a torch.Tensor"),
        ],
        stub=not_implemented,
    ),
    "value_sigmoid": Case(
        correct=[
            Args((_sigmoid_reference, Value)),
            Args((_sigmoid_from_parts, Value)),
            Args((_sigmoid_with_tanh, Value)),
        ],
        wrong=[
            (Args((lambda v: 1 / (1 + math.exp(-v.data)), Value)), "returned float"),
            (Args((_sigmoid_without_backward, Value)), "still 0"),
            (Args((_sigmoid_overwrites, Value)), "do not overwrite"),
            (Args((_sigmoid_without_parents, Value)), "stay 0"),
            (Args((_sigmoid_wrong_derivative, Value)), "expected"),
            (Args((_sigmoid_reference, Value(1.0))), "pass the Value class"),
            (
                _sigmoid_reference,
                "pass the Value class as the second argument: ex.value_sigmoid.check(value_sigmoid, Value)",
            ),
        ],
        stub=Args((not_implemented, Value)),
    ),
    "quadratic_gradients": Case(
        correct=[
            _quadratic,
            _quadratic_matrix,
            lambda p, x, y: list(_quadratic(p, x, y)),
            lambda p, x, y: _quadratic(p, x, y).float(),
        ],
        wrong=[
            (lambda p, x, y: _quadratic(p, x, y) / 2, "half"),
            (lambda p, x, y: _quadratic(p, x, y) / len(x), "times too small"),
            (lambda p, x, y: -_quadratic(p, x, y), "wrong sign"),
            (lambda p, x, y: _quadratic(p, x, y).flip(0), "reverse order"),
            (lambda p, x, y: _quadratic(p, x, y)[[1, 0, 2]], "in the wrong places"),
            (lambda p, x, y: _quadratic(p, x, y)[:2], "expected (3,)"),
            (lambda p, x, y: _quadratic(p, x**2, y), "differs"),
        ],
        stub=not_implemented,
    ),
    "numerical_gradient": Case(
        correct=[_numerical, _numerical_in_place],
        wrong=[
            (_numerical_one_sided, "one-sided"),
            (_numerical_flat, "give it the shape of x"),
            (_numerical_forgets_to_restore, "changed its input x in place"),
            (_numerical_nudges_and_restores, "put the values back, but only up to rounding"),
            (_numerical_no_halving, "differs"),
            (lambda f, x, eps=1e-6: 0.0, "should be a torch.Tensor"),
        ],
        stub=not_implemented,
    ),
}
