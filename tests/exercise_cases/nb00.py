import torch

from tests.exercise_cases import Case, not_implemented

CASES = {
    "first_tensor": Case(
        correct=[torch.full((2, 3), 7.0), torch.ones(2, 3) * 7, torch.tensor([[7.0, 7, 7], [7, 7, 7]])],
        wrong=[
            (torch.full((3, 2), 7.0), "3 rows of 2"),
            (torch.full((2, 3), 7), "dtype torch.int64"),
            (torch.full((2, 3), 6.0), "differs"),
            ([[7.0] * 3] * 2, "should be a torch.Tensor"),
        ],
    ),
    "scale_pixels": Case(
        correct=[lambda p: p.float() / 255, lambda p: p / 255.0, lambda p: p.to(torch.float64) / 255],
        wrong=[
            (lambda p: p // 255, "convert to float"),
            (lambda p: p.float(), "differs"),
            (lambda p: p.float() / 256, "differs"),
            (lambda p: p.div_(255), "raised RuntimeError"),
        ],
        stub=not_implemented,
    ),
}
