"""Exercise checks for notebook 10 (testing machine-learning code).

In these exercises the learner writes *tests*. A check runs the learner's test the way pytest
would, first on a correct implementation (the test must pass: a test that fails on good code
blocks every change) and then on several broken versions, the *mutants* (the test must fail on
each: a mutant that passes has slipped through). This is mutation testing, done by hand: the
mutants are the mistakes that the test exists to catch.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from utils.checks import Mismatch, NotAttempted, call, exercise

NOTEBOOK = "10_testing_ml_code"


# --------------------------------------------------------------------------- running a learner's test


@dataclass
class Mutant:
    """A broken implementation that a good test must fail on."""

    name: str
    function: Callable
    bug: str  # what is wrong with it, in a few words
    advice: str  # what a test needs to do to catch it


def _failure(test: Callable, implementation: Callable, *data) -> str | None:
    """Run the learner's test on one implementation as pytest would: None if it passes, else why it failed.

    Any exception fails a test, as in pytest, including the ones ``pytest.raises`` and
    ``pytest.fail`` raise, which derive from ``BaseException``.
    """
    try:
        call(test, implementation, *data)
    except (NotAttempted, KeyboardInterrupt, SystemExit):
        raise
    except Mismatch as failure:
        return str(failure).strip().rstrip(":")  # an assert without a message ends in "AssertionError:"
    except BaseException as failure:  # noqa: BLE001 (pytest's outcome exceptions are BaseExceptions)
        return f"{type(failure).__name__}: {failure}".strip().rstrip(":")
    return None


def _first_line(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _mutation_check(test: Callable, correct: Callable, mutants: list[Mutant], *data, what: str) -> str:
    """The verdict on a learner's test: it passes on ``correct`` and fails on every mutant."""
    failure = _failure(test, correct, *data)
    if failure is not None:
        raise Mismatch(
            f"your test fails on a correct {what} ({_first_line(failure)}), so it would also block good code"
        )
    survivors = []
    for mutant in mutants:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            if _failure(test, mutant.function, *data) is None:
                survivors.append(mutant)
    if survivors:
        first = survivors[0]
        names = ", ".join(f"'{mutant.name}'" for mutant in survivors)
        counted = f"{len(survivors)} of {len(mutants)} broken versions" if len(survivors) > 1 else "a broken version"
        raise Mismatch(
            f"{counted} slipped through your test: {names}. '{first.name}' {first.bug}, and your test "
            f"passed on it: {first.advice}"
        )
    names = ", ".join(mutant.name for mutant in mutants)
    return f"Your test passes on the correct {what} and catches all {len(mutants)} broken versions ({names})."


# --------------------------------------------------------------------------- no_overlap


def _image_hash(image: torch.Tensor) -> str:
    return hashlib.sha256(image.numpy().tobytes()).hexdigest()


