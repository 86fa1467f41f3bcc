import random

import numpy as np
import pytest
import torch

from utils.device import DEVICE_ENV_VAR, choose_device, get_device
from utils.seed import set_seed


def test_default_choice_matches_what_is_available(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)
    device, reason = choose_device()
    if torch.cuda.is_available():
        assert device.type == "cuda"
    elif torch.backends.mps.is_available():
        assert device.type == "mps"
    else:
        assert device.type == "cpu"
        assert "no CUDA GPU or Apple MPS" in reason


def test_cuda_is_preferred_over_mps_and_cpu(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Test GPU")
    device, reason = choose_device()
    assert device.type == "cuda" and "Test GPU" in reason


def test_mps_is_preferred_over_cpu(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    device, reason = choose_device()
    assert device.type == "mps" and "Apple" in reason


def test_environment_variable_overrides(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV_VAR, "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    device, reason = choose_device()
    assert device == torch.device("cpu")
    assert reason == f"requested by {DEVICE_ENV_VAR}=cpu"


def test_argument_overrides_environment(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV_VAR, "mps")
    device, reason = choose_device("cpu")
    assert device.type == "cpu" and reason == "requested by the argument"


def test_unavailable_request_raises(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        choose_device("cuda")
    with pytest.raises(RuntimeError, match="MPS is not available"):
        choose_device("mps")


def test_get_device_prints_one_line(capsys, monkeypatch):
    monkeypatch.setenv(DEVICE_ENV_VAR, "cpu")
    assert get_device() == torch.device("cpu")
    out = capsys.readouterr().out
    assert out == f"Using device: cpu (requested by {DEVICE_ENV_VAR}=cpu).\n"
    get_device(report=False)
    assert capsys.readouterr().out == ""


def test_set_seed_makes_every_generator_repeat():
    def draw(generator):
        return (
            random.random(),
            float(np.random.rand()),
            torch.rand(3).tolist(),
            torch.randperm(10, generator=generator).tolist(),
        )

    first = draw(set_seed(123))
    second = draw(set_seed(123))
    third = draw(set_seed(124))
    assert first == second
    assert first != third
