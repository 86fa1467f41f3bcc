"""The shared training loop learns, stops early, restores the best weights; plots draw what they say."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from utils import plots
from utils.data import moons_tensors
from utils.seed import set_seed
from utils.training import History, count_parameters, evaluate, fit, predict, train_one_epoch

CPU = torch.device("cpu")


def moons_loaders(generator):
    x, y = moons_tensors(600, noise=0.15, seed=0)
    train = DataLoader(TensorDataset(x[:400], y[:400]), batch_size=32, shuffle=True, generator=generator)
    val = DataLoader(TensorDataset(x[400:], y[400:]), batch_size=100)
    return train, val


def small_mlp():
    return nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))


def test_fit_learns_the_moons():
    generator = set_seed(0)
    train, val = moons_loaders(generator)
    model = small_mlp()
    _, untrained_accuracy = evaluate(model, val, nn.CrossEntropyLoss(), CPU)
    history = fit(
        model, train, val, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), 0.01), 15, CPU, verbose=False
    )
    assert history.epochs == 15 and len(history.seconds) == 15
    assert history.val_accuracy[-1] > 0.95 > untrained_accuracy
    assert history.train_loss[-1] < history.train_loss[0] / 3
    assert history.best_epoch is not None and 1 <= history.best_epoch <= 15


def test_fit_is_reproducible_with_the_same_seed():
    results = []
    for _ in range(2):
        generator = set_seed(7)
        train, val = moons_loaders(generator)
        model = small_mlp()
        history = fit(
            model, train, val, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), 0.1), 3, CPU, verbose=False
        )
        results.append(history.val_loss)
    assert results[0] == results[1]


def test_early_stopping_stops_and_restores_the_best_weights(capsys):
    generator = set_seed(0)
    train, val = moons_loaders(generator)
    model = small_mlp()
    # A learning rate far too large makes the validation loss jump around: early stopping kicks in.
    optimizer = torch.optim.SGD(model.parameters(), lr=50.0)
    history = fit(model, train, val, nn.CrossEntropyLoss(), optimizer, 30, CPU, patience=2)
    assert history.epochs < 30
    assert "Stopping early" in capsys.readouterr().out
    best = history.best_epoch
    assert history.val_loss[best - 1] == min(history.val_loss)
    restored_loss, _ = evaluate(model, val, nn.CrossEntropyLoss(), CPU)
    assert restored_loss == pytest.approx(history.val_loss[best - 1], rel=1e-5)


def test_train_one_epoch_steps_the_scheduler_every_batch():
    generator = set_seed(0)
    train, _ = moons_loaders(generator)
    model = small_mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=len(train))
    loss, accuracy = train_one_epoch(model, train, nn.CrossEntropyLoss(), optimizer, CPU, scheduler)
    assert scheduler.last_epoch == len(train)
    assert loss > 0 and 0 <= accuracy <= 1


def test_evaluate_uses_eval_mode_and_no_gradients():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.9))
    x, y = moons_tensors(50)
    loader = DataLoader(TensorDataset(x, y), batch_size=10)
    first = evaluate(model, loader, nn.CrossEntropyLoss(), CPU)
    second = evaluate(model, loader, nn.CrossEntropyLoss(), CPU)
    assert first == second  # dropout is off in eval mode
    assert not model.training
    assert all(p.grad is None for p in model.parameters())


def test_predict_returns_classes_in_order():
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        model.bias.zero_()
    x = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0]])
    predictions, targets = predict(model, DataLoader(TensorDataset(x, torch.tensor([0, 1, 1])), batch_size=2), CPU)
    assert predictions.tolist() == [0, 1, 0] and targets.tolist() == [0, 1, 1]


def test_count_parameters():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    assert count_parameters(model) == 3 * 4 + 4 + 4 * 2 + 2
    model[0].requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 4 * 2 + 2


def test_plot_history_draws_both_curves():
    history = History([1.0, 0.5], [0.5, 0.8], [1.1, 0.7], [0.4, 0.7], [1.0, 1.0], best_epoch=2)
    fig = plots.plot_history(history)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_xlabel() == "epoch" and acc_ax.get_ylabel() == "accuracy (%)"
    assert [list(line.get_ydata()) for line in acc_ax.lines[:2]] == [[50.0, 80.0], [40.0, 70.0]]
    plt.close(fig)


def test_show_images_captions_and_marks_mistakes():
    images = torch.rand(5, 1, 8, 8)
    fig = plots.show_images(
        images, labels=[0, 1, 2, 0, 1], predictions=[0, 2, 2, 0, 1], class_names=["a", "b", "c"], columns=3
    )
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[1] == "pred: c\ntrue: b"
    assert fig.axes[1].title.get_color() == "red" and fig.axes[0].title.get_color() == "black"
    assert titles[5] == ""  # the unused sixth cell stays empty
    plt.close(fig)


def test_show_images_layouts():
    grey_tensor = torch.rand(1, 3, 3)  # a 3x3 single-channel kernel, channels first
    colour_array = np.zeros((4, 5, 3))  # an RGB photo, channels last
    fig = plots.show_images([grey_tensor, colour_array, torch.rand(3, 4, 5)], columns=3)
    shapes = [ax.images[0].get_array().shape for ax in fig.axes]
    assert shapes == [(3, 3), (4, 5, 3), (4, 5, 3)]
    plt.close(fig)


def test_progress_bar_is_quiet_when_disabled(monkeypatch, capsys):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    generator = set_seed(0)
    train, _ = moons_loaders(generator)
    model = small_mlp()
    train_one_epoch(model, train, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), 0.1), CPU)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    monkeypatch.delenv("TQDM_DISABLE")
    train_one_epoch(model, train, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), 0.1), CPU)
    assert "train" in capsys.readouterr().err  # the bar, labelled with its description


def test_confusion_matrix_and_most_confused():
    names = ["cat", "dog", "fox"]
    targets = [0, 0, 0, 1, 1, 2, 2, 2]
    predictions = [0, 1, 1, 1, 1, 2, 2, 1]
    fig, matrix = plots.plot_confusion_matrix(targets, predictions, names)
    assert matrix.tolist() == [[1, 2, 0], [0, 2, 0], [0, 1, 2]]
    assert fig.axes[0].get_xlabel() == "predicted class" and fig.axes[0].get_ylabel() == "true class"
    assert plots.most_confused(matrix, names, top=2) == [("cat", "dog", 2), ("fox", "dog", 1)]
    plt.close(fig)