def _split_by_hash(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    in_test = torch.tensor([int(_image_hash(image), 16) % 100 < 20 for image in images])
    return torch.nonzero(~in_test).flatten(), torch.nonzero(in_test).flatten()


def _shuffled_index_split(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    n_test = len(images) // 5
    return order[n_test:], order[:n_test]


def _overlapping_slices(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    cut = int(0.8 * len(images))
    indices = torch.arange(len(images))
    return indices[: cut + 10], indices[cut:]


def _test_inside_train(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    indices = torch.arange(len(images))
    return indices, indices[::5]


_SPLIT_MUTANTS = [
    Mutant(
        "overlapping_slices",
        _overlapping_slices,
        "cuts the training slice ten places too long, so ten indices are in both splits",
        "collect what is in each split and assert that the two collections share nothing",
    ),
    Mutant(
        "test_inside_train",
        _test_inside_train,
        "puts every image in the training split, the test images included",
        "collect what is in each split and assert that the two collections share nothing",
    ),
    Mutant(
        "shuffled_index_split",
        _shuffled_index_split,
        "splits shuffled indices, so no index is in both splits, but the copies of an image that is in "
        "the data twice can land one in each",
        "compare the images themselves (a hash of each image's pixels), not their indices",
    ),
]


def _images_with_duplicates() -> torch.Tensor:
    """180 random 8x8 images, 30 of which appear twice: the kind of data a split must not leak."""
    generator = torch.Generator().manual_seed(10)
    unique = torch.randint(0, 17, (150, 8, 8), generator=generator, dtype=torch.uint8)
    images = torch.cat([unique, unique[:30]])
    return images[torch.randperm(len(images), generator=generator)]


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Two splits overlap when some image is in both. Indices can hide that: two copies of one image have "
            "different indices. Compare what the images contain instead, through a fingerprint of their pixels."
        ),
        (
            "Call split_fn(images) to get the two index tensors. Build a set of pipeline.image_hash(images[i]) for "
            "the training indices and one for the test indices, then assert that their intersection (&) is empty, "
            "with a message that says how many images are shared."
        ),
    ],
)
def no_overlap(test_no_overlap) -> str:
    images = _images_with_duplicates()
    return _mutation_check(test_no_overlap, _split_by_hash, _SPLIT_MUTANTS, images, what="split (split_by_hash)")


# --------------------------------------------------------------------------- to_features_property


def _to_features(images: torch.Tensor) -> torch.Tensor:
    return images.reshape(len(images), -1).to(torch.float32) / 16


def _integer_division(images: torch.Tensor) -> torch.Tensor:
    return (images.reshape(len(images), -1) // 16).to(torch.float32)


def _divides_by_255(images: torch.Tensor) -> torch.Tensor:
    return images.reshape(len(images), -1).to(torch.float32) / 255


def _transposed(images: torch.Tensor) -> torch.Tensor:
    return images.transpose(1, 2).reshape(len(images), -1).to(torch.float32) / 16


def _scales_by_batch_maximum(images: torch.Tensor) -> torch.Tensor:
    features = images.reshape(len(images), -1).to(torch.float32)
    return features / features.max().clamp_min(1)


def _float64_features(images: torch.Tensor) -> torch.Tensor:
    return images.reshape(len(images), -1).to(torch.float64) / 16


_FEATURE_MUTANTS = [
    Mutant(
        "float64_features",
        _float64_features,
        "returns float64 features, while the model's weights are float32",
        "assert the dtype of the features",
    ),
    Mutant(
        "integer_division",
        _integer_division,
        "divides whole numbers (//), so every pixel below 16 becomes 0",
        "compare the features with the pixels: features * 16 should give back every pixel value",
    ),
    Mutant(
        "divides_by_255",
        _divides_by_255,
        "assumes pixels from 0 to 255, so the features never get above 0.063",
        "compare the features with the pixels: features * 16 should give back every pixel value",
    ),
    Mutant(
        "transposed",
        _transposed,
        "reads each image column by column, so the features are in the wrong order",
        "compare each feature with the pixel it comes from: images.reshape(len(images), 64) gives the order",
    ),
    Mutant(
        "scales_by_batch_maximum",
        _scales_by_batch_maximum,
        "divides by the brightest pixel of the batch, so an image's features depend on the other images",
        "compare with the pixels divided by 16 on batches whose brightest pixel is below 16: let Hypothesis "
        "generate any values from 0 to 16",
    ),
]


@contextlib.contextmanager
def _reproducible_hypothesis() -> Iterator[None]:
    """Hypothesis settings for the check: the same examples every time, nothing written to disk."""
    from hypothesis import HealthCheck, Phase, settings

    settings.register_profile(
        "nb10-check",
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=50,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: pass or fail is all the check needs
    )
    previous = settings.get_current_profile_name()
    settings.load_profile("nb10-check")
    try:
        yield
    finally:
        settings.load_profile(previous)


@exercise(
    NOTEBOOK,
    hints=[
        (
            "A property is something that must hold for every valid input, not for one example. Hypothesis "
            "generates the inputs: decorate an inner function with @given and a strategy for image batches "
            "(the notebook defines one, image_batches), then call that inner function."
        ),
        (
            "Inside the property: turn the generated NumPy batch into a tensor (torch.from_numpy), compute the "
            "features, and assert three things: the dtype is torch.float32, the shape is (len(images), 64), and "
            "features * 16 equals images.reshape(len(images), 64) as floats (torch.equal: dividing by 16 is exact)."
        ),
    ],
)
def to_features_property(test_to_features) -> str:
    with _reproducible_hypothesis():
        return _mutation_check(test_to_features, _to_features, _FEATURE_MUTANTS, what="to_features")


# --------------------------------------------------------------------------- gradients_reach_every_parameter


class _SmallNet(nn.Module):
    """64 -> 16 -> 10 with tanh; the variants below break it in the ways models break."""

    def __init__(self, frozen: bool = False, zero: bool = False, unused: bool = False, detach: bool = False) -> None:
        super().__init__()
        self.hidden = nn.Linear(64, 16)
        self.output = nn.Linear(16, 10)
        if unused:
            self.extra = nn.Linear(16, 16)  # defined, but forward never calls it
        if frozen:
            self.hidden.requires_grad_(False)
        if zero:
            for parameter in self.parameters():
                nn.init.zeros_(parameter)
        self.detach = detach

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        hidden = torch.tanh(self.hidden(features))
        return self.output(hidden.detach() if self.detach else hidden)


_MODEL_MUTANTS = [
    Mutant(
        "unused_layer",
        lambda: _SmallNet(unused=True),
        "defines a layer that forward never calls, so that layer gets no gradient (its .grad stays None)",
        "loop over every parameter (model.named_parameters()) after backward and check its .grad",
    ),
    Mutant(
        "detached_hidden",
        lambda: _SmallNet(detach=True),
        "detaches the hidden activations, so no gradient flows back into the first layer",
        "loop over every parameter (model.named_parameters()) after backward and check its .grad",
    ),
    Mutant(
        "frozen_by_mistake",
        lambda: _SmallNet(frozen=True),
        "has requires_grad=False on its first layer, so that layer never learns",
        "check every parameter, not only those with requires_grad: a frozen layer is what this test is for",
    ),
    Mutant(
        "zero_initialised",
        lambda: _SmallNet(zero=True),
        "starts with every weight at zero, so most gradients exist but are zero everywhere",
        "checking that .grad is not None is not enough: also assert that it is not zero everywhere",
    ),
]


@exercise(
    NOTEBOOK,
    hints=[
        (
            "Build a model with model_fn(), run one small batch through it, compute a loss and call backward. "
            "Then every parameter of the model should have received a gradient that is not zero everywhere."
        ),
        (
            "After loss.backward(), loop over model.named_parameters(): assert parameter.grad is not None, then "
            "assert parameter.grad.abs().sum() > 0, each with a message that names the parameter. Any loss works, "
            "for example cross_entropy on torch.randn(8, 64) and torch.randint(0, 10, (8,))."
        ),
    ],
)
def gradients_reach_every_parameter(test_gradients) -> str:
    return _mutation_check(test_gradients, _SmallNet, _MODEL_MUTANTS, what="model")


# --------------------------------------------------------------------------- predict_rejects_bad_input


def _make_predict(check_shape=True, check_nan=True, check_low=True, check_high=True, reject_all=False) -> Callable:
    """A predict function for raw digit images, with some of its input checks left out."""
    generator = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(10, 64, generator=generator) / 8, torch.zeros(10)

    def predict(images):
        if reject_all:
            raise ValueError("invalid images")
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(images)
        if not isinstance(images, torch.Tensor):
            raise TypeError(f"images must be a tensor or a NumPy array, not {type(images).__name__}")
        if tuple(images.shape) == (8, 8):
            images = images.unsqueeze(0)
        if check_shape and (images.ndim != 3 or tuple(images.shape[1:]) != (8, 8)):
            raise ValueError(f"images must have shape (N, 8, 8) or (8, 8), not {tuple(images.shape)}")
        if check_nan and images.is_floating_point() and images.isnan().any():
            raise ValueError("images contain NaN values")
        if check_low and (images < 0).any():
            raise ValueError("pixel values must be between 0 and 16; some are negative")
        if check_high and (images > 16).any():
            raise ValueError("pixel values must be between 0 and 16; some are above 16")
        features = images.reshape(len(images), -1).to(torch.float32) / 16
        probabilities = torch.softmax(features @ weight.T + bias, dim=1)
        return probabilities.argmax(dim=1), probabilities

    return predict


_PREDICT_MUTANTS = [
    Mutant(
        "accepts_nan",
        _make_predict(check_nan=False),
        "has no NaN check (and its range check lets NaN through, since every comparison with NaN is False)",
        "give it images with a NaN in them and expect a ValueError (pytest.raises)",
    ),
    Mutant(
        "accepts_values_above_16",
        _make_predict(check_high=False),
        "only checks that pixels are not negative",
        "give it images with a pixel above 16 and expect a ValueError",
    ),
    Mutant(
        "accepts_negative_values",
        _make_predict(check_low=False),
        "only checks that pixels are at most 16",
        "give it images with a negative pixel as well, and expect a ValueError",
    ),
    Mutant(
        "accepts_any_shape",
        _make_predict(check_shape=False),
        "flattens whatever it gets, so flat (N, 64) input passes silently and other shapes crash deep in "
        "the model with a RuntimeError",
        "give it an input of the wrong shape and expect a ValueError in particular (pytest.raises(ValueError)), "
        "not any exception",
    ),
    Mutant(
        "rejects_everything",
        _make_predict(reject_all=True),
        "raises ValueError for every input, valid or not",
        "also call it on valid images and check that it returns labels and probabilities",
    ),
]


@exercise(
    NOTEBOOK,
    hints=[
        (
            "A good test of input validation does two things: it shows that valid images still work, and that "
            "each kind of bad input (wrong shape, NaN, a value below 0, a value above 16) raises ValueError."
        ),
        (
            "Make valid images with torch.randint(0, 17, (4, 8, 8)) and call predict_fn on them. Then make bad "
            "copies: .reshape(4, 64); .float() with one pixel set to float('nan'); one pixel set to 17; one set "
            "to -1. For each bad input: with pytest.raises(ValueError): predict_fn(bad)."
        ),
    ],
)
def predict_rejects_bad_input(test_predict) -> str:
    return _mutation_check(test_predict, _make_predict(), _PREDICT_MUTANTS, what="predict")
