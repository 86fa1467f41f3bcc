"""Exercise checks for notebook 07 (convolutional neural networks)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from utils.checks import Mismatch, as_int, call, exercise, expect, expect_tensor

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


# --------------------------------------------------------------------------- conv_design


def _side(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """The output size of a convolution or pooling layer along one dimension (the formula of section 2)."""
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


#: The stack of the exercise: Conv2d(1, 16, 3), ReLU, MaxPool2d(2), Conv2d(16, 32, 3), ReLU, MaxPool2d(2), Flatten.
_STACK_CHANNELS = 32
_STACK_SIDE = _side(_side(_side(_side(28, 3), 2, stride=2), 3), 2, stride=2)  # 28 -> 26 -> 13 -> 11 -> 5

#: Typical wrong answers for in_features, and what each one forgot.
_IN_FEATURES_MISTAKES = {
    _STACK_SIDE * _STACK_SIDE: (
        "that is the size of ONE feature map (height times width); nn.Flatten keeps every channel, so multiply by "
        "the number of channels the last convolution outputs"
    ),
    16 * _STACK_SIDE * _STACK_SIDE: "the last convolution outputs 32 channels, not 16",
    _STACK_CHANNELS * 7 * 7: (
        "these convolutions have no padding: a 3 x 3 kernel fits in only n - 2 positions, so each one makes the "
        "image 2 pixels smaller before the pooling halves it"
    ),
    _STACK_CHANNELS * 6 * 6: (
        "after the second convolution the side is odd (11), and the formula rounds DOWN: a 2 x 2 pooling window "
        "cannot start on the last row, so 11 becomes 5, not 6"
    ),
    _STACK_CHANNELS * 4 * 4: "a 3 x 3 kernel fits in n - 2 positions along a side of n pixels, not n - 3",
}


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Both answers come from the output-size formula of this section. For the padding, write the formula "
            "with out = n = 28 and solve it for p. For the linear layer, follow the height (equal to the width) "
            "through every layer that changes it, then remember what Flatten does with the channels."
        ),
        (
            "A dilated kernel covers d(k - 1) + 1 pixels, so it loses d(k - 1) positions; the padding must give them "
            "back, half on each side. For the stack: an unpadded 3 x 3 convolution takes 2 pixels off a side, "
            "MaxPool2d(2) halves it rounding down; in_features is channels x height x width after the last pooling."
        ),
        (
            "Padding: 2 x (5 - 1) = 8 positions lost, so p = 8 / 2. Stack: 28 -> 26 (conv) -> 13 (pool) -> 11 "
            "(conv) -> 5 (pool, rounded down); the last convolution has 32 filters, so multiply 32 by 5 x 5."
        ),
    ],
)
def conv_design(same_padding, in_features) -> str:
    padding = as_int(same_padding, "same_padding")
    expect(padding >= 0, f"same_padding is {padding}; a padding cannot be negative")
    side = _side(28, 5, padding=padding, dilation=2)
    if padding == 2:
        raise Mismatch(
            "same_padding = 2 keeps the size for an ordinary 5 x 5 kernel, but dilation 2 spreads the kernel over "
            "more pixels: it covers d(k - 1) + 1 of them"
        )
    if padding == 8:
        raise Mismatch(
            "same_padding = 8 makes the output 36 x 36: padding is added on BOTH sides, so each side needs only "
            "half of the positions the kernel loses"
        )
    expect(side == 28, f"with same_padding = {padding} the output is {side} x {side}, not 28 x 28")
    features = as_int(in_features, "in_features")
    expected = _STACK_CHANNELS * _STACK_SIDE * _STACK_SIDE
    if features != expected:
        if features in _IN_FEATURES_MISTAKES:
            raise Mismatch(f"in_features = {features}: {_IN_FEATURES_MISTAKES[features]}")
        raise Mismatch(
            f"in_features = {features} is not what the stack gives: follow the side of the image layer by layer "
            "with the formula, rounding down, then multiply by the channels"
        )
    return (
        "A 5 x 5 kernel with dilation 2 spans 9 pixels, so padding 4 keeps 28 x 28. The stack takes 28 -> 26 -> 13 "
        "-> 11 -> 5, and Flatten gives 32 x 5 x 5 = 800 numbers per image."
    )


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
