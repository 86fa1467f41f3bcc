"""Exercise checks for notebook 07 (convolutional neural networks)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from utils.checks import Exercise, Mismatch, call, expect, expect_tensor

NOTEBOOK = "07_cnns"

# --------------------------------------------------------------------------- shift_kernel

_DIRECTIONS = {
    (1, 0): "one pixel to the right (the correct answer)",
    (1, 2): "one pixel to the LEFT",
    (0, 1): "one pixel DOWN",
    (2, 1): "one pixel UP",
    (1, 1): "nowhere: that is the identity kernel",
}


def _check_shift_kernel(kernel) -> str:
    kernel = expect_tensor(kernel, name="shift_kernel")
    if tuple(kernel.shape) == (1, 1, 3, 3):
        kernel = kernel[0, 0]
    expect(tuple(kernel.shape) == (3, 3), f"shift_kernel has shape {tuple(kernel.shape)}, expected (3, 3)")
    expect(kernel.is_floating_point(), f"shift_kernel has dtype {kernel.dtype}; F.conv2d needs floats (write 1.0)")
    image = torch.arange(1.0, 50.0).reshape(7, 7)
    moved = F.conv2d(image[None, None], kernel.detach().cpu().float()[None, None], padding=1)[0, 0]
    expected = torch.zeros(7, 7)
    expected[:, 1:] = image[:, :-1]
    if torch.allclose(moved, expected):
        return "out[i, j] = image[i, j - 1]: every pixel moved one place to the right."
    for (row, column), where in _DIRECTIONS.items():
        single = torch.zeros(3, 3)
        single[row, column] = 1.0
        if torch.allclose(kernel.float().cpu(), single):
            raise Mismatch(
                f"this kernel moves the image {where}. F.conv2d does not flip the kernel: "
                "out[i, j] = sum over a, b of kernel[a, b] * image[i + a - 1, j + b - 1]"
            )
    total = kernel.sum().item()
    expect(
        math.isclose(total, 1.0, abs_tol=1e-6),
        f"the kernel's values add up to {total:.3g}, so it changes the image's brightness; "
        "a pure shift keeps it (sum 1)",
    )
    raise Mismatch("the output is not the image moved one pixel to the right; a shift copies exactly one pixel")


shift_kernel = Exercise(
    NOTEBOOK,
    "shift_kernel",
    _check_shift_kernel,
    hint="A kernel with a single 1 and zeros elsewhere copies one neighbour: with padding=1, out[i, j] = "
    "image[i + a - 1, j + b - 1] where kernel[a, b] = 1. To move the content right, out[i, j] must be the pixel "
    "on its left, image[i, j - 1]: which (a, b) gives that?",
)

# --------------------------------------------------------------------------- conv_output_size


def _reference_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


_SIZE_CASES = [
    (28, 3, 1, 0, 1),
    (28, 3, 1, 1, 1),
    (28, 3, 2, 1, 1),
    (28, 5, 1, 2, 1),
    (28, 3, 1, 0, 2),
    (28, 2, 2, 0, 1),
    (27, 2, 2, 0, 1),
    (32, 7, 2, 3, 1),
    (15, 3, 3, 0, 1),
    (224, 11, 4, 2, 1),
    (10, 3, 2, 2, 3),
]


def _check_conv_output_size(conv_output_size) -> str:
    for size, kernel_size, stride, padding, dilation in _SIZE_CASES:
        answer = call(conv_output_size, size, kernel_size, stride=stride, padding=padding, dilation=dilation)
        where = (
            f"conv_output_size({size}, kernel_size={kernel_size}, stride={stride}, padding={padding}, "
            f"dilation={dilation})"
        )
        want = _reference_size(size, kernel_size, stride, padding, dilation)
        if isinstance(answer, torch.Tensor) and answer.numel() == 1:
            answer = answer.item()
        expect(isinstance(answer, (int, float)), f"{where} should return a whole number, not {type(answer).__name__}")
        if isinstance(answer, float):
            expect(answer.is_integer(), f"{where} is {answer}: round down to a whole number (use //)")
        if answer == want:
            continue
        if answer == (size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride + 1:
            raise Mismatch(f"{where} is {answer}, expected {want}: round the division down (//)")
        if answer == math.ceil((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1:
            raise Mismatch(f"{where} is {answer}, expected {want}: the division rounds DOWN, not up")
        if dilation != 1 and answer == _reference_size(size, kernel_size, stride, padding, 1):
            raise Mismatch(
                f"{where} is {answer}, expected {want}: dilation spreads the kernel over "
                "dilation * (kernel_size - 1) + 1 pixels"
            )
        if padding != 0 and answer == _reference_size(size + padding, kernel_size, stride, 0, dilation):
            raise Mismatch(f"{where} is {answer}, expected {want}: padding is added on both sides (2 * padding)")
        raise Mismatch(f"{where} is {answer}, expected {want}")
    return "Your formula agrees with PyTorch on all 11 layer settings tried."


conv_output_size = Exercise(
    NOTEBOOK,
    "conv_output_size",
    _check_conv_output_size,
    hint="Padding adds 2 * padding pixels; a dilated kernel covers dilation * (kernel_size - 1) + 1 pixels. The "
    "number of positions is (space left after the first position) // stride + 1, i.e. "
    "(size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1.",
)

# --------------------------------------------------------------------------- max_pool_by_hand


def _check_max_pool_by_hand(max_pool_by_hand) -> str:
    generator = torch.Generator().manual_seed(7)
    for shape in [(2, 3, 4, 6), (1, 1, 2, 2), (3, 2, 8, 4)]:
        x = torch.randn(*shape, generator=generator)
        original = x.clone()
        out = call(max_pool_by_hand, x)
        name = f"max_pool_by_hand(x) for x of shape {shape}"
        n, c, h, w = shape
        out = expect_tensor(out, name=name)
        expect(
            tuple(out.shape) == (n, c, h // 2, w // 2),
            f"{name} has shape {tuple(out.shape)}, expected {(n, c, h // 2, w // 2)}",
        )
        expect(torch.equal(x, original), "max_pool_by_hand changed its input in place")
        expected = F.max_pool2d(x, 2)
        if torch.allclose(out, F.avg_pool2d(x, 2), atol=1e-6):
            raise Mismatch(f"{name} takes the mean of each 2x2 window (average pooling); take the maximum")
        if not torch.allclose(out, expected, atol=1e-6):
            wrong = int((~torch.isclose(out, expected, atol=1e-6)).sum())
            raise Mismatch(
                f"{name} differs from F.max_pool2d(x, 2) in {wrong} of {out.numel()} places; reshape to "
                "(N, C, H/2, 2, W/2, 2) so that each 2x2 window lies along dimensions 3 and 5"
            )
    return "Identical to F.max_pool2d(x, 2)."


max_pool_by_hand = Exercise(
    NOTEBOOK,
    "max_pool_by_hand",
    _check_max_pool_by_hand,
    hint="x.reshape(n, c, h // 2, 2, w // 2, 2) splits the rows into pairs and the columns into pairs, so "
    "each 2x2 window lies along dimensions 3 and 5. Take .amax(dim=(3, 5)).",
)

# --------------------------------------------------------------------------- conv2d_unfold


def _check_conv2d_unfold(conv2d_unfold) -> str:
    generator = torch.Generator().manual_seed(11)
    for n, c, h, w, out_channels, k in [(2, 3, 7, 9, 4, 3), (1, 1, 5, 5, 2, 2), (3, 2, 6, 4, 5, 1)]:
        images = torch.randn(n, c, h, w, generator=generator)
        weight = torch.randn(out_channels, c, k, k, generator=generator)
        bias = torch.randn(out_channels, generator=generator)
        name = f"conv2d_unfold for images {tuple(images.shape)} and weight {tuple(weight.shape)}"
        out = expect_tensor(call(conv2d_unfold, images, weight, bias), name=name)
        expected = F.conv2d(images, weight, bias)
        if out.numel() == expected.numel() and tuple(out.shape) != tuple(expected.shape):
            raise Mismatch(
                f"{name} has shape {tuple(out.shape)}, expected {tuple(expected.shape)}: "
                "reshape the (N, out_channels, positions) result to (N, out_channels, H_out, W_out)"
            )
        expect(
            tuple(out.shape) == tuple(expected.shape),
            f"{name} has shape {tuple(out.shape)}, expected {tuple(expected.shape)}",
        )
        if torch.allclose(out, F.conv2d(images, weight), atol=1e-4):
            raise Mismatch(f"{name} matches F.conv2d without the bias: add bias[c] to every value of output channel c")
        if not torch.allclose(out, expected, atol=1e-4):
            difference = (out - expected).abs().max().item()
            raise Mismatch(f"{name} differs from F.conv2d(images, weight, bias) by up to {difference:.3g}")
    return "Convolution is a matrix product over image patches: the way libraries compute it."


conv2d_unfold = Exercise(
    NOTEBOOK,
    "conv2d_unfold",
    _check_conv2d_unfold,
    hint="patches = F.unfold(images, kernel_size) has shape (N, C*k*k, L), one column per output position. "
    "weight.reshape(out_channels, -1) has shape (out_channels, C*k*k); the matrix product (weight_matrix @ patches) "
    "gives (N, out_channels, L). Add bias.reshape(1, -1, 1), then reshape to (N, out_channels, H - k + 1, W - k + 1).",
)
