"""Exercise checks for notebook 00 (setup and environment check)."""

import torch

from utils.checks import Exercise, Mismatch, call, expect_close, expect_tensor


def _check_first_tensor(answer) -> str:
    tensor = expect_tensor(answer, name="first_tensor")
    if tuple(tensor.shape) == (3, 2):
        raise Mismatch("first_tensor has shape (3, 2): that is 3 rows of 2; the exercise asks for 2 rows of 3")
    expect_tensor(tensor, shape=(2, 3), dtype=torch.float32, name="first_tensor")
    expect_close(tensor, torch.full((2, 3), 7.0), name="first_tensor")
    return "A (2, 3) float32 tensor full of sevens."


first_tensor = Exercise(
    "00_setup",
    "first_tensor",
    _check_first_tensor,
    hint="torch.full(size, fill_value) makes a tensor of one value; a size is a tuple (rows, columns). "
    "Write the fill value as 7.0 so the tensor holds floats.",
)


def _check_scale_pixels(scale_pixels) -> None:
    pixels = torch.tensor([[0, 51, 102], [153, 204, 255]], dtype=torch.uint8)
    result = call(scale_pixels, pixels)
    result = expect_tensor(result, shape=(2, 3), name="scale_pixels(pixels)")
    if not result.is_floating_point():
        raise Mismatch(
            f"scale_pixels(pixels) has dtype {result.dtype}; convert to float before dividing, "
            "or every pixel below 255 becomes 0"
        )
    expect_close(result, pixels.float() / 255, name="scale_pixels(pixels)")
    expect_close(pixels, torch.tensor([[0, 51, 102], [153, 204, 255]]), name="the input (it was changed in place)")


scale_pixels = Exercise(
    "00_setup",
    "scale_pixels",
    _check_scale_pixels,
    hint="Images store pixels as whole numbers from 0 to 255 (dtype uint8). Convert with .float() first, "
    "then divide by 255, so 255 becomes 1.0 and 0 stays 0.0.",
)
