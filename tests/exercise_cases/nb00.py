import torch

from tests.exercise_cases import Case, not_implemented

CASES = {
    "first_tensor": Case(
        correct=[
            torch.full((2, 3), 7.0),
            torch.ones(2, 3) * 7,
            torch.tensor([[7.0, 7, 7], [7, 7, 7]]),
            torch.full((2, 3), 7.0, dtype=torch.float64),
        ],
        wrong=[
            (torch.full((3, 2), 7.0), "3 rows of 2"),
            (torch.full((2, 3), 7), "dtype torch.int64, whole numbers"),
            (torch.full((2, 3), 6.0), "differs"),
            ([[7.0] * 3] * 2, "should be a torch.Tensor"),
        ],
    ),
    "scale_pixels": Case(
        correct=[lambda p: p.float() / 255, lambda p: p / 255.0, lambda p: p.to(torch.float64) / 255],
        wrong=[
            (lambda p: p // 255, "use true division"),
            (lambda p: (p // 255).float(), "differs"),
            (lambda p: p.float(), "differs"),
            (lambda p: p.float() / 256, "differs"),
            (lambda p: p.div_(255), "divides its input in place"),
            (lambda p: p.clamp_(max=254).float() / 255, "changed its input"),
        ],
        stub=not_implemented,
    ),
}
