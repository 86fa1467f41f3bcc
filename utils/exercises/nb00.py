"""Exercise checks for notebook 00 (setup and environment check)."""

import torch

from utils.checks import Mismatch, call, exercise, expect_close, expect_tensor

NOTEBOOK = "00_setup"


@exercise(
    NOTEBOOK,
    hints=[
        (
            "PyTorch has a creation function that fills a tensor of a given size with one value. A size is "
            "written as a tuple: (rows, columns)."
        ),
        (
            "torch.full takes the size first and the fill value second. Write the value as 7.0, not 7, so the "
            "tensor holds floating-point numbers."
        ),
    ],
)
def first_tensor(answer) -> str:
    tensor = expect_tensor(answer, name="first_tensor")
    if tuple(tensor.shape) == (3, 2):
        raise Mismatch("first_tensor has shape (3, 2): that is 3 rows of 2; the exercise asks for 2 rows of 3")
    expect_tensor(tensor, shape=(2, 3), name="first_tensor")
    if not tensor.is_floating_point():
        raise Mismatch(f"first_tensor has dtype {tensor.dtype}, whole numbers; write the value as 7.0 to get floats")
    expect_close(tensor, torch.full((2, 3), 7.0), name="first_tensor")
    return f"A (2, 3) tensor of {tensor.dtype} full of sevens."


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Images store pixels as whole numbers from 0 to 255 (dtype uint8), and the result must hold "
            "fractions. Python has two division operators: one gives fractions, the other rounds down to whole "
            "numbers. Which one does the scaling need?"
        ),
        (
            "In PyTorch, / is true division: pixels / 255 already gives float32 values, and .float() / 255 "
            "says the same explicitly. Never use //, which keeps whole numbers. Return a new tensor: a uint8 "
            "tensor cannot hold the result of dividing it in place."
        ),
    ],
)
def scale_pixels(scale_pixels) -> None:
    pixels = torch.tensor([[0, 51, 102], [153, 204, 255]], dtype=torch.uint8)
    try:
        result = call(scale_pixels, pixels)
    except Mismatch as error:
        if "can't be cast" in str(error):
            raise Mismatch(
                "scale_pixels divides its input in place (div_ or /=), but a uint8 tensor cannot hold fractions: "
                "return a new tensor, e.g. pixels / 255"
            ) from None
        raise
    result = expect_tensor(result, shape=(2, 3), name="scale_pixels(pixels)")
    if not result.is_floating_point():
        raise Mismatch(
            f"scale_pixels(pixels) has dtype {result.dtype}, whole numbers, so every pixel below 255 became 0: "
            "use true division, pixels / 255, which gives float32 (// rounds down to whole numbers)"
        )
    expect_close(result, pixels.float() / 255, name="scale_pixels(pixels)")
