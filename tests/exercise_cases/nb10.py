"""Cases for notebook 10: tests written by a learner, good ones and ones that let a broken version through."""

import hashlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tests.exercise_cases import Case, not_implemented

image_batches = arrays(np.uint8, st.tuples(st.integers(1, 6), st.just(8), st.just(8)), elements=st.integers(0, 16))


def _hash(image):
    return hashlib.sha256(image.numpy().tobytes()).hexdigest()


# --------------------------------------------------------------------------- no_overlap


def overlap_by_hash(split_fn, images):
    train, test = split_fn(images)
    shared = {_hash(images[i]) for i in train} & {_hash(images[i]) for i in test}
    assert not shared, f"{len(shared)} images are in both splits"


def overlap_by_pixel_tuples(split_fn, images):
    train, test = split_fn(images)
    train_images = {tuple(image.flatten().tolist()) for image in images[train]}
    assert all(tuple(image.flatten().tolist()) not in train_images for image in images[test])


def asserts_nothing(split_fn, images):
    split_fn(images)


def overlap_by_index(split_fn, images):
    train, test = split_fn(images)
    assert not set(train.tolist()) & set(test.tolist())


def sizes_add_up(split_fn, images):
    train, test = split_fn(images)
    assert len(train) + len(test) == len(images)


def exactly_a_fifth(split_fn, images):
    _, test = split_fn(images)
    assert len(test) == len(images) // 5


def forgets_the_images(split_fn):
    split_fn(torch.zeros(10, 8, 8, dtype=torch.uint8))


# --------------------------------------------------------------------------- to_features_property


def feature_property(to_features):
    @given(image_batches)
    def round_trip(batch):
        images = torch.from_numpy(batch)
        features = to_features(images)
        assert features.dtype == torch.float32
        assert features.shape == (len(images), 64)
        assert torch.equal(features * 16, images.reshape(len(images), 64).float())

    round_trip()


def feature_examples(to_features):
    """Without Hypothesis, but with well-chosen examples: a batch whose brightest pixel is 15."""
    images = torch.arange(128).reshape(2, 8, 8) % 16
    features = to_features(images)
    assert features.dtype == torch.float32 and features.shape == (2, 64)
    assert torch.allclose(features, images.reshape(2, 64) / 16)


def feature_dtype_and_shape_only(to_features):
    @given(image_batches)
    def shape(batch):
        features = to_features(torch.from_numpy(batch))
        assert features.dtype == torch.float32 and features.shape == (len(batch), 64)

    shape()


def feature_range_only(to_features):
    @given(image_batches)
    def in_range(batch):
        features = to_features(torch.from_numpy(batch))
        assert features.dtype == torch.float32 and features.shape == (len(batch), 64)
        assert 0 <= features.min() and features.max() <= 1

    in_range()


def feature_full_range_example(to_features):
    images = torch.arange(128).reshape(2, 8, 8) % 17
    features = to_features(images)
    assert features.dtype == torch.float32
    assert torch.equal(features * 16, images.reshape(2, 64).float())


def feature_max_is_one(to_features):
    @given(image_batches)
    def brightest(batch):
        assert to_features(torch.from_numpy(batch)).max() == 1

    brightest()


# --------------------------------------------------------------------------- gradients_reach_every_parameter


def gradients_everywhere(model_fn):
    model = model_fn()
    F.cross_entropy(model(torch.randn(8, 64)), torch.randint(0, 10, (8,))).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{name} got no gradient"
        assert parameter.grad.abs().sum() > 0, f"{name}'s gradient is zero"


def gradients_with_sum_loss(model_fn):
    model = model_fn()
    model(torch.rand(4, 64)).sum().backward()
    assert all(p.grad is not None and bool(p.grad.any()) for p in model.parameters())


def gradients_not_none_only(model_fn):
    model = model_fn()
    model(torch.randn(8, 64)).sum().backward()
    for parameter in model.parameters():
        assert parameter.grad is not None


def gradients_of_trainable_only(model_fn):
    model = model_fn()
    model(torch.randn(8, 64)).sum().backward()
    for parameter in model.parameters():
        if parameter.requires_grad:
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0


def gradients_of_last_layer_only(model_fn):
    model = model_fn()
    model(torch.randn(8, 64)).sum().backward()
    last = list(model.parameters())[-1]
    assert last.grad is not None and last.grad.abs().sum() > 0


