"""Exercise checks for notebook 08 (transfer learning)."""

from __future__ import annotations

import torch
from torch import nn

from utils.checks import Mismatch, call, exercise, expect, expect_tensor

NOTEBOOK = "08_transfer_learning"


# --------------------------------------------------------------------------- freeze


def _small_model_with_batch_norm() -> nn.Module:
    torch.manual_seed(0)  # the same small model at every check (Exercise.check restores the generators)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)
    )
    with torch.no_grad():  # give the batch norm non-trivial statistics, as a trained one has
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
    return model.train()


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Freezing takes two separate switches, both set on the whole module at once: one stops its parameters "
            "from getting gradients, the other stops batch norm from updating its running statistics. Give the "
            "same module back at the end."
        ),
        (
            "requires_grad_(False) on the module turns off gradients for every parameter inside it; .eval() puts "
            "it and all its submodules (batch norm, dropout) in evaluation mode. Both change the module in place; "
            "then return the module you were given."
        ),
    ],
)
def freeze(freeze) -> str:
    model = _small_model_with_batch_norm()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    result = call(freeze, model)
    expect(
        result is not None,
        "freeze(module) returned None; return the module at the end, so that "
        "`backbone = freeze(copy.deepcopy(...))` works",
    )
    expect(isinstance(result, nn.Module), f"freeze(module) should return the module, not {type(result).__name__}")
    parameters = list(result.parameters())
    trainable = sum(p.requires_grad for p in parameters)
    expect(
        trainable == 0,
        f"{trainable} of {len(parameters)} parameter tensors still require gradients; "
        "set requires_grad to False on every one (module.requires_grad_(False))",
    )
    still_training = [m for m in result.modules() if m.training]
    expect(
        not still_training,
        "the module is still in training mode, so its batch norm would keep updating its running statistics "
        "on every forward pass: call .eval() on it too",
    )
    changed = [
        name for name, value in result.state_dict().items() if name in before and not torch.equal(value, before[name])
    ]
    expect(not changed, f"freezing changed {', '.join(changed)}; it must leave every weight and statistic as it was")
    expect(result is model, "freeze should freeze the module it is given, in place, and return that same module")
    return "No gradients, eval mode, nothing changed."


# --------------------------------------------------------------------------- fine_tune_optimizer


def _fresh_resnet(n_classes: int = 5) -> nn.Module:
    from torchvision.models import resnet18

    torch.manual_seed(0)
    model = resnet18()
    model.fc = nn.Linear(model.fc.in_features, n_classes)
    return model


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Two jobs. First freeze the whole network and then unfreeze only the two parts that should learn. "
            "Second, an optimizer accepts a list of parameter groups, each a dictionary with its own learning rate."
        ),
        (
            "model.requires_grad_(False) freezes everything; requires_grad_(True) on model.layer4 and on model.fc "
            "unfreezes those two. Then build torch.optim.Adam from a list of two dictionaries: layer4's parameters "
            "with 'lr' set to lr / 10, and fc's parameters with 'lr' set to lr."
        ),
    ],
)
def fine_tune_optimizer(fine_tune_optimizer) -> str:
    lr = 1e-3
    model = _fresh_resnet()
    optimizer = call(fine_tune_optimizer, model, lr)
    expect(
        isinstance(optimizer, torch.optim.Optimizer),
        f"fine_tune_optimizer should return a torch.optim optimizer, not {type(optimizer).__name__}",
    )
    layer4 = {id(p) for p in model.layer4.parameters()}
    fc = {id(p) for p in model.fc.parameters()}
    others = [(name, p) for name, p in model.named_parameters() if id(p) not in layer4 | fc]
    still_trainable = [name for name, p in others if p.requires_grad]
    expect(
        not still_trainable,
        f"{len(still_trainable)} parameter tensors outside layer4 and fc still require gradients "
        f"(e.g. {still_trainable[0] if still_trainable else ''}); freeze the rest of the network",
    )
    frozen_kept = [name for name, p in model.named_parameters() if (id(p) in layer4 | fc) and not p.requires_grad]
    expect(not frozen_kept, f"{frozen_kept[0] if frozen_kept else ''} is frozen; layer4 and fc must stay trainable")
    learning_rate = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            learning_rate[id(p)] = group["lr"]
    frozen_in = [name for name, p in model.named_parameters() if id(p) in learning_rate and not p.requires_grad]
    expect(
        not frozen_in,
        f"the optimizer holds {len(frozen_in)} frozen parameter tensors; build it from layer4's and fc's parameters only",
    )
    for part, ids, expected in (("fc", fc, lr), ("layer4", layer4, lr / 10)):
        missing = len(ids - learning_rate.keys())
        expect(missing == 0, f"{missing} of {len(ids)} parameter tensors of {part} are not in the optimizer")
        rates = {learning_rate[i] for i in ids}
        expect(
            all(abs(rate - expected) <= 1e-9 for rate in rates),
            f"{part}'s learning rate is {', '.join(f'{r:g}' for r in sorted(rates))}, expected {expected:g}"
            + (" (lr / 10)" if part == "layer4" else " (lr)"),
        )
    return f"{len(learning_rate)} parameter tensors in the optimizer: layer4 at lr / 10, fc at lr."


