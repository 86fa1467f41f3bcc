import torch
from torch.utils._pytree import tree_map

from tests.exercise_cases import Case, not_implemented

FLAT = torch.arange(6 * 16, dtype=torch.float32).reshape(6, 16)


def _move_recursive(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {key: _move_recursive(value, device) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_move_recursive(item, device) for item in batch)
    return batch


def _move_with_named(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {key: _move_with_named(value, device) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(_move_with_named(item, device) for item in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(_move_with_named(item, device) for item in batch)
    return batch


def _move_pytree(batch, device):  # PyTorch's own tree walker handles named tuples
    return tree_map(lambda leaf: leaf.to(device) if isinstance(leaf, torch.Tensor) else leaf, batch)


def _move_match(batch, device):  # the same, written with match (Python 3.10+)
    match batch:
        case torch.Tensor():
            return batch.to(device)
        case dict():
            return {k: _move_match(v, device) for k, v in batch.items()}
        case list():
            return [_move_match(v, device) for v in batch]
        case tuple() if hasattr(batch, "_fields"):
            return type(batch)(*(_move_match(v, device) for v in batch))
        case tuple():
            return tuple(_move_match(v, device) for v in batch)
        case _:
            return batch


def _move_named_as_plain_tuple(batch, device):  # a named tuple comes back as a plain tuple
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _move_named_as_plain_tuple(v, device) for k, v in batch.items()}
    if isinstance(batch, list):
        return [_move_named_as_plain_tuple(v, device) for v in batch]
    if isinstance(batch, tuple):
        return tuple(_move_named_as_plain_tuple(v, device) for v in batch)
    return batch


def _scores_loop(queries, keys):
    return torch.stack([q @ k.T for q, k in zip(queries, keys)])


def _move_top_level_only(batch, device):
    return {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}


def _move_tuples_to_lists(batch, device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _move_tuples_to_lists(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [_move_tuples_to_lists(v, device) for v in batch]
    return batch


def _move_in_place(batch, device):
    if isinstance(batch, dict):
        for key in batch:
            batch[key] = _move_in_place(batch[key], device)
        return batch
    return _move_recursive(batch, device)


def _move_without_assigning(batch, device):  # the classic: .to() is not in place
    if isinstance(batch, torch.Tensor):
        batch.to(device)
        return batch
    if isinstance(batch, dict):
        return {k: _move_without_assigning(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_move_without_assigning(v, device) for v in batch)
    return batch


CASES = {
    "images": Case(
        correct=[
            FLAT.reshape(6, 1, 4, 4),
            FLAT.view(6, 4, 4).unsqueeze(1),
            FLAT.reshape(-1, 1, 4, 4),
            FLAT.reshape(6, 1, 4, 4).double(),
        ],
        wrong=[
            (FLAT.reshape(6, 4, 4, 1), "(N, C, H, W)"),
            (FLAT.reshape(1, 6, 4, 4), "(N, C, H, W)"),
            (FLAT.reshape(6, 4, 4), "expected (6, 1, 4, 4)"),
            (FLAT.view(6, 4, 4).transpose(1, 2).unsqueeze(1), "wrong places"),
            (FLAT.tolist(), "should be a torch.Tensor"),
        ],
    ),
    "standardise": Case(
        correct=[
            lambda d: (d - d.mean(dim=0)) / d.std(dim=0),
            lambda d: (d - d.mean(0, keepdim=True)) / d.std(0, keepdim=True, correction=0),
            lambda d: (d - d.mean(dim=0)) / d.var(dim=0).sqrt(),
            lambda d: torch.stack([(c - c.mean()) / c.std() for c in d.T], dim=1),
        ],
        wrong=[
            (lambda d: (d - d.mean(dim=1, keepdim=True)) / d.std(dim=1, keepdim=True), "dim=1"),
            (lambda d: d - d.mean(dim=0), "did not divide by each column's standard deviation"),
            (lambda d: (d - d.mean(dim=0)) / d.var(dim=0), "divided by the variance"),
            (lambda d: (d - d.mean(dim=0)) / d.var(dim=0, correction=0), "the square root of the variance"),
            (lambda d: d / d.std(dim=0), "subtract each column's mean"),
            (lambda d: (d - d.mean()) / d.std(), "column means"),
            (lambda d: d.sub_(d.mean(dim=0)).div_(d.std(dim=0)), "in place"),
            (lambda d: ((d - d.mean(dim=0)) / d.std(dim=0)).mean(dim=0), "shape (3,)"),
        ],
        stub=not_implemented,
    ),
    "pairwise_sq_distances": Case(
        correct=[
            lambda a, b: ((a.unsqueeze(1) - b.unsqueeze(0)) ** 2).sum(dim=2),
            lambda a, b: torch.cdist(a, b) ** 2,
            lambda a, b: (a**2).sum(1, keepdim=True) - 2 * a @ b.T + (b**2).sum(1),
            lambda a, b: torch.tensor([[float(((p - q) ** 2).sum()) for q in b] for p in a]),
        ],
        wrong=[
            (lambda a, b: torch.cdist(a, b), "not the squared distances"),
            (lambda a, b: ((b.unsqueeze(1) - a.unsqueeze(0)) ** 2).sum(dim=2), "transpose"),
            (lambda a, b: ((a - b) ** 2).sum(dim=1), "raised RuntimeError"),
            (lambda a, b: ((a.unsqueeze(1) - b.unsqueeze(0)) ** 2).sum(dim=1), "expected (5, 3)"),
            (lambda a, b: (a.unsqueeze(1) - b.unsqueeze(0)).sum(dim=2) ** 2, "differs"),
            (lambda a, b: ((a.unsqueeze(1) - b.unsqueeze(0))[..., :2] ** 2).sum(dim=2), "7 coordinates"),
        ],
        stub=not_implemented,
    ),
    "batched_scores": Case(
        correct=[
            lambda q, k: q @ k.mT,
            lambda q, k: q @ k.transpose(1, 2),
            lambda q, k: torch.bmm(q, k.permute(0, 2, 1)),
            lambda q, k: torch.einsum("bnd,bmd->bnm", q, k),
            lambda q, k: (q.unsqueeze(2) * k.unsqueeze(1)).sum(dim=-1),
            _scores_loop,
        ],
        wrong=[
            (lambda q, k: q @ k, "turned into columns"),
            (lambda q, k: q * k, "turned into columns"),
            (lambda q, k: (q * k).sum(dim=-1), "turned into columns"),
            (lambda q, k: k @ q.mT, "queries comes first"),
            (lambda q, k: q.reshape(-1, q.shape[-1]) @ k.reshape(-1, k.shape[-1]).T, "every group"),
            (lambda q, k: q[0] @ k[0].T, "one table per group"),
            (lambda q, k: q @ k.mT / q.shape[-1] ** 0.5, "divided by sqrt(d)"),
            (lambda q, k: torch.softmax(q @ k.mT, dim=-1), "softmax"),
            (lambda q, k: (q @ k.mT)[..., :4] if q.shape[-1] == 5 else (q * k).sum(-1), "element-wise"),
            (lambda q, k: (q @ k.mT).abs(), "differs"),
        ],
        stub=not_implemented,
    ),
    "move_to": Case(
        correct=[_move_with_named, _move_match, _move_pytree],
        wrong=[
            (_move_recursive, "named tuple"),
            (_move_named_as_plain_tuple, "keep the type"),
            (_move_top_level_only, "is on cpu, expected meta"),
            (_move_tuples_to_lists, "keep the type"),
            (_move_in_place, "changed its input"),
            (_move_without_assigning, "is on cpu, expected meta"),
            (lambda batch, device: batch["images"].to(device), "single tensor"),
        ],
        stub=not_implemented,
    ),
}
