"""Figures the notebooks share: training curves, image grids, confusion matrices.

Every function returns the matplotlib ``Figure`` it drew (so tests can inspect it) and gives
every axis a title and labels. In a notebook, end the cell with ``plt.show()`` or a ``;`` to show
the figure once.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

from utils.training import History


def plot_history(history: History, title: str = "Training history") -> Figure:
    """Loss and accuracy per epoch, training and validation side by side."""
    epochs = range(1, history.epochs + 1)
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.5))
    loss_ax.plot(epochs, history.train_loss, "o-", label="training")
    loss_ax.plot(epochs, history.val_loss, "o-", label="validation")
    loss_ax.set(title="Loss", xlabel="epoch", ylabel="mean cross-entropy")
    acc_ax.plot(epochs, [100 * a for a in history.train_accuracy], "o-", label="training")
    acc_ax.plot(epochs, [100 * a for a in history.val_accuracy], "o-", label="validation")
    acc_ax.set(title="Accuracy", xlabel="epoch", ylabel="accuracy (%)")
    for ax in (loss_ax, acc_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
        ax.grid(alpha=0.3)
        if history.best_epoch is not None and history.best_epoch != history.epochs:
            ax.axvline(history.best_epoch, color="grey", linestyle="--", linewidth=1)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _to_displayable(image: torch.Tensor | np.ndarray) -> np.ndarray:
    """Turn an image into something ``imshow`` draws.

    Tensors follow PyTorch's channels-first layout (CxHxW), NumPy arrays the image libraries'
    channels-last layout (HxWxC); 2-D inputs are single-channel either way.
    """
    if isinstance(image, torch.Tensor):
        array = image.detach().cpu().numpy()
        if array.ndim == 3:
            array = np.moveaxis(array, 0, -1)
    else:
        array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    return array


def show_images(
    images: Sequence[torch.Tensor | np.ndarray] | torch.Tensor,
    labels: Sequence[int] | torch.Tensor | None = None,
    class_names: Sequence[str] | None = None,
    predictions: Sequence[int] | torch.Tensor | None = None,
    columns: int = 8,
    title: str | None = None,
) -> Figure:
    """A grid of images, each captioned with its label (and prediction, in red when wrong).

    ``images`` may be a batch tensor ``(N, C, H, W)`` or a list of images; single-channel images
    are drawn in grey.
    """
    count = len(images)
    rows = max(1, int(np.ceil(count / columns)))
    row_height = 2.1 if predictions is not None else 1.7  # two-line captions need more room
    fig, axes = plt.subplots(rows, columns, figsize=(1.5 * columns, row_height * rows + (0.4 if title else 0)))
    axes = np.atleast_1d(axes).ravel()

    def name(index: int) -> str:
        index = int(index)
        return class_names[index] if class_names is not None else str(index)

    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= count:
            continue
        array = _to_displayable(images[i])
        ax.imshow(array, cmap="gray" if array.ndim == 2 else None)
        if labels is not None and predictions is not None:
            wrong = int(predictions[i]) != int(labels[i])
            ax.set_title(
                f"pred: {name(predictions[i])}\ntrue: {name(labels[i])}",
                fontsize=8,
                color="red" if wrong else "black",
            )
        elif labels is not None:
            ax.set_title(name(labels[i]), fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    targets: Sequence[int] | torch.Tensor,
    predictions: Sequence[int] | torch.Tensor,
    class_names: Sequence[str],
    title: str = "Confusion matrix",
) -> tuple[Figure, np.ndarray]:
    """Draw the confusion matrix (rows: true class, columns: predicted class).

    Returns the figure and the matrix of counts, so a notebook can also name the most confused
    pairs (see :func:`most_confused`).
    """
    matrix = confusion_matrix(np.asarray(targets), np.asarray(predictions), labels=range(len(class_names)))
    fig, ax = plt.subplots(figsize=(7, 6))
    ConfusionMatrixDisplay(matrix, display_labels=class_names).plot(
        ax=ax, cmap="Blues", colorbar=False, xticks_rotation=45, values_format="d"
    )
    ax.set(title=title, xlabel="predicted class", ylabel="true class")
    fig.tight_layout()
    return fig, matrix


def most_confused(matrix: np.ndarray, class_names: Sequence[str], top: int = 3) -> list[tuple[str, str, int]]:
    """The ``top`` (true class, predicted class, count) pairs off the diagonal, largest first."""
    off_diagonal = matrix.copy()
    np.fill_diagonal(off_diagonal, 0)
    order = np.argsort(off_diagonal, axis=None)[::-1][:top]
    pairs = []
    for flat_index in order:
        true_index, predicted_index = np.unravel_index(flat_index, matrix.shape)
        pairs.append(
            (class_names[true_index], class_names[predicted_index], int(off_diagonal[true_index, predicted_index]))
        )
    return pairs