# --------------------------------------------------------------------------- to_resnet_input


def _reference_input(pixels: torch.Tensor, size: int) -> torch.Tensor:
    from torchvision.models import ResNet18_Weights

    recipe = ResNet18_Weights.DEFAULT.transforms(crop_size=size, resize_size=size)
    return recipe(pixels.expand(-1, 3, -1, -1))


def _test_pixels() -> torch.Tensor:
    """Three smooth 'images' in [0, 1] (a blob, a ramp, a ring), so interpolation errors are visible but small."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, 28), torch.linspace(-1, 1, 28), indexing="ij")
    radius = (x**2 + y**2).sqrt()
    images = torch.stack([torch.exp(-4 * radius**2), (x + 1) / 2, (radius - 0.6).abs().lt(0.2).float()])
    return images.unsqueeze(1)


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Three steps, in this order: change the image size with interpolation, turn one grey channel into three "
            "identical colour channels, then normalise each channel with the mean and standard deviation that the "
            "ImageNet weights were trained with."
        ),
        (
            "F.interpolate(..., size=(size, size), mode='bilinear', align_corners=False) resizes; .expand(-1, 3, -1, -1) "
            "repeats the grey channel. Make tensors of shape (1, 3, 1, 1) from preprocess.mean and preprocess.std so "
            "they broadcast over each channel, then subtract the mean and divide by the std."
        ),
    ],
)
def to_resnet_input(to_resnet_input) -> str:
    from torchvision.models import ResNet18_Weights

    recipe = ResNet18_Weights.DEFAULT.transforms()
    pixels = _test_pixels()
    for size in (64, 32):
        result = call(to_resnet_input, pixels, size)
        name = f"to_resnet_input(pixels, {size})"
        result = expect_tensor(result, name=name)
        expect(result.dim() == 4, f"{name} has shape {tuple(result.shape)}, expected (3, 3, {size}, {size})")
        expect(
            result.shape[1] == 3,
            f"{name} has {result.shape[1]} channel(s); ResNet-18's first convolution expects 3: repeat the grey "
            "channel (e.g. .expand(-1, 3, -1, -1))",
        )
        expect(
            tuple(result.shape) == (3, 3, size, size),
            f"{name} has shape {tuple(result.shape)}, expected (3, 3, {size}, {size}): resize to size x size",
        )
        expect(result.dtype == torch.float32, f"{name} has dtype {result.dtype}, expected torch.float32")
        expected = _reference_input(pixels, size)
        error = (result - expected).abs().max().item()
        if error <= 1e-4:
            continue
        mean = torch.tensor(recipe.mean).view(1, 3, 1, 1)
        std = torch.tensor(recipe.std).view(1, 3, 1, 1)
        resized = expected * std + mean  # what the recipe had before normalising
        if (result - resized).abs().max() <= 1e-3:
            raise Mismatch(
                f"{name} still has values in [0, 1]: the normalisation is missing; subtract preprocess.mean and "
                "divide by preprocess.std, channel by channel"
            )
        if (result - result[:, :1]).abs().max() <= 1e-5:  # three identical channels, yet not in [0, 1]
            raise Mismatch(
                f"{name} is normalised with one mean and standard deviation for all three channels (a grey "
                "image's, such as FashionMNIST's or the notebook's SOURCE_MEAN and SOURCE_STD); the ImageNet weights "
                "expect ImageNet's, one per colour channel (preprocess.mean, preprocess.std)"
            )
        if (result * std + mean - resized).abs().mean() <= 0.05:
            raise Mismatch(
                f"{name} differs from weights.transforms() by up to {error:.3g} (in normalised units): the channels "
                "and the normalisation look right, but the resizing interpolates differently. Resize with "
                "F.interpolate(..., mode='bilinear', align_corners=False), as the recipe does"
            )
        raise Mismatch(f"{name} differs from weights.transforms() by up to {error:.3g}")
    return "Same as weights.transforms(), to 4 decimals."
