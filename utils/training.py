"""The training and evaluation loops that notebooks 06 onwards reuse.

Notebooks 04 and 06 write these loops by hand first, line by line; this module keeps the same
loop so later notebooks can call it in one line. It is deliberately plain: one function per
step, no callbacks or hooks to learn.
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm


@dataclass
class History:
    """What :func:`fit` measured, one entry per epoch; :func:`utils.plots.plot_history` draws it."""

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    #: The epoch (counting from 1) whose weights the model holds after ``fit`` returns.
    best_epoch: int | None = None

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    description: str = "train",
) -> tuple[float, float]:
    """Run one pass over ``loader``, updating the model after every batch.

    ``scheduler``, if given, is stepped after every batch (as ``OneCycleLR`` expects).
    Returns the mean loss and the accuracy over the epoch, measured on the fly while the
    weights were still changing (so they lag slightly behind a separate evaluation).
    """
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    # tqdm's notebook bar does not read TQDM_DISABLE itself; the tools and tests set it.
    quiet = os.environ.get("TQDM_DISABLE", "") not in ("", "0")
    for inputs, targets in tqdm(loader, desc=description, leave=False, disable=quiet):
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        logits = model(inputs)
        loss = loss_fn(logits, targets)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.item() * len(targets)
        correct += (logits.argmax(dim=1) == targets).sum().item()
        seen += len(targets)
    return total_loss / seen, correct / seen


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, loss_fn: nn.Module, device: torch.device) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``loader``, in eval mode and without gradients."""
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        logits = model(inputs)
        total_loss += loss_fn(logits, targets).item() * len(targets)
        correct += (logits.argmax(dim=1) == targets).sum().item()
        seen += len(targets)
    return total_loss / seen, correct / seen


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted classes and true targets for every item of ``loader``, on the CPU."""
    model.eval()
    predictions, targets = [], []
    for inputs, batch_targets in loader:
        predictions.append(model(inputs.to(device)).argmax(dim=1).cpu())
        targets.append(batch_targets)
    return torch.cat(predictions), torch.cat(targets)


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    device: torch.device,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    patience: int | None = None,
    verbose: bool = True,
) -> History:
    """Train for up to ``epochs`` epochs, evaluating on ``val_loader`` after each one.

    ``scheduler`` is stepped after every batch. With ``patience`` set, training stops early
    once the validation loss has not improved for that many epochs, and the model is given back
    the weights of its best epoch (early stopping). Prints one line per epoch if ``verbose``.
    """
    model.to(device)
    history = History()
    best_loss, best_state, epochs_without_improvement = float("inf"), None, 0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        train_loss, train_acc = train_one_epoch(
            model, train_loader, loss_fn, optimizer, device, scheduler, description=f"epoch {epoch}"
        )
        val_loss, val_acc = evaluate(model, val_loader, loss_fn, device)
        history.train_loss.append(train_loss)
        history.train_accuracy.append(train_acc)
        history.val_loss.append(val_loss)
        history.val_accuracy.append(val_acc)
        history.seconds.append(time.perf_counter() - start)
        if verbose:
            print(
                f"epoch {epoch:2d}: train loss {train_loss:.3f}, acc {train_acc:.1%} | "
                f"val loss {val_loss:.3f}, acc {val_acc:.1%}"
            )
        if val_loss < best_loss:
            best_loss, epochs_without_improvement = val_loss, 0
            history.best_epoch = epoch
            if patience is not None:
                best_state = copy.deepcopy(model.state_dict())
        else:
            epochs_without_improvement += 1
            if patience is not None and epochs_without_improvement >= patience:
                if verbose:
                    print(f"Stopping early: no improvement for {patience} epochs.")
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        history.best_epoch = history.epochs
    return history


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters in ``model`` (only those with ``requires_grad`` if asked)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