def gradients_without_backward(model_fn):
    model = model_fn()
    model(torch.randn(8, 64))
    for parameter in model.parameters():
        assert parameter.grad is not None


# --------------------------------------------------------------------------- predict_rejects_bad_input


def _bad_inputs():
    good = torch.randint(0, 17, (4, 8, 8))
    nan = good.float()
    nan[0, 3, 3] = float("nan")
    high, low = good.clone(), good.clone()
    high[1, 2, 2], low[2, 5, 5] = 17, -1
    return good, {"flat": good.reshape(4, 64), "nan": nan, "above 16": high, "negative": low}


def predict_checks_everything(predict_fn):
    good, bad_inputs = _bad_inputs()
    labels, probabilities = predict_fn(good)
    assert labels.shape == (4,) and probabilities.shape == (4, 10)
    for bad in bad_inputs.values():
        with pytest.raises(ValueError):
            predict_fn(bad)


def predict_checks_with_try_except(predict_fn):
    good, bad_inputs = _bad_inputs()
    predict_fn(good.numpy())
    predict_fn(good[0].float())  # one image
    for name, bad in bad_inputs.items():
        try:
            predict_fn(bad)
        except ValueError:
            continue
        raise AssertionError(f"{name} input was accepted")


def predict_nan_only(predict_fn):
    good, bad_inputs = _bad_inputs()
    predict_fn(good)
    with pytest.raises(ValueError):
        predict_fn(bad_inputs["nan"])


def predict_without_valid_input(predict_fn):
    _, bad_inputs = _bad_inputs()
    for bad in bad_inputs.values():
        with pytest.raises(ValueError):
            predict_fn(bad)


def predict_above_16_only(predict_fn):
    good, bad_inputs = _bad_inputs()
    predict_fn(good)
    for name in ("flat", "nan", "above 16"):
        with pytest.raises(ValueError):
            predict_fn(bad_inputs[name])


def predict_any_exception_will_do(predict_fn):
    good, bad_inputs = _bad_inputs()
    predict_fn(good)
    bad_inputs["flat"] = good[:, :, :7]  # (4, 8, 7): crashes somewhere if nothing checks the shape
    for bad in bad_inputs.values():
        with pytest.raises(Exception):  # noqa: B017 (the mistake this case is about)
            predict_fn(bad)


def predict_single_image_is_bad(predict_fn):
    good, _ = _bad_inputs()
    with pytest.raises(ValueError):
        predict_fn(good[0])


CASES = {
    "no_overlap": Case(
        correct=[overlap_by_hash, overlap_by_pixel_tuples],
        wrong=[
            (asserts_nothing, "3 of 3 broken versions slipped through"),
            (overlap_by_index, "'shuffled_index_split'"),
            (sizes_add_up, "compare the images themselves"),
            (exactly_a_fifth, "fails on a correct split"),
            (forgets_the_images, "TypeError"),
        ],
        stub=not_implemented,
    ),
    "to_features_property": Case(
        correct=[feature_property, feature_examples],
        wrong=[
            (feature_dtype_and_shape_only, "'integer_division'"),
            (feature_range_only, "4 of 5 broken versions slipped through"),
            (feature_full_range_example, "'scales_by_batch_maximum'"),
            (feature_max_is_one, "fails on a correct to_features"),
        ],
        stub=not_implemented,
    ),
    "gradients_reach_every_parameter": Case(
        correct=[gradients_everywhere, gradients_with_sum_loss],
        wrong=[
            (gradients_not_none_only, "'zero_initialised'"),
            (gradients_of_trainable_only, "'frozen_by_mistake'"),
            (gradients_of_last_layer_only, "'detached_hidden'"),
            (gradients_without_backward, "fails on a correct model"),
        ],
        stub=not_implemented,
    ),
    "predict_rejects_bad_input": Case(
        correct=[predict_checks_everything, predict_checks_with_try_except],
        wrong=[
            (predict_nan_only, "'accepts_values_above_16'"),
            (predict_without_valid_input, "'rejects_everything'"),
            (predict_above_16_only, "'accepts_negative_values'"),
            (predict_any_exception_will_do, "'accepts_any_shape'"),
            (predict_single_image_is_bad, "fails on a correct predict"),
        ],
        stub=not_implemented,
    ),
}
