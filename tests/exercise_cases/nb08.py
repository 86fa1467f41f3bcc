import copy

import torch
import torch.nn.functional as F
from torch import nn

from tests.exercise_cases import Case, not_implemented

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

# --------------------------------------------------------------------------- freeze answers


def _freeze(module):
    module.requires_grad_(False)
    module.eval()
    return module


def _freeze_loop(module):
    for parameter in module.parameters():
        parameter.requires_grad = False
    return module.eval()  # eval() returns the module itself


def _freeze_gradients_only(module):
    return module.requires_grad_(False)


def _freeze_eval_only(module):
    return module.eval()


def _freeze_no_return(module):
    module.requires_grad_(False)
    module.eval()


def _freeze_a_copy(module):
    return _freeze(copy.deepcopy(module))


def _freeze_and_reset_statistics(module):
    for layer in module.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.reset_running_stats()
    return _freeze(module)


# --------------------------------------------------------------------------- fine_tune_optimizer answers


def _fine_tune(model, lr):
    model.requires_grad_(False)
    model.layer4.requires_grad_(True)
    model.fc.requires_grad_(True)
    return torch.optim.Adam(
        [{"params": model.layer4.parameters(), "lr": lr / 10}, {"params": model.fc.parameters(), "lr": lr}]
    )


def _fine_tune_by_name(model, lr):
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name.startswith(("layer4.", "fc."))
    return torch.optim.AdamW(
        [
            {"params": [p for n, p in model.named_parameters() if n.startswith("layer4.")], "lr": lr / 10},
            {"params": [p for n, p in model.named_parameters() if n.startswith("fc.")]},
        ],
        lr=lr,
    )


def _fine_tune_not_frozen(model, lr):
    return torch.optim.Adam(
        [{"params": model.layer4.parameters(), "lr": lr / 10}, {"params": model.fc.parameters(), "lr": lr}]
    )


def _fine_tune_one_rate(model, lr):
    model.requires_grad_(False)
    model.layer4.requires_grad_(True)
    model.fc.requires_grad_(True)
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)


def _fine_tune_everything_in_optimizer(model, lr):
    _fine_tune(model, lr)
    return torch.optim.Adam(model.parameters(), lr=lr)


def _fine_tune_forgets_head(model, lr):
    model.requires_grad_(False)
    model.layer4.requires_grad_(True)
    model.fc.requires_grad_(True)
    return torch.optim.Adam(model.layer4.parameters(), lr=lr / 10)


def _fine_tune_frozen_head(model, lr):
    model.requires_grad_(False)
    model.layer4.requires_grad_(True)
    return torch.optim.Adam(model.layer4.parameters(), lr=lr / 10)


def _fine_tune_no_return(model, lr):
    _fine_tune(model, lr)


# --------------------------------------------------------------------------- to_resnet_input answers


def _resnet_input(pixels, size=64):
    resized = F.interpolate(pixels, size=(size, size), mode="bilinear", align_corners=False)
    return (resized.expand(-1, 3, -1, -1) - IMAGENET_MEAN) / IMAGENET_STD


def _resnet_input_with_recipe(pixels, size=64):
    from torchvision.models import ResNet18_Weights

    recipe = ResNet18_Weights.DEFAULT.transforms(crop_size=size, resize_size=size)
    return recipe(pixels.repeat(1, 3, 1, 1))


def _resnet_input_unnormalised(pixels, size=64):
    return F.interpolate(pixels, size=(size, size), mode="bilinear", align_corners=False).expand(-1, 3, -1, -1)


def _resnet_input_fashion_normalised(pixels, size=64):
    from utils.data import FASHION_MNIST_MEAN, FASHION_MNIST_STD

    return (_resnet_input_unnormalised(pixels, size) - FASHION_MNIST_MEAN) / FASHION_MNIST_STD


def _resnet_input_source_normalised(pixels, size=64):
    """Normalised with the statistics notebook 08 computes for its grey source images, not ImageNet's."""
    return (_resnet_input_unnormalised(pixels, size) - 0.3284) / 0.1631


def _resnet_input_grey(pixels, size=64):
    resized = F.interpolate(pixels, size=(size, size), mode="bilinear", align_corners=False)
    return (resized - 0.449) / 0.226


def _resnet_input_nearest(pixels, size=64):
    resized = F.interpolate(pixels, size=(size, size), mode="nearest")
    return (resized.expand(-1, 3, -1, -1) - IMAGENET_MEAN) / IMAGENET_STD


def _resnet_input_not_resized(pixels, size=64):
    return (pixels.expand(-1, 3, -1, -1) - IMAGENET_MEAN) / IMAGENET_STD


def _resnet_input_in_place(pixels, size=64):
    pixels.mul_(1.0).add_(0.01)
    return _resnet_input(pixels, size)


CASES = {
    "freeze": Case(
        correct=[_freeze, _freeze_loop],
        wrong=[
            (_freeze_gradients_only, "still in training mode, so its batch norm"),
            (_freeze_eval_only, "require gradients"),
            (_freeze_no_return, "returned None"),
            (_freeze_a_copy, "in place"),
            (_freeze_and_reset_statistics, "running_mean"),
        ],
        stub=not_implemented,
    ),
    "fine_tune_optimizer": Case(
        correct=[_fine_tune, _fine_tune_by_name],
        wrong=[
            (_fine_tune_not_frozen, "outside layer4 and fc still require gradients"),
            (_fine_tune_one_rate, "layer4's learning rate is 0.001, expected 0.0001"),
            (_fine_tune_everything_in_optimizer, "frozen parameter tensors"),
            (_fine_tune_forgets_head, "of fc are not in the optimizer"),
            (_fine_tune_frozen_head, "must stay trainable"),
            (_fine_tune_no_return, "should return a torch.optim optimizer"),
        ],
        stub=not_implemented,
    ),
    "to_resnet_input": Case(
        correct=[_resnet_input, _resnet_input_with_recipe],
        wrong=[
            (_resnet_input_unnormalised, "normalisation is missing"),
            (_resnet_input_fashion_normalised, "one mean and standard deviation for all three channels"),
            (_resnet_input_source_normalised, "one mean and standard deviation for all three channels"),
            (_resnet_input_grey, "expects 3"),
            (_resnet_input_nearest, "the resizing interpolates differently"),
            (_resnet_input_not_resized, "resize to size x size"),
            (_resnet_input_in_place, "in place"),
        ],
        stub=not_implemented,
    ),
}
