"""Helpers shared by the course notebooks.

Each notebook shows an idea in full once; what later notebooks reuse lives here:

- :mod:`utils.device`: which device to run on (CUDA, Apple MPS or CPU) and why;
- :mod:`utils.seed`: one call that seeds every random number generator;
- :mod:`utils.data`: the data folder, FashionMNIST, pretrained weights, bundled datasets;
- :mod:`utils.training`: the training and evaluation loops;
- :mod:`utils.plots`: training curves, image grids, confusion matrices;
- :mod:`utils.checks` and :mod:`utils.exercises`: the exercise checks, and
  :func:`utils.check_result`, with which a notebook checks its own results.

Importing the package points torch.hub's weight cache at the course's data folder (unless
``TORCH_HOME`` is set), so pretrained weights fetched by ``python -m utils.prefetch`` are found.
"""

from utils.checks import check_result
from utils.data import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    DataUnavailableError,
    configure_torch_hub,
    data_root,
    fashion_mnist_split,
    fashion_mnist_tensors,
    load_fashion_mnist,
    moons_tensors,
    pretrained_weights_or_none,
    sample_photo,
    sklearn_tensors,
)
from utils.device import choose_device, get_device
from utils.seed import set_seed
from utils.training import History, count_parameters, evaluate, fit, predict, train_one_epoch

configure_torch_hub()

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_MEAN",
    "FASHION_MNIST_STD",
    "DataUnavailableError",
    "History",
    "check_result",
    "choose_device",
    "count_parameters",
    "data_root",
    "evaluate",
    "fashion_mnist_split",
    "fashion_mnist_tensors",
    "fit",
    "get_device",
    "load_fashion_mnist",
    "moons_tensors",
    "predict",
    "pretrained_weights_or_none",
    "sample_photo",
    "set_seed",
    "sklearn_tensors",
    "train_one_epoch",
]
