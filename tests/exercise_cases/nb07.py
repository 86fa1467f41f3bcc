import torch
import torch.nn.functional as F

from tests.exercise_cases import Args, Case, not_implemented


def _kernel_at(row, column, value=1.0):
    kernel = torch.zeros(3, 3)
    kernel[row, column] = value
    return kernel


# --------------------------------------------------------------------------- conv_design answers


def _stack_features():
    """in_features computed the way a learner may check it: a dummy image through the stack."""
    stack = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, kernel_size=3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, kernel_size=3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
    )  # fmt: skip
    return stack(torch.zeros(1, 1, 28, 28)).shape[1]


# --------------------------------------------------------------------------- max_pool_by_hand answers


def _pool_reshape(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).amax(dim=(3, 5))


def _pool_slices(x):
    top = torch.maximum(x[..., ::2, ::2], x[..., ::2, 1::2])
    bottom = torch.maximum(x[..., 1::2, ::2], x[..., 1::2, 1::2])
    return torch.maximum(top, bottom)


def _pool_unfold(x):
    n, c, h, w = x.shape
    return x.unfold(2, 2, 2).unfold(3, 2, 2).reshape(n, c, h // 2, w // 2, 4).max(dim=-1).values


def _pool_wrong_reshape(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, w // 2, 4).amax(dim=-1)


def _pool_mean(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(dim=(3, 5))


def _pool_max_twice(x):
    """.max(dim=...) returns (values, indices): calling .max again on that pair fails."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(dim=3).max(dim=4)


def _pool_in_place(x):
    result = _pool_reshape(x)
    x.zero_()
    return result


# --------------------------------------------------------------------------- conv2d_unfold answers


def _conv_unfold(images, weight, bias):
    n, _, h, w = images.shape
    out_channels, _, k, _ = weight.shape
    patches = F.unfold(images, k)
    out = weight.reshape(out_channels, -1) @ patches + bias.reshape(1, -1, 1)
    return out.reshape(n, out_channels, h - k + 1, w - k + 1)


def _conv_einsum(images, weight, bias):
    n, _, h, w = images.shape
    out_channels, _, k, _ = weight.shape
    patches = F.unfold(images, k)
    out = torch.einsum("ok,nkl->nol", weight.flatten(1), patches) + bias[None, :, None]
    return out.view(n, out_channels, h - k + 1, w - k + 1)


def _conv_loops(images, weight, bias):
    n, _, h, w = images.shape
    out_channels, _, k, _ = weight.shape
    out = torch.empty(n, out_channels, h - k + 1, w - k + 1)
    for i in range(h - k + 1):
        for j in range(w - k + 1):
            patch = images[:, :, i : i + k, j : j + k]
            out[:, :, i, j] = torch.einsum("nchw,ochw->no", patch, weight) + bias
    return out


def _conv_no_bias(images, weight, bias):
    return _conv_unfold(images, weight, torch.zeros_like(bias))


def _conv_not_reshaped(images, weight, bias):
    out_channels = weight.shape[0]
    patches = F.unfold(images, weight.shape[-1])
    return weight.reshape(out_channels, -1) @ patches + bias.reshape(1, -1, 1)


def _conv_bias_not_reshaped(images, weight, bias):
    n, _, h, w = images.shape
    out_channels, _, k, _ = weight.shape
    out = weight.reshape(out_channels, -1) @ F.unfold(images, k) + bias
    return out.reshape(n, out_channels, h - k + 1, w - k + 1)


def _conv_flipped(images, weight, bias):
    return _conv_unfold(images, weight.flip(-1, -2), bias)


CASES = {
    "shift_kernel": Case(
        correct=[_kernel_at(1, 0), _kernel_at(1, 0)[None, None], torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 0, 0]])],
        wrong=[
            (_kernel_at(1, 2), "LEFT"),
            (_kernel_at(0, 1), "DOWN"),
            (_kernel_at(2, 1), "UP"),
            (_kernel_at(1, 1), "identity"),
            (_kernel_at(1, 0, 2.0), "add up to 2"),
            (torch.tensor([[0, 0, 0], [1, 0, 0], [0, 0, 0]]), "dtype torch.int64"),
            (torch.zeros(5, 5), "expected (3, 3)"),
            (torch.full((3, 3), 1 / 9), "not the image moved"),
            ([[0, 0, 0], [1, 0, 0], [0, 0, 0]], "should be a torch.Tensor"),
        ],
    ),
    "conv_design": Case(
        correct=[Args((4, 800)), Args((4.0, 32 * 5 * 5)), Args((torch.tensor(4), _stack_features()))],
        wrong=[
            (Args((2, 800)), "dilation 2 spreads"),
            (Args((8, 800)), "BOTH sides"),
            (Args((3, 800)), "26 x 26"),
            (Args((-1, 800)), "cannot be negative"),
            (Args((4.5, 800)), "whole number"),
            (Args((4, 25)), "ONE feature map"),
            (Args((4, 400)), "32 channels, not 16"),
            (Args((4, 1568)), "no padding"),
            (Args((4, 1152)), "rounds DOWN"),
            (Args((4, 512)), "not n - 3"),
            (Args((4, 801)), "layer by layer"),
            (Args((4, "800")), "without quotes"),
            (Args((4, None)), "None"),
        ],
        extra_stubs=[Args((..., ...)), Args((4, ...))],
    ),
    "max_pool_by_hand": Case(
        correct=[_pool_reshape, _pool_slices, _pool_unfold, lambda x: F.max_pool2d(x, 2)],
        wrong=[
            (_pool_wrong_reshape, "differs from F.max_pool2d"),
            (_pool_mean, "average pooling"),
            (lambda x: x[..., ::2, ::2], "differs from F.max_pool2d"),
            (lambda x: x.amax(dim=(2, 3)), "has shape"),
            (_pool_in_place, "in place"),
            (_pool_max_twice, "returns a pair (values, indices)"),
        ],
        stub=not_implemented,
    ),
    "conv2d_unfold": Case(
        correct=[_conv_unfold, _conv_einsum, _conv_loops, F.conv2d],
        wrong=[
            (_conv_no_bias, "without the bias"),
            (_conv_not_reshaped, "reshape the"),
            (_conv_flipped, "differs from F.conv2d"),
            (_conv_bias_not_reshaped, "must first become (1, out_channels, 1)"),
            (lambda images, weight, bias: images, "has shape"),
        ],
        stub=not_implemented,
    ),
}
