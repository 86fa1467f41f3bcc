"""Exercise checks for notebook 07 (convolutional neural networks)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from utils.checks import Mismatch, as_number, call, exercise, expect, expect_tensor

NOTEBOOK = "07_cnns"

# --------------------------------------------------------------------------- shift_kernel

_DIRECTIONS = {
    (1, 0): "one pixel to the right (the correct answer)",
    (1, 2): "one pixel to the LEFT",
    (0, 1): "one pixel DOWN",
    (2, 1): "one pixel UP",
    (1, 1): "nowhere: that is the identity kernel",
}


@exercise(
    NOTEBOOK,
    hints=[
        (
            "A kernel that is zero everywhere except for a single 1 copies exactly one neighbour into each output "
            "pixel. Ask which neighbour of output pixel (i, j) holds the value that should land there."
        ),
        (
            "With padding=1, F.conv2d computes out[i, j] = sum of kernel[a, b] * image[i + a - 1, j + b - 1]: the "
            "centre of the kernel is (1, 1). Moving the content right means out[i, j] = image[i, j - 1], the pixel on "
            "the left: put the 1 at the row and column (a, b) that reach it, and use floats (1.0)."
        ),
    ],
)
def shift_kernel(kernel) -> str:
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
        if torch.allclose(kernel.detach().float().cpu(), single):
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


def _call_with_the_exercise_names(conv_output_size, size, kernel_size, stride, padding, dilation):
    """Call the learner's function by keyword, as the exercise's signature names its parameters."""
    try:
        return call(conv_output_size, size, kernel_size, stride=stride, padding=padding, dilation=dilation)
    except Mismatch as error:
        if "unexpected keyword argument" in str(error):
            raise Mismatch(
                f"{error}. Keep the parameter names of the exercise, conv_output_size(size, kernel_size, stride=1, "
                "padding=0, dilation=1): the check passes stride, padding and dilation by name"
            ) from None
        raise


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Count the positions the kernel can take along one dimension. Padding makes the input longer on both "
            "sides, dilation makes the kernel cover more pixels, and the stride sets how far it jumps each time."
        ),
        (
            "The padded input has size + 2 * padding pixels; a dilated kernel covers dilation * (kernel_size - 1) + 1 "
            "of them. After the first position, the space that is left, divided by the stride and rounded DOWN (//), "
            "is the number of further positions: add 1 for the first."
        ),
    ],
)
def conv_output_size(conv_output_size) -> str:
    for size, kernel_size, stride, padding, dilation in _SIZE_CASES:
        answer = _call_with_the_exercise_names(conv_output_size, size, kernel_size, stride, padding, dilation)
        where = (
            f"conv_output_size({size}, kernel_size={kernel_size}, stride={stride}, padding={padding}, "
            f"dilation={dilation})"
        )
        want = _reference_size(size, kernel_size, stride, padding, dilation)
        expect(not isinstance(answer, (str, bytes)), f"{where} should return a whole number, not text")
        answer = as_number(answer, where)
        expect(answer.is_integer(), f"{where} is {answer}: round down to a whole number (use //)")
        answer = int(answer)
        if answer == want:
            continue
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


# --------------------------------------------------------------------------- max_pool_by_hand


def _pool(max_pool_by_hand, x: torch.Tensor):
    """Call the learner's pooling; explain the (values, indices) pair that .max(dim=...) returns."""
    try:
        return call(max_pool_by_hand, x)
    except Mismatch as error:
        if "torch.return_types" in str(error):
            raise Mismatch(
                f"{error}. x.max(dim=...) returns a pair (values, indices), not a tensor: take its .values "
                "before going on, or use x.amax(dim=...), which returns the values only and accepts several dims"
            ) from None
        raise


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Without loops, the trick is to give each 2 x 2 window dimensions of its own, so that a single reduction "
            "over those dimensions takes every window's maximum at once."
        ),
        (
            "Reshape x from (N, C, H, W) to (N, C, H // 2, 2, W // 2, 2): this cuts the rows into pairs and the "
            "columns into pairs, and keeps neighbours together. Each window now lies along dimensions 3 and 5; take "
            "the maximum over both with .amax."
        ),
    ],
)
def max_pool_by_hand(max_pool_by_hand) -> str:
    generator = torch.Generator().manual_seed(7)
    for shape in [(2, 3, 4, 6), (1, 1, 2, 2), (3, 2, 8, 4)]:
        x = torch.randn(*shape, generator=generator)
        name = f"max_pool_by_hand(x) for x of shape {shape}"
        out = expect_tensor(_pool(max_pool_by_hand, x), name=name)
        n, c, h, w = shape
        expect(
            tuple(out.shape) == (n, c, h // 2, w // 2),
            f"{name} has shape {tuple(out.shape)}, expected {(n, c, h // 2, w // 2)}",
        )
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


# --------------------------------------------------------------------------- conv2d_unfold


def _convolve(conv2d_unfold, images, weight, bias):
    """Call the learner's convolution; a failed broadcast most often comes from adding the bias as it is."""
    try:
        return call(conv2d_unfold, images, weight, bias)
    except Mismatch as error:
        if "must match the size of tensor" in str(error):
            raise Mismatch(
                f"{error}. Two shapes do not broadcast: print the shape after each step. The product has shape "
                "(N, out_channels, positions), so a bias of shape (out_channels,) must first become "
                "(1, out_channels, 1) to be added along the channels"
            ) from None
        raise


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Each output value is a dot product between one flattened image patch and one flattened filter. Collect "
            "all patches as the columns of a matrix and all filters as the rows of another: one matrix product then "
            "computes every output value. Track the shapes on paper."
        ),
        (
            "F.unfold(images, kernel_size=k) gives the patches, shape (N, C*k*k, L) with L output positions. The "
            "weights reshaped to (out_channels, C*k*k) times the patches gives (N, out_channels, L). Add the bias "
            "reshaped to (1, out_channels, 1), then reshape to (N, out_channels, H - k + 1, W - k + 1)."
        ),
    ],
)
def conv2d_unfold(conv2d_unfold) -> str:
    generator = torch.Generator().manual_seed(11)
    for n, c, h, w, out_channels, k in [(2, 3, 7, 9, 4, 3), (1, 1, 5, 5, 2, 2), (3, 2, 6, 4, 5, 1)]:
        images = torch.randn(n, c, h, w, generator=generator)
        weight = torch.randn(out_channels, c, k, k, generator=generator)
        bias = torch.randn(out_channels, generator=generator)
        name = f"conv2d_unfold for images {tuple(images.shape)} and weight {tuple(weight.shape)}"
        out = expect_tensor(_convolve(conv2d_unfold, images, weight, bias), name=name)
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
